// Per-CPU timer queues on top of the one-shot hardware timer.
#include "core/timer.hpp"

#include "arch/x86_64/apic.hpp"
#include "arch/x86_64/interrupts.hpp"
#include "arch/x86_64/trap_frame.hpp"
#include "arch/x86_64/tsc.hpp"
#include "core/cpu.hpp"
#include "lib/spinlock.hpp"

namespace xenolith {

namespace {
void reprogram(Cpu& cpu) {
    if (!cpu.timers.empty())
        arch::oneshot_timer_arm(cpu.timers.earliest_deadline());
}

// Unlink a queued timer from whichever CPU's queue holds it. Interrupts are off.
void unlink(Timer& timer) {
    while (timer.queued) {
        Cpu& owner = cpu_by_index(timer.cpu);
        LockGuard guard(owner.timer_lock);
        if (timer.queued && timer.cpu == owner.index)
            owner.timers.remove(timer);
    }
}
}  // namespace

void timer_init_this_cpu() { arch::oneshot_timer_init(arch::vector::TIMER); }

void timer_set(Timer& timer, std::uint64_t deadline_ns) {
    arch::InterruptsDisabled no_interrupts;
    unlink(timer);
    Cpu& cpu = this_cpu();
    LockGuard guard(cpu.timer_lock);
    timer.deadline_ns = deadline_ns;
    timer.cpu = cpu.index;
    cpu.timers.insert(timer);
    reprogram(cpu);
}

void timer_cancel(Timer& timer) {
    arch::InterruptsDisabled no_interrupts;
    unlink(timer);
}

void timer_interrupt() {
    Cpu& cpu = this_cpu();
    cpu.timer_interrupts.fetch_add(1, MemoryOrder::Relaxed);
    for (;;) {
        Timer* timer;
        {
            LockGuard guard(cpu.timer_lock);
            timer = cpu.timers.pop_expired(arch::system_time_ns());
        }
        if (!timer)
            break;
        timer->callback(*timer);  // may re-arm itself: the lock is not held
    }
    LockGuard guard(cpu.timer_lock);
    reprogram(cpu);
}

}  // namespace xenolith
