// 16550 UART (COM ports): polled transmit and receive, 8N1.
#pragma once

#include <cstdint>

#include "arch/x86_64/io.hpp"

namespace xenolith::arch {

class Uart16550 {
public:
    static constexpr std::uint16_t COM1 = 0x3f8;

    void init(std::uint16_t base, std::uint32_t baud) {
        m_base = base;
        const auto divisor = static_cast<std::uint16_t>(115200 / baud);
        outb(reg(INTERRUPT_ENABLE), 0x00);
        outb(reg(LINE_CONTROL), 0x80);  // divisor latch access
        outb(reg(DIVISOR_LOW), static_cast<std::uint8_t>(divisor & 0xff));
        outb(reg(DIVISOR_HIGH), static_cast<std::uint8_t>(divisor >> 8));
        outb(reg(LINE_CONTROL), 0x03);  // 8 data bits, no parity, 1 stop bit
        outb(reg(FIFO_CONTROL), 0xc7);  // enable and clear FIFOs
        outb(reg(MODEM_CONTROL), 0x03); // DTR, RTS
    }

    bool present() const { return m_base != 0; }

    void put(char c) const {
        if (!m_base)
            return;
        // Bounded wait: a missing or wedged UART must not hang the hypervisor.
        for (int spins = 0; spins < 100000 && !(inb(reg(LINE_STATUS)) & TRANSMIT_EMPTY); ++spins)
            __builtin_ia32_pause();
        outb(reg(DATA), static_cast<std::uint8_t>(c));
    }

    // A received character, if one is waiting.
    bool read(char& c) const {
        if (!m_base || !(inb(reg(LINE_STATUS)) & DATA_READY))
            return false;
        c = static_cast<char>(inb(reg(DATA)));
        return true;
    }

private:
    enum : std::uint16_t {
        DATA = 0,
        DIVISOR_LOW = 0,
        INTERRUPT_ENABLE = 1,
        DIVISOR_HIGH = 1,
        FIFO_CONTROL = 2,
        LINE_CONTROL = 3,
        MODEM_CONTROL = 4,
        LINE_STATUS = 5,
    };
    static constexpr std::uint8_t TRANSMIT_EMPTY = 0x20;
    static constexpr std::uint8_t DATA_READY = 0x01;

    std::uint16_t reg(std::uint16_t offset) const { return static_cast<std::uint16_t>(m_base + offset); }

    std::uint16_t m_base = 0;
};

}  // namespace xenolith::arch
