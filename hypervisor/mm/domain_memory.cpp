// Domain frames, their owners and the M2P.
#include "mm/domain_memory.hpp"

#include "arch/x86_64/layout.h"
#include "arch/x86_64/paging.hpp"
#include "core/smp.hpp"
#include "domain/domain.hpp"
#include "lib/string.hpp"
#include "mm/kernel_space.hpp"
#include "mm/log_dirty.hpp"
#include "mm/page_allocator.hpp"

namespace xenolith {

namespace {

constexpr std::uint64_t INVALID_ENTRY = ~std::uint64_t{0};
std::uint64_t* g_m2p = nullptr;  // writable alias (direct map) of the guest-readable table
std::uint64_t g_m2p_entries = 0;

unsigned order_of(std::uint64_t pages) {
    unsigned order = 0;
    while ((std::uint64_t{1} << order) < pages)
        ++order;
    return order;
}

}  // namespace

Result<void> init_machine_to_phys() {
    g_m2p_entries = max_frame_number();
    const std::uint64_t pages = (g_m2p_entries * 8 + 4095) / 4096;
    const std::uint64_t phys = TRY(allocate_frames(order_of(pages)));
    g_m2p = static_cast<std::uint64_t*>(arch::phys_to_virt(phys));
    memset(g_m2p, 0xff, pages * 4096);
    return kernel_map(M2P_RO_BASE, phys, pages * 4096, arch::MapAttributes::guest_read_only());
}

void set_machine_to_phys(std::uint64_t mfn, std::uint64_t pfn) {
    if (mfn < g_m2p_entries)
        __atomic_store_n(&g_m2p[mfn], pfn, __ATOMIC_RELAXED);
}

std::uint64_t machine_to_phys(std::uint64_t mfn) { return mfn < g_m2p_entries ? g_m2p[mfn] : INVALID_ENTRY; }

Result<std::uint64_t> allocate_domain_frame(Domain& domain, std::uint64_t pfn) {
    if (domain.tot_pages >= domain.max_pages)
        return Error{Errno::ENOMEM};
    const std::uint64_t mfn = TRY(allocate_frames(0)) / 4096;
    memset(arch::phys_to_virt(mfn * 4096), 0, 4096);  // a domain never sees another's data
    FrameInfo& info = *frame_info(mfn);
    info.page = PageState{};
    info.page.owner = PageState::encode_domain(domain.id);
    set_machine_to_phys(mfn, pfn);
    log_dirty_note_frame(mfn);  // scrubbed: the PFN's contents changed
    ++domain.tot_pages;
    return mfn;
}

Result<void> free_domain_frame(Domain& domain, std::uint64_t mfn) {
    FrameInfo* info = frame_info(mfn);
    if (!info || !info->page.owned_by(domain.id))
        return Error{Errno::EINVAL};
    // A frame something still refers to (a mapping, a pin, a base pointer) cannot go (§5.12.1).
    if (info->page.count || info->page.type_count)
        return Error{Errno::EBUSY};
    log_dirty_note_frame(mfn);  // the PFN loses its frame: the saver must look at it again
    info->page = PageState{};
    set_machine_to_phys(mfn, INVALID_ENTRY);
    memset(arch::phys_to_virt(mfn * 4096), 0, 4096);
    free_frames(mfn * 4096, 0);
    --domain.tot_pages;
    return ok();
}

Result<void> assign_domain_memory(Domain& domain, std::uint64_t nr_pages) {
    if (nr_pages == 0)
        return Error{Errno::EINVAL};
    // The PFN -> MFN list the builder works from lives in frames of the hypervisor's own.
    const unsigned list_order = order_of((nr_pages * 8 + 4095) / 4096);
    const std::uint64_t list_phys = TRY(allocate_frames(list_order));
    domain.frames = static_cast<std::uint64_t*>(arch::phys_to_virt(list_phys));
    domain.frames_order = list_order;
    domain.frames_count = nr_pages;
    domain.max_pages = nr_pages;
    // Single frames: a PV domain's pseudo-physical memory need not be machine-contiguous, and
    // every frame can later be given back on its own (decrease_reservation).
    for (std::uint64_t pfn = 0; pfn < nr_pages; ++pfn) {
        auto mfn = allocate_domain_frame(domain, pfn);
        if (!mfn) {
            release_domain_memory(domain);
            return Error{Errno::ENOMEM};
        }
        domain.frames[pfn] = *mfn;
    }
    return ok();
}

void release_domain_memory(Domain& domain) {
    // Every frame the domain owns, wherever it came from (builder, populate_physmap, ...).
    for (std::uint64_t mfn = 0; mfn < max_frame_number(); ++mfn) {
        // This runs with interrupts off and scrubs the whole domain: keep answering other CPUs'
        // cross-calls (TLB flushes) meanwhile, or they would wait on us for seconds under TCG.
        if (mfn % 1024 == 0)
            serve_cross_calls();
        FrameInfo& info = *frame_info(mfn);
        if (!info.page.owned_by(domain.id) || mfn * 4096 == domain.shared_info_phys)
            continue;
        info.page = PageState{};  // references were dropped by relinquish_domain_memory
        set_machine_to_phys(mfn, INVALID_ENTRY);
        memset(arch::phys_to_virt(mfn * 4096), 0, 4096);  // scrub: nothing leaks to the next owner
        free_frames(mfn * 4096, 0);
    }
    if (domain.frames)
        free_frames(arch::virt_to_phys_directmap(domain.frames), domain.frames_order);
    domain.frames = nullptr;
    domain.frames_count = 0;
    domain.tot_pages = 0;
}

std::uint64_t domain_pfn_to_mfn(const Domain& domain, std::uint64_t pfn) {
    return domain.frames && pfn < domain.frames_count ? domain.frames[pfn] : INVALID_ENTRY;
}

bool domain_owns_frame(const Domain& domain, std::uint64_t mfn) {
    const FrameInfo* info = frame_info(mfn);
    return info && info->page.owned_by(domain.id);
}


}  // namespace xenolith
