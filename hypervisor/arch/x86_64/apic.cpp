// LAPIC/IOAPIC bring-up and the per-CPU one-shot timer.
#include "arch/x86_64/apic.hpp"

#include "acpi/tables.hpp"
#include "arch/x86_64/cpu_features.hpp"
#include "arch/x86_64/cr.hpp"
#include "arch/x86_64/ioapic.hpp"
#include "arch/x86_64/legacy_timers.hpp"
#include "arch/x86_64/msr.hpp"
#include "arch/x86_64/trap_frame.hpp"
#include "arch/x86_64/tsc.hpp"
#include "core/console.hpp"
#include "mm/kernel_space.hpp"

namespace xenolith::arch {

namespace {
LocalApic g_lapic;
constexpr unsigned MAX_IOAPICS = 16;
IoApic g_ioapics[MAX_IOAPICS];
unsigned g_ioapic_count = 0;
std::uint64_t g_lapic_timer_hz = 0;
bool g_tsc_deadline = false;
constexpr std::uint64_t APIC_BASE_ENABLE = 1u << 11;
}  // namespace

LocalApic& local_apic() { return g_lapic; }
unsigned ioapic_count() { return g_ioapic_count; }
std::uint64_t lapic_timer_hz() { return g_lapic_timer_hz; }
bool using_tsc_deadline() { return g_tsc_deadline; }

Result<void> init_interrupt_controllers(const AcpiInfo& acpi) {
    disable_legacy_pic(vector::LEGACY_PIC_BASE);

    const std::uint64_t lapic_phys = acpi.local_apic_address ? acpi.local_apic_address : 0xfee00000;
    g_lapic.set_base(TRY(map_mmio(lapic_phys, 4096)));

    for (std::size_t i = 0; i < acpi.ioapic_count && g_ioapic_count < MAX_IOAPICS; ++i) {
        IoApic& ioapic = g_ioapics[g_ioapic_count];
        ioapic.set_base(TRY(map_mmio(acpi.ioapics[i].address, 4096)));
        ioapic.mask_all();
        log_info("ioapic: id {} at {:#x}, GSI {}-{}, version {:#x}", acpi.ioapics[i].id, acpi.ioapics[i].address,
                 acpi.ioapics[i].gsi_base, acpi.ioapics[i].gsi_base + ioapic.redirection_entries() - 1,
                 ioapic.version());
        ++g_ioapic_count;
    }
    g_tsc_deadline = cpu_features().tsc_deadline;
    return ok();
}

void enable_local_apic() {
    wrmsr(msr::APIC_BASE, rdmsr(msr::APIC_BASE) | APIC_BASE_ENABLE);
    g_lapic.enable(vector::SPURIOUS, vector::APIC_ERROR);
}

void calibrate_lapic_timer() {
    // Count LAPIC ticks over 10 ms of TSC time.
    g_lapic.timer_setup_oneshot(vector::TIMER);
    g_lapic.timer_mask();
    g_lapic.timer_start(0xffffffff);
    const std::uint64_t start = rdtsc();
    const std::uint64_t wait = tsc_hz() / 100;
    while (rdtsc() - start < wait)
        pause();
    const std::uint32_t elapsed = 0xffffffff - g_lapic.timer_current();
    g_lapic.timer_start(0);
    g_lapic_timer_hz = std::uint64_t{elapsed} * 100;
}

void oneshot_timer_init(std::uint8_t vector) {
    if (g_tsc_deadline)
        g_lapic.timer_setup_tsc_deadline(vector);
    else
        g_lapic.timer_setup_oneshot(vector);
}

void oneshot_timer_arm(std::uint64_t deadline_ns) {
    const std::uint64_t now = system_time_ns();
    const std::uint64_t delta_ns = deadline_ns > now ? deadline_ns - now : 0;
    if (g_tsc_deadline) {
        wrmsr(msr::TSC_DEADLINE, rdtsc() + ns_to_tsc(delta_ns) + 1);
        return;
    }
    std::uint64_t ticks = static_cast<std::uint64_t>(static_cast<unsigned __int128>(delta_ns) * g_lapic_timer_hz /
                                                     1'000'000'000ull);
    if (ticks == 0)
        ticks = 1;
    if (ticks > 0xffffffff)
        ticks = 0xffffffff;  // the timer re-arms itself when it fires early
    g_lapic.timer_start(static_cast<std::uint32_t>(ticks));
}

}  // namespace xenolith::arch
