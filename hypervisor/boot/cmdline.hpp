// Typed hypervisor command-line options: a constexpr table of specs and a parser that fills it.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <string_view>
#include <type_traits>

#include "lib/diagnostics.hpp"

namespace xenolith {

enum class OptionKind : std::uint8_t { Bool, Unsigned, Enum, String };

// One allowed word of an enumeration option and the value it stores.
struct EnumChoice {
    std::string_view word;
    std::uint64_t value;

    template <typename E>
        requires std::is_enum_v<E>
    constexpr EnumChoice(std::string_view w, E v) : word(w), value(static_cast<std::uint64_t>(v)) {}
    template <std::unsigned_integral U>
    constexpr EnumChoice(std::string_view w, U v) : word(w), value(v) {}
};

// One option of the table. Build it with the factories below (flag, number, choice, text) so the
// storage type always matches the kind; the table can then be a constexpr array:
//   constexpr OptionSpec kOptions[] = {
//       flag("noreboot", g_no_reboot, "stay halted after a panic"),
//       number("dom0_mem", g_dom0_mem, "memory for dom0 (bytes, K/M/G suffix)"),
//       choice("loglvl", g_log_level, kLogLevels, "console log level"),
//   };
struct OptionSpec {
    std::string_view name;
    OptionKind kind;
    std::string_view help;
    void* storage;
    // Stores a parsed number or enum value into `storage` at its real width.
    void (*store_number)(void* storage, std::uint64_t value);
    std::uint64_t max_value;              // Unsigned: the largest value the storage holds
    std::span<const EnumChoice> choices;  // Enum: the allowed words
};

// A boolean: "name", "no-name", or "name=on|off|yes|no|true|false|1|0".
constexpr OptionSpec flag(std::string_view name, bool& storage, std::string_view help) {
    return {name, OptionKind::Bool, help, &storage, nullptr, 1, {}};
}

// An unsigned integer: decimal or 0x-hex, optional K/M/G/T suffix (binary multiples).
template <std::unsigned_integral T>
constexpr OptionSpec number(std::string_view name, T& storage, std::string_view help) {
    return {name, OptionKind::Unsigned, help, &storage,
            [](void* p, std::uint64_t v) { *static_cast<T*>(p) = static_cast<T>(v); },
            std::numeric_limits<T>::max(), {}};
}

// One word out of `choices`; stores the matching value into an enum or unsigned variable.
template <typename T>
    requires(std::is_enum_v<T> || std::unsigned_integral<T>)
constexpr OptionSpec choice(std::string_view name, T& storage, std::span<const EnumChoice> choices,
                            std::string_view help) {
    return {name, OptionKind::Enum, help, &storage,
            [](void* p, std::uint64_t v) { *static_cast<T*>(p) = static_cast<T>(v); },
            std::numeric_limits<std::uint64_t>::max(), choices};
}

// Free text. The view points into the parsed line, which must outlive the option (the
// hypervisor keeps its command line in a static buffer for exactly this reason).
constexpr OptionSpec text(std::string_view name, std::string_view& storage, std::string_view help) {
    return {name, OptionKind::String, help, &storage, nullptr, 0, {}};
}

// Parse `line` against `table`. Words are separated by whitespace; a value may be written in
// double quotes to contain spaces (name="a b"). Every problem is reported to `diag` and parsing
// goes on with the next word. Returns the number of problems reported.
std::size_t parse_command_line(std::string_view line, std::span<const OptionSpec> table,
                               Diagnostics& diag);

// Parse a number as the Unsigned kind does ("4096", "0x1000", "16M"); false if malformed or
// it does not fit in 64 bits.
bool parse_unsigned(std::string_view text, std::uint64_t& value);

// Boot loaders put the image path in front of the options (Multiboot1, QEMU -kernel); drop a
// first word that looks like a path (contains '/' and no '='), since no option name has a '/'.
std::string_view strip_image_path(std::string_view line);

// Print one "  name=<value>  help" line per option (for a boot error or a help option).
template <CharSink Sink>
void print_option_help(Sink& sink, std::span<const OptionSpec> table) {
    for (const OptionSpec& spec : table) {
        format_to(sink, "  {}", spec.name);
        switch (spec.kind) {
        case OptionKind::Bool: format_to(sink, "[=on|off]"); break;
        case OptionKind::Unsigned: format_to(sink, "=<n>[K|M|G|T]"); break;
        case OptionKind::String: format_to(sink, "=<text>"); break;
        case OptionKind::Enum:
            for (std::size_t i = 0; i < spec.choices.size(); ++i)
                format_to(sink, "{}{}", i == 0 ? "=" : "|", spec.choices[i].word);
            break;
        }
        format_to(sink, "  {}\n", spec.help);
    }
}

}  // namespace xenolith
