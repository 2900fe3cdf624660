// An I/O APIC: indirect register access, version, and masking of redirection entries.
#pragma once

#include <cstdint>

#include "arch/x86_64/mmio.hpp"

namespace xenolith::arch {

class IoApic {
public:
    void set_base(std::uintptr_t virt) { m_base = virt; }

    std::uint32_t id() const { return read(REG_ID) >> 24 & 0xf; }
    std::uint32_t version() const { return read(REG_VERSION) & 0xff; }
    std::uint32_t redirection_entries() const { return ((read(REG_VERSION) >> 16) & 0xff) + 1; }

    void mask_all() {
        for (std::uint32_t i = 0; i < redirection_entries(); ++i)
            write_redirection(i, REDIRECTION_MASKED, 0);
    }

    // Route input pin to vector on the CPU with apic_id; polarity/trigger from ACPI flags.
    void route(std::uint32_t pin, std::uint8_t vector, std::uint32_t apic_id, bool active_low, bool level) {
        std::uint32_t low = vector;
        if (active_low)
            low |= 1u << 13;
        if (level)
            low |= 1u << 15;
        write_redirection(pin, low, apic_id << 24);
    }

private:
    enum : std::uint32_t { REG_ID = 0, REG_VERSION = 1, REG_REDIRECTION = 0x10 };
    static constexpr std::uint32_t REDIRECTION_MASKED = 1u << 16;

    std::uint32_t read(std::uint32_t reg) const {
        mmio_write32(m_base, reg);
        return mmio_read32(m_base + 0x10);
    }
    void write(std::uint32_t reg, std::uint32_t value) const {
        mmio_write32(m_base, reg);
        mmio_write32(m_base + 0x10, value);
    }
    void write_redirection(std::uint32_t pin, std::uint32_t low, std::uint32_t high) {
        write(REG_REDIRECTION + 2 * pin, REDIRECTION_MASKED);  // masked while changing
        write(REG_REDIRECTION + 2 * pin + 1, high);
        write(REG_REDIRECTION + 2 * pin, low);
    }

    std::uintptr_t m_base = 0;
};

}  // namespace xenolith::arch
