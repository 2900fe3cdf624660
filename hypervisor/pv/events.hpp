// Event upcall delivery on the way back to a guest (pv-abi-core.md §6.7, pv-abi-devices.md §1.6).
#pragma once

#include "arch/x86_64/trap_frame.hpp"

namespace xenolith {

struct Vcpu;

// If the vCPU has an upcall pending and events unmasked, bounce `frame` to its event callback.
void deliver_pending_events(Vcpu& vcpu, arch::TrapFrame& frame);

// Mark an upcall pending on the vCPU and make sure it notices: wake it if it is blocked, kick
// its CPU if it is running elsewhere.
void notify_vcpu(Vcpu& vcpu);

}  // namespace xenolith
