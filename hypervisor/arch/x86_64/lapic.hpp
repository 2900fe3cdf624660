// The local APIC in xAPIC (MMIO) mode: identity, EOI, IPIs and the timer.
#pragma once

#include <cstdint>

#include "arch/x86_64/mmio.hpp"

namespace xenolith::arch {

class LocalApic {
public:
    // The LAPIC's registers appear at the same address on every CPU; one mapping serves all.
    void set_base(std::uintptr_t virt) { m_base = virt; }
    bool mapped() const { return m_base != 0; }

    std::uint32_t id() const { return read(ID) >> 24; }
    std::uint32_t version() const { return read(VERSION) & 0xff; }

    // Software-enable with the given spurious vector; mask LINT0 (we use the IOAPIC, and qboot
    // leaves LINT0 unprogrammed), LINT1 as NMI, and route APIC errors to error_vector.
    void enable(std::uint8_t spurious_vector, std::uint8_t error_vector) {
        write(TASK_PRIORITY, 0);
        write(SPURIOUS, 0x100u | spurious_vector);
        write(LVT_LINT0, LVT_MASKED);
        write(LVT_LINT1, DELIVERY_NMI);
        write(LVT_ERROR, error_vector);
        write(ERROR_STATUS, 0);
        write(ERROR_STATUS, 0);
        eoi();
    }

    void eoi() const { write(EOI, 0); }
    std::uint32_t error_status() { write(ERROR_STATUS, 0); return read(ERROR_STATUS); }

    void send_fixed_ipi(std::uint32_t apic_id, std::uint8_t vector) { send_ipi(apic_id, DELIVERY_FIXED | vector); }
    void send_nmi(std::uint32_t apic_id) { send_ipi(apic_id, DELIVERY_NMI); }
    void send_nmi_all_but_self() { send_ipi(0, DELIVERY_NMI | SHORTHAND_ALL_BUT_SELF); }
    void send_init(std::uint32_t apic_id) { send_ipi(apic_id, DELIVERY_INIT | LEVEL_ASSERT); }
    void send_startup(std::uint32_t apic_id, std::uint8_t page) { send_ipi(apic_id, DELIVERY_STARTUP | page); }

    // Timer: one-shot counting mode.
    void timer_setup_oneshot(std::uint8_t vector) {
        write(TIMER_DIVIDE, DIVIDE_BY_16);
        write(LVT_TIMER, vector);
    }
    // Timer: TSC-deadline mode (the deadline is then written to IA32_TSC_DEADLINE).
    void timer_setup_tsc_deadline(std::uint8_t vector) { write(LVT_TIMER, TIMER_TSC_DEADLINE | vector); }
    void timer_start(std::uint32_t initial_count) { write(TIMER_INITIAL, initial_count); }
    std::uint32_t timer_current() const { return read(TIMER_CURRENT); }
    void timer_mask() { write(LVT_TIMER, LVT_MASKED); }

private:
    enum : std::uint32_t {
        ID = 0x20,
        VERSION = 0x30,
        TASK_PRIORITY = 0x80,
        EOI = 0xb0,
        SPURIOUS = 0xf0,
        ERROR_STATUS = 0x280,
        ICR_LOW = 0x300,
        ICR_HIGH = 0x310,
        LVT_TIMER = 0x320,
        LVT_LINT0 = 0x350,
        LVT_LINT1 = 0x360,
        LVT_ERROR = 0x370,
        TIMER_INITIAL = 0x380,
        TIMER_CURRENT = 0x390,
        TIMER_DIVIDE = 0x3e0,
    };
    static constexpr std::uint32_t LVT_MASKED = 1u << 16;
    static constexpr std::uint32_t DELIVERY_FIXED = 0u << 8;
    static constexpr std::uint32_t DELIVERY_NMI = 4u << 8;
    static constexpr std::uint32_t DELIVERY_INIT = 5u << 8;
    static constexpr std::uint32_t DELIVERY_STARTUP = 6u << 8;
    static constexpr std::uint32_t DELIVERY_PENDING = 1u << 12;
    static constexpr std::uint32_t LEVEL_ASSERT = 1u << 14;
    static constexpr std::uint32_t SHORTHAND_ALL_BUT_SELF = 3u << 18;
    static constexpr std::uint32_t TIMER_TSC_DEADLINE = 2u << 17;
    static constexpr std::uint32_t DIVIDE_BY_16 = 0x3;

    std::uint32_t read(std::uint32_t reg) const { return mmio_read32(m_base + reg); }
    void write(std::uint32_t reg, std::uint32_t value) const { mmio_write32(m_base + reg, value); }

    void send_ipi(std::uint32_t apic_id, std::uint32_t command) {
        // Bounded wait for the previous IPI to leave: never hang on a wedged APIC.
        for (int spins = 0; spins < 1000000 && (read(ICR_LOW) & DELIVERY_PENDING); ++spins)
            __builtin_ia32_pause();
        write(ICR_HIGH, apic_id << 24);
        write(ICR_LOW, command);
    }

    std::uintptr_t m_base = 0;
};

// The LAPIC divides the bus clock by 16 in one-shot mode (see timer_setup_oneshot).
inline constexpr std::uint32_t LAPIC_TIMER_DIVISOR = 16;

}  // namespace xenolith::arch
