// The boot-time domain builder (pv-abi-core.md §1-§2): from a Xen PV ELF image in memory to a
// domain whose vCPU 0 is ready at the image's entry point.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "lib/result.hpp"

namespace xenolith {

struct Domain;

struct DomainSpec {
    std::uint16_t id = 0;
    const char* name = "";
    bool privileged = false;   // domain 0: SIF_PRIVILEGED | SIF_INITDOMAIN
    std::uint64_t memory_bytes = 0;
    unsigned vcpus = 1;
    unsigned weight = 256;
    unsigned cap = 0;
    std::string_view cmdline;
    std::span<const std::byte> kernel;
    std::span<const std::byte> initrd;  // empty = none
};

// Build the domain and make vCPU 0 runnable. A malformed image, a missing note or a layout that
// does not fit is refused with a message naming the domain; nothing of it is kept.
Result<Domain*> build_domain(const DomainSpec& spec);

}  // namespace xenolith
