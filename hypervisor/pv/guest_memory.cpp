// Guest memory copies: range check, then the fault-recovering copy of uaccess.S.
#include "pv/guest_memory.hpp"

#include "arch/x86_64/layout.h"
#include "arch/x86_64/uaccess.hpp"

namespace xenolith {

namespace {
constexpr std::uint64_t LOWER_HALF_END = 0x0000800000000000ull;
constexpr std::uint64_t HYPERVISOR_END = 0xFFFF880000000000ull;
}  // namespace

bool is_guest_range(std::uint64_t address, std::size_t length) {
    if (length == 0)
        return true;
    const std::uint64_t last = address + length - 1;
    if (last < address)
        return false;  // wraps
    if (last < LOWER_HALF_END)
        return true;
    return address >= HYPERVISOR_END;  // upper half, above the hypervisor's slots
}

Result<void> copy_from_guest(void* destination, std::uint64_t source, std::size_t length) {
    if (!is_guest_range(source, length))
        return Error{Errno::EFAULT};
    if (guest_copy_bytes(destination, reinterpret_cast<const void*>(source), length) != 0)
        return Error{Errno::EFAULT};
    return ok();
}

Result<void> copy_to_guest(std::uint64_t destination, const void* source, std::size_t length) {
    if (!is_guest_range(destination, length))
        return Error{Errno::EFAULT};
    if (guest_copy_bytes(reinterpret_cast<void*>(destination), source, length) != 0)
        return Error{Errno::EFAULT};
    return ok();
}

}  // namespace xenolith
