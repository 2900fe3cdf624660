// Xen PV kernel image parsing (pv-abi-core.md §1) and segment loading by p_paddr (§1.2).
#include "domain/xen_elf.hpp"

#include "lib/phys_reader.hpp"

namespace xenolith {
namespace {

// ELF64 layout facts (System V gABI): header, program header and section header offsets.
constexpr std::size_t kEhdrSize = 64;
constexpr std::size_t kPhdrSize = 56;
constexpr std::size_t kShdrSize = 64;
constexpr std::uint8_t kElfClass64 = 2;
constexpr std::uint8_t kElfDataLittle = 1;
constexpr std::uint16_t kEtExec = 2;
constexpr std::uint16_t kEmX86_64 = 62;
constexpr std::uint32_t kPtLoad = 1;
constexpr std::uint32_t kPtNote = 4;
constexpr std::uint32_t kShtNote = 7;
constexpr std::uint32_t kPfMask = 7;  // PF_X | PF_W | PF_R: "loadable" needs any of them (§1.2)
constexpr std::size_t kMaxProgramHeaders = 256;
constexpr std::size_t kMaxSections = 4096;

constexpr const char* kNoteNames[] = {
    "INFO",         "ENTRY",          "HYPERCALL_PAGE", "VIRT_BASE",     "PADDR_OFFSET",       "XEN_VERSION",
    "GUEST_OS",     "GUEST_VERSION",  "LOADER",         "PAE_MODE",      "FEATURES",           "BSD_SYMTAB",
    "HV_START_LOW", "L1_MFN_VALID",   "SUSPEND_CANCEL", "INIT_P2M",      "MOD_START_PFN",      "SUPPORTED_FEATURES",
    "PHYS32_ENTRY", "PHYS32_RELOC",
};

const char* note_name(std::uint32_t type) {
    return type < sizeof(kNoteNames) / sizeof(kNoteNames[0]) ? kNoteNames[type] : "unknown";
}

// [offset, offset + length) lies inside a buffer of `size` bytes, without overflowing.
bool fits(std::uint64_t offset, std::uint64_t length, std::uint64_t size) {
    return offset <= size && length <= size - offset;
}

std::uint64_t align_up4(std::uint64_t v) { return (v + 3) & ~std::uint64_t{3}; }

// string_view::find would call memchr, which the freestanding runtime does not provide.
std::size_t find_char(std::string_view text, char c) {
    for (std::size_t i = 0; i < text.size(); ++i)
        if (text[i] == c)
            return i;
    return std::string_view::npos;
}

// The notes' effects, collected before the checks of §1.2 run.
struct NoteState {
    XenKernelImage* image;
    std::optional<std::uint64_t> entry;
    std::optional<std::uint64_t> virt_base;
    std::optional<std::uint64_t> paddr_offset;
    bool ok = true;
};

std::string_view note_string(std::span<const std::byte> desc) {
    // String notes are NUL-terminated, but Debian's FEATURES note fills its descsz with text
    // and no NUL (§1.4), so the text ends at the first NUL or at the end of the desc.
    std::string_view text = as_chars(desc);
    std::size_t nul = find_char(text, '\0');
    return nul == std::string_view::npos ? text : std::string_view(text.data(), nul);
}

std::optional<std::uint64_t> note_number(std::uint32_t type, std::span<const std::byte> desc, NoteState& st,
                                         Diagnostics& diag) {
    // Numeric notes are little-endian integers of 1, 2, 4 or 8 bytes (§1.1). Xen reads any other
    // size as 0; a builder that silently used 0 as an entry point or base would only fail later
    // and obscurely, so the image is refused instead.
    switch (desc.size()) {
    case 1: return load_le<std::uint8_t>(desc, 0);
    case 2: return load_le<std::uint16_t>(desc, 0);
    case 4: return load_le<std::uint32_t>(desc, 0);
    case 8: return load_le<std::uint64_t>(desc, 0);
    default:
        diag.error("xen-elf: note {} ({}) has a {}-byte value; numeric notes are 1, 2, 4 or 8 bytes", type,
                   note_name(type), desc.size());
        st.ok = false;
        return std::nullopt;
    }
}

void apply_note(std::uint32_t type, std::span<const std::byte> desc, NoteState& st, Diagnostics& diag) {
    XenKernelImage& img = *st.image;
    ++img.xen_note_count;
    switch (static_cast<XenNote>(type)) {
    case XenNote::Entry: st.entry = note_number(type, desc, st, diag); break;
    case XenNote::HypercallPage: img.hypercall_page = note_number(type, desc, st, diag); break;
    case XenNote::VirtBase: st.virt_base = note_number(type, desc, st, diag); break;
    case XenNote::PaddrOffset: st.paddr_offset = note_number(type, desc, st, diag); break;
    case XenNote::HvStartLow: img.hv_start_low = note_number(type, desc, st, diag); break;
    case XenNote::InitP2m: img.init_p2m = note_number(type, desc, st, diag); break;
    case XenNote::SuspendCancel: img.suspend_cancel = note_number(type, desc, st, diag).value_or(0) != 0; break;
    case XenNote::ModStartPfn: img.mod_start_pfn = note_number(type, desc, st, diag).value_or(0) != 0; break;
    case XenNote::SupportedFeatures:
        // One u32 per XENFEAT submap; only submap 0 exists (§1.2, §5.13).
        img.features_supported |= static_cast<std::uint32_t>(note_number(type, desc, st, diag).value_or(0));
        break;
    case XenNote::XenVersion: img.xen_version = note_string(desc); break;
    case XenNote::GuestOs: img.guest_os = note_string(desc); break;
    case XenNote::GuestVersion: img.guest_version = note_string(desc); break;
    case XenNote::Loader: img.loader = note_string(desc); break;
    case XenNote::PaeMode: img.pae_mode = note_string(desc); break;
    case XenNote::BsdSymtab: img.bsd_symtab = note_string(desc) == "yes"; break;
    case XenNote::Features:
        if (parse_xen_features(note_string(desc), img.features_supported, img.features_required, diag).is_error())
            st.ok = false;
        break;
    default:
        // INFO, L1_MFN_VALID, the PVH-only PHYS32_* notes and unknown types carry nothing a PV
        // builder uses (§1.1: unknown notes are ignored).
        break;
    }
}

// Walk the note records of one PT_NOTE segment or SHT_NOTE section (§1.1 encoding).
void walk_notes(std::span<const std::byte> notes, std::string_view where, std::uint64_t where_index,
                NoteState& st, Diagnostics& diag) {
    std::uint64_t pos = 0;
    while (pos < notes.size()) {
        if (!fits(pos, 12, notes.size())) {
            diag.error("xen-elf: {} {}: truncated note header at offset {:#x} ({} bytes left)", where, where_index,
                       pos, notes.size() - pos);
            st.ok = false;
            return;
        }
        std::uint32_t namesz = load_le<std::uint32_t>(notes, pos);
        std::uint32_t descsz = load_le<std::uint32_t>(notes, pos + 4);
        std::uint32_t type = load_le<std::uint32_t>(notes, pos + 8);
        std::uint64_t name_off = pos + 12;
        std::uint64_t desc_off = name_off + align_up4(namesz);
        std::uint64_t next = desc_off + align_up4(descsz);
        // The last record's padding may be missing; its name and desc must be there.
        if (!fits(name_off, namesz, notes.size()) || !fits(desc_off, descsz, notes.size())) {
            diag.error("xen-elf: {} {}: note at offset {:#x} (namesz {}, descsz {}) runs past the end ({} bytes)",
                       where, where_index, pos, namesz, descsz, notes.size());
            st.ok = false;
            return;
        }
        std::span<const std::byte> name = notes.subspan(name_off, namesz);
        if (namesz == 4 && as_chars(name) == std::string_view("Xen\0", 4))
            apply_note(type, notes.subspan(desc_off, descsz), st, diag);
        pos = next;
    }
}

// Walk the notes in [offset, offset + size) of the file, after checking that range.
void walk_note_area(std::span<const std::byte> file, std::uint64_t offset, std::uint64_t size,
                    std::string_view where, std::uint64_t index, NoteState& st, Diagnostics& diag) {
    if (!fits(offset, size, file.size())) {
        diag.error("xen-elf: {} {} ({:#x}+{:#x}) lies outside the {}-byte file", where, index, offset, size,
                   file.size());
        st.ok = false;
        return;
    }
    walk_notes(file.subspan(offset, size), where, index, st, diag);
}

void find_notes_in_program_headers(std::span<const std::byte> file, std::uint64_t phoff, std::uint16_t phnum,
                                   NoteState& st, Diagnostics& diag) {
    for (std::uint16_t i = 0; i < phnum; ++i) {
        std::span<const std::byte> ph = file.subspan(phoff + std::uint64_t{i} * kPhdrSize, kPhdrSize);
        if (load_le<std::uint32_t>(ph, 0) != kPtNote)
            continue;
        std::uint64_t offset = load_le<std::uint64_t>(ph, 8);
        std::uint64_t size = load_le<std::uint64_t>(ph, 32);
        if (offset != 0)  // Xen skips a PT_NOTE at file offset 0 (§1.1)
            walk_note_area(file, offset, size, "PT_NOTE", i, st, diag);
    }
}

void find_notes_in_sections(std::span<const std::byte> file, NoteState& st, Diagnostics& diag) {
    std::uint64_t shoff = load_le<std::uint64_t>(file, 40);
    std::uint16_t shentsize = load_le<std::uint16_t>(file, 58);
    std::uint16_t shnum = load_le<std::uint16_t>(file, 60);
    if (shoff == 0 || shnum == 0)
        return;
    if (shentsize != kShdrSize || shnum > kMaxSections || !fits(shoff, std::uint64_t{shnum} * kShdrSize, file.size())) {
        diag.error("xen-elf: section header table ({} entries of {} bytes at {:#x}) is malformed or outside the "
                   "{}-byte file", shnum, shentsize, shoff, file.size());
        st.ok = false;
        return;
    }
    for (std::uint16_t i = 0; i < shnum; ++i) {
        std::span<const std::byte> sh = file.subspan(shoff + std::uint64_t{i} * kShdrSize, kShdrSize);
        if (load_le<std::uint32_t>(sh, 4) != kShtNote)
            continue;
        walk_note_area(file, load_le<std::uint64_t>(sh, 24), load_le<std::uint64_t>(sh, 32), "SHT_NOTE section", i,
                       st, diag);
    }
}

// Collect the loadable segments and check each against the file and the others.
bool collect_segments(std::span<const std::byte> file, std::uint64_t phoff, std::uint16_t phnum,
                      XenKernelImage& img, Diagnostics& diag) {
    bool ok = true;
    for (std::uint16_t i = 0; i < phnum; ++i) {
        std::span<const std::byte> ph = file.subspan(phoff + std::uint64_t{i} * kPhdrSize, kPhdrSize);
        std::uint32_t flags = load_le<std::uint32_t>(ph, 4);
        if (load_le<std::uint32_t>(ph, 0) != kPtLoad || (flags & kPfMask) == 0)
            continue;
        ElfSegment seg{load_le<std::uint64_t>(ph, 8),  load_le<std::uint64_t>(ph, 32), load_le<std::uint64_t>(ph, 24),
                       load_le<std::uint64_t>(ph, 16), load_le<std::uint64_t>(ph, 40), flags};
        if (seg.file_size > seg.mem_size) {
            diag.error("xen-elf: PT_LOAD {}: p_filesz {:#x} exceeds p_memsz {:#x}", i, seg.file_size, seg.mem_size);
            ok = false;
        }
        if (!fits(seg.file_offset, seg.file_size, file.size())) {
            diag.error("xen-elf: PT_LOAD {}: file bytes {:#x}+{:#x} lie outside the {}-byte file (truncated image?)",
                       i, seg.file_offset, seg.file_size, file.size());
            ok = false;
        }
        if (seg.paddr + seg.mem_size < seg.paddr) {
            diag.error("xen-elf: PT_LOAD {}: p_paddr {:#x} + p_memsz {:#x} overflows", i, seg.paddr, seg.mem_size);
            ok = false;
        }
        if (img.segment_count == XenKernelImage::kMaxSegments) {
            diag.error("xen-elf: more than {} loadable segments", XenKernelImage::kMaxSegments);
            return false;
        }
        img.segments[img.segment_count++] = seg;
    }
    if (!ok)
        return false;
    if (img.segment_count == 0) {
        diag.error("xen-elf: no loadable PT_LOAD segment");
        return false;
    }
    // Segments are copied by p_paddr, so two that share physical bytes would overwrite each other.
    for (std::size_t a = 0; a < img.segment_count; ++a) {
        for (std::size_t b = a + 1; b < img.segment_count; ++b) {
            const ElfSegment& x = img.segments[a];
            const ElfSegment& y = img.segments[b];
            if (x.mem_size && y.mem_size && x.paddr < y.paddr + y.mem_size && y.paddr < x.paddr + x.mem_size) {
                diag.error("xen-elf: loadable segments overlap: p_paddr {:#x}+{:#x} and {:#x}+{:#x}", x.paddr,
                           x.mem_size, y.paddr, y.mem_size);
                ok = false;
            }
        }
    }
    img.pstart = img.segments[0].paddr;
    img.pend = img.segments[0].paddr + img.segments[0].mem_size;
    for (std::size_t s = 1; s < img.segment_count; ++s) {
        img.pstart = img.segments[s].paddr < img.pstart ? img.segments[s].paddr : img.pstart;
        std::uint64_t end = img.segments[s].paddr + img.segments[s].mem_size;
        img.pend = end > img.pend ? end : img.pend;
    }
    return ok;
}

bool overlaps(std::uint64_t start, std::uint64_t end, std::uint64_t lo, std::uint64_t hi) {
    return start < hi && lo < end;
}

// The address checks of §1.2 (and §2.5's reserved range) once notes and segments are known.
bool check_addresses(XenKernelImage& img, const NoteState& st, Diagnostics& diag) {
    img.virt_base = st.virt_base.value_or(0);
    img.paddr_offset = st.paddr_offset.value_or(0);  // 0 by default with ELF notes (§1.2)
    img.virt_offset = img.virt_base - img.paddr_offset;  // modular, as the ABI defines it
    img.virt_kstart = img.pstart + img.virt_offset;
    std::uint64_t size = img.pend - img.pstart;
    if (img.virt_kstart + size < img.virt_kstart) {
        diag.error("xen-elf: kernel at {:#x} of size {:#x} wraps past the top of the address space", img.virt_kstart,
                   size);
        return false;
    }
    img.virt_kend = img.virt_kstart + size;
    img.entry = st.entry ? *st.entry : load_le<std::uint64_t>(img.file, 24);
    bool ok = true;
    if (img.virt_base % kGuestPageSize != 0 || img.virt_kstart % kGuestPageSize != 0) {
        diag.error("xen-elf: VIRT_BASE {:#x} and kernel start {:#x} must be page aligned", img.virt_base,
                   img.virt_kstart);
        ok = false;
    }
    if (img.virt_kstart < img.virt_base) {
        diag.error("xen-elf: kernel start {:#x} lies below VIRT_BASE {:#x}", img.virt_kstart, img.virt_base);
        ok = false;
    }
    if (img.entry < img.virt_kstart || img.entry >= img.virt_kend) {
        diag.error("xen-elf: entry point {:#x} lies outside the kernel [{:#x}, {:#x})", img.entry, img.virt_kstart,
                   img.virt_kend);
        ok = false;
    }
    if (overlaps(img.virt_kstart, img.virt_kend, kHypervisorVirtStart, kHypervisorVirtEnd)) {
        diag.error("xen-elf: kernel [{:#x}, {:#x}) overlaps the hypervisor range [{:#x}, {:#x})", img.virt_kstart,
                   img.virt_kend, kHypervisorVirtStart, kHypervisorVirtEnd);
        ok = false;
    } else if (overlaps(img.virt_kstart, img.virt_kend, std::uint64_t{1} << 47, kHypervisorVirtStart)) {
        diag.error("xen-elf: kernel [{:#x}, {:#x}) is not in canonical address space", img.virt_kstart,
                   img.virt_kend);
        ok = false;
    }
    if (img.hypercall_page) {
        // The page is filled by the builder, so all of it must be kernel pages of the initial mapping.
        std::uint64_t va = *img.hypercall_page;
        std::uint64_t kernel_end_page = img.virt_kstart + kernel_page_count(img) * kGuestPageSize;
        if (va % kGuestPageSize != 0 || va < img.virt_kstart || va >= kernel_end_page) {
            diag.error("xen-elf: HYPERCALL_PAGE {:#x} is not a page-aligned kernel page in [{:#x}, {:#x})", va,
                       img.virt_kstart, kernel_end_page);
            ok = false;
        }
    }
    if (img.init_p2m && *img.init_p2m >= img.virt_kstart && *img.init_p2m < img.virt_kend) {
        diag.error("xen-elf: INIT_P2M {:#x} lies inside the kernel [{:#x}, {:#x})", *img.init_p2m, img.virt_kstart,
                   img.virt_kend);
        ok = false;
    }
    return ok;
}

bool check_identity(const XenKernelImage& img, Diagnostics& diag) {
    bool ok = true;
    if (!has_prefix(img.xen_version, "xen-3.0")) {
        diag.error("xen-elf: XEN_VERSION is \"{}\"; only images built for \"xen-3.0\" are accepted",
                   img.xen_version);
        ok = false;
    }
    if (!has_prefix(img.loader, "generic") && !img.is_linux()) {
        diag.error("xen-elf: LOADER is \"{}\" and GUEST_OS \"{}\"; need LOADER \"generic\" or GUEST_OS \"linux\"",
                   img.loader, img.guest_os);
        ok = false;
    }
    return ok;
}

}  // namespace

Result<void> parse_xen_features(std::string_view text, std::uint32_t& supported, std::uint32_t& required,
                                Diagnostics& diag) {
    struct Known {
        std::string_view name;
        unsigned bit;
    };
    static constexpr Known kKnown[] = {
        {"writable_page_tables", xenfeat::kWritablePageTables},
        {"writable_descriptor_tables", xenfeat::kWritableDescriptorTables},
        {"auto_translated_physmap", xenfeat::kAutoTranslatedPhysmap},
        {"supervisor_mode_kernel", xenfeat::kSupervisorModeKernel},
        {"pae_pgdir_above_4gb", xenfeat::kPaePgdirAbove4gb},
        {"hvm_callback_vector", xenfeat::kHvmCallbackVector},
        {"dom0", xenfeat::kDom0},
    };
    bool ok = true;
    while (true) {
        std::size_t bar = find_char(text, '|');
        std::string_view item(text.data(), bar == std::string_view::npos ? text.size() : bar);
        bool must = has_prefix(item, "!");
        std::string_view name = must ? std::string_view(item.data() + 1, item.size() - 1) : item;
        bool found = false;
        for (const Known& k : kKnown) {
            if (k.name == name) {
                supported |= 1u << k.bit;
                if (must)
                    required |= 1u << k.bit;
                found = true;
            }
        }
        if (!found && must) {
            diag.error("xen-elf: FEATURES requires unknown feature \"{}\"", name);
            ok = false;
        }
        if (bar == std::string_view::npos)
            break;
        text = std::string_view(text.data() + bar + 1, text.size() - bar - 1);
    }
    return ok ? Result<void>{} : Result<void>{Errno::EINVAL};
}

Result<XenKernelImage> parse_xen_kernel(std::span<const std::byte> file, Diagnostics& diag) {
    if (file.size() < kEhdrSize) {
        diag.error("xen-elf: image is {} bytes, smaller than an ELF64 header", file.size());
        return Error{Errno::ENOEXEC};
    }
    if (as_chars(file.subspan(0, 4)) != std::string_view("\x7f" "ELF", 4)) {
        diag.error("xen-elf: not an ELF image (bad magic)");
        return Error{Errno::ENOEXEC};
    }
    auto ident = [&](std::size_t i) { return static_cast<std::uint8_t>(file[i]); };
    std::uint16_t type = load_le<std::uint16_t>(file, 16);
    std::uint16_t machine = load_le<std::uint16_t>(file, 18);
    if (ident(4) != kElfClass64 || ident(5) != kElfDataLittle || machine != kEmX86_64 || type != kEtExec) {
        // §1.2: a 64-bit PV domain takes only ELFCLASS64, little-endian, EM_X86_64 images.
        diag.error("xen-elf: need an ELF64 little-endian x86-64 executable; got class {} data {} machine {} type {}",
                   ident(4), ident(5), machine, type);
        return Error{Errno::ENOEXEC};
    }
    std::uint64_t phoff = load_le<std::uint64_t>(file, 32);
    std::uint16_t phentsize = load_le<std::uint16_t>(file, 54);
    std::uint16_t phnum = load_le<std::uint16_t>(file, 56);
    if (phentsize != kPhdrSize || phnum == 0 || phnum > kMaxProgramHeaders ||
        !fits(phoff, std::uint64_t{phnum} * kPhdrSize, file.size())) {
        diag.error("xen-elf: program header table ({} entries of {} bytes at {:#x}) is malformed or outside the "
                   "{}-byte file", phnum, phentsize, phoff, file.size());
        return Error{Errno::EINVAL};
    }

    XenKernelImage img;
    img.file = file;
    bool ok = collect_segments(file, phoff, phnum, img, diag);

    NoteState st{&img, {}, {}, {}, true};
    find_notes_in_program_headers(file, phoff, phnum, st, diag);
    if (img.xen_note_count == 0 && st.ok) {
        img.note_source = NoteSource::Sections;
        find_notes_in_sections(file, st, diag);
    }
    ok = ok && st.ok;
    if (img.xen_note_count == 0) {
        if (st.ok)
            diag.error("xen-elf: no Xen notes in PT_NOTE segments or SHT_NOTE sections (not a Xen PV kernel; the "
                       "legacy __xen_guest string is not supported)");
        return Error{Errno::EINVAL};
    }
    ok = check_identity(img, diag) && ok;
    if (!ok)
        return Error{Errno::EINVAL};
    if (!check_addresses(img, st, diag))
        return Error{Errno::EINVAL};
    return img;
}

std::uint64_t kernel_page_count(const XenKernelImage& image) {
    std::uint64_t size = image.virt_kend - image.virt_kstart;
    return size / kGuestPageSize + (size % kGuestPageSize != 0);
}

Result<void> load_kernel_segments(const XenKernelImage& image, KernelLoadSink& sink) {
    // Visit segments by increasing p_paddr (they were checked not to overlap), zeroing the gaps,
    // so no byte of the kernel's pages keeps whatever the frame held before.
    std::array<std::size_t, XenKernelImage::kMaxSegments> order{};
    for (std::size_t i = 0; i < image.segment_count; ++i) {
        std::size_t j = i;
        while (j > 0 && image.segments[order[j - 1]].paddr > image.segments[i].paddr) {
            order[j] = order[j - 1];
            --j;
        }
        order[j] = i;
    }
    std::uint64_t cursor = 0;
    for (std::size_t k = 0; k < image.segment_count; ++k) {
        const ElfSegment& seg = image.segments[order[k]];
        if (seg.mem_size == 0)
            continue;
        std::uint64_t offset = seg.paddr - image.pstart;
        if (offset > cursor)
            TRY(sink.zero(cursor, offset - cursor));
        if (seg.file_size)
            TRY(sink.write(offset, image.file.subspan(seg.file_offset, seg.file_size)));
        if (seg.mem_size > seg.file_size)
            TRY(sink.zero(offset + seg.file_size, seg.mem_size - seg.file_size));
        cursor = offset + seg.mem_size;
    }
    std::uint64_t total = kernel_page_count(image) * kGuestPageSize;
    if (total > cursor)
        TRY(sink.zero(cursor, total - cursor));
    return {};
}

}  // namespace xenolith
