// Xenstore path rules: validation, resolution of relative paths, ancestry.
#pragma once

#include <string>
#include <string_view>

#include "result.hpp"
#include "wire.hpp"

namespace xs {

// "/local/domain/<domid>": the home of a domain and the base of its relative paths
// (pv-abi-devices §5.3, §5.8 GET_DOMAIN_PATH).
std::string domain_path(unsigned domid);

// Turn a client-supplied path into an absolute one and validate it (§5.3): relative paths
// resolve under the caller's home; '@' names are accepted only when `allow_special`.
Result<std::string> resolve_path(std::string_view in, unsigned domid, bool allow_special);

inline bool is_special(std::string_view p) { return !p.empty() && p[0] == '@'; }

// Parent of an absolute, valid, non-root path ("/a/b" -> "/a", "/a" -> "/").
std::string_view parent_of(std::string_view path);

// Last component of an absolute, valid, non-root path.
std::string_view base_name(std::string_view path);

// True if `node` equals `ancestor` or lies below it.
bool is_self_or_descendant(std::string_view node, std::string_view ancestor);

// "<parent>/<name>" without doubling the root's slash.
std::string child_path(std::string_view parent, std::string_view name);

// Number of components below the root ("/" 0, "/a" 1, "/a/b" 2).
unsigned path_depth(std::string_view path);

// Parse a decimal unsigned number that must fill the whole string.
bool parse_uint(std::string_view s, unsigned long long max, unsigned long long& out);

}  // namespace xs
