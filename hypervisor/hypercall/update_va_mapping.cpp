// update_va_mapping (14) and update_va_mapping_otherdomain (22): change the one L1 entry that
// maps a virtual address of the current page tables, validated like mmu_update (§5.10).
#include "arch/x86_64/cr.hpp"
#include "arch/x86_64/guest_context.hpp"
#include "domain/domain.hpp"
#include "hypercall/hypercall.hpp"
#include "hypercall/mm_common.hpp"
#include "mm/mm_audit.hpp"
#include "mm/pv_mm.hpp"
#include "pv/guest_memory.hpp"
#include "xen/mm.hpp"

namespace xenolith {

namespace {

std::int64_t update(HypercallContext& c, const UpdateContext& ctx) {
    const MemoryAuditPoint audit_point;  // mm_audit=N: count this call, maybe audit on return
    const std::uint64_t va = c.arg(0);
    const std::uint64_t value = c.arg(1);
    const std::uint64_t flags = c.arg(2);
    if (!is_guest_range(va, 1))
        return xen::negated(Errno::EINVAL);
    {
        MmLockGuard guard;
        std::uint64_t l1_mfn;
        unsigned index;
        if (auto found = find_l1_entry(arch::active_root(c.vcpu), va, l1_mfn, index); !found)
            return xen::negated(found.error());
        if (auto changed = page_table_validator().mod_entry(PageType::L1, ctx, l1_mfn, index, value, false); !changed)
            return xen::negated(changed.error());
    }
    // No flush if the update failed (above); UVMF_ALL or a vCPU bitmap flush every CPU.
    const std::uint64_t type = flags & xen::UVMF_FLUSHTYPE_MASK;
    const bool everywhere = (flags & ~xen::UVMF_FLUSHTYPE_MASK) != 0;
    if (type == xen::UVMF_NONE)
        return 0;
    if (everywhere)
        flush_all_tlbs();
    else if (type == xen::UVMF_INVLPG)
        arch::invlpg(va);
    else
        flush_local_tlb();
    return 0;
}

}  // namespace

std::int64_t do_update_va_mapping(HypercallContext& c) {
    const UpdateContext self{c.vcpu.domain->id, c.vcpu.domain->id};
    return update(c, self);
}

std::int64_t do_update_va_mapping_otherdomain(HypercallContext& c) {
    // The fifth argument names the owner of the frame being mapped (privileged use).
    auto ctx = resolve_foreign_domains(*c.vcpu.domain, static_cast<std::uint32_t>(c.arg(3) & 0xffff));
    if (!ctx)
        return xen::negated(ctx.error());
    return update(c, *ctx);
}

}  // namespace xenolith
