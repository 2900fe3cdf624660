// The scheduler: which vCPU runs on which CPU, and when. A credit scheduler (Xen's credit1
// model): every domain earns CPU time in proportion to its weight (default 256), optionally
// capped; vCPUs with credit left run before those without; a running vCPU is preempted after
// its 30 ms slice; idle CPUs take work from busy ones and halt when there is none.
#pragma once

#include <cstdint>

#include "arch/x86_64/trap_frame.hpp"

namespace xenolith {

struct Cpu;
struct Domain;
struct Vcpu;

inline constexpr std::uint64_t SLICE_NS = 30'000'000;
inline constexpr std::uint64_t ACCOUNTING_PERIOD_NS = 30'000'000;

// Per-CPU scheduler state and its reschedule IPI (each CPU, before entering the run loop).
void scheduler_init_this_cpu();

// Run guests on this CPU until the machine stops. Never returns.
[[noreturn]] void run_loop();

// The vCPU running on this CPU (nullptr when idle) and its saved registers, which live in the
// TrapFrame at the top of the CPU's stack while it runs.
Vcpu* current_vcpu();
arch::TrapFrame* current_guest_frame();

// Make a vCPU eligible to run (it is up, not paused, not blocked) and kick a CPU for it.
void wake_vcpu(Vcpu& vcpu);
// Make a running vCPU re-check its state (events, shutdown) on its way back to the guest.
void kick_vcpu(Vcpu& vcpu);
// Take a vCPU off the CPUs: out of the run queues, and off the CPU it runs on (by IPI).
void deschedule_vcpu(Vcpu& vcpu);

// Called on the way back to a guest: switch to another vCPU if this CPU must reschedule.
// Does not return if it switches.
void maybe_reschedule();
// Give up the CPU now (SCHEDOP_yield) / stop until woken (SCHEDOP_block, poll); never return to
// the caller's frame: the vCPU resumes from its saved registers.
[[noreturn]] void yield_current();
[[noreturn]] void block_current();
// Leave the current vCPU (it was descheduled or its domain is gone) and schedule another.
[[noreturn]] void leave_current();


}  // namespace xenolith
