// The hypervisor console: serial output with log levels (Xen's loglvl names) and a line-atomic
// log() that formats with lib/format.hpp.
#pragma once

#include <cstdint>
#include <string_view>

#include "lib/format.hpp"

namespace xenolith {

enum class LogLevel : std::uint8_t { None = 0, Error = 1, Warning = 2, Info = 3, Debug = 4, All = 5 };

namespace console {

// Start COM1 output (before anything else prints).
void init_serial();
void set_log_level(LogLevel level);
LogLevel log_level();
void set_enabled(bool enabled);

// Write text under the console lock; '\n' becomes CR LF on the serial line.
void write(std::string_view text);

// Characters typed on the serial console since the last call (polled; at most `size`).
std::size_t read_input(char* buffer, std::size_t size);

// Take the console for a panic: from now on writes no longer wait for the lock, so a CPU that
// died holding it cannot silence the panic report.
void enter_panic_mode();

inline constexpr std::size_t LINE_CAPACITY = 320;

// A character sink for format_to() straight to the console (for multi-line reports).
struct Sink {
    void put(char c) { write({&c, 1}); }
};

}  // namespace console

// Log one line (a newline is added) if `level` is enabled.
template <typename... Args>
void log(LogLevel level, std::string_view fmt, const Args&... args) {
    if (level > console::log_level())
        return;
    FixedBuffer<console::LINE_CAPACITY> line;
    switch (level) {
    case LogLevel::Error: format_to(line, "(hv) error: "); break;
    case LogLevel::Warning: format_to(line, "(hv) warning: "); break;
    case LogLevel::Debug: format_to(line, "(hv) debug: "); break;
    default: format_to(line, "(hv) "); break;
    }
    format_to(line, fmt, args...);
    line.put('\n');
    console::write(line.view());
}

template <typename... Args> void log_error(std::string_view fmt, const Args&... args) { log(LogLevel::Error, fmt, args...); }
template <typename... Args> void log_warning(std::string_view fmt, const Args&... args) { log(LogLevel::Warning, fmt, args...); }
template <typename... Args> void log_info(std::string_view fmt, const Args&... args) { log(LogLevel::Info, fmt, args...); }
template <typename... Args> void log_debug(std::string_view fmt, const Args&... args) { log(LogLevel::Debug, fmt, args...); }

}  // namespace xenolith
