// Trap table, callbacks and the decoded frame the test kernels' handlers receive.
// Source: pv-abi-core.md §5.2 (trap table), §5.6 (callbacks), §6.4 (bounce frame), §6.6-§6.9.
#pragma once

#include <cstddef>
#include <cstdint>

#include "xen/xen.hpp"

namespace xt {

// Pseudo-vectors for callbacks (see asm_abi.h).
inline constexpr unsigned VECTOR_EVENT = 0x100;
inline constexpr unsigned VECTOR_FAILSAFE = 0x101;

// The register block traps.S builds, lowest address first. A handler may change any field;
// the values are restored by HYPERVISOR_iret (rcx/r11 included: flags = 0, §6.9).
struct TrapFrame {
    std::uint64_t cr2;  // #PF only: vcpu_info.arch.cr2 (§6.6), 0 otherwise
    std::uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
    std::uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
    std::uint64_t vector;
    std::uint64_t error_code;  // 0 when the vector has none (§6.6)
    // The native part of the bounce frame (§6.4):
    std::uint64_t rip;
    std::uint64_t cs;  // bits 39:32: saved_upcall_mask; RPL 0 if interrupted in kernel mode
    std::uint64_t rflags;
    std::uint64_t rsp;
    std::uint64_t ss;

    std::uint16_t selector() const { return static_cast<std::uint16_t>(cs); }
    std::uint8_t saved_upcall_mask() const {
        return static_cast<std::uint8_t>(cs >> xen::BOUNCE_FRAME_CS_UPCALL_MASK_SHIFT);
    }
    bool from_kernel() const { return (cs & 3) == 0; }
};
static_assert(sizeof(TrapFrame) == 184);
static_assert(offsetof(TrapFrame, vector) == 128);
static_assert(offsetof(TrapFrame, rip) == 144);

// Returns true if it handled the trap (the frame, possibly edited, is resumed); false makes
// the default handler report it as a test failure and end the test.
using TrapHandler = bool (*)(TrapFrame& frame);
using EventHandler = void (*)(xen::evtchn_port_t port);

// Registers xt's stubs for vectors 0-31 and 0x80 with set_trap_table (int3, into and 0x80 get
// DPL 3, every vector masks events on entry), and the event and failsafe callbacks with
// callback_op. Returns the first hypercall error, or 0.
long install_traps();
void set_trap_handler(unsigned vector, TrapHandler handler);
// Called once per pending, unmasked port during the 2-level scan (devices §1.6).
void set_event_handler(EventHandler handler);
// Number of traps taken per vector since boot (vectors 0-255; events and failsafe included
// as VECTOR_EVENT/VECTOR_FAILSAFE).
std::uint64_t trap_count(unsigned vector);

// The stub addresses, for tests that build their own tables.
std::uint64_t trap_stub_address(unsigned vector);
std::uint64_t event_callback_address();
std::uint64_t failsafe_callback_address();

}  // namespace xt
