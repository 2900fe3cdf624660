// Tests for the Multiboot1/Multiboot2 parsers and the usable-range computation.
#include <gtest/gtest.h>

#include "boot/multiboot.hpp"
#include "fake_memory.hpp"
#include "test_support.hpp"

#include <random>

namespace xenolith {

// For readable failure messages (found by ADL, so it lives in xenolith itself).
std::ostream& operator<<(std::ostream& os, const PhysRange& r) {
    return os << std::hex << "[" << r.start << "," << r.end << ")" << std::dec;
}

namespace {

using test::Bytes;
using test::CollectingDiagnostics;
using test::FakeMemory;

struct Entry {
    std::uint64_t base, length;
    std::uint32_t type;
};

// Builds a Multiboot2 information block tag by tag.
struct Mb2Builder {
    Bytes b;
    Mb2Builder() { b.u32(0).u32(0); }
    Mb2Builder& tag(std::uint32_t type, const Bytes& payload, bool pad = true) {
        b.u32(type).u32(8 + payload.size()).raw(payload.data);
        if (pad)
            b.pad_to(8);
        return *this;
    }
    Mb2Builder& cmdline(const std::string& s) { return tag(1, Bytes{}.str(s)); }
    Mb2Builder& loader(const std::string& s) { return tag(2, Bytes{}.str(s)); }
    Mb2Builder& module(std::uint32_t start, std::uint32_t end, const std::string& s) {
        return tag(3, Bytes{}.u32(start).u32(end).str(s));
    }
    Mb2Builder& basic(std::uint32_t lower, std::uint32_t upper) { return tag(4, Bytes{}.u32(lower).u32(upper)); }
    Mb2Builder& mmap(const std::vector<Entry>& entries, std::uint32_t entry_size = 24) {
        Bytes p;
        p.u32(entry_size).u32(0);
        for (const Entry& e : entries) {
            p.u64(e.base).u64(e.length).u32(e.type).u32(0);
            for (std::uint32_t i = 24; i < entry_size; ++i)
                p.u8(0xEE);
        }
        return tag(6, p);
    }
    std::vector<std::uint8_t> finish(bool end_tag = true) {
        if (end_tag)
            tag(0, Bytes{});
        b.patch32(0, static_cast<std::uint32_t>(b.size()));
        return b.data;
    }
};

std::vector<std::uint8_t> rsdp_bytes(std::size_t n, std::uint8_t seed) {
    std::vector<std::uint8_t> v(n);
    for (std::size_t i = 0; i < n; ++i)
        v[i] = static_cast<std::uint8_t>(seed + i);
    return v;
}

constexpr std::uint64_t kInfo = 0x10000;

class Multiboot2Test : public ::testing::Test {
protected:
    Result<void> parse(const std::vector<std::uint8_t>& block, std::uint64_t at = kInfo) {
        mem.add_bytes(at, block);
        return parse_multiboot(kMultiboot2BootMagic, at, mem, *info, diag);
    }
    FakeMemory mem;
    CollectingDiagnostics diag;
    std::unique_ptr<BootInfo> info = std::make_unique<BootInfo>();
};

TEST_F(Multiboot2Test, FullInformation) {
    Mb2Builder mb;
    mb.cmdline("loglvl=debug noreboot")
        .loader("GRUB 2.06")
        .module(0x200000, 0x280000, "dom0 console=hvc0")
        .module(0x300000, 0x300000, "")
        .mmap({{0, 0x9fc00, 1}, {0x9fc00, 0x400, 2}, {0x100000, 0x7ee0000, 1}, {0x7fe0000, 0x10000, 3},
               {0x7ff0000, 0x10000, 4}, {0x8000000, 0x1000, 5}, {0xfffc0000, 0x40000, 7}, {0x9000000, 0, 1}})
        .tag(15, Bytes{}.raw(rsdp_bytes(36, 0x40)))
        .tag(14, Bytes{}.raw(rsdp_bytes(20, 0x80)))  // an older copy after the new one must not win
        .basic(639, 130000)
        .tag(21, Bytes{}.u32(0x100000))
        .tag(8, Bytes{}.u64(0xfd000000).u32(4096));  // framebuffer: ignored
    auto block = mb.finish();
    ASSERT_TRUE(parse(block).is_ok()) << diag.all();
    EXPECT_TRUE(diag.messages.empty()) << diag.all();
    EXPECT_EQ(info->protocol, BootProtocol::Multiboot2);
    EXPECT_EQ(info->cmdline.view(), "loglvl=debug noreboot");
    EXPECT_EQ(info->loader_name.view(), "GRUB 2.06");
    ASSERT_EQ(info->module_count, 2u);
    EXPECT_EQ(info->modules[0].start, 0x200000u);
    EXPECT_EQ(info->modules[0].end, 0x280000u);
    EXPECT_EQ(info->modules[0].cmdline.view(), "dom0 console=hvc0");
    EXPECT_EQ(info->modules[1].cmdline.view(), "");
    ASSERT_EQ(info->memory_count, 7u);  // the zero-length region is dropped
    const MemoryType expected[] = {MemoryType::Usable, MemoryType::Reserved, MemoryType::Usable,
                                   MemoryType::AcpiReclaimable, MemoryType::AcpiNvs, MemoryType::Bad,
                                   MemoryType::Reserved};
    for (std::size_t i = 0; i < 7; ++i)
        EXPECT_EQ(info->memory[i].type, expected[i]) << i;
    EXPECT_EQ(info->memory[2].base, 0x100000u);
    EXPECT_EQ(info->memory[2].length, 0x7ee0000u);
    ASSERT_EQ(info->rsdp_size, 36u);
    EXPECT_EQ(std::to_integer<int>(info->rsdp[0]), 0x40);
    EXPECT_EQ(std::to_integer<int>(info->rsdp[35]), 0x40 + 35);
    EXPECT_TRUE(info->has_basic_memory);
    EXPECT_EQ(info->mem_lower_kib, 639u);
    EXPECT_EQ(info->mem_upper_kib, 130000u);
    EXPECT_EQ(info->load_base, 0x100000u);
    ASSERT_EQ(info->info_range_count, 1u);
    EXPECT_EQ(info->info_ranges[0].start, kInfo);
    EXPECT_EQ(info->info_ranges[0].end, kInfo + block.size());
}

TEST_F(Multiboot2Test, OldRsdpOnlyAndLargerMmapEntries) {
    auto block = Mb2Builder{}.tag(14, Bytes{}.raw(rsdp_bytes(20, 1))).mmap({{0x100000, 0x100000, 1}}, 32).finish();
    ASSERT_TRUE(parse(block).is_ok()) << diag.all();
    EXPECT_EQ(info->rsdp_size, 20u);
    ASSERT_EQ(info->memory_count, 1u);
    EXPECT_EQ(info->memory[0].length, 0x100000u);
}

TEST_F(Multiboot2Test, ShortRsdpTagsAreRejected) {
    auto block = Mb2Builder{}.tag(15, Bytes{}.raw(rsdp_bytes(20, 1))).tag(14, Bytes{}.raw(rsdp_bytes(8, 1))).finish();
    ASSERT_TRUE(parse(block).is_ok());
    EXPECT_EQ(info->rsdp_size, 0u);
    EXPECT_EQ(diag.count(), 2u) << diag.all();
}

TEST_F(Multiboot2Test, BadMagicAndAlignment) {
    auto block = Mb2Builder{}.cmdline("x").finish();
    mem.add_bytes(kInfo, block);
    EXPECT_EQ(parse_multiboot(0x12345678, kInfo, mem, *info, diag).error(), Errno::EINVAL);
    EXPECT_TRUE(diag.any_contains("unknown boot magic 0x12345678")) << diag.all();
    mem.add_bytes(kInfo + 0x1004, block);
    EXPECT_EQ(parse_multiboot2(kInfo + 0x1004, mem, *info, diag).error(), Errno::EINVAL);
}

TEST_F(Multiboot2Test, BadTotalSize) {
    auto block = Mb2Builder{}.cmdline("x").finish();
    auto small = block;
    small[0] = 8;
    EXPECT_EQ(parse(small).error(), Errno::EBADMSG);
    auto huge = block;
    huge[3] = 0x10;  // 256 MiB
    EXPECT_EQ(parse(huge, kInfo + 0x100000).error(), Errno::EBADMSG);
    auto beyond = block;
    beyond[0] = static_cast<std::uint8_t>(block.size() + 64);  // claims more than is mapped
    EXPECT_EQ(parse(beyond, kInfo + 0x200000).error(), Errno::EFAULT);
    EXPECT_EQ(parse_multiboot2(0x900000, mem, *info, diag).error(), Errno::EFAULT);  // nothing mapped there
}

TEST_F(Multiboot2Test, TruncatedTagKeepsEarlierTags) {
    Mb2Builder mb;
    mb.cmdline("first").b.u32(3).u32(400).u32(0x1000).u32(0x2000);  // a module tag claiming 400 bytes
    auto block = mb.finish(false);
    ASSERT_EQ(parse(block).error(), Errno::EBADMSG);
    EXPECT_EQ(info->cmdline.view(), "first");
    EXPECT_EQ(info->module_count, 0u);
    EXPECT_TRUE(diag.any_contains("tag type 3 at offset 24 has size 400")) << diag.all();
}

TEST_F(Multiboot2Test, TagSmallerThanHeader) {
    Mb2Builder mb;
    mb.b.u32(1).u32(4).u32(0).u32(0);
    EXPECT_EQ(parse(mb.finish()).error(), Errno::EBADMSG);
}

TEST_F(Multiboot2Test, MissingEndTag) {
    auto block = Mb2Builder{}.cmdline("no end").mmap({{0x100000, 0x1000000, 1}}).finish(false);
    EXPECT_EQ(parse(block).error(), Errno::EBADMSG);
    EXPECT_TRUE(diag.any_contains("no end tag")) << diag.all();
    EXPECT_EQ(info->cmdline.view(), "no end");
    EXPECT_EQ(info->memory_count, 1u);
}

TEST_F(Multiboot2Test, MisalignedTagsAreNotSilentlyAccepted) {
    Mb2Builder mb;
    mb.tag(1, Bytes{}.str("abcd"), /*pad=*/false);  // 13 bytes, next tag not 8-aligned
    mb.module(0x1000, 0x2000, "m");
    auto result = parse(mb.finish());
    EXPECT_FALSE(result.is_ok() && diag.messages.empty() && info->module_count == 1) << diag.all();
}

TEST_F(Multiboot2Test, TooManyRegionsAndModules) {
    std::vector<Entry> entries;
    for (std::uint64_t i = 0; i < 130; ++i)
        entries.push_back({i << 20, 0x1000, 1});
    Mb2Builder mb;
    mb.mmap(entries);
    for (std::uint32_t i = 0; i < 33; ++i)
        mb.module(0x1000000 + i * 0x1000, 0x1000000 + i * 0x1000 + 0x800, "mod" + std::to_string(i));
    ASSERT_TRUE(parse(mb.finish()).is_ok());
    EXPECT_EQ(info->memory_count, BootInfo::kMaxMemoryRegions);
    EXPECT_TRUE(info->memory_overflow);
    EXPECT_EQ(info->memory[127].base, 127u << 20);
    EXPECT_EQ(info->module_count, BootInfo::kMaxModules);
    EXPECT_TRUE(info->module_overflow);
    EXPECT_EQ(info->modules[31].cmdline.view(), "mod31");
    EXPECT_EQ(diag.count(), 2u) << diag.all();  // one report per overflow, not one per dropped entry
}

TEST_F(Multiboot2Test, BadStringsAndModules) {
    Mb2Builder mb;
    mb.tag(1, Bytes{}.str("unterminated", false));
    mb.loader(std::string(100, 'L'));
    mb.module(0x3000, 0x2000, "backwards");
    mb.tag(3, Bytes{}.u32(0x1000));  // too short for a module
    mb.mmap({}, 20);                 // entry size below 24
    ASSERT_TRUE(parse(mb.finish()).is_ok());
    EXPECT_EQ(info->cmdline.view(), "");
    EXPECT_EQ(info->loader_name.view(), std::string(63, 'L'));
    EXPECT_TRUE(info->loader_name.truncated());
    EXPECT_EQ(info->module_count, 0u);
    EXPECT_EQ(info->memory_count, 0u);
    EXPECT_EQ(diag.count(), 5u) << diag.all();
    EXPECT_TRUE(diag.any_contains("not NUL-terminated")) << diag.all();
    EXPECT_TRUE(diag.any_contains("ends (0x2000) before it starts (0x3000)")) << diag.all();
}

TEST_F(Multiboot2Test, BasicMemoryWithoutMapIsSynthesized) {
    ASSERT_TRUE(parse(Mb2Builder{}.basic(640, 0x20000).finish()).is_ok());
    ASSERT_EQ(info->memory_count, 2u);
    EXPECT_EQ(info->memory[0].base, 0u);
    EXPECT_EQ(info->memory[0].length, 640u * 1024);
    EXPECT_EQ(info->memory[1].base, 0x100000u);
    EXPECT_EQ(info->memory[1].length, 0x20000ull * 1024);
    EXPECT_EQ(info->memory[1].type, MemoryType::Usable);
}

TEST_F(Multiboot2Test, ReparseResetsPreviousState) {
    ASSERT_TRUE(parse(Mb2Builder{}.cmdline("a").module(1, 2, "m").finish()).is_ok());
    ASSERT_TRUE(parse(Mb2Builder{}.finish(), kInfo + 0x1000).is_ok());
    EXPECT_EQ(info->cmdline.view(), "");
    EXPECT_EQ(info->module_count, 0u);
}

// ---- Multiboot1 ----

constexpr std::uint64_t kMb1Info = 0x9000;

class Multiboot1Test : public ::testing::Test {
protected:
    // A complete info structure with flags for memory, cmdline, modules, mmap and loader name.
    void build(std::uint32_t flags, const std::vector<std::uint8_t>& mmap) {
        Bytes s;
        s.u32(flags).u32(639).u32(65000).u32(0);     // flags, mem_lower, mem_upper, boot_device
        s.u32(0x20000).u32(2).u32(0x21000);          // cmdline, mods_count, mods_addr
        s.u32(0).u32(0).u32(0).u32(0);               // syms
        s.u32(static_cast<std::uint32_t>(mmap.size())).u32(0x22000);  // mmap_length, mmap_addr
        s.u32(0).u32(0).u32(0).u32(0x20100);         // drives, config, boot_loader_name
        s.pad_to(116);
        mem.add_bytes(kMb1Info, s.data);
        mem.add_string(0x20000, "/boot/xenolith loglvl=info");
        mem.add_string(0x20100, "qemu");
        Bytes mods;
        mods.u32(0x400000).u32(0x480000).u32(0x21100).u32(0);
        mods.u32(0x500000).u32(0x500123).u32(0).u32(0);  // no command line
        mem.add_bytes(0x21000, mods.data);
        mem.add_string(0x21100, "initrd");
        mem.add_bytes(0x22000, mmap);
    }
    static std::vector<std::uint8_t> mmap(const std::vector<Entry>& entries, std::uint32_t size_field = 20) {
        Bytes m;
        for (const Entry& e : entries) {
            m.u32(size_field).u64(e.base).u64(e.length).u32(e.type);
            for (std::uint32_t i = 20; i < size_field; ++i)
                m.u8(0);
        }
        return m.data;
    }
    Result<void> parse() { return parse_multiboot(kMultiboot1BootMagic, kMb1Info, mem, *info, diag); }
    FakeMemory mem;
    CollectingDiagnostics diag;
    std::unique_ptr<BootInfo> info = std::make_unique<BootInfo>();
};

constexpr std::uint32_t kAllFlags = (1u << 0) | (1u << 2) | (1u << 3) | (1u << 6) | (1u << 9);

TEST_F(Multiboot1Test, FullInformation) {
    auto map = mmap({{0, 0x9fc00, 1}, {0xf0000, 0x10000, 2}, {0x100000, 0x3ff0000, 1}});
    auto wide = mmap({{0xfee00000, 0x1000, 2}}, 28);  // an entry with a larger size field
    map.insert(map.end(), wide.begin(), wide.end());
    build(kAllFlags, map);
    ASSERT_TRUE(parse().is_ok()) << diag.all();
    EXPECT_TRUE(diag.messages.empty()) << diag.all();
    EXPECT_EQ(info->protocol, BootProtocol::Multiboot1);
    EXPECT_EQ(info->cmdline.view(), "/boot/xenolith loglvl=info");
    EXPECT_EQ(info->loader_name.view(), "qemu");
    ASSERT_EQ(info->module_count, 2u);
    EXPECT_EQ(info->modules[0].start, 0x400000u);
    EXPECT_EQ(info->modules[0].end, 0x480000u);
    EXPECT_EQ(info->modules[0].cmdline.view(), "initrd");
    EXPECT_EQ(info->modules[1].end, 0x500123u);
    EXPECT_EQ(info->modules[1].cmdline.view(), "");
    ASSERT_EQ(info->memory_count, 4u);
    EXPECT_EQ(info->memory[2].base, 0x100000u);
    EXPECT_EQ(info->memory[2].length, 0x3ff0000u);
    EXPECT_EQ(info->memory[3].base, 0xfee00000u);
    EXPECT_EQ(info->memory[3].type, MemoryType::Reserved);
    EXPECT_EQ(info->rsdp_size, 0u);
    ASSERT_EQ(info->info_range_count, 3u);
    EXPECT_EQ(info->info_ranges[0].start, kMb1Info);
    EXPECT_EQ(info->info_ranges[0].end, kMb1Info + 68);  // through boot_loader_name
    EXPECT_EQ(info->info_ranges[1].start, 0x21000u);
    EXPECT_EQ(info->info_ranges[1].end, 0x21020u);
    EXPECT_EQ(info->info_ranges[2].end, 0x22000u + map.size());
}

TEST_F(Multiboot1Test, OnlyFlaggedFieldsAreRead) {
    build(1u << 0, mmap({{0, 0x1000, 1}}));
    ASSERT_TRUE(parse().is_ok());
    EXPECT_EQ(info->cmdline.view(), "");
    EXPECT_EQ(info->module_count, 0u);
    ASSERT_EQ(info->memory_count, 2u);  // synthesized from mem_lower/mem_upper
    EXPECT_EQ(info->memory[1].length, 65000u * 1024);
    EXPECT_EQ(info->info_ranges[0].end, kMb1Info + 12);
}

TEST_F(Multiboot1Test, TruncatedMemoryMapKeepsEarlierEntries) {
    auto map = mmap({{0, 0x9fc00, 1}, {0x100000, 0x100000, 1}});
    map.erase(map.end() - 4, map.end());  // the last entry runs past mmap_length
    build(kAllFlags, map);
    EXPECT_EQ(parse().error(), Errno::EBADMSG);
    EXPECT_EQ(info->memory_count, 1u);
    EXPECT_EQ(info->module_count, 2u);
    EXPECT_TRUE(diag.any_contains("outside the 44-byte map")) << diag.all();
}

TEST_F(Multiboot1Test, EntrySizeTooSmall) {
    build(kAllFlags, mmap({{0, 0x1000, 1}}, 12));
    EXPECT_EQ(parse().error(), Errno::EBADMSG);
    // Nothing came from the broken map, so mem_lower/mem_upper (conservative by definition) stand in.
    ASSERT_EQ(info->memory_count, 2u);
    EXPECT_EQ(info->memory[0].length, 639u * 1024);
}

TEST_F(Multiboot1Test, UnreadablePointers) {
    build(kAllFlags, mmap({{0, 0x1000, 1}}));
    mem.add_bytes(0x20000, {'a', 'b'});    // command line runs off the end of memory
    mem.add_bytes(0x21000, {1, 2, 3, 4});  // module list shorter than 2 entries
    EXPECT_EQ(parse().error(), Errno::EBADMSG);
    EXPECT_EQ(info->cmdline.view(), "");
    EXPECT_EQ(info->module_count, 0u);
    EXPECT_EQ(info->loader_name.view(), "qemu");
    EXPECT_EQ(info->memory_count, 1u);
    EXPECT_TRUE(diag.any_contains("command line at 0x20000 is not readable")) << diag.all();
    EXPECT_TRUE(diag.any_contains("module list (2 entries at 0x21000)")) << diag.all();
}

TEST_F(Multiboot1Test, UnreadableInfoStructure) {
    EXPECT_EQ(parse().error(), Errno::EFAULT);
    mem.add_bytes(kMb1Info, {0xff, 0xff, 0, 0, 0, 0});  // flags want 116 bytes, 6 mapped
    EXPECT_EQ(parse().error(), Errno::EFAULT);
}

TEST_F(Multiboot1Test, AbsurdModuleCount) {
    build(kAllFlags, mmap({{0, 0x1000, 1}}));
    mem.write(kMb1Info + 20, "\xff\xff\xff\x0f", 4);  // 0x0fffffff modules
    EXPECT_EQ(parse().error(), Errno::EBADMSG);
    EXPECT_EQ(info->module_count, 0u);
}

// ---- usable ranges ----

std::vector<PhysRange> usable(const std::vector<MemoryRegion>& map, const std::vector<PhysRange>& reserved,
                              std::size_t capacity = 64, CollectingDiagnostics* diag_out = nullptr) {
    std::vector<PhysRange> out(capacity);
    CollectingDiagnostics local;
    auto& diag = diag_out ? *diag_out : local;
    out.resize(compute_usable_ranges(map, reserved, out, diag));
    return out;
}


TEST(UsableRanges, SubtractsOverlappingReservations) {
    const std::vector<MemoryRegion> map = {{0x100000, 0x7f00000, MemoryType::Usable},
                                           {0, 0x9fc00, MemoryType::Usable},
                                           {0xf0000, 0x10000, MemoryType::Reserved}};
    const std::vector<PhysRange> reserved = {
        {0, 0x100000}, {0x200000, 0x400000}, {0x300000, 0x500000}, {0x1000800, 0x1001800}, {0x9000000, 0x9001000}};
    const std::vector<PhysRange> expected = {{0x100000, 0x200000}, {0x500000, 0x1000000}, {0x1002000, 0x8000000}};
    EXPECT_EQ(usable(map, reserved), expected);
}

TEST(UsableRanges, FirmwareOverlapsAndUnalignedRegions) {
    const std::vector<MemoryRegion> map = {{0x100000, 0x1000000, MemoryType::Usable},
                                           {0x800000, 0x1000000, MemoryType::Usable},  // overlaps the first
                                           {0x400800, 0x10, MemoryType::AcpiNvs},      // inside usable RAM
                                           {0x2000800, 0x2000, MemoryType::Usable},    // shrinks to one page
                                           {0x3000800, 0x800, MemoryType::Usable},     // no whole page
                                           {0x4000000, 0x1000, MemoryType::Bad}};
    const std::vector<PhysRange> expected = {{0x100000, 0x400000}, {0x401000, 0x1800000}, {0x2001000, 0x2002000}};
    EXPECT_EQ(usable(map, {}), expected);
}

TEST(UsableRanges, SaturatesAtTopOfAddressSpace) {
    const std::vector<MemoryRegion> map = {{0xFFFFFFFFFFFF0000ull, 0x100000, MemoryType::Usable}};
    const std::vector<PhysRange> expected = {{0xFFFFFFFFFFFF0000ull, 0xFFFFFFFFFFFFF000ull}};
    EXPECT_EQ(usable(map, {}), expected);
    EXPECT_TRUE(usable(map, {{0xFFFFFFFFFFFE0000ull, 0xFFFFFFFFFFFFFFFFull}}).empty());
}

TEST(UsableRanges, SmallOutputDropsButNeverInvents) {
    const std::vector<MemoryRegion> map = {{0, 0x100000, MemoryType::Usable}};
    CollectingDiagnostics diag;
    auto out = usable(map, {{0x10000, 0x11000}, {0x20000, 0x21000}, {0x30000, 0x31000}}, 2, &diag);
    const std::vector<PhysRange> expected = {{0, 0x10000}, {0x11000, 0x20000}};
    EXPECT_EQ(out, expected);
    EXPECT_FALSE(diag.messages.empty());
}

TEST(UsableRanges, BootReservedRangesCoverEverything) {
    auto info = std::make_unique<BootInfo>();
    info->reset();
    info->info_ranges[0] = {0x9000, 0x9044};
    info->info_range_count = 1;
    info->modules[0].start = 0x400000;
    info->modules[0].end = 0x480000;
    info->module_count = 1;
    PhysRange out[8];
    CollectingDiagnostics diag;
    ASSERT_EQ(boot_reserved_ranges(*info, out, diag), 3u);
    EXPECT_EQ(out[0], (PhysRange{0, 0x100000}));
    EXPECT_EQ(out[1], (PhysRange{0x9000, 0x9044}));
    EXPECT_EQ(out[2], (PhysRange{0x400000, 0x480000}));
    EXPECT_EQ(boot_reserved_ranges(*info, std::span<PhysRange>(out, 2), diag), 2u);
    EXPECT_EQ(diag.count(), 1u);
}

// Compare against a page-by-page model over a small address space with random inputs.
TEST(UsableRanges, RandomAgainstPageModel) {
    constexpr std::uint64_t kPages = 512;
    for (std::uint32_t seed = 1; seed <= 300; ++seed) {
        std::mt19937_64 rng(seed);
        auto addr = [&] { return (rng() % kPages) * 4096 + (rng() % 3 == 0 ? rng() % 4096 : 0); };
        std::vector<MemoryRegion> map;
        std::vector<PhysRange> reserved;
        for (int i = 0, n = 1 + static_cast<int>(rng() % 8); i < n; ++i) {
            const std::uint64_t a = addr(), len = rng() % (kPages * 4096 / 4);
            map.push_back({a, len, rng() % 3 ? MemoryType::Usable : MemoryType::Reserved});
        }
        for (int i = 0, n = static_cast<int>(rng() % 6); i < n; ++i) {
            const std::uint64_t a = addr();
            reserved.push_back({a, a + rng() % (kPages * 4096 / 8)});
        }
        std::vector<bool> good(kPages + 1024, false), bad(kPages + 1024, false);
        for (const auto& r : map)
            for (std::uint64_t p = 0; p < good.size(); ++p) {
                const std::uint64_t ps = p * 4096, pe = ps + 4096;
                if (r.type == MemoryType::Usable && ps >= r.base && pe <= r.base + r.length)
                    good[p] = true;
                if (r.type != MemoryType::Usable && r.length && ps < r.base + r.length && pe > r.base)
                    bad[p] = true;
            }
        for (const auto& r : reserved)
            for (std::uint64_t p = 0; p < good.size(); ++p)
                if (r.end > r.start && p * 4096 < r.end && p * 4096 + 4096 > r.start)
                    bad[p] = true;
        std::vector<PhysRange> expected;
        for (std::uint64_t p = 0; p < good.size(); ++p) {
            if (!good[p] || bad[p])
                continue;
            if (!expected.empty() && expected.back().end == p * 4096)
                expected.back().end += 4096;
            else
                expected.push_back({p * 4096, p * 4096 + 4096});
        }
        ASSERT_EQ(usable(map, reserved, 256), expected) << "seed " << seed;
    }
}

}  // namespace
}  // namespace xenolith
