// boot_main(): the boot CPU's path from the boot loader to a running system.
#include "lib/string.hpp"

#include "acpi/tables.hpp"
#include "arch/x86_64/apic.hpp"
#include "arch/x86_64/cpu_features.hpp"
#include "arch/x86_64/cpu_setup.hpp"
#include "arch/x86_64/cr.hpp"
#include "arch/x86_64/layout.h"
#include "arch/x86_64/paging.hpp"
#include "arch/x86_64/traps.hpp"
#include "arch/x86_64/tsc.hpp"
#include "boot/multiboot.hpp"
#include "core/console.hpp"
#include "core/cpu.hpp"
#include "core/options.hpp"
#include "core/panic.hpp"
#include "core/selftest.hpp"
#include "core/smp.hpp"
#include "core/timer.hpp"
#include "arch/x86_64/syscall_stub.hpp"
#include "domain/boot_domains.hpp"
#include "mm/domain_memory.hpp"
#include "mm/pv_mm.hpp"
#include "pv/guest_console.hpp"
#include "pv/time.hpp"
#include "sched/scheduler.hpp"
#include "mm/kernel_space.hpp"
#include "mm/page_allocator.hpp"

extern "C" char __image_end[];
extern "C" alignas(STACK_BLOCK_SIZE) std::byte bsp_stack_block[STACK_BLOCK_SIZE];
alignas(STACK_BLOCK_SIZE) std::byte bsp_stack_block[STACK_BLOCK_SIZE];

