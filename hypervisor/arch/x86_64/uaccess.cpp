// The exception table: (faulting instruction, resume address) pairs from .extable.
#include "arch/x86_64/uaccess.hpp"

extern "C" const std::uint64_t __extable_start[], __extable_end[];

bool smap_enabled = false;

namespace xenolith::arch {

std::uint64_t exception_fixup(std::uint64_t rip) {
    for (const std::uint64_t* entry = __extable_start; entry + 1 < __extable_end; entry += 2) {
        if (entry[0] == rip)
            return entry[1];
    }
    return 0;
}

}  // namespace xenolith::arch
