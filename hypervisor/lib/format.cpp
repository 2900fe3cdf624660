// The formatting engine behind format_to: spec parsing, integer conversion and padding.
#include "lib/format.hpp"

namespace xenolith {
namespace {

using detail::FormatArg;

constexpr std::string_view kBadSpec = "{?}";
// A width beyond this is certainly a typo; capping it keeps a bad spec from printing megabytes.
constexpr unsigned kMaxWidth = 256;

struct Spec {
    char align = 0;  // 0 = the default for the argument's kind
    bool alternate = false;
    bool zero = false;
    unsigned width = 0;
    char type = 0;
};

// Parse the text between ':' and '}' (exclusive). Returns false if it is not a valid spec.
bool parse_spec(std::string_view text, Spec& spec) {
    std::size_t i = 0;
    if (i < text.size() && (text[i] == '<' || text[i] == '>' || text[i] == '^'))
        spec.align = text[i++];
    if (i < text.size() && text[i] == '#') {
        spec.alternate = true;
        ++i;
    }
    if (i < text.size() && text[i] == '0') {
        spec.zero = true;
        ++i;
    }
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
        spec.width = spec.width * 10 + static_cast<unsigned>(text[i] - '0');
        if (spec.width > kMaxWidth)
            return false;
        ++i;
    }
    if (i < text.size()) {
        switch (text[i]) {
        case 'x': case 'X': case 'd': case 'b': case 'o': case 'c': case 's': case 'p':
            spec.type = text[i++];
            break;
        default:
            return false;
        }
    }
    return i == text.size();
}

void pad(FormatOutput& out, char fill, unsigned count) {
    for (unsigned i = 0; i < count; ++i)
        out.put(fill);
}

// Print `body` (with an optional sign/prefix kept in front of zero padding) within the width.
void emit_padded(FormatOutput& out, const Spec& spec, bool numeric, std::string_view prefix,
                 std::string_view body) {
    const std::size_t len = prefix.size() + body.size();
    const unsigned fill = spec.width > len ? static_cast<unsigned>(spec.width - len) : 0;
    if (numeric && spec.zero && spec.align == 0) {
        out.write(prefix);
        pad(out, '0', fill);
        out.write(body);
        return;
    }
    const char align = spec.align ? spec.align : (numeric ? '>' : '<');
    const unsigned before = align == '>' ? fill : align == '^' ? fill / 2 : 0;
    pad(out, ' ', before);
    out.write(prefix);
    out.write(body);
    pad(out, ' ', fill - before);
}

void emit_integer(FormatOutput& out, const Spec& spec, std::uint64_t magnitude, bool negative) {
    unsigned base = 10;
    bool upper = false;
    std::string_view radix_prefix;
    switch (spec.type) {
    case 'x': base = 16; radix_prefix = "0x"; break;
    case 'X': base = 16; radix_prefix = "0X"; upper = true; break;
    case 'b': base = 2; radix_prefix = "0b"; break;
    case 'o': base = 8; radix_prefix = "0"; break;
    default: break;
    }
    char digits[64];
    std::size_t pos = sizeof(digits);
    do {
        const unsigned d = static_cast<unsigned>(magnitude % base);
        digits[--pos] = static_cast<char>(d < 10 ? '0' + d : (upper ? 'A' : 'a') + (d - 10));
        magnitude /= base;
    } while (magnitude != 0);

    char prefix[3];
    std::size_t prefix_len = 0;
    if (negative)
        prefix[prefix_len++] = '-';
    if (spec.alternate)
        for (char c : radix_prefix)
            prefix[prefix_len++] = c;
    emit_padded(out, spec, true, {prefix, prefix_len}, {digits + pos, sizeof(digits) - pos});
}

bool is_integer_type(char type) {
    return type == 'd' || type == 'x' || type == 'X' || type == 'b' || type == 'o';
}

// A sink for rendering a self-formatting argument before padding it.
struct PadBuffer {
    char data[kMaxWidth];
    std::size_t size = 0;
    void put(char c) {
        if (size < sizeof(data))
            data[size++] = c;
    }
};

void emit_arg(FormatOutput& out, const Spec& spec_in, const FormatArg& arg) {
    Spec spec = spec_in;
    switch (arg.kind) {
    case FormatArg::Kind::Signed: {
        if (spec.type == 'c') {
            const char c = static_cast<char>(arg.s & 0xff);
            return emit_padded(out, spec, false, {}, {&c, 1});
        }
        if (spec.type != 0 && !is_integer_type(spec.type))
            return out.write(kBadSpec);
        const bool negative = arg.s < 0;
        // Negate in unsigned arithmetic so INT64_MIN has a magnitude too.
        const std::uint64_t magnitude = negative ? 0 - static_cast<std::uint64_t>(arg.s)
                                                 : static_cast<std::uint64_t>(arg.s);
        return emit_integer(out, spec, magnitude, negative);
    }
    case FormatArg::Kind::Unsigned:
        if (spec.type == 'c') {
            const char c = static_cast<char>(arg.u & 0xff);
            return emit_padded(out, spec, false, {}, {&c, 1});
        }
        if (spec.type != 0 && !is_integer_type(spec.type))
            return out.write(kBadSpec);
        return emit_integer(out, spec, arg.u, false);
    case FormatArg::Kind::Bool:
        if (is_integer_type(spec.type))
            return emit_integer(out, spec, arg.b ? 1 : 0, false);
        if (spec.type != 0 && spec.type != 's')
            return out.write(kBadSpec);
        return emit_padded(out, spec, false, {}, arg.b ? "true" : "false");
    case FormatArg::Kind::Char:
        if (is_integer_type(spec.type))
            return emit_integer(out, spec, static_cast<unsigned char>(arg.c), false);
        if (spec.type != 0 && spec.type != 'c')
            return out.write(kBadSpec);
        return emit_padded(out, spec, false, {}, {&arg.c, 1});
    case FormatArg::Kind::String:
        if (spec.type != 0 && spec.type != 's')
            return out.write(kBadSpec);
        return emit_padded(out, spec, false, {}, {arg.str.data, arg.str.size});
    case FormatArg::Kind::Pointer:
        if (spec.type != 0 && spec.type != 'p' && spec.type != 'x' && spec.type != 'X')
            return out.write(kBadSpec);
        if (spec.type != 'X')
            spec.type = 'x';
        spec.alternate = true;  // a pointer is always shown as an address
        return emit_integer(out, spec, arg.u, false);
    case FormatArg::Kind::Custom: {
        if (spec.type != 0 && spec.type != 's')
            return out.write(kBadSpec);
        if (spec.width == 0)
            return arg.custom.print(arg.custom.object, out);
        PadBuffer rendered;
        FormatOutput inner(rendered);
        arg.custom.print(arg.custom.object, inner);
        return emit_padded(out, spec, false, {}, {rendered.data, rendered.size});
    }
    }
    out.write(kBadSpec);
}

}  // namespace

