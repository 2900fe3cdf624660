// Fatal errors: report, stop every CPU, and (in test mode) end QEMU with a failure status.
#pragma once

#include <string_view>

#include "lib/format.hpp"

namespace xenolith {

namespace arch {
struct TrapFrame;
}

// How the hypervisor ends when there is nothing left to do or a panic: QEMU's exit device
// (test mode) or halting.
enum class ExitStatus : std::uint8_t { Success = 0, Failure = 1, Panic = 2 };

[[noreturn]] void panic_message(std::string_view message, const arch::TrapFrame* frame);

template <typename... Args>
[[noreturn]] void panic(std::string_view fmt, const Args&... args) {
    FixedBuffer<256> message;
    format_to(message, fmt, args...);
    panic_message(message.view(), nullptr);
}

// End the hypervisor: with test_exit=on QEMU exits with the status; otherwise halt all CPUs.
[[noreturn]] void shutdown_machine(ExitStatus status);

// True once any CPU has panicked (other CPUs stop when they see it).
bool panicking();

}  // namespace xenolith

#define ASSERT(cond)                                                                    \
    do {                                                                                \
        if (!(cond)) [[unlikely]]                                                       \
            ::xenolith::panic("assertion failed: {} at {}:{}", #cond, __FILE__, __LINE__); \
    } while (0)
