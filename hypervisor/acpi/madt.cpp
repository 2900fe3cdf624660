// MADT parsing: processors, IOAPICs, interrupt overrides and NMI wiring (ACPI 6.5 §5.2.12).
#include "acpi/tables.hpp"

namespace xenolith {
namespace {

constexpr std::size_t kMadtEntriesOffset = 44;

enum MadtType : std::uint8_t {
    kLocalApic = 0,
    kIoApic = 1,
    kInterruptOverride = 2,
    kLocalApicNmi = 4,
    kLocalApicAddressOverride = 5,
    kLocalX2Apic = 9,
    kLocalX2ApicNmi = 10,
};

// The shortest valid length of each entry type we read (longer entries are allowed: the spec
// may append fields).
std::size_t min_length(std::uint8_t type) {
    switch (type) {
    case kLocalApic: return 8;
    case kIoApic: return 12;
    case kInterruptOverride: return 10;
    case kLocalApicNmi: return 6;
    case kLocalApicAddressOverride: return 12;
    case kLocalX2Apic: return 16;
    case kLocalX2ApicNmi: return 12;
    default: return 2;
    }
}

void add_cpu(AcpiInfo& out, std::uint32_t apic_id, std::uint32_t uid, std::uint32_t flags, bool x2apic,
             Diagnostics& diag) {
    const bool enabled = flags & 1;
    const bool online_capable = (flags >> 1) & 1;
    if (!enabled && !online_capable) {
        ++out.disabled_cpu_count;  // firmware lists absent sockets this way
        return;
    }
    // Firmware may describe a CPU with both a type 0 and a type 9 entry; keep the first.
    for (const AcpiCpu& c : out.cpu_list())
        if (c.apic_id == apic_id)
            return;
    if (out.cpu_count == AcpiInfo::kMaxCpus) {
        diag.error("acpi: more than {} CPUs; APIC id {} ignored", AcpiInfo::kMaxCpus, apic_id);
        out.overflow = true;
        return;
    }
    out.cpus[out.cpu_count++] = {apic_id, uid, enabled, online_capable, x2apic};
}

template <typename T, std::size_t N>
bool append(T (&array)[N], std::size_t& count, const T& value, AcpiInfo& out, std::string_view what,
            Diagnostics& diag) {
    if (count == N) {
        diag.error("acpi: more than {} {}; entry ignored", N, what);
        out.overflow = true;
        return false;
    }
    array[count++] = value;
    return true;
}

}  // namespace

void parse_madt(std::span<const std::byte> t, AcpiInfo& out, Diagnostics& diag) {
    if (t.size() < kMadtEntriesOffset) {
        diag.error("acpi: MADT too short ({} bytes)", t.size());
        return;
    }
    // A type 5 entry, if any, replaces this 32-bit address.
    out.local_apic_address = load_le<std::uint32_t>(t, 36);
    out.pcat_compat = load_le<std::uint32_t>(t, 40) & 1;
    std::size_t off = kMadtEntriesOffset;
    while (t.size() - off >= 2) {
        const std::uint8_t type = load_le<std::uint8_t>(t, off);
        const std::uint8_t length = load_le<std::uint8_t>(t, off + 1);
        if (length < 2 || length > t.size() - off) {
            diag.error("acpi: MADT entry type {} at offset {} has length {}, outside the table", type, off, length);
            return;
        }
        std::span<const std::byte> e = t.subspan(off, length);
        off += length;
        if (length < min_length(type)) {
            diag.error("acpi: MADT entry type {} is {} bytes, need {}; ignored", type, length, min_length(type));
            continue;
        }
        switch (type) {
        case kLocalApic:
            add_cpu(out, load_le<std::uint8_t>(e, 3), load_le<std::uint8_t>(e, 2), load_le<std::uint32_t>(e, 4), false,
                    diag);
            break;
        case kLocalX2Apic:
            add_cpu(out, load_le<std::uint32_t>(e, 4), load_le<std::uint32_t>(e, 12), load_le<std::uint32_t>(e, 8),
                    true, diag);
            break;
        case kIoApic:
            append(out.ioapics, out.ioapic_count,
                   AcpiIoApic{load_le<std::uint8_t>(e, 2), load_le<std::uint32_t>(e, 4), load_le<std::uint32_t>(e, 8)},
                   out, "IOAPICs", diag);
            break;
        case kInterruptOverride:
            append(out.overrides, out.override_count,
                   AcpiOverride{load_le<std::uint8_t>(e, 2), load_le<std::uint8_t>(e, 3), load_le<std::uint32_t>(e, 4),
                                load_le<std::uint16_t>(e, 8)},
                   out, "interrupt overrides", diag);
            break;
        case kLocalApicNmi: {
            const std::uint8_t uid = load_le<std::uint8_t>(e, 2);
            append(out.nmis, out.nmi_count,
                   AcpiLapicNmi{uid == 0xFF ? 0xFFFFFFFFu : uid, load_le<std::uint16_t>(e, 3),
                                load_le<std::uint8_t>(e, 5)},
                   out, "local APIC NMI entries", diag);
            break;
        }
        case kLocalX2ApicNmi:
            append(out.nmis, out.nmi_count,
                   AcpiLapicNmi{load_le<std::uint32_t>(e, 4), load_le<std::uint16_t>(e, 2), load_le<std::uint8_t>(e, 8)},
                   out, "local APIC NMI entries", diag);
            break;
        case kLocalApicAddressOverride:
            out.local_apic_address = load_le<std::uint64_t>(e, 4);
            break;
        default:
            break;  // GIC, SAPIC, wakeup mailbox, ...: not x86 PC essentials
        }
    }
    if (off != t.size())
        diag.error("acpi: MADT has {} trailing bytes", t.size() - off);
}

}  // namespace xenolith
