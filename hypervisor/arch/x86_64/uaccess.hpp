// Raw access to guest virtual memory with fault recovery (see uaccess.S), and the exception
// table lookup the trap handler uses.
#pragma once

#include <cstddef>
#include <cstdint>

extern "C" std::size_t guest_copy_bytes(void* destination, const void* source, std::size_t length);
extern "C" bool smap_enabled;

namespace xenolith::arch {

// If `rip` is an instruction with a registered fix-up, return where to resume; else 0.
std::uint64_t exception_fixup(std::uint64_t rip);

}  // namespace xenolith::arch
