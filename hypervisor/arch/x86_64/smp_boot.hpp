// Waking an application processor: the real-mode trampoline and INIT-SIPI-SIPI.
#pragma once

#include <cstdint>

#include "lib/result.hpp"

namespace xenolith::arch {

// Copy the trampoline to `page_phys` (page aligned, below 1 MiB) and fill in what every AP needs.
void install_trampoline(std::uint64_t page_phys);

// Start the AP with `apic_id` on `stack_pointer`; waits until it runs 64-bit code (or ETIMEDOUT).
Result<void> wake_processor(std::uint32_t apic_id, std::uint64_t stack_pointer);

}  // namespace xenolith::arch
