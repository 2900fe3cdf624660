// Tests for ACPI discovery and parsing over synthesized firmware tables in a fake memory.
#include <gtest/gtest.h>

#include "acpi/tables.hpp"
#include "fake_memory.hpp"
#include "test_support.hpp"

namespace xenolith {
namespace {

using test::Bytes;
using test::CollectingDiagnostics;
using test::FakeMemory;

void fix_checksum(std::vector<std::uint8_t>& t, std::size_t at, std::size_t len) {
    t[at] = 0;
    std::uint8_t sum = 0;
    for (std::size_t i = 0; i < len; ++i)
        sum = static_cast<std::uint8_t>(sum + t[i]);
    t[at] = static_cast<std::uint8_t>(-sum);
}

// An SDT: 36-byte header (length and checksum filled in) followed by `body`.
std::vector<std::uint8_t> sdt(const std::string& sig, const Bytes& body, std::uint8_t revision = 1) {
    Bytes h;
    h.str(sig, false).u32(36 + body.size()).u8(revision).u8(0).str("XENOLT", false).str("TESTTABL", false);
    h.u32(1).str("XTST", false).u32(1).raw(body.data);
    fix_checksum(h.data, 9, h.size());
    return h.data;
}

std::vector<std::uint8_t> rsdp(std::uint8_t revision, std::uint32_t rsdt, std::uint64_t xsdt) {
    Bytes r;
    r.str("RSD PTR ", false).u8(0).str("XENOLT", false).u8(revision).u32(rsdt);
    if (revision >= 2) {
        r.u32(36).u64(xsdt).u8(0).u8(0).u8(0).u8(0);
        fix_checksum(r.data, 8, 20);
        fix_checksum(r.data, 32, 36);
    } else {
        fix_checksum(r.data, 8, 20);
    }
    return r.data;
}

std::span<const std::byte> as_span(const std::vector<std::uint8_t>& v) {
    return {reinterpret_cast<const std::byte*>(v.data()), v.size()};
}

Bytes madt_body() {
    Bytes m;
    m.u32(0xFEE00000).u32(1);               // local APIC address, PCAT_COMPAT
    m.u8(0).u8(8).u8(0).u8(0).u32(1);       // CPU uid 0 apic 0 enabled
    m.u8(0).u8(8).u8(1).u8(2).u32(1);       // CPU uid 1 apic 2 enabled
    m.u8(0).u8(8).u8(2).u8(4).u32(0);       // disabled: not listed
    m.u8(0).u8(8).u8(3).u8(6).u32(2);       // online-capable
    m.u8(9).u8(16).u16(0).u32(300).u32(1).u32(7);  // x2APIC id 300 uid 7
    m.u8(9).u8(16).u16(0).u32(2).u32(1).u32(1);    // duplicate of apic 2: ignored
    m.u8(1).u8(12).u8(5).u8(0).u32(0xFEC00000).u32(0);  // IOAPIC 5
    m.u8(1).u8(12).u8(6).u8(0).u32(0xFEC01000).u32(24);
    m.u8(2).u8(10).u8(0).u8(0).u32(2).u16(0);       // IRQ0 -> GSI2
    m.u8(2).u8(10).u8(0).u8(9).u32(9).u16(0xD);     // IRQ9 level, active low
    m.u8(4).u8(6).u8(0xFF).u16(5).u8(1);            // NMI on LINT1 for all CPUs
    m.u8(5).u8(12).u16(0).u64(0x1FEE00000ULL);      // local APIC address override
    m.u8(0x7F).u8(4).u16(0);                        // unknown type: skipped
    return m;
}

Bytes hpet_body() {
    Bytes h;
    h.u32(0x8086A201).u8(0).u8(64).u8(0).u8(0).u64(0xFED00000).u8(0).u16(0x80).u8(0);
    return h;
}

Bytes fadt_body(std::size_t total_length = 276) {
    Bytes f;
    f.data.assign(total_length - 36, 0);
    auto put = [&](std::size_t off, std::uint64_t v, int n) {
        for (int i = 0; i < n; ++i)
            f.data[off - 36 + i] = static_cast<std::uint8_t>(v >> (8 * i));
    };
    put(46, 9, 2);         // SCI
    put(76, 0x608, 4);     // PM_TMR_BLK
    put(91, 4, 1);         // PM_TMR_LEN
    put(108, 0x32, 1);     // CENTURY
    put(109, 0x3, 2);      // IAPC_BOOT_ARCH
    put(112, 1u << 8, 4);  // TMR_VAL_EXT
    if (total_length >= 220) {
        put(208, 1, 1);    // X_PM_TMR_BLK: system I/O
        put(212, 0x608, 8);
    }
    return f;
}

struct Platform {
    FakeMemory mem;
    void table(std::uint64_t at, const std::vector<std::uint8_t>& t) { mem.add_bytes(at, t); }
    // Root tables listing `entries`; an XSDT at 0x7000, an RSDT at 0x7800.
    void roots(const std::vector<std::uint64_t>& entries) {
        Bytes x, r;
        for (auto e : entries) {
            x.u64(e);
            r.u32(e);
        }
        table(0x7000, sdt("XSDT", x));
        table(0x7800, sdt("RSDT", r));
    }
    void standard() {
        table(0x8000, sdt("APIC", madt_body(), 5));
        table(0x9000, sdt("HPET", hpet_body()));
        table(0xA000, sdt("FACP", fadt_body(), 6));
        table(0xB000, sdt("SSDT", Bytes{}.u32(0)));
        roots({0x8000, 0x9000, 0xA000, 0xB000, 0});
    }
};

class AcpiTest : public ::testing::Test {
protected:
    Result<void> parse(const std::vector<std::uint8_t>& rsdp_bytes) {
        auto r = parse_rsdp(as_span(rsdp_bytes), diag);
        if (r.is_error())
            return Error{r.error()};
        return parse_acpi(p.mem, *r, *info, diag);
    }
    Platform p;
    CollectingDiagnostics diag;
    std::unique_ptr<AcpiInfo> info = std::make_unique<AcpiInfo>();
};

TEST_F(AcpiTest, FullPlatformThroughXsdt) {
    p.standard();
    ASSERT_TRUE(parse(rsdp(2, 0x7800, 0x7000)).is_ok()) << diag.all();
    EXPECT_TRUE(diag.messages.empty()) << diag.all();
    EXPECT_TRUE(info->used_xsdt);
    EXPECT_TRUE(info->has_madt);
    EXPECT_TRUE(info->pcat_compat);
    EXPECT_EQ(info->local_apic_address, 0x1FEE00000ULL);
    ASSERT_EQ(info->cpu_count, 4u);
    EXPECT_EQ(info->disabled_cpu_count, 1u);
    EXPECT_EQ(info->enabled_cpu_count(), 3u);
    EXPECT_EQ(info->cpus[0].apic_id, 0u);
    EXPECT_EQ(info->cpus[1].apic_id, 2u);
    EXPECT_FALSE(info->cpus[1].x2apic);
    EXPECT_EQ(info->cpus[2].apic_id, 6u);
    EXPECT_FALSE(info->cpus[2].enabled);
    EXPECT_TRUE(info->cpus[2].online_capable);
    EXPECT_EQ(info->cpus[3].apic_id, 300u);
    EXPECT_EQ(info->cpus[3].acpi_uid, 7u);
    EXPECT_TRUE(info->cpus[3].x2apic);
    ASSERT_EQ(info->ioapic_count, 2u);
    EXPECT_EQ(info->ioapics[1].id, 6u);
    EXPECT_EQ(info->ioapics[1].address, 0xFEC01000u);
    EXPECT_EQ(info->ioapics[1].gsi_base, 24u);
    ASSERT_EQ(info->override_count, 2u);
    EXPECT_EQ(info->overrides[0].source_irq, 0u);
    EXPECT_EQ(info->overrides[0].gsi, 2u);
    EXPECT_EQ(info->overrides[1].flags, 0xDu);
    ASSERT_EQ(info->nmi_count, 1u);
    EXPECT_EQ(info->nmis[0].acpi_uid, 0xFFFFFFFFu);
    EXPECT_EQ(info->nmis[0].lint, 1u);
    EXPECT_EQ(info->nmis[0].flags, 5u);
    EXPECT_TRUE(info->hpet.present);
    EXPECT_EQ(info->hpet.address, 0xFED00000u);
    EXPECT_EQ(info->hpet.min_tick, 0x80u);
    EXPECT_EQ(info->hpet.event_timer_block_id, 0x8086A201u);
    EXPECT_TRUE(info->fadt.present);
    EXPECT_EQ(info->fadt.pm_timer_port, 0x608u);
    EXPECT_EQ(info->fadt.pm_timer_length, 4u);
    EXPECT_TRUE(info->fadt.pm_timer_32bit);
    EXPECT_EQ(info->fadt.century, 0x32u);
    EXPECT_EQ(info->fadt.sci_interrupt, 9u);
    EXPECT_EQ(info->fadt.boot_arch_flags, 3u);
    EXPECT_EQ(info->fadt.x_pm_timer_address, 0x608u);
    EXPECT_EQ(info->fadt.x_pm_timer_space, 1u);
    ASSERT_EQ(info->table_count, 4u);
    EXPECT_EQ(std::string(info->tables[3].signature, 4), "SSDT");
    EXPECT_EQ(info->tables[1].phys, 0x9000u);
}

TEST_F(AcpiTest, RevisionZeroUsesRsdt) {
    p.standard();
    ASSERT_TRUE(parse(rsdp(0, 0x7800, 0)).is_ok()) << diag.all();
    EXPECT_FALSE(info->used_xsdt);
    EXPECT_EQ(info->cpu_count, 4u);
    EXPECT_EQ(info->table_count, 4u);
}

TEST_F(AcpiTest, BadXsdtFallsBackToRsdt) {
    p.standard();
    auto x = sdt("XSDT", Bytes{}.u64(0x8000));
    x[20] ^= 1;  // breaks the checksum
    p.table(0x7000, x);
    ASSERT_TRUE(parse(rsdp(2, 0x7800, 0x7000)).is_ok());
    EXPECT_FALSE(info->used_xsdt);
    EXPECT_EQ(info->table_count, 4u);
    EXPECT_TRUE(diag.any_contains("XSDT at 0x7000 has a bad checksum")) << diag.all();
}

TEST_F(AcpiTest, NoUsableRoot) {
    p.standard();
    EXPECT_EQ(parse(rsdp(0, 0x7000, 0)).error(), Errno::EBADMSG);  // an XSDT where the RSDT should be
    EXPECT_TRUE(diag.any_contains("RSDT address 0x7000 is XSDT")) << diag.all();
    EXPECT_EQ(parse(rsdp(0, 0x123000, 0)).error(), Errno::EBADMSG);  // nothing mapped
}

TEST_F(AcpiTest, BadTablesAreSkippedOthersKept) {
    auto madt = sdt("APIC", madt_body());
    madt[40] ^= 0xFF;  // bad checksum
    p.table(0x8000, madt);
    auto hpet = sdt("HPET", hpet_body());
    hpet[4] = 0xFF;  // length far beyond what is mapped
    hpet[5] = 0xFF;
    p.table(0x9000, hpet);
    p.table(0xA000, sdt("FACP", fadt_body(116), 1));  // ACPI 1.0 FADT: no extended fields
    auto tiny = sdt("SSDT", Bytes{});
    tiny[4] = 20;  // length below the header size
    p.table(0xB000, tiny);
    p.roots({0x8000, 0x9000, 0xA000, 0xB000, 0xDEAD000});
    ASSERT_TRUE(parse(rsdp(2, 0x7800, 0x7000)).is_ok());
    EXPECT_FALSE(info->has_madt);
    EXPECT_FALSE(info->hpet.present);
    ASSERT_TRUE(info->fadt.present);
    EXPECT_EQ(info->fadt.pm_timer_port, 0x608u);
    EXPECT_EQ(info->fadt.x_pm_timer_address, 0u);
    EXPECT_EQ(info->fadt.boot_arch_flags, 0u);  // revision 1 has no IAPC_BOOT_ARCH
    EXPECT_EQ(info->table_count, 1u);
    EXPECT_EQ(diag.count(), 4u) << diag.all();
    EXPECT_TRUE(diag.any_contains("APIC at 0x8000 has a bad checksum")) << diag.all();
    EXPECT_TRUE(diag.any_contains("has bad length 20")) << diag.all();
    EXPECT_TRUE(diag.any_contains("0xdead000 is not readable")) << diag.all();
}

TEST_F(AcpiTest, TruncatedAndShortMadtEntries) {
    Bytes m;
    m.u32(0xFEE00000).u32(0);
    m.u8(0).u8(8).u8(0).u8(0).u32(1);   // good CPU
    m.u8(1).u8(8).u8(1).u8(0).u32(0);   // IOAPIC entry too short: skipped
    m.u8(9).u8(12).u16(0).u32(5).u32(1);  // x2APIC entry too short: skipped
    m.u8(0).u8(8).u8(1).u8(1).u32(1);   // good CPU
    m.u8(0).u8(40).u8(2).u8(2);         // runs past the table: stop
    p.table(0x8000, sdt("APIC", m));
    p.roots({0x8000});
    ASSERT_TRUE(parse(rsdp(2, 0x7800, 0x7000)).is_ok());
    EXPECT_EQ(info->cpu_count, 2u);
    EXPECT_EQ(info->ioapic_count, 0u);
    EXPECT_EQ(info->pcat_compat, false);
    EXPECT_EQ(diag.count(), 3u) << diag.all();
    EXPECT_TRUE(diag.any_contains("length 40, outside the table")) << diag.all();
}

TEST_F(AcpiTest, ZeroLengthMadtEntryDoesNotLoop) {
    Bytes m;
    m.u32(0xFEE00000).u32(0).u8(0).u8(0).u8(0).u8(0);
    p.table(0x8000, sdt("APIC", m));
    p.roots({0x8000});
    ASSERT_TRUE(parse(rsdp(2, 0x7800, 0x7000)).is_ok());
    EXPECT_EQ(info->cpu_count, 0u);
    EXPECT_EQ(diag.count(), 1u) << diag.all();
}

TEST_F(AcpiTest, ManyCpusOverflowIsReported) {
    Bytes m;
    m.u32(0xFEE00000).u32(0);
    for (std::uint32_t i = 0; i < 300; ++i)
        m.u8(9).u8(16).u16(0).u32(i).u32(1).u32(i);
    p.table(0x8000, sdt("APIC", m));
    p.roots({0x8000});
    ASSERT_TRUE(parse(rsdp(2, 0x7800, 0x7000)).is_ok());
    EXPECT_EQ(info->cpu_count, AcpiInfo::kMaxCpus);
    EXPECT_TRUE(info->overflow);
    EXPECT_EQ(info->cpus[255].apic_id, 255u);
    EXPECT_EQ(diag.count(), 300u - 256u);
}

TEST(AcpiRsdp, ParseAndValidate) {
    CollectingDiagnostics diag;
    auto v2 = rsdp(2, 0x1000, 0x2000);
    auto r = parse_rsdp(as_span(v2), diag);
    ASSERT_TRUE(r.is_ok());
    EXPECT_EQ(r->revision, 2u);
    EXPECT_EQ(r->rsdt, 0x1000u);
    EXPECT_EQ(r->xsdt, 0x2000u);
    EXPECT_EQ(std::string(r->oem_id, 6), "XENOLT");
    auto bad_ext = v2;
    bad_ext[30] ^= 1;  // inside the XSDT address: breaks only the extended checksum
    auto demoted = parse_rsdp(as_span(bad_ext), diag);
    ASSERT_TRUE(demoted.is_ok());
    EXPECT_EQ(demoted->revision, 0u);
    EXPECT_EQ(demoted->xsdt, 0u);
    auto bad = v2;
    bad[16] ^= 1;
    EXPECT_EQ(parse_rsdp(as_span(bad), diag).error(), Errno::EBADMSG);
    auto sig = v2;
    sig[0] = 'X';
    EXPECT_EQ(parse_rsdp(as_span(sig), diag).error(), Errno::EINVAL);
    EXPECT_EQ(parse_rsdp(as_span(v2).first(19), diag).error(), Errno::EINVAL);
    EXPECT_EQ(parse_rsdp(as_span(v2).first(20), diag)->revision, 0u);  // v2 header, v1 bytes only
}

TEST(AcpiRsdp, BootCopyPreferredThenEbdaThenBios) {
    FakeMemory mem;
    mem.add(0, 0x1000);
    mem.add(0x9F000, 0x1000);   // EBDA
    mem.add(0xE0000, 0x20000);  // BIOS area
    CollectingDiagnostics diag;
    EXPECT_EQ(find_rsdp(mem, {}, diag).error(), Errno::ENOENT);

    auto bios = rsdp(0, 0xB105, 0);
    mem.write(0xF5A30, bios.data(), bios.size());
    auto misaligned = rsdp(0, 0xBAD, 0);
    mem.write(0xE0008, misaligned.data(), misaligned.size());  // not on a 16-byte boundary
    auto r = find_rsdp(mem, {}, diag);
    ASSERT_TRUE(r.is_ok());
    EXPECT_EQ(r->phys, 0xF5A30u);
    EXPECT_EQ(r->rsdt, 0xB105u);

    const std::uint16_t segment = 0x9F00;
    mem.write(0x40E, &segment, 2);
    auto broken = rsdp(2, 0xE1, 0xE2);
    broken[8] ^= 1;  // bad checksum: skipped by the scan
    mem.write(0x9F010, broken.data(), broken.size());
    auto ebda = rsdp(2, 0xEBDA, 0xEBDA0);
    mem.write(0x9F040, ebda.data(), ebda.size());
    r = find_rsdp(mem, {}, diag);
    ASSERT_TRUE(r.is_ok());
    EXPECT_EQ(r->phys, 0x9F040u);
    EXPECT_EQ(r->xsdt, 0xEBDA0u);

    auto copy = rsdp(2, 0xC0, 0xC00);
    r = find_rsdp(mem, as_span(copy), diag);
    ASSERT_TRUE(r.is_ok());
    EXPECT_EQ(r->phys, 0u);
    EXPECT_EQ(r->xsdt, 0xC00u);

    copy[9] ^= 1;  // an invalid boot copy falls back to the scan
    diag.messages.clear();
    r = find_rsdp(mem, as_span(copy), diag);
    ASSERT_TRUE(r.is_ok());
    EXPECT_EQ(r->phys, 0x9F040u);
    EXPECT_TRUE(diag.any_contains("copy is invalid")) << diag.all();
}

TEST(AcpiRsdp, ScanNeverReadsOutsideMappedMemory) {
    FakeMemory mem;  // nothing mapped at all
    CollectingDiagnostics diag;
    EXPECT_EQ(find_rsdp(mem, {}, diag).error(), Errno::ENOENT);
    mem.add(0x40E, 2);
    const std::uint16_t segment = 0xFFFF;  // EBDA claimed past 1 MiB: ignored
    mem.write(0x40E, &segment, 2);
    EXPECT_EQ(find_rsdp(mem, {}, diag).error(), Errno::ENOENT);
}

}  // namespace
}  // namespace xenolith
