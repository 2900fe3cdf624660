// Loading and saving the parts of a vCPU's state that are not in its TrapFrame: page-table base,
// segment bases, FPU state, debug registers.
#pragma once

#include <cstdint>

namespace xenolith {
struct Vcpu;
}

namespace xenolith::arch {

// Make `vcpu`'s address space, segment bases and FPU state live on this CPU.
void load_guest_context(Vcpu& vcpu);
// Save what load_guest_context() loaded and may have changed (the FPU state).
void save_guest_context(Vcpu& vcpu);
// Switch this CPU back to the hypervisor's own page tables (idle).
void load_idle_context();

// Arm the vCPU's breakpoints (DR0-3, DR7) on this CPU if its DR7 enables any, else disarm
// them (DR7 = 0); for the vCPU running here after it changed them (set_debugreg).
void load_debug_registers(const Vcpu& vcpu);

// The CR3 value for the mode the vCPU is in.
std::uint64_t active_root(const Vcpu& vcpu);

}  // namespace xenolith::arch
