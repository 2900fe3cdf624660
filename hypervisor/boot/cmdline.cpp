// Command-line parsing: split into words, match each against the option table, store typed values.
#include "boot/cmdline.hpp"

namespace xenolith {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

bool contains(std::string_view text, char c) {
    for (char t : text)
        if (t == c)
            return true;
    return false;
}

const OptionSpec* find_option(std::span<const OptionSpec> table, std::string_view name) {
    for (const OptionSpec& spec : table)
        if (spec.name == name)
            return &spec;
    return nullptr;
}

// Returns 1 for true words, 0 for false words, -1 for anything else.
int parse_bool_word(std::string_view word) {
    constexpr std::string_view kTrue[] = {"on", "yes", "true", "1"};
    constexpr std::string_view kFalse[] = {"off", "no", "false", "0"};
    for (std::string_view t : kTrue)
        if (word == t)
            return 1;
    for (std::string_view f : kFalse)
        if (word == f)
            return 0;
    return -1;
}

int digit_value(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return 99;
}

// Assign one option's value (has_value false for a bare word).
void apply(const OptionSpec& spec, std::string_view shown_name, bool has_value, std::string_view value,
           Diagnostics& diag) {
    switch (spec.kind) {
    case OptionKind::Bool: {
        if (!has_value) {
            *static_cast<bool*>(spec.storage) = true;
            return;
        }
        const int b = parse_bool_word(value);
        if (b < 0) {
            diag.error("option '{}': expected on|off|yes|no|true|false|1|0, got '{}'", shown_name, value);
            return;
        }
        *static_cast<bool*>(spec.storage) = b == 1;
        return;
    }
    case OptionKind::Unsigned: {
        if (!has_value || value.empty()) {
            diag.error("option '{}': needs a number", shown_name);
            return;
        }
        std::uint64_t n = 0;
        if (!parse_unsigned(value, n)) {
            diag.error("option '{}': expected an unsigned number (decimal or 0x-hex, K/M/G/T suffix), got '{}'",
                       shown_name, value);
            return;
        }
        if (n > spec.max_value) {
            diag.error("option '{}': value '{}' is too large (at most {})", shown_name, value, spec.max_value);
            return;
        }
        spec.store_number(spec.storage, n);
        return;
    }
    case OptionKind::Enum: {
        for (const EnumChoice& c : spec.choices) {
            if (has_value && c.word == value) {
                spec.store_number(spec.storage, c.value);
                return;
            }
        }
        FixedBuffer<128> words;
        for (std::size_t i = 0; i < spec.choices.size(); ++i)
            format_to(words, "{}{}", i ? "|" : "", spec.choices[i].word);
        diag.error("option '{}': expected one of {}, got '{}'", shown_name, words.view(), value);
        return;
    }
    case OptionKind::String:
        if (!has_value) {
            diag.error("option '{}': needs a value", shown_name);
            return;
        }
        *static_cast<std::string_view*>(spec.storage) = value;
        return;
    }
}

// Handle one whitespace-separated word (quotes already balanced or reported).
void parse_word(std::string_view word, std::span<const OptionSpec> table, Diagnostics& diag) {
    std::string_view name = word;
    std::string_view value;
    bool has_value = false;
    for (std::size_t i = 0; i < word.size(); ++i) {
        if (word[i] == '=') {
            name = std::string_view(word.data(), i);
            value = std::string_view(word.data() + i + 1, word.size() - i - 1);
            has_value = true;
            break;
        }
    }
    if (name.empty()) {
        diag.error("missing option name in '{}'", word);
        return;
    }
    if (contains(name, '"')) {
        diag.error("misplaced quote in '{}' (quote the value: name=\"...\")", word);
        return;
    }
    if (has_value && !value.empty() && value[0] == '"') {
        if (value.size() < 2 || value[value.size() - 1] != '"') {
            diag.error("option '{}': unterminated quote", name);
            return;
        }
        value.remove_prefix(1);
        value.remove_suffix(1);
    }
    if (contains(value, '"')) {
        diag.error("option '{}': misplaced quote in value", name);
        return;
    }

    if (const OptionSpec* spec = find_option(table, name)) {
        apply(*spec, name, has_value, value, diag);
        return;
    }
    // "no-foo" clears the boolean "foo" (unless a table entry is itself called "no-foo").
    constexpr std::string_view kNegation = "no-";
    if (name.size() > kNegation.size() && name.starts_with(kNegation)) {
        std::string_view base = name;
        base.remove_prefix(kNegation.size());
        if (const OptionSpec* spec = find_option(table, base)) {
            if (spec->kind != OptionKind::Bool)
                diag.error("option '{}' is not a boolean, so '{}' is meaningless", base, name);
            else if (has_value)
                diag.error("option '{}' takes no value", name);
            else
                *static_cast<bool*>(spec->storage) = false;
            return;
        }
    }
    diag.error("unknown option '{}'", name);
}

}  // namespace

bool parse_unsigned(std::string_view text, std::uint64_t& value) {
    unsigned shift = 0;
    if (!text.empty()) {
        switch (text[text.size() - 1]) {
        case 'K': case 'k': shift = 10; break;
        case 'M': case 'm': shift = 20; break;
        case 'G': case 'g': shift = 30; break;
        case 'T': case 't': shift = 40; break;
        default: break;
        }
        if (shift != 0)
            text.remove_suffix(1);
    }
    unsigned base = 10;
    if (text.size() >= 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
        base = 16;
        text.remove_prefix(2);
    }
    if (text.empty())
        return false;
    std::uint64_t n = 0;
    for (char c : text) {
        const int d = digit_value(c);
        if (d >= static_cast<int>(base))
            return false;
        if (n > (std::numeric_limits<std::uint64_t>::max() - static_cast<unsigned>(d)) / base)
            return false;
        n = n * base + static_cast<unsigned>(d);
    }
    if (shift != 0 && (n >> (64 - shift)) != 0)
        return false;
    value = n << shift;
    return true;
}

std::size_t parse_command_line(std::string_view line, std::span<const OptionSpec> table, Diagnostics& diag) {
    const std::size_t before = diag.count();
    std::size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && is_space(line[i]))
            ++i;
        if (i >= line.size())
            break;
        const std::size_t start = i;
        bool in_quote = false;
        while (i < line.size() && (in_quote || !is_space(line[i]))) {
            if (line[i] == '"')
                in_quote = !in_quote;
            ++i;
        }
        std::string_view word(line.data() + start, i - start);
        if (in_quote) {
            diag.error("unterminated quote in '{}'", word);
            continue;
        }
        parse_word(word, table, diag);
    }
    return diag.count() - before;
}

std::string_view strip_image_path(std::string_view line) {
    std::size_t i = 0;
    while (i < line.size() && is_space(line[i]))
        ++i;
    std::size_t end = i;
    bool has_slash = false;
    while (end < line.size() && !is_space(line[end])) {
        if (line[end] == '=')
            return line;
        if (line[end] == '/')
            has_slash = true;
        ++end;
    }
    if (!has_slash)
        return line;
    line.remove_prefix(end);
    return line;
}

}  // namespace xenolith
