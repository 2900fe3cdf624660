// Run-state accounting.
#include "pv/runstate.hpp"

#include "arch/x86_64/tsc.hpp"
#include "domain/domain.hpp"
#include "pv/guest_memory.hpp"
#include "xen/mm.hpp"

namespace xenolith {

void change_runstate(Vcpu& vcpu, std::int32_t state) {
    const std::uint64_t now = arch::system_time_ns();
    if (vcpu.runstate >= 0 && vcpu.runstate < static_cast<std::int32_t>(xen::RUNSTATE_COUNT))
        vcpu.runstate_time[vcpu.runstate] += now - vcpu.runstate_entry_ns;
    vcpu.runstate = state;
    vcpu.runstate_entry_ns = now;
}

namespace {
// The record as of the last change: time[] covers everything before state_entry_time (what
// the registered area shows, §5.19).
xen::vcpu_runstate_info runstate_at_entry(const Vcpu& vcpu) {
    xen::vcpu_runstate_info info{};
    info.state = vcpu.runstate;
    info.state_entry_time = vcpu.runstate_entry_ns;
    for (unsigned i = 0; i < xen::RUNSTATE_COUNT; ++i)
        info.time[i] = vcpu.runstate_time[i];
    return info;
}
}  // namespace

xen::vcpu_runstate_info runstate_now(const Vcpu& vcpu) {
    xen::vcpu_runstate_info info = runstate_at_entry(vcpu);
    // The current state's time runs up to now.
    if (vcpu.runstate >= 0 && vcpu.runstate < static_cast<std::int32_t>(xen::RUNSTATE_COUNT))
        info.time[vcpu.runstate] += arch::system_time_ns() - vcpu.runstate_entry_ns;
    return info;
}

void publish_runstate(Vcpu& vcpu) {
    if (!vcpu.runstate_area || !vcpu.kernel_mode)
        return;
    const xen::vcpu_runstate_info info = runstate_at_entry(vcpu);
    // §5.16 runstate_update_flag: mark the entry time while the record changes.
    const bool flagged = vcpu.domain->vm_assist & (std::uint64_t{1} << xen::VMASST_TYPE_runstate_update_flag);
    GuestPtr<std::uint64_t> entry_time(vcpu.runstate_area + offsetof(xen::vcpu_runstate_info, state_entry_time));
    if (flagged)
        (void)entry_time.write(info.state_entry_time | xen::XEN_RUNSTATE_UPDATE);
    (void)GuestPtr<xen::vcpu_runstate_info>(vcpu.runstate_area).write(info);
}

}  // namespace xenolith
