// Once-per-domain reports of hypercalls and sub-ops that returned -ENOSYS.
#pragma once

#include <cstdint>

namespace xenolith {

struct HypercallContext;

// What a domain has already been told is missing (hypercall number and sub-op, packed).
struct UnimplementedCalls {
    static constexpr unsigned CAPACITY = 64;
    std::uint64_t keys[CAPACITY] = {};
    unsigned count = 0;
};

// Log `number` (with its sub-op, when the family has one) unless this domain already hit it.
void report_unimplemented(const HypercallContext& c, std::uint64_t number);

}  // namespace xenolith
