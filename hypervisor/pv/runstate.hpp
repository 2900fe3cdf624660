// vCPU run states and the time spent in each (pv-abi-core.md §8.4): kept by the scheduler at
// every change, copied to the guest's registered runstate area whenever the vCPU starts running.
#pragma once

#include <cstdint>

#include "lib/result.hpp"
#include "xen/vcpu.hpp"

namespace xenolith {

struct Vcpu;

// Move the vCPU to RUNSTATE_* `state`, charging the time since the last change to the old one.
void change_runstate(Vcpu& vcpu, std::int32_t state);

// The vCPU's run state and times up to now.
xen::vcpu_runstate_info runstate_now(const Vcpu& vcpu);

// Copy it to the registered area (guest virtual, through the page tables live on this CPU); a
// no-op if none is registered or the vCPU is in user mode (its kernel area may not be mapped).
void publish_runstate(Vcpu& vcpu);

}  // namespace xenolith
