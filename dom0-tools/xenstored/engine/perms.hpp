// Node permissions: the list format, parsing, and the access check (pv-abi-devices §5.6).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "result.hpp"

namespace xs {

// Access bits (tools/include/xenstore_lib.h values, pv-abi-devices §5.6).
inline constexpr uint8_t kPermNone = 0x00;
inline constexpr uint8_t kPermRead = 0x01;
inline constexpr uint8_t kPermWrite = 0x02;
inline constexpr uint8_t kPermOwner = 0x08;

struct Perm {
    uint32_t domid;
    uint8_t access;  // kPermRead | kPermWrite
    bool operator==(const Perm&) const = default;
};

// The first entry names the owner and the default access of unlisted domains; later entries
// grant named domains.
using PermList = std::vector<Perm>;

// Parse one "<r|w|b|n><domid>" entry.
Result<Perm> parse_perm(std::string_view s);
// Append the textual form of `p` (without terminator) to `out`.
void append_perm(std::string& out, const Perm& p);

// Who is asking: their domain, whether they are privileged, and whom they target
// (XS_SET_TARGET lets a stub domain act for one other domain).
struct Caller {
    uint32_t domid = 0;
    bool privileged = false;
    bool can_write = true;
    int64_t target = -1;
};

// Access `caller` has to a node with `perms` (§5.6 perm_for_conn): privileged callers, the
// owner and the owner's designated target get everything; else the first matching later
// entry; else the owner entry's letter. A read-only connection never gets write.
uint8_t access_for(const Caller& caller, const PermList& perms);

}  // namespace xs
