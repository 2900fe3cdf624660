// ACPI table discovery and parsing (RSDP, RSDT/XSDT, MADT, HPET, FADT) from untrusted firmware memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "lib/diagnostics.hpp"
#include "lib/phys_reader.hpp"
#include "lib/result.hpp"

namespace xenolith {

struct RsdpInfo {
    std::uint64_t phys;  // where it was found; 0 when it came from the boot loader's copy
    std::uint8_t revision;  // 0: ACPI 1.0 (RSDT only); >= 2: XSDT may be present
    std::uint32_t rsdt;
    std::uint64_t xsdt;  // 0 unless revision >= 2 and the extended checksum holds
    char oem_id[6];
};

struct AcpiCpu {
    std::uint32_t apic_id;
    std::uint32_t acpi_uid;
    bool enabled;         // usable now
    bool online_capable;  // disabled now but may be brought online (ACPI 6.3+)
    bool x2apic;          // came from an x2APIC entry (type 9)
};

struct AcpiIoApic {
    std::uint8_t id;
    std::uint32_t address;
    std::uint32_t gsi_base;
};

// An ISA IRQ routed to a different GSI or with non-default polarity/trigger (MADT type 2).
struct AcpiOverride {
    std::uint8_t bus;
    std::uint8_t source_irq;
    std::uint32_t gsi;
    std::uint16_t flags;  // MPS INTI flags: bits 0-1 polarity, 2-3 trigger mode
};

struct AcpiLapicNmi {
    std::uint32_t acpi_uid;  // 0xFF (type 4) or 0xFFFFFFFF (type 10) means all processors
    std::uint16_t flags;
    std::uint8_t lint;
};

struct AcpiHpet {
    bool present;
    std::uint64_t address;
    std::uint8_t address_space;  // 0 = system memory
    std::uint32_t event_timer_block_id;
    std::uint8_t number;
    std::uint16_t min_tick;
};

struct AcpiFadt {
    bool present;
    std::uint8_t revision;
    std::uint16_t sci_interrupt;
    std::uint32_t pm_timer_port;  // PM_TMR_BLK (I/O port), 0 if none
    std::uint8_t pm_timer_length;
    bool pm_timer_32bit;          // flags.TMR_VAL_EXT
    std::uint64_t x_pm_timer_address;
    std::uint8_t x_pm_timer_space;
    std::uint32_t flags;
    std::uint8_t century;          // CMOS index of the century, 0 if none
    std::uint16_t boot_arch_flags; // IAPC_BOOT_ARCH
};

struct AcpiTableRef {
    char signature[4];
    std::uint64_t phys;
    std::uint32_t length;
};

// Everything the hypervisor takes from ACPI. About 8 KiB: keep it in static storage.
struct AcpiInfo {
    static constexpr std::size_t kMaxCpus = 256;
    static constexpr std::size_t kMaxIoApics = 16;
    static constexpr std::size_t kMaxOverrides = 48;
    static constexpr std::size_t kMaxNmis = 32;
    static constexpr std::size_t kMaxTables = 64;

    RsdpInfo rsdp;
    bool used_xsdt;
    bool has_madt;
    std::uint64_t local_apic_address;
    bool pcat_compat;  // MADT flags bit 0: 8259 PICs present and must be masked
    AcpiCpu cpus[kMaxCpus];
    std::size_t cpu_count;
    std::size_t disabled_cpu_count;  // entries neither enabled nor online-capable (not listed)
    AcpiIoApic ioapics[kMaxIoApics];
    std::size_t ioapic_count;
    AcpiOverride overrides[kMaxOverrides];
    std::size_t override_count;
    AcpiLapicNmi nmis[kMaxNmis];
    std::size_t nmi_count;
    bool overflow;  // some entry did not fit (reported)
    AcpiHpet hpet;
    AcpiFadt fadt;
    AcpiTableRef tables[kMaxTables];  // every valid table the root table lists
    std::size_t table_count;

    std::span<const AcpiCpu> cpu_list() const { return {cpus, cpu_count}; }
    std::span<const AcpiIoApic> ioapic_list() const { return {ioapics, ioapic_count}; }
    std::span<const AcpiOverride> override_list() const { return {overrides, override_count}; }
    std::span<const AcpiLapicNmi> nmi_list() const { return {nmis, nmi_count}; }
    std::span<const AcpiTableRef> table_list() const { return {tables, table_count}; }
    std::size_t enabled_cpu_count() const;
    void reset();
};

// True if the bytes sum to zero modulo 256 (every ACPI checksum).
bool acpi_checksum_ok(std::span<const std::byte> bytes);

// Validate an RSDP (20 bytes for revision 0, 36 for revision >= 2). A bad extended checksum
// demotes it to revision 0 (RSDT only) with a report; a bad signature or base checksum fails.
Result<RsdpInfo> parse_rsdp(std::span<const std::byte> bytes, Diagnostics& diag);

// The RSDP: the boot loader's copy if it is valid, else a scan of the EBDA's first KiB and of
// 0xE0000-0xFFFFF on 16-byte boundaries. ENOENT if none is found.
Result<RsdpInfo> find_rsdp(const PhysReader& memory, std::span<const std::byte> boot_copy, Diagnostics& diag);

// Follow the XSDT (or RSDT) and parse MADT, HPET and FADT into `out`. Tables with a bad
// checksum or length are reported and skipped; an unusable root table is an error (EBADMSG).
Result<void> parse_acpi(const PhysReader& memory, const RsdpInfo& rsdp, AcpiInfo& out, Diagnostics& diag);

// MADT body parser (madt.cpp); `table` is the whole validated table.
void parse_madt(std::span<const std::byte> table, AcpiInfo& out, Diagnostics& diag);

}  // namespace xenolith
