// Checks run at every boot (cross-calls, W^X, allocator), the timer demonstration, and the
// deliberate crashes that prove the panic path.
#pragma once

#include <cstdint>

#include "core/options.hpp"

namespace xenolith {

// Returns false (after logging why) if any boot self-check failed.
bool run_boot_self_checks();

// Count timer interrupts on every CPU for `seconds`, printing a line per second.
bool run_tick_demo(std::uint32_t seconds);

[[noreturn]] void run_crash_test(CrashTest which);

}  // namespace xenolith
