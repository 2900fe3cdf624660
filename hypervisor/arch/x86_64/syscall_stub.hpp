// The per-CPU `syscall` entry: LSTAR is per CPU, so each CPU gets a tiny stub that switches to
// its own hypervisor stack (the guest's rsp is untrusted) and joins syscall_entry.
#pragma once

#include "lib/result.hpp"

namespace xenolith {
struct Cpu;
}

namespace xenolith::arch {

// Write this CPU's stub (executable page) and data page into its per-CPU window and program
// STAR/LSTAR/CSTAR/SFMASK. Needs the CPU's descriptors set up.
Result<void> install_syscall_entry(Cpu& cpu);

}  // namespace xenolith::arch
