// Emulation of what a PV guest kernel may not execute at ring 3 but expects to work
// (pv-abi-core.md §6.11): forced-emulation CPUID with the Xen leaves, MSR and control-register
// access, port I/O under the virtual IOPL, cli/sti, clts, wbinvd, xsetbv.
#pragma once

#include <cstdint>

#include "arch/x86_64/trap_frame.hpp"

namespace xenolith {

struct Vcpu;

enum class Emulation : std::uint8_t {
    Done,          // emulated; rip advanced
    NotHandled,    // not an instruction this emulates: reflect the original fault
    InjectGp,      // an instruction it knows, refused: inject #GP(0)
    InjectUd,      // an instruction the guest's virtual CPU state disables: inject #UD
};

// On #UD: the forced-emulation prefix `ud2; .ascii "xen"; cpuid` (§6.11).
Emulation emulate_invalid_opcode(Vcpu& vcpu, arch::TrapFrame& frame);
// On #GP(0): privileged instructions (guest kernel mode) and port I/O.
Emulation emulate_privileged(Vcpu& vcpu, arch::TrapFrame& frame);

// The CPUID a PV guest sees through the forced-emulation path.
void guest_cpuid(const Vcpu& vcpu, std::uint32_t leaf, std::uint32_t subleaf, std::uint32_t out[4]);

}  // namespace xenolith
