// Per-CPU state: one Cpu per physical CPU, found from the stack pointer (the top of every CPU's
// stack block holds a pointer to its Cpu, so NMI and #DF stacks find it too).
#pragma once

#include <cstdint>

#include "arch/x86_64/descriptors.hpp"
#include "arch/x86_64/layout.h"
#include "core/timer.hpp"
#include "lib/atomic.hpp"
#include "lib/result.hpp"
#include "lib/spinlock.hpp"

namespace xenolith {

inline constexpr unsigned MAX_CPUS = 64;

// A function run on another CPU by cross_call().
using CrossCallFunction = void (*)(void* argument);

struct Vcpu;

struct Cpu {
    unsigned index = 0;
    std::uint32_t apic_id = 0;
    Atomic<bool> online{false};

    std::uintptr_t stack_block = 0;  // STACK_BLOCK_SIZE bytes, naturally aligned
    alignas(16) arch::TaskStateSegment tss{};
    std::uint64_t* reserved_gdt_page = nullptr;  // the GDT page at selector 0xE000 (§2.6)
    std::uintptr_t gdt_window = 0;              // virtual base loaded into GDTR
    std::uint64_t gdt_window_frames[14] = {};   // what the window's guest pages map now (pv/descriptors)

    TimerQueue timers;
    SpinLock timer_lock;  // other CPUs cancel or move timers queued here
    Atomic<std::uint64_t> timer_interrupts{0};
    std::uint64_t demo_ticks = 0;

    // Scheduling (sched/): the vCPU on this CPU (nullptr = idle), this CPU's run queue.
    Vcpu* current = nullptr;
    bool need_reschedule = false;
    SpinLock run_queue_lock;
    Vcpu* run_queue = nullptr;
    unsigned run_queue_length = 0;
    Timer slice_timer;
    std::uint64_t idle_ns = 0;

    // Incoming cross-call: written by the caller under its lock, cleared by this CPU when done.
    Atomic<CrossCallFunction> call_function{nullptr};
    void* call_argument = nullptr;
    Atomic<std::uint64_t> calls_served{0};
};

// What sits at the top of every stack block (CPU_INFO_RESERVE bytes).
struct StackTop {
    Cpu* cpu;
    std::uint64_t reserved[CPU_INFO_RESERVE / 8 - 1];
};
static_assert(sizeof(StackTop) == CPU_INFO_RESERVE);

Cpu& this_cpu();
Cpu& cpu_by_index(unsigned index);
// The boot CPU's Cpu is static; the others come from a slab cache as they are found.
Cpu& boot_cpu();
Result<Cpu*> create_cpu(unsigned index);
unsigned cpus_online();
unsigned cpus_present();
void set_cpus_present(unsigned count);

// Where a stack block's StackTop lives, and the initial stack pointer below it.
inline StackTop* stack_top_of(std::uintptr_t block) {
    return reinterpret_cast<StackTop*>(block + STACK_BLOCK_SIZE - CPU_INFO_RESERVE);
}

}  // namespace xenolith
