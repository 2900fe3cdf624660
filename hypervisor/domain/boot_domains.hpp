// Boot-time domains from Multiboot modules (architecture decision 3).
//
// Module strings say what each module is:
//   * the first module is domain 0's kernel, its string is the kernel command line — unless the
//     string starts with `domain` (then there is no domain 0);
//   * a module whose string is `initrd` is the initial ramdisk of the domain before it;
//   * `domain [name=N] [memory=SIZE] [vcpus=N] [weight=W] [cap=C] [-- COMMAND LINE]` is the
//     kernel of an extra, unprivileged domain (SIZE takes K/M/G suffixes).
// Domain 0 takes its memory and vCPUs from the hypervisor options dom0_mem= and dom0_vcpus=.
// A malformed string is reported naming the module, and that domain is not built.
#pragma once

#include "boot/multiboot.hpp"

namespace xenolith {

// Build every domain the modules describe; returns how many were built.
unsigned build_boot_domains(const BootInfo& info);

}  // namespace xenolith
