// Type-safe `{}` formatting into any character sink, without heap or libc printf.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <type_traits>

namespace xenolith {

// Anything that accepts characters one at a time: a serial port, a FixedBuffer, a test string.
template <typename S>
concept CharSink = requires(S& sink, char c) { sink.put(c); };

// A type-erased sink, so the formatting engine is compiled once (format.cpp) rather than
// once per sink type and argument list.
class FormatOutput {
public:
    template <CharSink S>
    explicit FormatOutput(S& sink)
        : m_context(&sink), m_put([](void* context, char c) { static_cast<S*>(context)->put(c); }) {}

    void put(char c) { m_put(m_context, c); }
    void write(std::string_view text) {
        for (char c : text)
            put(c);
    }

private:
    void* m_context;
    void (*m_put)(void*, char);
};

// A user type is formattable if it can write itself: `void format(FormatOutput&) const`.
template <typename T>
concept SelfFormatting = requires(const T& value, FormatOutput& out) { value.format(out); };

namespace detail {

// One argument, reduced to the few shapes the engine knows how to print.
struct FormatArg {
    enum class Kind : std::uint8_t { Signed, Unsigned, Bool, Char, String, Pointer, Custom };
    Kind kind;
    union {
        std::int64_t s;
        std::uint64_t u;
        bool b;
        char c;
        struct {
            const char* data;
            std::size_t size;
        } str;
        struct {
            const void* object;
            void (*print)(const void*, FormatOutput&);
        } custom;
    };
};

inline FormatArg make_arg(bool v) {
    FormatArg a{FormatArg::Kind::Bool, {}};
    a.b = v;
    return a;
}
inline FormatArg make_arg(char v) {
    FormatArg a{FormatArg::Kind::Char, {}};
    a.c = v;
    return a;
}
template <typename T>
    requires(std::integral<T> && !std::same_as<T, bool> && !std::same_as<T, char>)
FormatArg make_arg(T v) {
    FormatArg a{std::is_signed_v<T> ? FormatArg::Kind::Signed : FormatArg::Kind::Unsigned, {}};
    if constexpr (std::is_signed_v<T>)
        a.s = static_cast<std::int64_t>(v);
    else
        a.u = static_cast<std::uint64_t>(v);
    return a;
}
// Enumerations (Errno, hardware codes) print as their underlying number.
template <typename T>
    requires std::is_enum_v<T>
FormatArg make_arg(T v) {
    return make_arg(static_cast<std::underlying_type_t<T>>(v));
}
inline FormatArg make_arg(std::string_view v) {
    FormatArg a{FormatArg::Kind::String, {}};
    a.str.data = v.data();
    a.str.size = v.size();
    return a;
}
inline FormatArg make_arg(const char* v) {
    return make_arg(v ? std::string_view(v) : std::string_view("(null)"));
}
inline FormatArg make_arg(char* v) { return make_arg(static_cast<const char*>(v)); }
template <typename T>
    requires(!std::same_as<std::remove_cv_t<T>, char>)
FormatArg make_arg(T* v) {
    FormatArg a{FormatArg::Kind::Pointer, {}};
    a.u = reinterpret_cast<std::uintptr_t>(v);
    return a;
}
inline FormatArg make_arg(std::nullptr_t) { return make_arg(static_cast<const void*>(nullptr)); }
template <SelfFormatting T>
FormatArg make_arg(const T& v) {
    FormatArg a{FormatArg::Kind::Custom, {}};
    a.custom.object = &v;
    a.custom.print = [](const void* object, FormatOutput& out) { static_cast<const T*>(object)->format(out); };
    return a;
}

// Character arrays (string literals, fixed name fields) stop at the first NUL or the array
// end, so a name field without a terminator is never overrun; other arrays print as pointers.
template <typename T>
FormatArg to_arg(const T& v) {
    if constexpr (std::is_array_v<T> && std::same_as<std::remove_cv_t<std::remove_extent_t<T>>, char>) {
        std::size_t len = 0;
        while (len < std::extent_v<T> && v[len] != '\0')
            ++len;
        return make_arg(std::string_view(v, len));
    } else if constexpr (std::is_array_v<T>) {
        return make_arg(&v[0]);
    } else {
        return make_arg(v);
    }
}

void vformat(FormatOutput& out, std::string_view fmt, const FormatArg* args, std::size_t count);

}  // namespace detail

// Write `fmt` to `sink`, replacing each `{}` or `{:spec}` with the next argument.
// spec = [<|>|^][#][0][width][x|X|d|b|o|c|s|p]. Errors print "{?}" instead of failing.
template <CharSink Sink, typename... Args>
void format_to(Sink& sink, std::string_view fmt, const Args&... args) {
    FormatOutput out(sink);
    if constexpr (sizeof...(Args) == 0) {
        detail::vformat(out, fmt, nullptr, 0);
    } else {
        const detail::FormatArg packed[] = {detail::to_arg(args)...};
        detail::vformat(out, fmt, packed, sizeof...(Args));
    }
}

// A sink into a fixed array; output beyond N-1 characters is dropped (and remembered),
// and the contents are always NUL-terminated.
template <std::size_t N>
class FixedBuffer {
    static_assert(N >= 1, "FixedBuffer needs room for the terminator");

public:
    FixedBuffer() { m_data[0] = '\0'; }

    void put(char c) {
        // (N == 1 holds only the terminator; the constexpr test keeps GCC from warning about it.)
        if (N > 1 && m_size + 1 < N) {
            m_data[m_size++] = c;
            m_data[m_size] = '\0';
        } else {
            m_truncated = true;
        }
    }
    std::string_view view() const { return {m_data, m_size}; }
    const char* c_str() const { return m_data; }
    std::size_t size() const { return m_size; }
    static constexpr std::size_t capacity() { return N - 1; }
    bool truncated() const { return m_truncated; }
    void clear() {
        m_size = 0;
        m_truncated = false;
        m_data[0] = '\0';
    }

private:
    char m_data[N];
    std::size_t m_size = 0;
    bool m_truncated = false;
};

// Format into a FixedBuffer and return it (handy for building one log message).
template <std::size_t N, typename... Args>
FixedBuffer<N> format_fixed(std::string_view fmt, const Args&... args) {
    FixedBuffer<N> buffer;
    format_to(buffer, fmt, args...);
    return buffer;
}

// A byte count printed in binary units with at most one (truncated) decimal: "4 KiB", "1.5 GiB".
struct fmt_size {
    std::uint64_t bytes;
    explicit fmt_size(std::uint64_t b) : bytes(b) {}
    void format(FormatOutput& out) const;
};

}  // namespace xenolith
