// The register state saved by isr.S on every interrupt and exception.
#pragma once

#include <cstddef>
#include <cstdint>

namespace xenolith::arch {

struct TrapFrame {
    std::uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
    std::uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
    std::uint64_t vector, error_code;
    // Pushed by the CPU.
    std::uint64_t rip, cs, rflags, rsp, ss;
};
static_assert(sizeof(TrapFrame) == 22 * 8);
static_assert(offsetof(TrapFrame, vector) == 15 * 8);

namespace vector {
inline constexpr std::uint8_t DIVIDE_ERROR = 0;
inline constexpr std::uint8_t DEBUG = 1;
inline constexpr std::uint8_t NMI = 2;
inline constexpr std::uint8_t BREAKPOINT = 3;
inline constexpr std::uint8_t INVALID_OPCODE = 6;
inline constexpr std::uint8_t DOUBLE_FAULT = 8;
inline constexpr std::uint8_t GENERAL_PROTECTION = 13;
inline constexpr std::uint8_t PAGE_FAULT = 14;
inline constexpr std::uint8_t MACHINE_CHECK = 18;
inline constexpr std::uint8_t FIRST_EXTERNAL = 32;
inline constexpr std::uint8_t GUEST_INT80 = 0x80;  // DPL-3 gate for guests' `int $0x80`
// Hypervisor-owned interrupt vectors.
inline constexpr std::uint8_t LEGACY_PIC_BASE = 0x20;  // 8259s remapped here and masked
inline constexpr std::uint8_t TIMER = 0xf0;
inline constexpr std::uint8_t CALL_FUNCTION = 0xf1;
inline constexpr std::uint8_t APIC_ERROR = 0xfe;
inline constexpr std::uint8_t SPURIOUS = 0xff;
}  // namespace vector

}  // namespace xenolith::arch
