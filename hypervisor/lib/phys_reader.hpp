// PhysReader: bounds-checked read access to physical memory, and little-endian field loads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <type_traits>

namespace xenolith {

// Firmware and boot-loader structures are reached through this interface, so parsers can run
// over the hypervisor's direct map at boot and over a fake memory in host tests.
class PhysReader {
public:
    // A view of [phys, phys + len), or an empty span if any of it is not readable RAM/firmware.
    virtual std::span<const std::byte> map(std::uint64_t phys, std::size_t len) const = 0;

protected:
    ~PhysReader() = default;
};

// Read a little-endian unsigned integer at `offset`; the caller has checked the bounds.
// (memcpy, not a cast: the fields of firmware tables are often misaligned.)
template <typename T>
    requires std::is_unsigned_v<T>
T load_le(std::span<const std::byte> bytes, std::size_t offset) {
    T value;
    // The builtin needs no libc header; it is inlined for these small constant sizes.
    __builtin_memcpy(&value, bytes.data() + offset, sizeof(T));
    return value;  // x86-64 is little-endian, like every format read here
}

// The same, but 0 when the field lies outside `bytes` (for optional trailing fields).
template <typename T>
    requires std::is_unsigned_v<T>
T load_le_or_zero(std::span<const std::byte> bytes, std::size_t offset) {
    if (offset > bytes.size() || bytes.size() - offset < sizeof(T))
        return 0;
    return load_le<T>(bytes, offset);
}

// A byte range as characters (signatures, OEM ids).
inline std::string_view as_chars(std::span<const std::byte> bytes) {
    return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

}  // namespace xenolith
