// Interrupt controllers as the system uses them: the shared LAPIC mapping, the IOAPICs from
// ACPI, and each CPU's one-shot timer (TSC-deadline when available, else the LAPIC counter).
#pragma once

#include <cstdint>

#include "arch/x86_64/lapic.hpp"
#include "lib/result.hpp"

namespace xenolith {
struct AcpiInfo;
}

namespace xenolith::arch {

LocalApic& local_apic();

// Map the LAPIC and every IOAPIC (masking all their inputs) and retire the 8259s.
Result<void> init_interrupt_controllers(const AcpiInfo& acpi);

// Enable this CPU's LAPIC.
void enable_local_apic();

// Calibrate the LAPIC timer against the TSC (needs the system clock), on the boot CPU.
void calibrate_lapic_timer();
std::uint64_t lapic_timer_hz();

// Prepare this CPU's timer; then arm it for an absolute system time in ns.
void oneshot_timer_init(std::uint8_t vector);
void oneshot_timer_arm(std::uint64_t deadline_ns);
bool using_tsc_deadline();

unsigned ioapic_count();

}  // namespace xenolith::arch
