// mmu_update (1): validated page-table entry writes and M2P updates, in batches that stop at
// the first failure and give up the CPU between chunks (pv-abi-core.md §5.3, §4.5).
#include "core/console.hpp"
#include "domain/domain.hpp"
#include "hypercall/hypercall.hpp"
#include "hypercall/mm_common.hpp"
#include "mm/domain_memory.hpp"
#include "mm/log_dirty.hpp"
#include "mm/page_allocator.hpp"
#include "mm/mm_audit.hpp"
#include "mm/pv_mm.hpp"
#include "pv/guest_memory.hpp"
#include "xen/mm.hpp"

namespace xenolith {

namespace {

Result<bool> apply(Domain& caller, const UpdateContext& ctx, const xen::mmu_update& request) {
    const std::uint64_t command = request.ptr & xen::MMU_UPDATE_CMD_MASK;
    const std::uint64_t address = request.ptr & ~xen::MMU_UPDATE_CMD_MASK;
    const std::uint64_t mfn = address >> 12;
    switch (command) {
    case xen::MMU_NORMAL_PT_UPDATE:
    case xen::MMU_PT_UPDATE_PRESERVE_AD:
    case xen::MMU_PT_UPDATE_NO_TRANSLATE: {
        MmLockGuard guard;
        const FrameInfo* info = frame_info(mfn);
        // Changing an L2-L4 entry needs every TLB that may cache the old path flushed (§5.3).
        const bool upper = info && (info->page.type == PageType::L2 || info->page.type == PageType::L3 ||
                                    info->page.type == PageType::L4);
        TRY(page_table_validator().update_entry(ctx, mfn, static_cast<unsigned>((address & 0xfff) / 8), request.val,
                                                command == xen::MMU_PT_UPDATE_PRESERVE_AD));
        return upper;
    }
    case xen::MMU_MACHPHYS_UPDATE: {
        const Domain* owner = find_domain(ctx.pt_owner);
        if (!owner)
            return Error{Errno::ESRCH};
        if (!domain_owns_frame(*owner, mfn))
            return Error{owner == &caller ? Errno::EINVAL : Errno::EPERM};
        // Both PFNs change meaning for log-dirty (§5.3.14: MMU_MACHPHYS_UPDATE targets are
        // logged); under the mm lock, which keeps a tracked domain's bitmap in place.
        MmLockGuard guard;
        log_dirty_note_pfn(owner->id, machine_to_phys(mfn));
        set_machine_to_phys(mfn, request.val);
        log_dirty_note_pfn(owner->id, request.val);
        return false;
    }
    default: return Error{Errno::ENOSYS};
    }
}

}  // namespace

std::int64_t do_mmu_update(HypercallContext& c) {
    const MemoryAuditPoint audit_point;  // mm_audit=N: count this call, maybe audit on return
    const std::uint64_t requests = c.arg(0);
    const std::uint64_t count_arg = c.arg(1);
    const std::uint64_t done_out = c.arg(2);
    const auto foreigndom = static_cast<std::uint32_t>(c.arg(3));
    // A continuation carries the entries done so far above bit 32 (§4.5 PREEMPTED encoding).
    const std::uint64_t count = count_arg & ~MMU_UPDATE_PREEMPTED & 0xffffffff;
    const std::uint64_t done_before = (count_arg & MMU_UPDATE_PREEMPTED) ? count_arg >> 32 : 0;
    Domain& caller = *c.vcpu.domain;
    auto ctx = resolve_foreign_domains(caller, foreigndom);
    if (!ctx)
        return xen::negated(ctx.error());

    const std::uint64_t chunk = c.may_continue && count > MM_BATCH ? MM_BATCH : count;
    bool flush = false;
    std::int64_t result = 0;
    std::uint64_t done = 0;
    for (; done < chunk; ++done) {
        auto request = GuestPtr<xen::mmu_update>(requests + done * sizeof(xen::mmu_update)).read();
        if (!request) {
            result = xen::negated(request.error());
            break;
        }
        auto applied = apply(caller, *ctx, *request);
        if (!applied) {
            log_debug("d{}: mmu_update ptr {:#x} val {:#x} refused: errno {}", caller.id, request->ptr, request->val,
                      applied.error());
            result = xen::negated(applied.error());
            break;
        }
        flush |= *applied;
    }
    if (flush)
        flush_all_tlbs();
    if (result == 0 && done < count) {
        const std::uint64_t total = done_before + done;
        arrange_continuation(c, requests + done * sizeof(xen::mmu_update),
                             (count - done) | MMU_UPDATE_PREEMPTED | (total << 32), done_out, foreigndom);
        return 0;
    }
    if (done_out) {
        const auto total = static_cast<std::uint32_t>(done_before + done);
        if (auto written = GuestPtr<std::uint32_t>(done_out).write(total); !written && result == 0)
            result = xen::negated(written.error());
    }
    return result;
}

}  // namespace xenolith
