// QEMU's isa-debug-exit device: writing v to its port ends QEMU with status (v << 1) | 1.
#pragma once

#include <cstdint>

#include "arch/x86_64/io.hpp"

namespace xenolith::arch {

inline constexpr std::uint16_t DEBUG_EXIT_PORT = 0xf4;

[[noreturn]] inline void qemu_debug_exit(std::uint8_t value) {
    outl(DEBUG_EXIT_PORT, value);
    // Without the device the write is ignored: halt instead of running on.
    for (;;)
        asm volatile("cli; hlt");
}

}  // namespace xenolith::arch
