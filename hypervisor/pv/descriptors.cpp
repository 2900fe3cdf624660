// Descriptor checks and the per-CPU GDT window.
#include "pv/descriptors.hpp"

#include "arch/x86_64/cpu_setup.hpp"
#include "arch/x86_64/layout.h"
#include "arch/x86_64/paging.hpp"
#include "core/cpu.hpp"
#include "domain/domain.hpp"
#include "mm/kernel_space.hpp"

namespace xenolith {

namespace {
constexpr std::uint64_t PRESENT = 1ull << 47;
constexpr std::uint64_t CODE_OR_DATA = 1ull << 44;  // the S bit
constexpr std::uint64_t DPL_MASK = 3ull << 45;
constexpr std::uint64_t ACCESSED = 1ull << 40;
}  // namespace

Result<std::uint64_t> check_descriptor(std::uint64_t d) {
    if (!(d & PRESENT))
        return d;
    if (!(d & CODE_OR_DATA))
        return Error{Errno::EINVAL};  // no TSS, LDT or gate descriptors from guests
    // A 64-bit guest's segments are all ring 3 (§5.4: "DPL raised to 3").
    return d | DPL_MASK | ACCESSED;
}

bool validate_descriptor_page(std::uint64_t* page) {
    for (unsigned i = 0; i < 512; ++i) {
        if (check_descriptor(page[i]).is_error())
            return false;
    }
    for (unsigned i = 0; i < 512; ++i)
        page[i] = check_descriptor(page[i]).value();
    return true;
}

std::uint64_t selector_base(const Vcpu& vcpu, std::uint16_t selector) {
    const unsigned index = selector >> 3;
    if (index == 0 || (selector & 4))
        return 0;  // null, or an LDT selector (guests have no LDT yet)
    std::uint64_t descriptor = 0;
    if (index < GUEST_GDT_MAX_ENTRIES) {
        const unsigned frame = index / 512;
        if (frame >= vcpu.gdt_frame_count)
            return 0;
        descriptor = static_cast<const std::uint64_t*>(arch::phys_to_virt(vcpu.gdt_frames[frame] << 12))[index % 512];
    }
    // The hypervisor's own flat selectors have base 0; so does anything not present.
    if (!(descriptor & PRESENT) || !(descriptor & CODE_OR_DATA))
        return 0;
    return ((descriptor >> 16) & 0xffffff) | (((descriptor >> 56) & 0xff) << 24);
}

void load_guest_gdt(Cpu& cpu, const Vcpu* vcpu) {
    const std::uint64_t window = PERCPU_WINDOW_BASE + cpu.index * std::uint64_t{PERCPU_WINDOW_STRIDE};
    for (unsigned page = 0; page < GUEST_GDT_PAGES; ++page) {
        const std::uint64_t frame =
            vcpu && page < vcpu->gdt_frame_count ? vcpu->gdt_frames[page] << 12 : arch::gdt_filler_page();
        if (cpu.gdt_window_frames[page] == frame)
            continue;
        remap_kernel_page(window + page * 4096, frame, arch::MapAttributes::read_only());
        cpu.gdt_window_frames[page] = frame;
    }
}

}  // namespace xenolith