namespace detail {

void vformat(FormatOutput& out, std::string_view fmt, const FormatArg* args, std::size_t count) {
    std::size_t next_arg = 0;
    std::size_t i = 0;
    while (i < fmt.size()) {
        const char c = fmt[i];
        if (c == '}') {
            // "}}" is an escaped brace; a lone '}' is a mistake worth seeing.
            if (i + 1 < fmt.size() && fmt[i + 1] == '}') {
                out.put('}');
                i += 2;
            } else {
                out.write(kBadSpec);
                i += 1;
            }
            continue;
        }
        if (c != '{') {
            out.put(c);
            ++i;
            continue;
        }
        if (i + 1 < fmt.size() && fmt[i + 1] == '{') {
            out.put('{');
            i += 2;
            continue;
        }
        // A replacement field: find its closing brace.
        std::size_t close = i + 1;
        while (close < fmt.size() && fmt[close] != '}' && fmt[close] != '{')
            ++close;
        if (close >= fmt.size() || fmt[close] != '}') {
            out.write(kBadSpec);
            i = close;  // resume at the stray '{' (or the end) so the rest still prints
            continue;
        }
        std::string_view field(fmt.data() + i + 1, close - i - 1);
        i = close + 1;
        // Each field consumes an argument even when its spec is malformed, so the
        // fields after a typo still line up with their own arguments.
        const FormatArg* arg = next_arg < count ? &args[next_arg] : nullptr;
        ++next_arg;
        Spec spec;
        bool valid = field.empty();
        if (!valid && field[0] == ':') {
            field.remove_prefix(1);
            valid = parse_spec(field, spec);
        }
        if (!valid || arg == nullptr) {
            out.write(kBadSpec);
            continue;
        }
        emit_arg(out, spec, *arg);
    }
}

}  // namespace detail

void fmt_size::format(FormatOutput& out) const {
    static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    unsigned unit = 0;
    while (unit + 1 < 7 && (bytes >> (10 * (unit + 1))) != 0)
        ++unit;
    const unsigned shift = 10 * unit;
    const std::uint64_t whole = bytes >> shift;
    // Below 2^60 the remainder times ten cannot overflow 64 bits, so this stays integer-only.
    const std::uint64_t remainder = shift == 0 ? 0 : bytes & ((std::uint64_t{1} << shift) - 1);
    const std::uint64_t tenths = shift == 0 ? 0 : (remainder * 10) >> shift;
    if (tenths != 0)
        format_to(out, "{}.{} {}", whole, tenths, kUnits[unit]);
    else
        format_to(out, "{} {}", whole, kUnits[unit]);
}

}  // namespace xenolith
