// Xenstore path rules (pv-abi-devices §5.3).
#include "path.hpp"

#include <algorithm>

namespace xs {

std::string domain_path(unsigned domid) {
    return "/local/domain/" + std::to_string(domid);
}

static bool valid_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '/' || c == '_' || c == '@';
}

// An absolute path: starts with '/', no empty component, no trailing '/', allowed characters.
static bool valid_absolute(std::string_view p) {
    if (p.empty() || p[0] != '/') return false;
    if (p.size() == 1) return true;
    if (p.back() == '/') return false;
    char prev = 0;
    for (char c : p) {
        if (!valid_char(c)) return false;
        if (c == '/' && prev == '/') return false;
        prev = c;
    }
    return true;
}

Result<std::string> resolve_path(std::string_view in, unsigned domid, bool allow_special) {
    if (in.empty()) return Errno::inval;
    if (is_special(in)) {
        if (!allow_special || in.size() > kRelPathMax) return Errno::inval;
        if (!std::all_of(in.begin(), in.end(), valid_char)) return Errno::inval;
        if (in.find("//") != std::string_view::npos || in.back() == '/') return Errno::inval;
        return std::string(in);
    }
    std::string out;
    if (in[0] == '/') {
        if (in.size() > kAbsPathMax) return Errno::inval;
        out.assign(in);
    } else {
        if (in.size() > kRelPathMax) return Errno::inval;
        out = domain_path(domid);
        out += '/';
        out += in;
    }
    if (!valid_absolute(out)) return Errno::inval;
    return out;
}

std::string_view parent_of(std::string_view path) {
    auto slash = path.rfind('/');
    if (slash == 0 || slash == std::string_view::npos) return "/";
    return path.substr(0, slash);
}

std::string_view base_name(std::string_view path) {
    auto slash = path.rfind('/');
    return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

bool is_self_or_descendant(std::string_view node, std::string_view ancestor) {
    if (ancestor == "/") return !node.empty() && node[0] == '/';
    if (node.size() < ancestor.size() || node.compare(0, ancestor.size(), ancestor) != 0)
        return false;
    return node.size() == ancestor.size() || node[ancestor.size()] == '/';
}

std::string child_path(std::string_view parent, std::string_view name) {
    std::string out;
    out.reserve(parent.size() + name.size() + 1);
    out.append(parent);
    if (parent != "/") out.push_back('/');
    out.append(name);
    return out;
}

unsigned path_depth(std::string_view path) {
    if (path == "/") return 0;
    return static_cast<unsigned>(std::count(path.begin(), path.end(), '/'));
}

bool parse_uint(std::string_view s, unsigned long long max, unsigned long long& out) {
    if (s.empty() || s.size() > 20) return false;
    unsigned long long v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return false;
        unsigned long long d = static_cast<unsigned long long>(c - '0');
        if (v > (max - d) / 10) return false;
        v = v * 10 + d;
    }
    out = v;
    return true;
}

}  // namespace xs
