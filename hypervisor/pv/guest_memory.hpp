// Guest virtual memory, reached only through typed handles: GuestPtr<T> can be copied in and
// out (with fault recovery), never dereferenced. All accesses use the page tables current on
// this CPU, which during a hypercall are the calling vCPU's kernel tables (pv-abi-core.md §0).
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "lib/result.hpp"

namespace xenolith {

// Is [address, address + length) entirely guest space: canonical, and outside the PML4 slots
// the hypervisor keeps (0xFFFF800000000000-0xFFFF87FFFFFFFFFF, pv-abi-core.md §2.5)?
bool is_guest_range(std::uint64_t address, std::size_t length);

// EFAULT if the range is not guest space or any byte of it is not mapped as needed.
Result<void> copy_from_guest(void* destination, std::uint64_t source, std::size_t length);
Result<void> copy_to_guest(std::uint64_t destination, const void* source, std::size_t length);

template <typename T>
class GuestPtr {
    static_assert(std::is_trivially_copyable_v<T>, "guest data is plain bytes");

public:
    constexpr GuestPtr() = default;
    constexpr explicit GuestPtr(std::uint64_t address) : m_address(address) {}

    std::uint64_t address() const { return m_address; }
    bool is_null() const { return m_address == 0; }

    Result<T> read() const {
        T value;
        TRY(copy_from_guest(&value, m_address, sizeof(T)));
        return value;
    }
    Result<void> write(const T& value) const { return copy_to_guest(m_address, &value, sizeof(T)); }

    // The element `index` places further on (for guest arrays); EFAULT on overflow.
    Result<GuestPtr> at(std::uint64_t index) const {
        if (index > (UINT64_MAX - m_address) / sizeof(T))
            return Error{Errno::EFAULT};
        return GuestPtr(m_address + index * sizeof(T));
    }

private:
    std::uint64_t m_address = 0;
};

}  // namespace xenolith
