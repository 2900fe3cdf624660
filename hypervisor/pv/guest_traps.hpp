// What happens when a guest traps into the hypervisor: exceptions (fixed up, emulated or
// reflected, pv-abi-core.md §6.6), software interrupts (§6.5), and the exit path every guest
// entry leaves through (reschedule, then deliver pending events, §6.7).
#pragma once

#include "arch/x86_64/trap_frame.hpp"

namespace xenolith {

// An exception or software interrupt raised by the running guest (frame.cs has RPL 3).
void handle_guest_exception(arch::TrapFrame& frame);

// The return to the guest itself faulted (a selector or frame the CPU refused): crash the
// domain and run something else. Never returns.
[[noreturn]] void guest_return_faulted(const arch::TrapFrame& fault);

// The last thing before returning to the guest in `frame`: may switch vCPUs (not returning).
void exit_to_guest(arch::TrapFrame& frame);

}  // namespace xenolith
