// mmuext_op (26): pin and unpin page tables, switch base pointers, flush TLBs, clear and copy
// pages (pv-abi-core.md §5.21). Batched like mmu_update: stop at the first failure, continue
// long batches by re-execution.
#include "arch/x86_64/cr.hpp"
#include "arch/x86_64/guest_context.hpp"
#include "arch/x86_64/paging.hpp"
#include "domain/domain.hpp"
#include "hypercall/hypercall.hpp"
#include "hypercall/mm_common.hpp"
#include "lib/string.hpp"
#include "mm/page_ref.hpp"
#include "mm/mm_audit.hpp"
#include "mm/pv_mm.hpp"
#include "pv/guest_memory.hpp"
#include "xen/mm.hpp"

namespace xenolith {

namespace {

enum class Flush : std::uint8_t { None, Local, All };

PageType pin_level(std::uint32_t command) {
    static constexpr PageType LEVELS[4] = {PageType::L1, PageType::L2, PageType::L3, PageType::L4};
    return LEVELS[command - xen::MMUEXT_PIN_L1_TABLE];
}

// Clear or copy into a frame of the domain's: it must take a writable type for the duration.
Result<void> write_frame(const UpdateContext& ctx, std::uint64_t mfn, const void* source) {
    {
        MmLockGuard guard;
        TRY(page_refs().get_page_and_type(mfn, ctx.pt_owner, PageType::Writable));
    }
    void* destination = arch::phys_to_virt(mfn << 12);
    if (source)
        memcpy(destination, source, 4096);
    else
        memset(destination, 0, 4096);
    MmLockGuard guard;
    page_refs().put_page_and_type(mfn);
    return ok();
}

Result<void> apply(Vcpu& vcpu, const UpdateContext& ctx, const xen::mmuext_op& op, Flush& flush) {
    Domain& caller = *vcpu.domain;
    switch (op.cmd) {
    case xen::MMUEXT_PIN_L1_TABLE:
    case xen::MMUEXT_PIN_L2_TABLE:
    case xen::MMUEXT_PIN_L3_TABLE:
    case xen::MMUEXT_PIN_L4_TABLE: {
        MmLockGuard guard;
        return page_refs().pin(op.arg1.mfn, ctx.pt_owner, pin_level(op.cmd));
    }
    case xen::MMUEXT_UNPIN_TABLE: {
        {
            MmLockGuard guard;
            TRY(page_refs().unpin(op.arg1.mfn, ctx.pt_owner));
        }
        flush = Flush::All;  // the frames may be reused: no CPU may keep the old translations
        return ok();
    }
    case xen::MMUEXT_NEW_BASEPTR:
        if (ctx.pt_owner != caller.id)
            return Error{Errno::EPERM};
        TRY(set_base_pointer(vcpu, op.arg1.mfn, false));
        arch::write_cr3_flush_global(arch::active_root(vcpu));  // the old process's user pages too
        return ok();
    case xen::MMUEXT_NEW_USER_BASEPTR:
        if (ctx.pt_owner != caller.id)
            return Error{Errno::EPERM};
        return set_base_pointer(vcpu, op.arg1.mfn, true);
    case xen::MMUEXT_TLB_FLUSH_LOCAL:
        if (flush == Flush::None)
            flush = Flush::Local;
        return ok();
    case xen::MMUEXT_INVLPG_LOCAL:
        if (!is_guest_range(op.arg1.linear_addr, 1))
            return Error{Errno::EINVAL};
        arch::invlpg(op.arg1.linear_addr);
        return ok();
    case xen::MMUEXT_TLB_FLUSH_MULTI:
    case xen::MMUEXT_INVLPG_MULTI:
    case xen::MMUEXT_TLB_FLUSH_ALL:
    case xen::MMUEXT_INVLPG_ALL:
        // Flushing every CPU covers any vCPU set the guest names.
        flush = Flush::All;
        return ok();
    case xen::MMUEXT_FLUSH_CACHE:
    case xen::MMUEXT_FLUSH_CACHE_GLOBAL:
        return Error{Errno::EACCES};  // needs I/O capability (§5.21)
    case xen::MMUEXT_SET_LDT:
        if (op.arg1.linear_addr & 0xfff || op.arg2.nr_ents > xen::MMUEXT_MAX_LDT_ENTS)
            return Error{Errno::EINVAL};
        // An empty LDT (what Linux sets up) is all there is until descriptor pages exist.
        return op.arg2.nr_ents == 0 ? ok() : Result<void>(Errno::EOPNOTSUPP);
    case xen::MMUEXT_CLEAR_PAGE: return write_frame(ctx, op.arg1.mfn, nullptr);
    case xen::MMUEXT_COPY_PAGE: {
        {
            MmLockGuard guard;
            TRY(page_refs().get_page(op.arg2.src_mfn, ctx.pt_owner));
        }
        const Result<void> copied = write_frame(ctx, op.arg1.mfn, arch::phys_to_virt(op.arg2.src_mfn << 12));
        MmLockGuard guard;
        page_refs().put_page(op.arg2.src_mfn);
        return copied;
    }
    case xen::MMUEXT_MARK_SUPER:
    case xen::MMUEXT_UNMARK_SUPER: return Error{Errno::EOPNOTSUPP};
    default: return Error{Errno::ENOSYS};
    }
}

}  // namespace

std::int64_t do_mmuext_op(HypercallContext& c) {
    const MemoryAuditPoint audit_point;  // mm_audit=N: count this call, maybe audit on return
    const std::uint64_t ops = c.arg(0);
    const std::uint64_t count_arg = c.arg(1);
    const std::uint64_t done_out = c.arg(2);
    const auto foreigndom = static_cast<std::uint32_t>(c.arg(3));
    const std::uint64_t count = count_arg & ~MMU_UPDATE_PREEMPTED & 0xffffffff;
    const std::uint64_t done_before = (count_arg & MMU_UPDATE_PREEMPTED) ? count_arg >> 32 : 0;
    auto ctx = resolve_foreign_domains(*c.vcpu.domain, foreigndom);
    if (!ctx)
        return xen::negated(ctx.error());

    const std::uint64_t chunk = c.may_continue && count > MM_BATCH ? MM_BATCH : count;
    Flush flush = Flush::None;
    std::int64_t result = 0;
    std::uint64_t done = 0;
    for (; done < chunk; ++done) {
        auto op = GuestPtr<xen::mmuext_op>(ops + done * sizeof(xen::mmuext_op)).read();
        if (!op) {
            result = xen::negated(op.error());
            break;
        }
        if (auto applied = apply(c.vcpu, *ctx, *op, flush); !applied) {
            result = xen::negated(applied.error());
            break;
        }
    }
    if (flush == Flush::All)
        flush_all_tlbs();
    else if (flush == Flush::Local)
        flush_local_tlb();
    if (result == 0 && done < count) {
        const std::uint64_t total = done_before + done;
        arrange_continuation(c, ops + done * sizeof(xen::mmuext_op), (count - done) | MMU_UPDATE_PREEMPTED | (total << 32),
                             done_out, foreigndom);
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
