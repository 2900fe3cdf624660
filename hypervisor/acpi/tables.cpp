// ACPI: RSDP discovery, root table walk, HPET and FADT (ACPI 6.5 §5.2.5-5.2.9; HPET spec 1.0a §3.2.4).
#include "acpi/tables.hpp"

namespace xenolith {
namespace {

constexpr std::size_t kHeaderSize = 36;
// No real table comes near this; a larger length is corruption and bounds what we map.
constexpr std::uint32_t kMaxTableLength = 1u << 20;
constexpr std::string_view kRsdpSignature = "RSD PTR ";

bool signature_is(std::span<const std::byte> table, std::string_view sig) {
    return as_chars(table.first(4)) == sig;
}

// Map and validate one System Description Table: header, length and checksum.
std::span<const std::byte> read_table(const PhysReader& memory, std::uint64_t phys, Diagnostics& diag) {
    std::span<const std::byte> header = memory.map(phys, kHeaderSize);
    if (header.size() != kHeaderSize) {
        diag.error("acpi: table at {:#x} is not readable", phys);
        return {};
    }
    const std::uint32_t length = load_le<std::uint32_t>(header, 4);
    if (length < kHeaderSize || length > kMaxTableLength) {
        diag.error("acpi: table {} at {:#x} has bad length {}", as_chars(header.first(4)), phys, length);
        return {};
    }
    std::span<const std::byte> table = memory.map(phys, length);
    if (table.size() != length) {
        diag.error("acpi: table {} at {:#x} ({} bytes) is not readable", as_chars(header.first(4)), phys, length);
        return {};
    }
    if (!acpi_checksum_ok(table)) {
        diag.error("acpi: table {} at {:#x} has a bad checksum", as_chars(header.first(4)), phys);
        return {};
    }
    return table;
}

void parse_hpet(std::span<const std::byte> t, AcpiInfo& out, Diagnostics& diag) {
    if (t.size() < 56) {
        diag.error("acpi: HPET table too short ({} bytes)", t.size());
        return;
    }
    out.hpet = {true, load_le<std::uint64_t>(t, 44), load_le<std::uint8_t>(t, 40), load_le<std::uint32_t>(t, 36),
                load_le<std::uint8_t>(t, 52), load_le<std::uint16_t>(t, 53)};
}

void parse_fadt(std::span<const std::byte> t, AcpiInfo& out, Diagnostics& diag) {
    if (t.size() < 116) {  // the ACPI 1.0 FADT; every later one only appends
        diag.error("acpi: FADT too short ({} bytes)", t.size());
        return;
    }
    AcpiFadt& f = out.fadt;
    f.present = true;
    f.revision = load_le<std::uint8_t>(t, 8);
    f.sci_interrupt = load_le<std::uint16_t>(t, 46);
    f.pm_timer_port = load_le<std::uint32_t>(t, 76);
    f.pm_timer_length = load_le<std::uint8_t>(t, 91);
    f.century = load_le<std::uint8_t>(t, 108);
    f.boot_arch_flags = f.revision >= 2 ? load_le<std::uint16_t>(t, 109) : 0;
    f.flags = load_le<std::uint32_t>(t, 112);
    f.pm_timer_32bit = (f.flags >> 8) & 1;
    // X_PM_TMR_BLK is a Generic Address Structure at 208: space id, widths, then the address.
    f.x_pm_timer_space = load_le_or_zero<std::uint8_t>(t, 208);
    f.x_pm_timer_address = load_le_or_zero<std::uint64_t>(t, 212);
}

void record_table(std::span<const std::byte> t, std::uint64_t phys, AcpiInfo& out, Diagnostics& diag) {
    if (out.table_count == AcpiInfo::kMaxTables) {
        diag.error("acpi: more than {} tables; {} at {:#x} not recorded", AcpiInfo::kMaxTables, as_chars(t.first(4)),
                   phys);
        out.overflow = true;
        return;
    }
    AcpiTableRef& ref = out.tables[out.table_count++];
    __builtin_memcpy(ref.signature, t.data(), 4);
    ref.phys = phys;
    ref.length = static_cast<std::uint32_t>(t.size());
}

// Look for a valid RSDP in [start, end) on 16-byte boundaries.
bool scan_for_rsdp(const PhysReader& memory, std::uint64_t start, std::uint64_t end, RsdpInfo& found) {
    NullDiagnostics quiet;  // near misses during a scan are normal, not worth reporting
    for (std::uint64_t p = start; p + 20 <= end; p += 16) {
        std::span<const std::byte> head = memory.map(p, 20);
        if (head.size() != 20 || as_chars(head.first(8)) != kRsdpSignature)
            continue;
        std::span<const std::byte> full = memory.map(p, 36);
        if (full.size() != 36 || end - p < 36)
            full = head;
        Result<RsdpInfo> r = parse_rsdp(full, quiet);
        if (r.is_ok()) {
            found = *r;
            found.phys = p;
            return true;
        }
    }
    return false;
}

}  // namespace

bool acpi_checksum_ok(std::span<const std::byte> bytes) {
    std::uint8_t sum = 0;
    for (std::byte b : bytes)
        sum = static_cast<std::uint8_t>(sum + std::to_integer<std::uint8_t>(b));
    return sum == 0;
}

std::size_t AcpiInfo::enabled_cpu_count() const {
    std::size_t n = 0;
    for (const AcpiCpu& c : cpu_list())
        n += c.enabled ? 1 : 0;
    return n;
}

void AcpiInfo::reset() {
    rsdp = {};
    used_xsdt = has_madt = pcat_compat = overflow = false;
    local_apic_address = 0;
    cpu_count = disabled_cpu_count = ioapic_count = override_count = nmi_count = table_count = 0;
    hpet = {};
    fadt = {};
}

Result<RsdpInfo> parse_rsdp(std::span<const std::byte> bytes, Diagnostics& diag) {
    if (bytes.size() < 20 || as_chars(bytes.first(8)) != kRsdpSignature) {
        diag.error("acpi: no RSDP signature");
        return Errno::EINVAL;
    }
    if (!acpi_checksum_ok(bytes.first(20))) {
        diag.error("acpi: RSDP checksum is bad");
        return Errno::EBADMSG;
    }
    RsdpInfo info{};
    info.revision = load_le<std::uint8_t>(bytes, 15);
    info.rsdt = load_le<std::uint32_t>(bytes, 16);
    __builtin_memcpy(info.oem_id, bytes.data() + 9, 6);
    if (info.revision >= 2) {
        const std::uint32_t length = load_le_or_zero<std::uint32_t>(bytes, 20);
        if (bytes.size() < 36 || length < 36 || length > bytes.size() || !acpi_checksum_ok(bytes.first(length))) {
            diag.error("acpi: RSDP revision {} has a bad extended length/checksum; using the RSDT only", info.revision);
            info.revision = 0;
        } else {
            info.xsdt = load_le<std::uint64_t>(bytes, 24);
        }
    }
    return info;
}

Result<RsdpInfo> find_rsdp(const PhysReader& memory, std::span<const std::byte> boot_copy, Diagnostics& diag) {
    if (!boot_copy.empty()) {
        Result<RsdpInfo> r = parse_rsdp(boot_copy, diag);
        if (r.is_ok())
            return r;
        diag.error("acpi: the boot loader's RSDP copy is invalid; scanning memory");
    }
    RsdpInfo found{};
    // The BIOS data area holds the EBDA's real-mode segment at 0x40E.
    std::span<const std::byte> bda = memory.map(0x40E, 2);
    if (bda.size() == 2) {
        const std::uint64_t ebda = std::uint64_t{load_le<std::uint16_t>(bda, 0)} << 4;
        if (ebda >= 0x400 && ebda < 0x100000 && scan_for_rsdp(memory, ebda, ebda + 1024, found))
            return found;
    }
    if (scan_for_rsdp(memory, 0xE0000, 0x100000, found))
        return found;
    diag.error("acpi: no RSDP found");
    return Errno::ENOENT;
}

Result<void> parse_acpi(const PhysReader& memory, const RsdpInfo& rsdp, AcpiInfo& out, Diagnostics& diag) {
    out.reset();
    out.rsdp = rsdp;
    std::span<const std::byte> root;
    std::size_t entry_size = 8;
    if (rsdp.revision >= 2 && rsdp.xsdt != 0) {
        root = read_table(memory, rsdp.xsdt, diag);
        if (!root.empty() && !signature_is(root, "XSDT")) {
            diag.error("acpi: table at XSDT address {:#x} is {}", rsdp.xsdt, as_chars(root.first(4)));
            root = {};
        }
        if (root.empty())
            diag.error("acpi: XSDT unusable; falling back to the RSDT");
        out.used_xsdt = !root.empty();
    }
    if (root.empty()) {
        entry_size = 4;
        if (rsdp.rsdt != 0)
            root = read_table(memory, rsdp.rsdt, diag);
        if (!root.empty() && !signature_is(root, "RSDT")) {
            diag.error("acpi: table at RSDT address {:#x} is {}", rsdp.rsdt, as_chars(root.first(4)));
            root = {};
        }
        if (root.empty()) {
            diag.error("acpi: no usable root table");
            return Errno::EBADMSG;
        }
    }
    const std::size_t payload = root.size() - kHeaderSize;
    if (payload % entry_size != 0)
        diag.error("acpi: root table has {} trailing bytes", payload % entry_size);
    for (std::size_t off = kHeaderSize; root.size() - off >= entry_size; off += entry_size) {
        const std::uint64_t phys =
            entry_size == 8 ? load_le<std::uint64_t>(root, off) : std::uint64_t{load_le<std::uint32_t>(root, off)};
        if (phys == 0)
            continue;
        std::span<const std::byte> t = read_table(memory, phys, diag);
        if (t.empty())
            continue;
        record_table(t, phys, out, diag);
        if (signature_is(t, "APIC")) {
            if (out.has_madt) {
                diag.error("acpi: second MADT at {:#x} ignored", phys);
                continue;
            }
            out.has_madt = true;
            parse_madt(t, out, diag);
        } else if (signature_is(t, "HPET") && !out.hpet.present) {
            parse_hpet(t, out, diag);
        } else if (signature_is(t, "FACP") && !out.fadt.present) {
            parse_fadt(t, out, diag);
        }
    }
    return ok();
}

}  // namespace xenolith
