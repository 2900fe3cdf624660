// Console output of the test kernels: a small `{}`-style formatter over console_io, falling
// back to the PV console ring when console_io is refused.
// Source: pv-abi-core.md §5.14 (console_io); pv-abi-devices.md §3.1-§3.2 (ring page, port).
#pragma once

#include <cstddef>
#include <cstdint>

namespace xt {

enum class ConsolePath : std::uint8_t { Unknown, ConsoleIo, Ring, None };

// Writes bytes to the console: console_io(CONSOLEIO_write) first; if that fails (stock Xen
// gives unprivileged domains -EPERM, §5.14) the console ring + event channel from start_info.
void console_write(const char* text, std::size_t length);
ConsolePath console_path();

// One formatting argument, type-erased so the formatter itself is not a template.
struct FormatArg {
    enum class Kind : std::uint8_t { Signed, Unsigned, String, Pointer, Bool, Char } kind;
    union {
        std::int64_t s;
        std::uint64_t u;
        const char* str;
        const void* ptr;
    };
    FormatArg(bool v) : kind(Kind::Bool), u(v) {}
    FormatArg(char v) : kind(Kind::Char), u(static_cast<unsigned char>(v)) {}
    FormatArg(signed char v) : kind(Kind::Signed), s(v) {}
    FormatArg(short v) : kind(Kind::Signed), s(v) {}
    FormatArg(int v) : kind(Kind::Signed), s(v) {}
    FormatArg(long v) : kind(Kind::Signed), s(v) {}
    FormatArg(long long v) : kind(Kind::Signed), s(v) {}
    FormatArg(unsigned char v) : kind(Kind::Unsigned), u(v) {}
    FormatArg(unsigned short v) : kind(Kind::Unsigned), u(v) {}
    FormatArg(unsigned v) : kind(Kind::Unsigned), u(v) {}
    FormatArg(unsigned long v) : kind(Kind::Unsigned), u(v) {}
    FormatArg(unsigned long long v) : kind(Kind::Unsigned), u(v) {}
    FormatArg(const char* v) : kind(Kind::String), str(v) {}
    FormatArg(char* v) : kind(Kind::String), str(v) {}
    template <class T>
    FormatArg(T* v) : kind(Kind::Pointer), ptr(v) {}
};

// Formats into `out` (always NUL-terminated, truncated if needed); returns the length.
// Placeholders: {} (decimal / string / 0x-pointer), {:x} (hex), {:#x} (0x-prefixed hex),
// {{ and }} for literal braces.
std::size_t format_to(char* out, std::size_t capacity, const char* fmt, const FormatArg* args, std::size_t count);
void vprint(const char* fmt, const FormatArg* args, std::size_t count);

template <class... Args>
void print(const char* fmt, const Args&... args) {
    if constexpr (sizeof...(Args) == 0) {
        vprint(fmt, nullptr, 0);
    } else {
        const FormatArg list[] = {FormatArg(args)...};
        vprint(fmt, list, sizeof...(Args));
    }
}

}  // namespace xt
