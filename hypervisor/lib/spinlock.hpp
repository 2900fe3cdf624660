// Ticket spinlock (fair between CPUs) and an RAII guard.
#pragma once

#include <cstdint>

#include "lib/atomic.hpp"

namespace xenolith {

class SpinLock {
public:
    void lock() {
        const std::uint32_t ticket = m_next.fetch_add(1, MemoryOrder::Relaxed);
        while (m_serving.load(MemoryOrder::Acquire) != ticket)
            __builtin_ia32_pause();
    }
    bool try_lock() {
        const std::uint32_t serving = m_serving.load(MemoryOrder::Relaxed);
        std::uint32_t expected = serving;
        return m_next.compare_exchange(expected, serving + 1, MemoryOrder::Acquire);
    }
    void unlock() { m_serving.store(m_serving.load(MemoryOrder::Relaxed) + 1, MemoryOrder::Release); }
    bool is_locked() const { return m_next.load(MemoryOrder::Relaxed) != m_serving.load(MemoryOrder::Relaxed); }

private:
    Atomic<std::uint32_t> m_next{0};
    Atomic<std::uint32_t> m_serving{0};
};

template <typename Lock>
class LockGuard {
public:
    explicit LockGuard(Lock& lock) : m_lock(lock) { m_lock.lock(); }
    ~LockGuard() { m_lock.unlock(); }
    LockGuard(const LockGuard&) = delete;
    LockGuard& operator=(const LockGuard&) = delete;

private:
    Lock& m_lock;
};

}  // namespace xenolith
