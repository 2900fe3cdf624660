// Domain frames, their owners and the M2P.
#include "mm/domain_memory.hpp"

#include "arch/x86_64/layout.h"
#include "arch/x86_64/paging.hpp"
#include "domain/domain.hpp"
#include "lib/string.hpp"
#include "mm/kernel_space.hpp"
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

// Blocks of up to 2 MiB, so a domain does not pin down the allocator's largest blocks.
constexpr unsigned MAX_CHUNK_ORDER = 9;

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

Result<void> assign_domain_memory(Domain& domain, std::uint64_t nr_pages) {
    if (nr_pages == 0)
        return Error{Errno::EINVAL};
    // The PFN -> MFN list lives in frames of the hypervisor's own.
    const unsigned list_order = order_of((nr_pages * 8 + 4095) / 4096);
    const std::uint64_t list_phys = TRY(allocate_frames(list_order));
    domain.frames = static_cast<std::uint64_t*>(arch::phys_to_virt(list_phys));
    domain.frames_order = list_order;
    domain.max_pages = nr_pages;

    std::uint64_t pfn = 0;
    while (pfn < nr_pages) {
        unsigned order = order_of(nr_pages - pfn);
        if ((std::uint64_t{1} << order) > nr_pages - pfn)
            --order;
        if (order > MAX_CHUNK_ORDER)
            order = MAX_CHUNK_ORDER;
        auto block = allocate_frames(order);
        while (!block && order > 0)
            block = allocate_frames(--order);
        if (!block) {
            domain.tot_pages = pfn;
            release_domain_memory(domain);
            return Error{Errno::ENOMEM};
        }
        const std::uint64_t first_mfn = *block / 4096;
        for (std::uint64_t i = 0; i < (std::uint64_t{1} << order); ++i) {
            const std::uint64_t mfn = first_mfn + i;
            FrameInfo& info = *frame_info(mfn);
            info.page = PageState{};
            info.page.owner = PageState::encode_domain(domain.id);
            domain.frames[pfn + i] = mfn;
            set_machine_to_phys(mfn, pfn + i);
        }
        // Remember the block as one unit for freeing (its first PFN is its head).
        if (domain.chunk_count == Domain::MAX_CHUNKS) {
            free_frames(*block, order);
            domain.tot_pages = pfn;
            release_domain_memory(domain);
            return Error{Errno::ENOMEM};
        }
        domain.chunk_orders[domain.chunk_count++] = static_cast<std::uint8_t>(order);
        pfn += std::uint64_t{1} << order;
    }
    domain.tot_pages = nr_pages;
    return ok();
}

void release_domain_memory(Domain& domain) {
    if (!domain.frames)
        return;
    std::uint64_t pfn = 0;
    for (unsigned chunk = 0; chunk < domain.chunk_count && pfn < domain.tot_pages; ++chunk) {
        const unsigned order = domain.chunk_orders[chunk];
        const std::uint64_t first_mfn = domain.frames[pfn];
        for (std::uint64_t i = 0; i < (std::uint64_t{1} << order); ++i) {
            const std::uint64_t mfn = first_mfn + i;
            memset(arch::phys_to_virt(mfn * 4096), 0, 4096);  // scrub: nothing leaks to the next owner
            frame_info(mfn)->page = PageState{};
            set_machine_to_phys(mfn, INVALID_ENTRY);
        }
        free_frames(first_mfn * 4096, order);
        pfn += std::uint64_t{1} << order;
    }
    free_frames(arch::virt_to_phys_directmap(domain.frames), domain.frames_order);
    domain.frames = nullptr;
    domain.tot_pages = 0;
    domain.chunk_count = 0;
}

std::uint64_t domain_pfn_to_mfn(const Domain& domain, std::uint64_t pfn) {
    return domain.frames && pfn < domain.tot_pages ? domain.frames[pfn] : INVALID_ENTRY;
}

bool domain_owns_frame(const Domain& domain, std::uint64_t mfn) {
    const FrameInfo* info = frame_info(mfn);
    return info && info->page.owned_by(domain.id);
}


}  // namespace xenolith
