// Trap and interrupt dispatch: exceptions in the hypervisor are fatal (with a full report);
// device and IPI vectors go to registered handlers.
#pragma once

#include <cstdint>

#include "arch/x86_64/trap_frame.hpp"

namespace xenolith::arch {

using InterruptHandler = void (*)(TrapFrame& frame);

// Route `vector` (≥ 32) to `handler`; the handler runs with interrupts off and must not EOI.
void set_interrupt_handler(std::uint8_t vector, InterruptHandler handler);

const char* exception_name(std::uint64_t vector);

}  // namespace xenolith::arch

extern "C" void handle_trap(xenolith::arch::TrapFrame* frame);
