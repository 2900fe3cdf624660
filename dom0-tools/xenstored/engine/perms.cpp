// Node permissions (pv-abi-devices §5.6).
#include "perms.hpp"

#include "path.hpp"

namespace xs {

Result<Perm> parse_perm(std::string_view s) {
    if (s.size() < 2) return Errno::inval;
    uint8_t access;
    switch (s[0]) {
    case 'n': access = kPermNone; break;
    case 'r': access = kPermRead; break;
    case 'w': access = kPermWrite; break;
    case 'b': access = kPermRead | kPermWrite; break;
    default: return Errno::inval;
    }
    unsigned long long id;
    if (!parse_uint(s.substr(1), 0xffff, id)) return Errno::inval;
    return Perm{static_cast<uint32_t>(id), access};
}

void append_perm(std::string& out, const Perm& p) {
    static constexpr char letters[4] = {'n', 'r', 'w', 'b'};
    out += letters[p.access & 3];
    out += std::to_string(p.domid);
}

uint8_t access_for(const Caller& caller, const PermList& perms) {
    uint8_t mask = caller.can_write ? (kPermRead | kPermWrite | kPermOwner) : kPermRead;
    if (perms.empty()) return caller.privileged ? mask : kPermNone;
    const uint32_t owner = perms[0].domid;
    if (caller.privileged || owner == caller.domid ||
        (caller.target >= 0 && owner == static_cast<uint32_t>(caller.target)))
        return (kPermRead | kPermWrite | kPermOwner) & mask;
    for (size_t i = 1; i < perms.size(); ++i) {
        if (perms[i].domid == caller.domid ||
            (caller.target >= 0 && perms[i].domid == static_cast<uint32_t>(caller.target)))
            return perms[i].access & mask;
    }
    return perms[0].access & mask;
}

}  // namespace xs
