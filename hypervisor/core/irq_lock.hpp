// A guard for locks that interrupt handlers also take (timer callbacks, IPIs): interrupts stay
// off while the lock is held, so a handler can never spin on a lock held by its own CPU.
// Hypercalls already run with interrupts off; the boot CPU building domains does not.
#pragma once

#include "arch/x86_64/interrupts.hpp"
#include "lib/spinlock.hpp"

namespace xenolith {

class IrqLockGuard {
public:
    explicit IrqLockGuard(SpinLock& lock) : m_guard(lock) {}
    IrqLockGuard(const IrqLockGuard&) = delete;
    IrqLockGuard& operator=(const IrqLockGuard&) = delete;

private:
    arch::InterruptsDisabled m_no_interrupts;  // constructed first, restored last
    LockGuard<SpinLock> m_guard;
};

}  // namespace xenolith
