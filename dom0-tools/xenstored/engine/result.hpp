// Result<T>: the one error-carrying return type of the xenstore engine (house style).
#pragma once

#include <cstdint>
#include <string_view>
#include <utility>
#include <variant>

namespace xs {

// Xenstore errors carry the Xen public errno value; on the wire the *name* is sent
// (pv-abi-devices §5.2, "Error strings").
enum class Errno : int {
    perm = 1,
    noent = 2,
    io = 5,
    too_big = 7,  // E2BIG
    again = 11,
    nomem = 12,
    acces = 13,
    busy = 16,
    exist = 17,
    isdir = 21,
    inval = 22,
    nospc = 28,
    rofs = 30,
    nosys = 38,
    notempty = 39,
    isconn = 106,
};

// The string a client receives in an XS_ERROR reply.
constexpr std::string_view errno_name(Errno e) {
    switch (e) {
    case Errno::perm: return "EPERM";
    case Errno::noent: return "ENOENT";
    case Errno::io: return "EIO";
    case Errno::too_big: return "E2BIG";
    case Errno::again: return "EAGAIN";
    case Errno::nomem: return "ENOMEM";
    case Errno::acces: return "EACCES";
    case Errno::busy: return "EBUSY";
    case Errno::exist: return "EEXIST";
    case Errno::isdir: return "EISDIR";
    case Errno::inval: return "EINVAL";
    case Errno::nospc: return "ENOSPC";
    case Errno::rofs: return "EROFS";
    case Errno::nosys: return "ENOSYS";
    case Errno::notempty: return "ENOTEMPTY";
    case Errno::isconn: return "EISCONN";
    }
    return "EINVAL";
}

template <typename T>
class [[nodiscard]] Result {
public:
    Result(T value) : m_v(std::in_place_index<0>, std::move(value)) {}
    Result(Errno e) : m_v(std::in_place_index<1>, e) {}

    explicit operator bool() const { return m_v.index() == 0; }
    bool ok() const { return m_v.index() == 0; }
    Errno error() const { return std::get<1>(m_v); }
    T& value() & { return std::get<0>(m_v); }
    const T& value() const& { return std::get<0>(m_v); }
    T&& value() && { return std::get<0>(std::move(m_v)); }
    T* operator->() { return &std::get<0>(m_v); }
    T& operator*() { return std::get<0>(m_v); }

private:
    std::variant<T, Errno> m_v;
};

template <>
class [[nodiscard]] Result<void> {
public:
    Result() = default;
    Result(Errno e) : m_err(e), m_failed(true) {}

    explicit operator bool() const { return !m_failed; }
    bool ok() const { return !m_failed; }
    Errno error() const { return m_err; }

private:
    Errno m_err = Errno::inval;
    bool m_failed = false;
};

inline Result<void> ok() { return {}; }

}  // namespace xs

// Propagate an error from an expression returning Result<void>.
#define XS_TRY(expr)                       \
    do {                                   \
        auto xs_try_r_ = (expr);           \
        if (!xs_try_r_) return xs_try_r_.error(); \
    } while (0)

// Evaluate a Result<T>; on success move its value into `decl`, else propagate.
#define XS_TRY_ASSIGN(decl, expr)          \
    auto decl##_result_ = (expr);          \
    if (!decl##_result_) return decl##_result_.error(); \
    auto decl = std::move(decl##_result_).value()