namespace xenolith {

namespace {

// Boot-loader data lives in static storage: it is large and must outlive the loader's memory.
BootInfo g_boot_info;
AcpiInfo g_acpi;

// Physical memory as the boot page tables show it: the first 4 GiB through the direct map.
class BootPhysReader final : public PhysReader {
public:
    std::span<const std::byte> map(std::uint64_t phys, std::size_t len) const override {
        constexpr std::uint64_t LIMIT = 4ull << 30;
        if (phys >= LIMIT || len > LIMIT - phys)
            return {};
        return {static_cast<const std::byte*>(arch::phys_to_virt(phys)), len};
    }
};

class ConsoleDiagnostics final : public Diagnostics {
public:
    explicit ConsoleDiagnostics(const char* what) : m_what(what) {}
    void report(std::string_view message) override { log_warning("{}: {}", m_what, message); }

private:
    const char* m_what;
};

const char* memory_type_name(MemoryType type) {
    switch (type) {
    case MemoryType::Usable: return "usable";
    case MemoryType::Reserved: return "reserved";
    case MemoryType::AcpiReclaimable: return "ACPI data";
    case MemoryType::AcpiNvs: return "ACPI NVS";
    case MemoryType::Bad: return "bad";
    }
    return "?";
}

struct Size {
    std::uint64_t bytes;
    void format(FormatOutput& out) const {
        if (bytes >= (1ull << 30) && bytes % (1ull << 30) == 0)
            format_to(out, "{} GiB", bytes >> 30);
        else if (bytes >= (1ull << 20))
            format_to(out, "{} MiB", bytes >> 20);
        else
            format_to(out, "{} KiB", bytes >> 10);
    }
};

void print_boot_info(const BootInfo& info) {
    log_info("boot loader: {} ({})", info.loader_name.view().empty() ? "unknown" : info.loader_name.view(),
             info.protocol == BootProtocol::Multiboot2 ? "Multiboot2" : "Multiboot1");
    log_info("command line: {}", info.cmdline.view());
    log_info("memory map:");
    std::uint64_t usable = 0;
    for (const MemoryRegion& r : info.memory_map()) {
        log_info("  {:016x}-{:016x} {}", r.base, r.base + r.length - 1, memory_type_name(r.type));
        if (r.type == MemoryType::Usable)
            usable += r.length;
    }
    log_info("memory: {} usable RAM", Size{usable});
    for (std::size_t i = 0; i < info.module_count; ++i) {
        const BootModule& m = info.modules[i];
        log_info("module {}: {:#x}-{:#x} ({}) '{}'", i, m.start, m.end, Size{m.end - m.start}, m.cmdline.view());
    }
}

void print_cpu_features(const arch::CpuFeatures& f) {
    log_info("cpu: {} family {:#x} model {:#x} stepping {}", f.vendor, f.family, f.model, f.stepping);
    FixedBuffer<200> flags;
    auto flag = [&](bool present, const char* name) { format_to(flags, " {}{}", present ? "+" : "-", name); };
    flag(f.nx, "nx");
    flag(f.smep, "smep");
    flag(f.smap, "smap");
    flag(f.umip, "umip");
    flag(f.fsgsbase, "fsgsbase");
    flag(f.pge, "pge");
    flag(f.huge_pages, "pdpe1gb");
    flag(f.pcid, "pcid");
    flag(f.invpcid, "invpcid");
    flag(f.x2apic, "x2apic");
    flag(f.tsc_deadline, "tsc-deadline");
    flag(f.invariant_tsc, "invtsc");
    flag(f.xsave, "xsave");
    flag(f.rdtscp, "rdtscp");
    log_info("cpu features:{}", flags.view());
}

void print_acpi(const AcpiInfo& acpi) {
    FixedBuffer<200> tables;
    for (const AcpiTableRef& table : acpi.table_list())
        format_to(tables, " {}", std::string_view(table.signature, 4));
    log_info("acpi: RSDP revision {} ({}), tables:{}", acpi.rsdp.revision, acpi.used_xsdt ? "XSDT" : "RSDT",
             tables.view());
    log_info("acpi: {} CPUs, {} IOAPICs, {} interrupt overrides, HPET {}", acpi.enabled_cpu_count(),
             acpi.ioapic_count, acpi.override_count, acpi.hpet.present ? "present" : "absent");
    for (const AcpiCpu& cpu : acpi.cpu_list())
        log_debug("acpi: CPU uid {} APIC id {}{}", cpu.acpi_uid, cpu.apic_id, cpu.enabled ? "" : " (not enabled)");
    for (const AcpiOverride& o : acpi.override_list())
        log_info("acpi: ISA IRQ {} -> GSI {} (flags {:#x})", o.source_irq, o.gsi, o.flags);
}

// A page below 1 MiB for the AP trampoline: usable in the memory map and clear of the loader's
// structures and modules (the page allocator never manages the first MiB).
std::uint64_t find_trampoline_page(const BootInfo& info) {
    for (std::uint64_t page = 0x1000; page < 0x9f000; page += 0x1000) {
        bool usable = false;
        for (const MemoryRegion& r : info.memory_map())
            usable |= r.type == MemoryType::Usable && r.base <= page && page + 0x1000 <= r.base + r.length;
        for (const PhysRange& r : info.info_extent())
            usable &= !(page < r.end && r.start < page + 0x1000);
        for (const BootModule& m : info.module_list())
            usable &= !(page < m.end && m.start < page + 0x1000);
        if (usable)
            return page;
    }
    return 0;
}

void init_memory(const BootInfo& info) {
    if (auto built = build_kernel_space(info.memory_map()); !built)
        panic("cannot build the hypervisor page tables (error {})", built.error());

    ConsoleDiagnostics diag("memory");
    PhysRange reserved[BootInfo::kMaxModules + 16];
    std::size_t reserved_count = boot_reserved_ranges(info, reserved, diag);
    const std::uint64_t image_end_phys = arch::image_virt_to_phys(__image_end);
    reserved[reserved_count++] = {IMAGE_PHYS_BASE, image_end_phys};
    static PhysRange usable[256];
    const std::size_t usable_count =
        compute_usable_ranges(info.memory_map(), std::span<const PhysRange>(reserved, reserved_count), usable, diag);
    if (auto started = init_page_allocator(std::span<const PhysRange>(usable, usable_count)); !started)
        panic("cannot start the page allocator (error {})", started.error());
    use_page_allocator_for_page_tables();
    const PageAllocatorStats stats = page_allocator_stats();
    log_info("memory: hypervisor image {:#x}-{:#x}, frame table {}, {} free in the page allocator",
             IMAGE_PHYS_BASE, image_end_phys, Size{stats.frame_table_bytes}, Size{stats.free_frames * 4096});
}

void apic_error_interrupt(arch::TrapFrame&) {
    log_warning("APIC error on CPU {}: status {:#x}", this_cpu().index, arch::local_apic().error_status());
}

void timer_vector(arch::TrapFrame&) { timer_interrupt(); }

void init_time() {
    std::uintptr_t hpet_virt = 0;
    if (g_acpi.hpet.present && g_acpi.hpet.address_space == 0) {
        if (auto mapped = map_mmio(g_acpi.hpet.address, 4096))
            hpet_virt = *mapped;
    }
    auto calibration = arch::calibrate_tsc(options().tsc_calibrate, hpet_virt);
    if (!calibration)
        panic("cannot calibrate the TSC against {} (error {})", arch::calibration_source_name(options().tsc_calibrate),
              calibration.error());
    arch::set_system_clock(calibration->tsc_hz);
    arch::calibrate_lapic_timer();
    log_info("time: TSC {} kHz (calibrated against {}), LAPIC timer {} kHz, one-shot timer: {}",
             calibration->tsc_hz / 1000, arch::calibration_source_name(calibration->source),
             arch::lapic_timer_hz() / 1000, arch::using_tsc_deadline() ? "TSC-deadline" : "LAPIC count-down");
    arch::set_interrupt_handler(arch::vector::TIMER, timer_vector);
    arch::set_interrupt_handler(arch::vector::APIC_ERROR, apic_error_interrupt);
    timer_init_this_cpu();
}

}  // namespace

}  // namespace xenolith

