// Tests for the Xen PV ELF parser and segment loader over synthetic images (pv-abi-core.md §1).
// GoogleTest and the standard headers come first: guest-abi's errno.hpp retires libc's errno
// macros, which the standard library's own headers still use.
#include <gtest/gtest.h>

#include <random>

#include "domain/xen_elf.hpp"
#include "elf_writer.hpp"

namespace xenolith::test {
namespace {

Result<XenKernelImage> parse(const Bytes& image, CollectingDiagnostics& diag) {
    return parse_xen_kernel(std::span<const std::byte>(image.data(), image.size()), diag);
}

// The image must be refused, with at least one message containing `needle`.
void expect_refused(const Bytes& image, std::string_view needle, Errno code = Errno::EINVAL) {
    CollectingDiagnostics diag;
    auto r = parse(image, diag);
    ASSERT_TRUE(r.is_error()) << "accepted; wanted a refusal mentioning: " << needle;
    EXPECT_EQ(r.error(), code);
    EXPECT_TRUE(diag.any_contains(needle)) << "messages:\n" << diag.all() << "wanted: " << needle;
}

XenKernelImage parse_ok(const Bytes& image) {
    CollectingDiagnostics diag;
    auto r = parse(image, diag);
    EXPECT_TRUE(r.is_ok()) << diag.all();
    EXPECT_EQ(diag.messages.size(), 0u) << diag.all();
    return r.is_ok() ? *r : XenKernelImage{};
}

ElfBuilder with_notes(const NoteList& n) {
    ElfBuilder b;
    b.entry = 0x100000;
    b.load(0x100000, 0x100000, pattern(0x2000, 5), 0x3000).notes(n);
    return b;
}

NoteList minimal_notes() {
    NoteList n;
    n.string(XenNote::XenVersion, "xen-3.0").string(XenNote::Loader, "generic");
    return n;
}

TEST(XenElf, DebianLikeImage) {
    Bytes image = debian_like_builder().build();
    XenKernelImage k = parse_ok(image);
    EXPECT_EQ(k.segment_count, 4u);
    EXPECT_EQ(k.pstart, 0x1000000u);
    EXPECT_EQ(k.pend, 0x4a00000u);
    EXPECT_EQ(k.virt_base, 0xffffffff80000000u);
    EXPECT_EQ(k.virt_kstart, 0xffffffff81000000u);
    EXPECT_EQ(k.virt_kend, 0xffffffff84a00000u);
    EXPECT_EQ(k.entry, 0xffffffff830791c0u);
    EXPECT_EQ(k.init_p2m, std::optional<std::uint64_t>(0x8000000000));
    EXPECT_FALSE(k.hypercall_page.has_value());
    EXPECT_TRUE(k.mod_start_pfn);
    EXPECT_TRUE(k.suspend_cancel);
    EXPECT_TRUE(k.is_linux());
    EXPECT_EQ(k.guest_os, "linux");
    EXPECT_EQ(k.loader, "generic");
    EXPECT_EQ(k.pae_mode, "yes");
    EXPECT_EQ(k.hv_start_low, std::optional<std::uint64_t>(0xffff800000000000));
    // 41-byte FEATURES text without NUL, OR-ed with SUPPORTED_FEATURES 0x8801.
    EXPECT_EQ(k.features_required, 1u << xenfeat::kWritablePageTables);
    EXPECT_EQ(k.features_supported, 0x8801u | (1u << xenfeat::kPaePgdirAbove4gb));
    EXPECT_EQ(k.note_source, NoteSource::ProgramHeaders);
    EXPECT_EQ(kernel_page_count(k), 0x3a00u);
}

TEST(XenElf, XtfLikeImageUsesElfEntryAndHypercallPage) {
    XenKernelImage k = parse_ok(xtf_like_builder().build());
    EXPECT_EQ(k.virt_base, 0u);
    EXPECT_EQ(k.virt_kstart, 0x100000u);
    EXPECT_EQ(k.virt_kend, 0x109000u);
    EXPECT_EQ(k.entry, 0x100000u);
    EXPECT_EQ(k.hypercall_page, std::optional<std::uint64_t>(0x101000));
    EXPECT_FALSE(k.is_linux());
    EXPECT_FALSE(k.mod_start_pfn);
}

TEST(XenElf, PaddrOffsetShiftsTheKernel) {
    NoteList n = minimal_notes();
    n.number(XenNote::VirtBase, 0xffffffff80000000).number(XenNote::PaddrOffset, 0xffffffff80000000);
    ElfBuilder b;
    b.entry = 0xffffffff80100000;
    b.load(0xffffffff80100000, 0xffffffff80100000, pattern(16, 1), 0x1000).notes(n);
    XenKernelImage k = parse_ok(b.build());
    EXPECT_EQ(k.virt_offset, 0u);
    EXPECT_EQ(k.virt_kstart, 0xffffffff80100000u);
}

TEST(XenElf, NotesFromSectionsWhenNoPtNote) {
    ElfBuilder b;
    b.entry = 0x100000;
    b.load(0x100000, 0x100000, pattern(0x100, 1), 0x1000).note_section(minimal_notes());
    Bytes image = b.build();  // the parsed strings point into it
    XenKernelImage k = parse_ok(image);
    EXPECT_EQ(k.note_source, NoteSource::Sections);
    EXPECT_EQ(k.xen_version, "xen-3.0");
}

TEST(XenElf, PtNoteAtOffsetZeroIsSkipped) {
    ElfBuilder b = with_notes(minimal_notes());
    b.segments[1].forced_offset = 0;  // the PT_NOTE now claims file offset 0: ignored (§1.1)
    b.note_section(minimal_notes());
    XenKernelImage k = parse_ok(b.build());
    EXPECT_EQ(k.note_source, NoteSource::Sections);
}

TEST(XenElf, NonXenNotesAreIgnored) {
    NoteList n = minimal_notes();
    n.raw(std::string_view("GNU\0", 4), 3, pattern(20, 1)).raw(std::string_view("XEN\0", 4), 1, pattern(8, 1));
    XenKernelImage k = parse_ok(with_notes(n).build());
    EXPECT_EQ(k.xen_note_count, 2u);
    EXPECT_EQ(k.entry, 0x100000u);  // the "XEN" ENTRY note was not a Xen note
}

TEST(XenElf, NumericNoteSizes) {
    for (std::size_t size : {1u, 2u, 4u, 8u}) {
        NoteList n = minimal_notes();
        n.number(XenNote::ModStartPfn, 1, size).number(XenNote::HvStartLow, 0x7f, size);
        XenKernelImage k = parse_ok(with_notes(n).build());
        EXPECT_TRUE(k.mod_start_pfn) << size;
        EXPECT_EQ(k.hv_start_low, std::optional<std::uint64_t>(0x7f)) << size;
    }
    NoteList n = minimal_notes();
    n.number(XenNote::Entry, 0x100000, 3);
    expect_refused(with_notes(n).build(), "3-byte value");
}

TEST(XenElf, FeatureParsing) {
    NullDiagnostics nd;
    std::uint32_t sup = 0, req = 0;
    EXPECT_TRUE(parse_xen_features("!writable_page_tables|pae_pgdir_above_4gb|bogus||dom0", sup, req, nd).is_ok());
    EXPECT_EQ(sup, (1u << 0) | (1u << 4) | (1u << 11));
    EXPECT_EQ(req, 1u);
    CollectingDiagnostics diag;
    sup = req = 0;
    EXPECT_TRUE(parse_xen_features("writable_page_tables|!frobnicate", sup, req, diag).is_error());
    EXPECT_TRUE(diag.any_contains("\"frobnicate\""));
    sup = req = 0;
    EXPECT_TRUE(parse_xen_features("", sup, req, nd).is_ok());
    EXPECT_EQ(sup, 0u);

    NoteList n = minimal_notes();
    n.string(XenNote::Features, "!auto_translated_physmap|!hvm_callback_vector|!nope");
    expect_refused(with_notes(n).build(), "unknown feature \"nope\"");
}

TEST(XenElf, RefusesNonElfAndWrongKinds) {
    expect_refused(Bytes(10), "smaller than an ELF64 header", Errno::ENOEXEC);
    expect_refused(Bytes(100), "bad magic", Errno::ENOEXEC);
    auto variant = [](auto mutate) {
        ElfBuilder b = with_notes(minimal_notes());
        mutate(b);
        return b.build();
    };
    expect_refused(variant([](ElfBuilder& b) { b.elf_class = 1; }), "class 1", Errno::ENOEXEC);
    expect_refused(variant([](ElfBuilder& b) { b.data_encoding = 2; }), "data 2", Errno::ENOEXEC);
    expect_refused(variant([](ElfBuilder& b) { b.machine = 3; }), "machine 3", Errno::ENOEXEC);
    expect_refused(variant([](ElfBuilder& b) { b.type = 3; }), "type 3", Errno::ENOEXEC);
}

TEST(XenElf, RefusesBadProgramHeaderTables) {
    Bytes image = with_notes(minimal_notes()).build();
    Bytes bad = image;
    put_le(bad, 54, 32, 2);  // e_phentsize
    expect_refused(bad, "program header table");
    bad = image;
    put_le(bad, 32, image.size() - 60, 8);  // e_phoff near the end: the table is truncated
    expect_refused(bad, "program header table");
    bad = image;
    put_le(bad, 56, 0, 2);  // no program headers at all
    expect_refused(bad, "program header table");
    bad = image;
    bad.resize(100);  // cut inside the program header table
    expect_refused(bad, "outside the 100-byte file");
}

TEST(XenElf, RefusesBadSegments) {
    ElfBuilder b = with_notes(minimal_notes());
    Bytes image = b.build();
    std::size_t ph = ElfBuilder::phdr_offset(0);

    Bytes bad = image;
    put_le(bad, ph + 40, 0x100, 8);  // p_memsz < p_filesz
    expect_refused(bad, "exceeds p_memsz");
    bad = image;
    bad.resize(b.data_offset(0) + 0x1000);  // truncated inside segment 0's file bytes
    expect_refused(bad, "truncated image");
    bad = image;
    put_le(bad, ph + 8, ~std::uint64_t{0} - 4, 8);  // p_offset + p_filesz overflows
    expect_refused(bad, "outside the");
    bad = image;
    put_le(bad, ph + 24, ~std::uint64_t{0} - 0x1000, 8);  // p_paddr + p_memsz overflows
    expect_refused(bad, "overflows");

    ElfBuilder ov = with_notes(minimal_notes());
    ov.load(0x102000, 0x102000, pattern(10, 1), 0x1000);
    expect_refused(ov.build(), "overlap");

    ElfBuilder none;
    none.entry = 0x100000;
    none.load(0x100000, 0x100000, pattern(10, 1), 0x1000, 0).notes(minimal_notes());  // no R/W/X: not loadable
    expect_refused(none.build(), "no loadable PT_LOAD");

    ElfBuilder many = with_notes(minimal_notes());
    for (std::uint64_t i = 0; i < XenKernelImage::kMaxSegments; ++i)
        many.load(0x200000 + i * 0x1000, 0, pattern(8, 1), 0x1000);
    expect_refused(many.build(), "more than 16 loadable segments");
}

TEST(XenElf, RefusesTruncatedNotes) {
    // Notes first, so there are file bytes after them to lengthen the PT_NOTE into.
    ElfBuilder b;
    b.entry = 0x100000;
    b.notes(minimal_notes()).load(0x100000, 0x100000, pattern(0x100, 1), 0x1000);
    Bytes image = b.build();
    std::size_t ph = ElfBuilder::phdr_offset(0);
    std::uint64_t note_size = get_le(image, ph + 32, 8);

    Bytes bad = image;
    put_le(bad, ph + 32, note_size + 6, 8);  // 6 trailing bytes: a partial note header
    expect_refused(bad, "truncated note header");
    bad = image;
    put_le(bad, ph + 32, note_size - 4, 8);  // the last note's desc is cut
    expect_refused(bad, "runs past the end");
    bad = image;
    put_le(bad, get_le(image, ph + 8, 8) + 4, 0xffffffff, 4);  // first note's descsz huge
    expect_refused(bad, "runs past the end");
    bad = image;
    put_le(bad, ph + 8, image.size() - 8, 8);  // PT_NOTE beyond the end of the file
    expect_refused(bad, "PT_NOTE 0");

    ElfBuilder s;
    s.entry = 0x100000;
    s.load(0x100000, 0x100000, pattern(0x100, 1), 0x1000).note_section(minimal_notes());
    Bytes sec = s.build();
    bad = sec;
    put_le(bad, s.shdr_offset(1) + 32, 0x100000, 8);  // section size past the file
    expect_refused(bad, "SHT_NOTE section 1");
    bad = sec;
    put_le(bad, 40, sec.size() - 64, 8);  // section table partly outside the file
    expect_refused(bad, "section header table");
}

TEST(XenElf, RefusesMissingOrWrongIdentity) {
    ElfBuilder b;
    b.entry = 0x100000;
    b.load(0x100000, 0x100000, pattern(0x100, 1), 0x1000);
    expect_refused(b.build(), "no Xen notes");

    NoteList no_version;
    no_version.string(XenNote::Loader, "generic");
    expect_refused(with_notes(no_version).build(), "XEN_VERSION is \"\"");
    NoteList old;
    old.string(XenNote::XenVersion, "xen-2.0").string(XenNote::Loader, "generic");
    expect_refused(with_notes(old).build(), "XEN_VERSION is \"xen-2.0\"");
    NoteList loader;
    loader.string(XenNote::XenVersion, "xen-3.0").string(XenNote::Loader, "special").string(XenNote::GuestOs, "BSD");
    expect_refused(with_notes(loader).build(), "LOADER is \"special\"");
    NoteList linux_only;
    linux_only.string(XenNote::XenVersion, "xen-3.0").string(XenNote::GuestOs, "linux");
    parse_ok(with_notes(linux_only).build());
}

TEST(XenElf, RefusesBadAddresses) {
    auto image = [](std::uint64_t base, std::uint64_t paddr, std::uint64_t entry, NoteList extra) {
        NoteList n = minimal_notes();
        n.number(XenNote::VirtBase, base).number(XenNote::Entry, entry);
        n.bytes().insert(n.bytes().end(), extra.bytes().begin(), extra.bytes().end());
        ElfBuilder b;
        b.load(paddr, 0, pattern(0x100, 1), 0x4000).notes(n);
        return b.build();
    };
    NoteList none;
    expect_refused(image(0xfffffffffffff000, 0, 0xfffffffffffff000, none), "wraps past the top");
    expect_refused(image(0x1000, 0x100, 0x1100, none), "page aligned");
    expect_refused(image(0, 0x100000, 0x104000, none), "entry point 0x104000 lies outside");
    expect_refused(image(0, 0x100000, 0xfffff, none), "entry point 0xfffff lies outside");
    expect_refused(image(0xffff800000000000, 0x1000, 0xffff800000001000, none), "hypervisor range");
    expect_refused(image(0xffff870000000000, 0xfffffff000, 0xffff87fffffff000, none), "hypervisor range");
    expect_refused(image(0x00007ffffffff000, 0, 0x00007ffffffff000, none), "canonical");
    NoteList hc;
    hc.number(XenNote::HypercallPage, 0x104000);
    expect_refused(image(0, 0x100000, 0x100000, hc), "HYPERCALL_PAGE 0x104000");
    NoteList hc2;
    hc2.number(XenNote::HypercallPage, 0x101800);
    expect_refused(image(0, 0x100000, 0x100000, hc2), "HYPERCALL_PAGE 0x101800");
    NoteList p2m;
    p2m.number(XenNote::InitP2m, 0x102000);
    expect_refused(image(0, 0x100000, 0x100000, p2m), "INIT_P2M 0x102000");
}

TEST(XenElf, VirtBaseAboveKernelIsRefused) {
    NoteList n = minimal_notes();
    // virt_offset = VIRT_BASE - PADDR_OFFSET = 0, so the kernel starts at 0x100000, below VIRT_BASE.
    n.number(XenNote::VirtBase, 0x200000).number(XenNote::PaddrOffset, 0x200000).number(XenNote::Entry, 0x100000);
    ElfBuilder b;
    b.load(0x100000, 0, pattern(0x100, 1), 0x1000).notes(n);
    expect_refused(b.build(), "lies below VIRT_BASE 0x200000");
}

// Records what load_kernel_segments sends, byte by byte.
struct BufferSink final : KernelLoadSink {
    std::vector<int> bytes;  // -1 = never written
    std::vector<std::string> calls;
    std::uint64_t last_end = 0;
    bool in_order = true;
    explicit BufferSink(std::size_t size) : bytes(size, -1) {}
    Result<void> write(std::uint64_t offset, std::span<const std::byte> data) override {
        mark(offset, data.size());
        for (std::size_t i = 0; i < data.size(); ++i)
            bytes[offset + i] = static_cast<int>(data[i]);
        return {};
    }
    Result<void> zero(std::uint64_t offset, std::uint64_t length) override {
        mark(offset, length);
        for (std::uint64_t i = 0; i < length; ++i)
            bytes[offset + i] = 0;
        return {};
    }
    void mark(std::uint64_t offset, std::uint64_t length) {
        EXPECT_LE(offset + length, bytes.size());
        for (std::uint64_t i = 0; i < length; ++i)
            EXPECT_EQ(bytes[offset + i], -1) << "byte " << offset + i << " written twice";
        in_order = in_order && offset >= last_end;
        last_end = offset + length;
    }
};

TEST(XenElf, LoadsSegmentsByPaddrWithZeroFill) {
    // Three segments out of order, one with p_vaddr 0 (like Linux's .data..percpu), a gap between
    // two of them, and a last page that is only partly covered.
    NoteList n = minimal_notes();
    n.number(XenNote::VirtBase, 0xffffffff80000000).number(XenNote::Entry, 0xffffffff80200000);
    ElfBuilder b;
    b.load(0x204000, 0, pattern(0x800, 3), 0x1800)
        .load(0x200000, 0xffffffff80200000, pattern(0x1234, 1), 0x2000)
        .load(0x206000, 0xffffffff80206000, pattern(0x10, 7), 0x123)
        .notes(n);
    Bytes image = b.build();
    XenKernelImage k = parse_ok(image);
    ASSERT_EQ(kernel_page_count(k), 7u);
    BufferSink sink(7 * 4096);
    ASSERT_TRUE(load_kernel_segments(k, sink).is_ok());
    EXPECT_TRUE(sink.in_order);
    for (std::size_t i = 0; i < sink.bytes.size(); ++i) {
        int want = 0;
        if (i < 0x1234)
            want = static_cast<int>(image[b.data_offset(1) + i]);
        else if (i >= 0x4000 && i < 0x4800)
            want = static_cast<int>(image[b.data_offset(0) + i - 0x4000]);
        else if (i >= 0x6000 && i < 0x6010)
            want = static_cast<int>(image[b.data_offset(2) + i - 0x6000]);
        ASSERT_EQ(sink.bytes[i], want) << "offset " << i;
    }
}

TEST(XenElf, SinkErrorsPropagate) {
    struct FailingSink final : KernelLoadSink {
        Result<void> write(std::uint64_t, std::span<const std::byte>) override { return Error{Errno::EFAULT}; }
        Result<void> zero(std::uint64_t, std::uint64_t) override { return {}; }
    } sink;
    Bytes image = xtf_like_builder().build();
    XenKernelImage k = parse_ok(image);
    auto r = load_kernel_segments(k, sink);
    ASSERT_TRUE(r.is_error());
    EXPECT_EQ(r.error(), Errno::EFAULT);
}

// Random corruption of valid images: never a crash or sanitizer report, and every refusal
// comes with at least one message.
TEST(XenElf, RandomCorruptionIsRefusedWithAMessageOrParsed) {
    std::mt19937_64 rng(12345);
    const Bytes seeds[] = {debian_like_builder().build(), xtf_like_builder().build()};
    int refused = 0;
    for (int iter = 0; iter < 20000; ++iter) {
        Bytes image = seeds[iter % 2];
        int edits = 1 + static_cast<int>(rng() % 4);
        for (int e = 0; e < edits; ++e) {
            // Mostly hit the headers and notes, where the structure is.
            std::size_t limit = rng() % 4 == 0 ? image.size() : std::min<std::size_t>(image.size(), 0x400);
            std::size_t at = rng() % limit;
            image[at] = static_cast<std::byte>(rng());
        }
        if (rng() % 8 == 0)
            image.resize(rng() % image.size());
        CollectingDiagnostics diag;
        auto r = parse(image, diag);
        if (r.is_error()) {
            ++refused;
            ASSERT_FALSE(diag.messages.empty()) << "refused silently at iteration " << iter;
        } else {
            const XenKernelImage& k = *r;
            ASSERT_LE(k.virt_kstart, k.entry);
            ASSERT_LT(k.entry, k.virt_kend);
            ASSERT_TRUE(k.xen_version.starts_with("xen-3.0"));
        }
    }
    EXPECT_GT(refused, 1000);
}

}  // namespace
}  // namespace xenolith::test
