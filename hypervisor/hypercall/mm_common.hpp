// What the memory hypercalls share: resolving the foreign-domain argument, the batch size
// before a continuation, and flush requests.
#pragma once

#include <cstdint>

#include "domain/domain.hpp"
#include "lib/result.hpp"
#include "mm/pt_validate.hpp"

namespace xenolith {

// Entries processed before a long batch gives up the CPU (§4.5).
inline constexpr std::uint64_t MM_BATCH = 128;
inline constexpr std::uint64_t MMU_UPDATE_PREEMPTED = 0x80000000u;

// §5.3 foreigndom: bits 15:0 the owner of data frames (DOMID_SELF = the page-table owner),
// bits 31:16 the page-table owner + 1 (0 = self). Acting for another domain is privileged.
Result<UpdateContext> resolve_foreign_domains(const Domain& caller, std::uint32_t foreigndom);

}  // namespace xenolith
