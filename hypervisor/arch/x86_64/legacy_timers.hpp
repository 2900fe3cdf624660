// The legacy 8259 PICs (remapped and masked: the IOAPIC is used instead), the 8254 PIT channel 2
// and the HPET main counter, used only as references to calibrate the TSC.
#pragma once

#include <cstdint>

#include "arch/x86_64/io.hpp"
#include "arch/x86_64/mmio.hpp"

namespace xenolith::arch {

inline void disable_legacy_pic(std::uint8_t vector_base) {
    // Reinitialise both 8259s so a stray interrupt lands on a known vector, then mask them.
    outb(0x20, 0x11);
    outb(0xa0, 0x11);
    outb(0x21, vector_base);
    outb(0xa1, static_cast<std::uint8_t>(vector_base + 8));
    outb(0x21, 0x04);
    outb(0xa1, 0x02);
    outb(0x21, 0x01);
    outb(0xa1, 0x01);
    outb(0x21, 0xff);
    outb(0xa1, 0xff);
}

inline constexpr std::uint64_t PIT_HZ = 1193182;

// Run PIT channel 2 in mode 0 for `ticks` (≤ 65535) and return once its output goes high.
// The gate is port 0x61 bit 0; bit 5 reads the channel's output.
inline void pit_wait_ticks(std::uint16_t ticks) {
    const std::uint8_t control = static_cast<std::uint8_t>((inb(0x61) & ~0x02) | 0x01);
    outb(0x61, control & ~0x01);                       // gate low while programming
    outb(0x43, 0xb0);                                  // channel 2, lobyte/hibyte, mode 0, binary
    outb(0x42, static_cast<std::uint8_t>(ticks & 0xff));
    outb(0x42, static_cast<std::uint8_t>(ticks >> 8));
    outb(0x61, control);                               // gate high: start counting
    while (!(inb(0x61) & 0x20))
        __builtin_ia32_pause();
}

class Hpet {
public:
    void set_base(std::uintptr_t virt) { m_base = virt; }
    std::uint64_t period_fs() const { return mmio_read64(m_base + CAPABILITIES) >> 32; }
    void enable() { mmio_write64(m_base + CONFIGURATION, mmio_read64(m_base + CONFIGURATION) | 1); }
    std::uint64_t counter() const { return mmio_read64(m_base + MAIN_COUNTER); }

private:
    enum : std::uint32_t { CAPABILITIES = 0x0, CONFIGURATION = 0x10, MAIN_COUNTER = 0xf0 };
    std::uintptr_t m_base = 0;
};

}  // namespace xenolith::arch
