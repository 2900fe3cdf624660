// Per-CPU timer queues on top of the one-shot hardware timer.
#include "core/timer.hpp"

#include "arch/x86_64/apic.hpp"
#include "arch/x86_64/interrupts.hpp"
#include "arch/x86_64/trap_frame.hpp"
#include "arch/x86_64/tsc.hpp"
#include "core/cpu.hpp"

namespace xenolith {

namespace {
void reprogram(Cpu& cpu) {
    if (!cpu.timers.empty())
        arch::oneshot_timer_arm(cpu.timers.earliest_deadline());
}
}  // namespace

void timer_init_this_cpu() { arch::oneshot_timer_init(arch::vector::TIMER); }

void timer_set(Timer& timer, std::uint64_t deadline_ns) {
    arch::InterruptsDisabled no_interrupts;
    Cpu& cpu = this_cpu();
    if (timer.queued)
        cpu.timers.remove(timer);
    timer.deadline_ns = deadline_ns;
    cpu.timers.insert(timer);
    reprogram(cpu);
}

void timer_cancel(Timer& timer) {
    arch::InterruptsDisabled no_interrupts;
    if (timer.queued)
        this_cpu().timers.remove(timer);
}

void timer_interrupt() {
    Cpu& cpu = this_cpu();
    cpu.timer_interrupts.fetch_add(1, MemoryOrder::Relaxed);
    while (Timer* timer = cpu.timers.pop_expired(arch::system_time_ns()))
        timer->callback(*timer);
    reprogram(cpu);
}

}  // namespace xenolith
