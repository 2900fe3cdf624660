// memory_op (12): what a PV guest asks about memory (pv-abi-core.md §5.12). The reservation
// operations (balloon) are not implemented yet: -ENOSYS, as for any unknown sub-op.
#include "arch/x86_64/layout.h"
#include "domain/domain.hpp"
#include "hypercall/hypercall.hpp"
#include "mm/page_allocator.hpp"
#include "pv/guest_memory.hpp"
#include "xen/arch_x86_64.hpp"
#include "xen/memory.hpp"

namespace xenolith {

namespace {

constexpr std::uint64_t MEMOP_CMD_MASK = 63;  // §5.12: bits 6+ are a continuation's start extent

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

}  // namespace

std::int64_t do_memory_op(HypercallContext& c) {
    const std::uint64_t command = c.arg(0) & MEMOP_CMD_MASK;
    const std::uint64_t argument = c.arg(1);
    Domain& domain = *c.vcpu.domain;
    switch (command) {
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
