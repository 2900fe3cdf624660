// memory_op (12): a PV guest's memory: growing and shrinking its reservation, and what it asks
// about memory (pv-abi-core.md §5.12). Unknown sub-ops: -ENOSYS.
#include "arch/x86_64/layout.h"
#include "domain/domain.hpp"
#include "hypercall/hypercall.hpp"
#include "mm/domain_memory.hpp"
#include "mm/page_allocator.hpp"
#include "mm/mm_audit.hpp"
#include "mm/pv_mm.hpp"
#include "pv/guest_memory.hpp"
#include "xen/arch_x86_64.hpp"
#include "xen/memory.hpp"

namespace xenolith {

namespace {

constexpr std::uint64_t MEMOP_CMD_MASK = 63;
constexpr std::uint64_t INVALID_PFN = ~std::uint64_t{0};  // §5.12: bits 6+ are a continuation's start extent

Result<Domain*> named_domain(Domain& caller, std::uint64_t address) {
    const auto request = TRY(GuestPtr<xen::xen_memory_domain>(address).read());
    if (request.domid == xen::DOMID_SELF || request.domid == caller.id)
        return &caller;
    if (!caller.privileged)
        return Error{Errno::EPERM};
    Domain* d = find_domain(request.domid);
    if (!d)
        return Error{Errno::ESRCH};
    return d;
}

// The reservation operations (§5.12.1): extents of 2^extent_order pages. They return how many
// extents were done; a short count means failure at that extent (not a negative errno). Only
// single pages (order 0) are supported: PV guests' pseudo-physical memory is page granular.
std::int64_t reservation(HypercallContext& c, std::uint64_t command) {
    const std::uint64_t start = c.arg(0) >> 6;  // §5.12: continuation start extent
    auto request = GuestPtr<xen::xen_memory_reservation>(c.arg(1)).read();
    if (!request)
        return xen::negated(request.error());
    Domain& caller = *c.vcpu.domain;
    if (request->domid != xen::DOMID_SELF && request->domid != caller.id)
        return xen::negated(Errno::EPERM);  // acting on other domains is the toolstack's (later)
    if (request->extent_order != 0 || start > request->nr_extents)
        return static_cast<std::int64_t>(start);
    constexpr std::uint64_t BATCH = 256;
    std::uint64_t done = start;
    const std::uint64_t end = c.may_continue && request->nr_extents - start > BATCH ? start + BATCH : request->nr_extents;
    for (; done < end; ++done) {
        GuestPtr<std::uint64_t> extent(request->extent_start + done * 8);
        if (command == xen::XENMEM_decrease_reservation) {
            auto mfn = extent.read();
            if (!mfn)
                break;
            MmLockGuard guard;
            if (free_domain_frame(caller, *mfn).is_error())
                break;
        } else {
            std::uint64_t pfn = INVALID_PFN;
            if (command == xen::XENMEM_populate_physmap) {
                auto requested = extent.read();
                if (!requested)
                    break;
                pfn = *requested;
            }
            // Under the mm lock like decrease_reservation: tot_pages is checked against
            // max_pages and raised there, and two vCPUs growing the domain at once must neither
            // both pass the check nor lose an increment.
            auto mfn = [&] {
                MmLockGuard guard;
                return allocate_domain_frame(caller, pfn);
            }();
            if (!mfn)
                break;
            if (extent.write(*mfn).is_error()) {
                MmLockGuard guard;
                (void)free_domain_frame(caller, *mfn);
                break;
            }
        }
    }
    if (done == end && end < request->nr_extents) {
        arrange_continuation(c, (done << 6) | command, c.arg(1), c.arg(2), c.arg(3));
        return 0;
    }
    return static_cast<std::int64_t>(done);
}

}  // namespace

std::int64_t do_memory_op(HypercallContext& c) {
    const MemoryAuditPoint audit_point;  // mm_audit=N: count this call, maybe audit on return
    const std::uint64_t command = c.arg(0) & MEMOP_CMD_MASK;
    const std::uint64_t argument = c.arg(1);
    Domain& domain = *c.vcpu.domain;
    switch (command) {
    case xen::XENMEM_increase_reservation:
    case xen::XENMEM_decrease_reservation:
    case xen::XENMEM_populate_physmap: return reservation(c, command);
    case xen::XENMEM_maximum_ram_page: return static_cast<std::int64_t>(max_frame_number());
    case xen::XENMEM_current_reservation:
    case xen::XENMEM_maximum_reservation: {
        auto target = named_domain(domain, argument);
        if (!target)
            return xen::negated(target.error());
        return static_cast<std::int64_t>(command == xen::XENMEM_current_reservation ? (*target)->tot_pages
                                                                                     : (*target)->max_pages);
    }
    case xen::XENMEM_maximum_gpfn: {
        auto target = named_domain(domain, argument);
        if (!target)
            return xen::negated(target.error());
        // §5.12.3: from the guest-written arch_shared_info.max_pfn, (max_pfn ?: 1) - 1.
        const std::uint64_t max_pfn = __atomic_load_n(&(*target)->shared_info->arch.max_pfn, __ATOMIC_RELAXED);
        return static_cast<std::int64_t>((max_pfn ? max_pfn : 1) - 1);
    }
    case xen::XENMEM_machphys_mapping: {
        // §5.12.7: where the read-only M2P is and how far it reaches.
        const xen::xen_machphys_mapping mapping{xen::MACH2PHYS_VIRT_START,
                                                xen::MACH2PHYS_VIRT_START + max_frame_number() * 8,
                                                max_frame_number() - 1};
        return to_return(GuestPtr<xen::xen_machphys_mapping>(argument).write(mapping));
    }
    case xen::XENMEM_memory_map: {
        // §5.12.8: one RAM entry covering every page, so Linux has no holes to remap.
        auto map = GuestPtr<xen::xen_memory_map>(argument).read();
        if (!map)
            return xen::negated(map.error());
        if (map->nr_entries < 1)
            return xen::negated(Errno::EINVAL);
        const xen::e820_entry ram{0, domain.tot_pages * 4096, xen::E820_RAM};
        if (auto copied = copy_to_guest(map->buffer, &ram, sizeof(ram)); !copied)
            return xen::negated(copied.error());
        map->nr_entries = 1;
        return to_return(GuestPtr<xen::xen_memory_map>(argument).write(*map));
    }
    case xen::XENMEM_add_to_physmap: return xen::negated(Errno::EACCES);  // §5.12.5: translated guests only
    default: return xen::negated(Errno::ENOSYS);
    }
}

}  // namespace xenolith
