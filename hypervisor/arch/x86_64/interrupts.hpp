// Interrupt-flag control for generic code: an RAII guard that disables interrupts.
#pragma once

#include <cstdint>

#include "arch/x86_64/cr.hpp"

namespace xenolith::arch {

class InterruptsDisabled {
public:
    InterruptsDisabled() : m_were_enabled(read_rflags() & RFLAGS_IF) { cli(); }
    ~InterruptsDisabled() {
        if (m_were_enabled)
            sti();
    }
    InterruptsDisabled(const InterruptsDisabled&) = delete;
    InterruptsDisabled& operator=(const InterruptsDisabled&) = delete;

private:
    bool m_were_enabled;
};

inline bool interrupts_enabled() { return read_rflags() & RFLAGS_IF; }

}  // namespace xenolith::arch
