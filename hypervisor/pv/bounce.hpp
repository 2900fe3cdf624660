// Delivering an exception, event or system call into a PV guest: the bounce frame of
// pv-abi-core.md §6.4, written on the guest kernel stack, and the guest kernel/user mode toggle.
#pragma once

#include <cstdint>
#include <optional>

#include "arch/x86_64/trap_frame.hpp"

namespace xenolith {

struct Vcpu;

// Switch between guest kernel and user mode: swap the GS bases and load the other page-table
// root (§6.2, §6.3). The caller checks that a user root exists before entering user mode.
void toggle_guest_mode(Vcpu& vcpu);

// Redirect `frame` (the interrupted guest context) to `handler` through a bounce frame. Masks
// events if `mask_events`. Crashes the domain (returning false) if the frame cannot be written.
bool bounce_to_guest(Vcpu& vcpu, arch::TrapFrame& frame, std::uint64_t handler, std::optional<std::uint64_t> error_code,
                     bool mask_events);

// Reflect exception `vector` to the guest's handler from its trap table (crash if none).
bool inject_exception(Vcpu& vcpu, arch::TrapFrame& frame, unsigned vector, std::optional<std::uint64_t> error_code);

}  // namespace xenolith
