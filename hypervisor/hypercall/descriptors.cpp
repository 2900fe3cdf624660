// set_gdt (2) and update_descriptor (10): guest descriptor tables (pv-abi-core.md §5.4, §5.9).
#include "arch/x86_64/paging.hpp"
#include "core/cpu.hpp"
#include "domain/domain.hpp"
#include "hypercall/hypercall.hpp"
#include "mm/page_allocator.hpp"
#include "mm/page_ref.hpp"
#include "mm/pv_mm.hpp"
#include "pv/descriptors.hpp"
#include "pv/guest_memory.hpp"
#include "sched/scheduler.hpp"

namespace xenolith {

std::int64_t do_set_gdt(HypercallContext& c) {
    Vcpu& vcpu = c.vcpu;
    const std::uint64_t list = c.arg(0);
    const std::uint64_t entries = c.arg(1) & 0xffffffff;
    if (entries > GUEST_GDT_MAX_ENTRIES)
        return xen::negated(Errno::EINVAL);
    const unsigned count = static_cast<unsigned>((entries + 511) / 512);
    std::uint64_t frames[GUEST_GDT_PAGES] = {};
    if (auto copied = copy_from_guest(frames, list, count * sizeof(std::uint64_t)); !copied)
        return xen::negated(copied.error());
    {
        // Take every new frame's descriptor type first (validating it); only then let go of the
        // old ones, so a failure leaves the old GDT in place.
        MmLockGuard guard;
        for (unsigned i = 0; i < count; ++i) {
            if (auto taken = page_refs().get_page_and_type(frames[i], vcpu.domain->id, PageType::SegDesc); !taken) {
                for (unsigned j = 0; j < i; ++j)
                    page_refs().put_page_and_type(frames[j]);
                return xen::negated(Errno::EINVAL);
            }
        }
        for (unsigned i = 0; i < vcpu.gdt_frame_count; ++i)
            page_refs().put_page_and_type(vcpu.gdt_frames[i]);
        for (unsigned i = 0; i < count; ++i)
            vcpu.gdt_frames[i] = frames[i];
        vcpu.gdt_frame_count = count;
    }
    if (current_vcpu() == &vcpu)
        load_guest_gdt(this_cpu(), &vcpu);
    return 0;
}

std::int64_t do_update_descriptor(HypercallContext& c) {
    const std::uint64_t address = c.arg(0);
    const std::uint64_t descriptor = c.arg(1);
    if (address & 7)
        return xen::negated(Errno::EINVAL);
    auto fixed = check_descriptor(descriptor);
    if (!fixed)
        return xen::negated(fixed.error());
    const std::uint64_t mfn = address >> 12;
    Domain& domain = *c.vcpu.domain;
    MmLockGuard guard;
    const FrameInfo* info = frame_info(mfn);
    if (!info || !info->page.owned_by(domain.id))
        return xen::negated(Errno::EINVAL);
    // §5.9: a descriptor page, or a page that can take a writable type right now.
    const bool descriptor_page = info->page.type == PageType::SegDesc;
    if (!descriptor_page && page_refs().get_page_and_type(mfn, domain.id, PageType::Writable).is_error())
        return xen::negated(Errno::EINVAL);
    auto* slot = static_cast<std::uint64_t*>(arch::phys_to_virt(address & ~std::uint64_t{7}));
    __atomic_store_n(slot, *fixed, __ATOMIC_RELEASE);
    if (!descriptor_page)
        page_refs().put_page_and_type(mfn);
    return 0;
}

}  // namespace xenolith
