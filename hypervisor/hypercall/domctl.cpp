// domctl (36): the control domain's interface to other domains. Only the common envelope
// checks and shadow_op (log-dirty) exist; every other command answers -ENOSYS
// (dom0-devices.md §5.1, §5.2, §5.3.14).
#include "domain/domain.hpp"
#include "hypercall/hypercall.hpp"
#include "mm/log_dirty.hpp"
#include "pv/guest_memory.hpp"
#include "xen/domctl.hpp"

namespace xenolith {

namespace {

// §5.1: commands that do not name an existing domain (createdomain makes one, getdomaininfo
// searches from the id); every other command needs the target to exist (-ESRCH).
bool names_existing_domain(std::uint32_t cmd) {
    return cmd != xen::XEN_DOMCTL_createdomain && cmd != xen::XEN_DOMCTL_getdomaininfo;
}

// §5.3.14 ENABLE: for a PV domain only the log-dirty mode bit is meaningful; the other modes
// (refcount, translate, external) need shadow or HVM paging, which do not exist here.
bool enable_mode_ok(std::uint32_t mode) { return mode == xen::XEN_DOMCTL_SHADOW_ENABLE_LOG_DIRTY; }

// The shadow_op checks that come before any state changes (§5.3.14).
Result<void> check_shadow_target(const Domain& caller, const Domain& target) {
    if (&target == &caller)
        return Error{Errno::EINVAL};  // it would have to pause itself
    if (target.vcpu_count == 0 || target.vcpus[0] == nullptr)
        return Error{Errno::EINVAL};  // "target without vCPU 0"
    return ok();
}

// One shadow_op; `op` is the caller's copy of the envelope, updated with the OUT fields.
// Returns Continue when a long CLEAN/PEEK must give up the CPU.
Result<RoundProgress> shadow_op(HypercallContext& c, xen::xen_domctl& op, Domain& target) {
    Domain& caller = *c.vcpu.domain;
    TRY(check_shadow_target(caller, target));
    xen::xen_domctl_shadow_op& sop = op.u.shadow_op;
    switch (sop.op) {
    case xen::XEN_DOMCTL_SHADOW_OP_OFF:
        log_dirty_disable(target);
        return RoundProgress::Done;
    case xen::XEN_DOMCTL_SHADOW_OP_ENABLE:
        if (!enable_mode_ok(sop.mode))
            return Error{Errno::EINVAL};
        [[fallthrough]];
    case xen::XEN_DOMCTL_SHADOW_OP_ENABLE_LOGDIRTY:
        TRY(log_dirty_enable(target));
        return RoundProgress::Done;
    case xen::XEN_DOMCTL_SHADOW_OP_CLEAN:
    case xen::XEN_DOMCTL_SHADOW_OP_PEEK: {
        if (sop.mode & ~xen::XEN_DOMCTL_SHADOW_LOGDIRTY_FINAL)
            return Error{Errno::EINVAL};  // FINAL is the only mode bit CLEAN/PEEK accept
        LogDirtyRound round{sop.op, sop.dirty_bitmap, sop.pages};
        const RoundProgress progress = TRY(log_dirty_round_step(target, caller, c.vcpu.id, round, c.may_continue));
        if (progress == RoundProgress::Done) {
            sop.pages = round.pages_out;
            sop.stats.dirty_count = round.dirty_count;
            sop.stats.fault_count = round.fault_count;
        }
        return progress;
    }
    case xen::XEN_DOMCTL_SHADOW_OP_GET_ALLOCATION:
        sop.mb = 0;  // step 1 keeps no shadow pool
        return RoundProgress::Done;
    case xen::XEN_DOMCTL_SHADOW_OP_SET_ALLOCATION:
        return RoundProgress::Done;  // deprecated (§5.3.14); nothing to size without shadows
    default:
        // ENABLE_TEST (legacy) and unknown operations: no such shadow mode here.
        return Error{Errno::EINVAL};
    }
}

}  // namespace

std::int64_t do_domctl(HypercallContext& c) {
    const std::uint64_t address = c.arg(0);
    // §5.1: the whole envelope first (-EFAULT), then the version (-EACCES), the target
    // (-ESRCH), the privilege (-EPERM: every command here is for the control domain only).
    auto envelope = GuestPtr<xen::xen_domctl>(address).read();
    if (!envelope)
        return xen::negated(envelope.error());
    xen::xen_domctl op = *envelope;
    if (op.interface_version != xen::XEN_DOMCTL_INTERFACE_VERSION)
        return xen::negated(Errno::EACCES);
    Domain* target = nullptr;
    if (names_existing_domain(op.cmd)) {
        target = find_domain(op.domain);
        if (!target)
            return xen::negated(Errno::ESRCH);
    }
    if (!c.vcpu.domain->privileged)
        return xen::negated(Errno::EPERM);
    if (op.cmd != xen::XEN_DOMCTL_shadow_op)
        return xen::negated(Errno::ENOSYS);

    // §5.3.14: a dying target is ignored (success, nothing done).
    if (target->state.load() == DomainState::Dying)
        return 0;
    auto result = shadow_op(c, op, *target);
    if (!result)
        return xen::negated(result.error());
    if (*result == RoundProgress::Continue) {
        // The same call again: the round's progress is kept with the target (mm/log_dirty).
        arrange_continuation(c, c.arg(0), c.arg(1), c.arg(2), c.arg(3));
        return 0;
    }
    // §5.1: shadow_op copies the whole envelope back.
    return to_return(GuestPtr<xen::xen_domctl>(address).write(op));
}

}  // namespace xenolith
