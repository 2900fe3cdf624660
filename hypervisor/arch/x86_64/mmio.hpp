// Memory-mapped device registers: 32/64-bit volatile accesses at a mapped virtual address.
#pragma once

#include <cstdint>

namespace xenolith::arch {

inline std::uint32_t mmio_read32(std::uintptr_t address) {
    return *reinterpret_cast<volatile std::uint32_t*>(address);
}
inline void mmio_write32(std::uintptr_t address, std::uint32_t value) {
    *reinterpret_cast<volatile std::uint32_t*>(address) = value;
}
inline std::uint64_t mmio_read64(std::uintptr_t address) {
    return *reinterpret_cast<volatile std::uint64_t*>(address);
}
inline void mmio_write64(std::uintptr_t address, std::uint64_t value) {
    *reinterpret_cast<volatile std::uint64_t*>(address) = value;
}

}  // namespace xenolith::arch
