// Multiprocessor support: starting the application processors, cross-CPU calls that wait for
// completion, and stopping every CPU on a panic.
#pragma once

#include <cstdint>

#include "core/cpu.hpp"
#include "lib/result.hpp"

namespace xenolith {

struct AcpiInfo;

// Register the CPUs ACPI found (the boot CPU first) and start each enabled AP, up to max_cpus.
// Returns the number of CPUs online.
unsigned start_secondary_cpus(const AcpiInfo& acpi, std::uint64_t trampoline_phys, unsigned max_cpus);

// Run fn(argument) on CPU `index` and wait until it has returned there.
void cross_call(unsigned index, CrossCallFunction fn, void* argument);
// The same on every online CPU, this one included.
void cross_call_all(CrossCallFunction fn, void* argument);
// Run a cross-call waiting for this CPU, if any. Code that spins with interrupts off on a lock
// another CPU may hold while cross-calling calls this in its spin loop (see MmLockGuard).
void serve_cross_calls();

// Route the cross-call IPI (boot CPU, once).
void init_cross_calls();

// Send an NMI to every other CPU; each stops when it sees the panic.
void stop_other_cpus();
[[noreturn]] void halt_this_cpu_for_panic();

}  // namespace xenolith
