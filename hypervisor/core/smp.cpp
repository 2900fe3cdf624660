// Starting the APs, cross-CPU calls and panic stops.
#include "core/smp.hpp"

#include "acpi/tables.hpp"
#include "arch/x86_64/apic.hpp"
#include "arch/x86_64/cpu_setup.hpp"
#include "arch/x86_64/cr.hpp"
#include "arch/x86_64/interrupts.hpp"
#include "arch/x86_64/paging.hpp"
#include "arch/x86_64/smp_boot.hpp"
#include "arch/x86_64/syscall_stub.hpp"
#include "arch/x86_64/traps.hpp"
#include "arch/x86_64/tsc.hpp"
#include "core/console.hpp"
#include "core/panic.hpp"
#include "core/timer.hpp"
#include "lib/spinlock.hpp"
#include "mm/page_allocator.hpp"
#include "sched/scheduler.hpp"

namespace xenolith {

namespace {

SpinLock g_cross_call_lock;
// Generous: under TCG on a loaded host a CPU can be slow to answer; only a CPU that is truly
// stuck (interrupts off for this long) should bring the machine down.
constexpr std::uint64_t CROSS_CALL_TIMEOUT_NS = 30'000'000'000ull;

// Run a cross-call addressed to this CPU, if one is waiting.
void serve_cross_call(Cpu& cpu) {
    CrossCallFunction fn = cpu.call_function.load(MemoryOrder::Acquire);
    if (!fn)
        return;
    fn(cpu.call_argument);
    cpu.calls_served.fetch_add(1, MemoryOrder::Relaxed);
    cpu.call_function.store(nullptr, MemoryOrder::Release);
}

void cross_call_interrupt(arch::TrapFrame&) { serve_cross_call(this_cpu()); }

// Prepare everything a starting CPU needs before it runs (its stack block and StackTop).
Result<void> prepare_cpu(Cpu& cpu) {
    const std::uint64_t block_phys = TRY(allocate_frames(STACK_BLOCK_ORDER));
    cpu.stack_block = reinterpret_cast<std::uintptr_t>(arch::phys_to_virt(block_phys));
    stack_top_of(cpu.stack_block)->cpu = &cpu;
    return ok();
}

}  // namespace

void serve_cross_calls() { serve_cross_call(this_cpu()); }

void init_cross_calls() { arch::set_interrupt_handler(arch::vector::CALL_FUNCTION, cross_call_interrupt); }

void cross_call(unsigned index, CrossCallFunction fn, void* argument) {
    Cpu& self = this_cpu();
    if (index == self.index) {
        fn(argument);
        return;
    }
    Cpu& target = cpu_by_index(index);
    if (!target.online.load())
        panic("cross-call to CPU {} which is offline", index);

    // While waiting (for the lock or the answer) keep serving calls made to this CPU, so two
    // CPUs calling each other with interrupts off cannot deadlock.
    while (!g_cross_call_lock.try_lock())
        serve_cross_call(self);
    target.call_argument = argument;
    target.call_function.store(fn, MemoryOrder::Release);
    arch::local_apic().send_fixed_ipi(target.apic_id, arch::vector::CALL_FUNCTION);
    const std::uint64_t give_up = arch::system_time_ns() + CROSS_CALL_TIMEOUT_NS;
    while (target.call_function.load(MemoryOrder::Acquire)) {
        serve_cross_call(self);
        arch::pause();
        if (arch::system_time_ns() > give_up)
            panic("CPU {} (APIC {}) did not answer a cross-call within 30 s", index, target.apic_id);
    }
    g_cross_call_lock.unlock();
}

void cross_call_all(CrossCallFunction fn, void* argument) {
    for (unsigned i = 0; i < cpus_present(); ++i) {
        if (cpu_by_index(i).online.load())
            cross_call(i, fn, argument);
    }
}

void stop_other_cpus() {
    if (arch::local_apic().mapped() && cpus_online() > 1)
        arch::local_apic().send_nmi_all_but_self();
}

void halt_this_cpu_for_panic() {
    this_cpu().online.store(false);
    for (;;) {
        arch::cli();
        arch::hlt();
    }
}

unsigned start_secondary_cpus(const AcpiInfo& acpi, std::uint64_t trampoline_phys, unsigned max_cpus) {
    const std::uint32_t bsp_apic_id = arch::local_apic().id();
    unsigned count = 1;
    cpu_by_index(0).apic_id = bsp_apic_id;
    arch::install_trampoline(trampoline_phys);

    for (std::size_t i = 0; i < acpi.cpu_count; ++i) {
        const AcpiCpu& entry = acpi.cpus[i];
        if (!entry.enabled || entry.apic_id == bsp_apic_id)
            continue;
        if (count >= max_cpus || count >= MAX_CPUS) {
            log_info("smp: CPU with APIC id {} not started (limit {} CPUs)", entry.apic_id, count);
            continue;
        }
        auto created = create_cpu(count);
        if (!created) {
            log_error("smp: no memory for CPU {} (error {})", count, created.error());
            break;
        }
        Cpu& cpu = **created;
        cpu.apic_id = entry.apic_id;
        if (auto prepared = prepare_cpu(cpu); !prepared) {
            log_error("smp: no memory for CPU {}'s stacks (error {})", count, prepared.error());
            break;
        }
        set_cpus_present(count + 1);
        const std::uint64_t stack = reinterpret_cast<std::uintptr_t>(stack_top_of(cpu.stack_block));
        if (auto woken = arch::wake_processor(entry.apic_id, stack); !woken) {
            // Its Cpu stays allocated under this index: the next CPU reuses neither.
            log_error("smp: CPU with APIC id {} did not start", entry.apic_id);
            set_cpus_present(count);
            break;
        }
        // Wait until it has its own descriptors and timer (it reports online itself).
        const std::uint64_t give_up = arch::system_time_ns() + 2'000'000'000ull;
        while (!cpu.online.load() && arch::system_time_ns() < give_up)
            arch::pause();
        if (!cpu.online.load())
            panic("smp: CPU {} started but never came online", count);
        ++count;
    }
    return count;
}

}  // namespace xenolith

using namespace xenolith;

// First C++ code on an application processor, on its own stack block (see start_secondary_cpus).
extern "C" [[noreturn]] void ap_main() {
    Cpu& cpu = this_cpu();
    arch::configure_control_registers();
    arch::load_idt();
    if (auto set_up = arch::setup_cpu_descriptors(cpu); !set_up)
        panic("CPU {}: cannot set up its GDT/TSS (error {})", cpu.index, set_up.error());
    if (auto entry = arch::install_syscall_entry(cpu); !entry)
        panic("CPU {}: cannot install its syscall entry (error {})", cpu.index, entry.error());
    arch::enable_local_apic();
    timer_init_this_cpu();
    scheduler_init_this_cpu();
    log_debug("smp: CPU {} (APIC id {}) online", cpu.index, cpu.apic_id);
    cpu.online.store(true);
    run_loop();
}
