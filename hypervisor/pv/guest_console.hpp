// The PV console ring of boot-time domains, served by the hypervisor until a dom0 console daemon
// exists (architecture decision 3): output lines appear on the serial console prefixed with the
// domain id and name, and serial input goes to the first domain's ring (pv-abi-devices.md §3).
#pragma once

#include "xen/console.hpp"

namespace xenolith {

struct Domain;

// Start serving `ring` (in one of the domain's frames) for the domain; `port` is the guest's
// end of the console event channel, raised when input arrives. The first domain attached gets
// what is typed on the serial console.
void attach_guest_console(Domain& domain, xen::xencons_interface& ring, std::uint32_t port);
// Print what is left in the domain's ring and stop serving it.
void detach_guest_console(Domain& domain);

// Start the poller (boot CPU, once timers run).
void start_guest_consoles();

}  // namespace xenolith
