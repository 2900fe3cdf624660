// Stack backtraces by frame-pointer walking, symbolised from the symbol table linked into the
// image (see tools/gen_symbols.py).
#pragma once

#include <cstdint>
#include <string_view>

namespace xenolith {

// Print "  [<address>] function+offset" lines, starting with `rip` (if non-zero) and then the
// return addresses found by following the saved-rbp chain from `rbp`, within the current stack.
void print_backtrace(std::uint64_t rip, std::uint64_t rbp);

struct SymbolLookup {
    std::string_view name;
    std::uint64_t offset;
};
// The function containing `address`, if the image's symbol table knows it.
bool lookup_symbol(std::uint64_t address, SymbolLookup& out);

}  // namespace xenolith