using namespace xenolith;

extern "C" [[noreturn]] void boot_main(std::uint32_t magic, std::uint32_t info_phys) {
    Cpu& bsp = boot_cpu();
    bsp.stack_block = reinterpret_cast<std::uintptr_t>(bsp_stack_block);
    stack_top_of(bsp.stack_block)->cpu = &bsp;

    console::init_serial();
    arch::build_idt();
    arch::load_early_gdt();
    arch::load_idt();
    arch::set_cpu_features(arch::detect_cpu_features());
    arch::configure_control_registers();

    BootPhysReader boot_memory;
    {
        ConsoleDiagnostics diag("boot info");
        if (auto parsed = parse_multiboot(magic, info_phys, boot_memory, g_boot_info, diag); !parsed)
            log_error("boot info is damaged (error {}); continuing with what was read", parsed.error());
    }
    const std::size_t option_problems = parse_options(g_boot_info.cmdline.view());
    console::set_log_level(options().loglvl);
    if (options().console == ConsoleTarget::None)
        console::set_enabled(false);

    log_info("Xenolith hypervisor starting");
    if (option_problems)
        log_warning("command line: {} problem(s) above; those options were ignored", option_problems);
    if (options().help)
        print_options_help();
    print_boot_info(g_boot_info);
    print_cpu_features(arch::cpu_features());

    {
        ConsoleDiagnostics diag("acpi");
        auto rsdp = find_rsdp(boot_memory, g_boot_info.rsdp_bytes(), diag);
        if (!rsdp)
            panic("no ACPI RSDP (error {}): cannot find the CPUs and interrupt controllers", rsdp.error());
        if (auto parsed = parse_acpi(boot_memory, *rsdp, g_acpi, diag); !parsed || !g_acpi.has_madt)
            panic("no usable ACPI MADT: cannot find the CPUs and interrupt controllers");
    }
    print_acpi(g_acpi);
    const std::uint64_t trampoline = find_trampoline_page(g_boot_info);

    init_memory(g_boot_info);
    if (auto set_up = arch::setup_cpu_descriptors(bsp); !set_up)
        panic("cannot set up the boot CPU's GDT/TSS (error {})", set_up.error());
    arch::enable_ist_gates();
    if (auto entry = arch::install_syscall_entry(bsp); !entry)
        panic("cannot install the syscall entry (error {})", entry.error());
    if (auto m2p = init_machine_to_phys(); !m2p)
        panic("cannot set up the machine-to-phys table (error {})", m2p.error());
    init_pv_mm();

    if (auto controllers = arch::init_interrupt_controllers(g_acpi); !controllers)
        panic("cannot map the interrupt controllers (error {})", controllers.error());
    arch::enable_local_apic();
    init_time();
    init_wallclock();
    init_cross_calls();
    scheduler_init_this_cpu();
    bsp.online.store(true);
    arch::sti();

    unsigned online = 1;
    if (!trampoline)
        log_error("smp: no free page below 1 MiB for the AP trampoline; running on one CPU");
    else
        online = start_secondary_cpus(g_acpi, trampoline, options().maxcpus);
    log_info("{} CPU{} online", online, online == 1 ? "" : "s");

    bool good = run_boot_self_checks();
    if (options().crash != CrashTest::None)
        run_crash_test(options().crash);
    if (options().tick_demo_seconds)
        good = run_tick_demo(options().tick_demo_seconds) && good;

    if (!good) {
        log_error("boot self-checks failed");
        shutdown_machine(ExitStatus::Failure);
    }
    if (g_boot_info.module_count == 0) {
        log_info("bring-up complete: no modules, nothing to run");
        if (options().test_exit)
            shutdown_machine(ExitStatus::Success);
    } else {
        start_guest_consoles();
        const unsigned built = build_boot_domains(g_boot_info);
        log_info("bring-up complete: {} domain{} built from {} module{}", built, built == 1 ? "" : "s",
                 g_boot_info.module_count, g_boot_info.module_count == 1 ? "" : "s");
        if (built == 0 && options().test_exit)
            shutdown_machine(ExitStatus::Failure);
    }
    run_loop();
}
