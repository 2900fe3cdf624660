// Xen PV kernel images: parse an ELF64 x86-64 executable and its Xen notes, load its segments.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "lib/diagnostics.hpp"
#include "lib/result.hpp"

namespace xenolith {

// Constants below are ABI facts kept local until guest-abi/ grows them (the lead switches them).
inline constexpr std::uint64_t kGuestPageSize = 4096;
inline constexpr unsigned kGuestPageShift = 12;

// The PML4 slots 256-271 that every PV guest L4 leaves to the hypervisor (pv-abi-core.md §2.5).
inline constexpr std::uint64_t kHypervisorVirtStart = 0xFFFF800000000000;
inline constexpr std::uint64_t kHypervisorVirtEnd = 0xFFFF880000000000;  // exclusive

// XEN_ELFNOTE_* numbers (pv-abi-core.md §1.2).
enum class XenNote : std::uint32_t {
    Info = 0,
    Entry = 1,
    HypercallPage = 2,
    VirtBase = 3,
    PaddrOffset = 4,
    XenVersion = 5,
    GuestOs = 6,
    GuestVersion = 7,
    Loader = 8,
    PaeMode = 9,
    Features = 10,
    BsdSymtab = 11,
    HvStartLow = 12,
    L1MfnValid = 13,
    SuspendCancel = 14,
    InitP2m = 15,
    ModStartPfn = 16,
    SupportedFeatures = 17,
    Phys32Entry = 18,
    Phys32Reloc = 19,
};

// XENFEAT_* bit numbers the FEATURES note may name (pv-abi-core.md §1.2, §5.13).
namespace xenfeat {
inline constexpr unsigned kWritablePageTables = 0;
inline constexpr unsigned kWritableDescriptorTables = 1;
inline constexpr unsigned kAutoTranslatedPhysmap = 2;
inline constexpr unsigned kSupervisorModeKernel = 3;
inline constexpr unsigned kPaePgdirAbove4gb = 4;
inline constexpr unsigned kHvmCallbackVector = 8;
inline constexpr unsigned kDom0 = 11;
}  // namespace xenfeat

// `text` begins with `prefix`. (string_view::starts_with and substr carry a throwing range check
// that an unoptimised freestanding build cannot link.)
constexpr bool has_prefix(std::string_view text, std::string_view prefix) {
    return text.size() >= prefix.size() && std::string_view(text.data(), prefix.size()) == prefix;
}

// One loadable PT_LOAD program header, as found in the file (already bounds-checked).
struct ElfSegment {
    std::uint64_t file_offset;
    std::uint64_t file_size;
    std::uint64_t paddr;  // segments are placed by p_paddr, not p_vaddr (§1.2)
    std::uint64_t vaddr;  // informational only
    std::uint64_t mem_size;
    std::uint32_t flags;  // PF_X 1, PF_W 2, PF_R 4
};

// Where the Xen notes were found (§1.1 search order).
enum class NoteSource : std::uint8_t { ProgramHeaders, Sections };

// Everything the domain builder needs from a Xen PV kernel. String fields and `file` point into
// the image passed to parse_xen_kernel(), which must outlive this object.
struct XenKernelImage {
    static constexpr std::size_t kMaxSegments = 16;

    std::span<const std::byte> file;
    std::array<ElfSegment, kMaxSegments> segments{};
    std::size_t segment_count = 0;

    // Raw p_paddr span of the loadable segments: [pstart, pend).
    std::uint64_t pstart = 0;
    std::uint64_t pend = 0;
    // VIRT_BASE - PADDR_OFFSET (mod 2^64); virt_kstart = pstart + virt_offset (§1.2).
    std::uint64_t virt_base = 0;
    std::uint64_t paddr_offset = 0;
    std::uint64_t virt_offset = 0;
    std::uint64_t virt_kstart = 0;
    std::uint64_t virt_kend = 0;  // exclusive
    std::uint64_t entry = 0;      // ENTRY note, else e_entry

    std::optional<std::uint64_t> hypercall_page;  // VA of the page to fill (§4.1)
    std::optional<std::uint64_t> init_p2m;        // requested P2M VA (INIT_P2M)
    std::optional<std::uint64_t> hv_start_low;
    bool mod_start_pfn = false;   // accepts an unmapped initrd (MOD_START_PFN != 0)
    bool suspend_cancel = false;  // SUSPEND_CANCEL != 0
    bool bsd_symtab = false;      // BSD_SYMTAB "yes" (recorded; symbol tables are not loaded)

    std::string_view xen_version;
    std::string_view guest_os;
    std::string_view guest_version;
    std::string_view loader;
    std::string_view pae_mode;

    // XENFEAT submap 0: FEATURES names OR-ed with SUPPORTED_FEATURES; `required` = the '!' names.
    std::uint32_t features_supported = 0;
    std::uint32_t features_required = 0;

    NoteSource note_source = NoteSource::ProgramHeaders;
    std::size_t xen_note_count = 0;

    // GUEST_OS starts with "linux": the §2.4 layout constraints apply.
    bool is_linux() const { return has_prefix(guest_os, "linux"); }
};

// Parse and check an image (§1.1, §1.2). Every problem found is reported through `diag`;
// the result is EINVAL (bad or unsupported image) or ENOEXEC (not an ELF64 x86-64 executable).
Result<XenKernelImage> parse_xen_kernel(std::span<const std::byte> file, Diagnostics& diag);

// Parse a FEATURES note text: '|'-separated names, a leading '!' marks a required one; unknown
// optional names are ignored, an unknown required name is an error (§1.2).
Result<void> parse_xen_features(std::string_view text, std::uint32_t& supported, std::uint32_t& required,
                                Diagnostics& diag);

// Receives the kernel's bytes; offsets are relative to virt_kstart (pseudo-physical pstart).
class KernelLoadSink {
public:
    virtual Result<void> write(std::uint64_t offset, std::span<const std::byte> bytes) = 0;
    virtual Result<void> zero(std::uint64_t offset, std::uint64_t length) = 0;

protected:
    ~KernelLoadSink() = default;
};

// Number of pages the kernel occupies from virt_kstart (virt_kend rounded up to a page).
std::uint64_t kernel_page_count(const XenKernelImage& image);

// Copy every loadable segment to offset p_paddr - pstart and zero its p_memsz - p_filesz tail
// (§1.2). Gaps between segments and the tail of the last page are zeroed too, so the sink sees
// every byte of [0, kernel_page_count * 4096) exactly once, in increasing offset order.
Result<void> load_kernel_segments(const XenKernelImage& image, KernelLoadSink& sink);

}  // namespace xenolith
