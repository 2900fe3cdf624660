// Frame-pointer backtraces and symbol lookup.
#include "core/backtrace.hpp"

#include "arch/x86_64/layout.h"
#include "core/console.hpp"

// Emitted by the second link pass: sorted (address, name offset) pairs, then the names.
extern "C" const std::uint64_t __symbols_start[], __symbols_end[];
extern "C" char __text_start[], __text_end[];

namespace xenolith {

namespace {
constexpr unsigned MAX_FRAMES = 32;

bool in_text(std::uint64_t address) {
    return address >= reinterpret_cast<std::uint64_t>(__text_start) && address < reinterpret_cast<std::uint64_t>(__text_end);
}

void print_frame(std::uint64_t address) {
    SymbolLookup symbol;
    if (lookup_symbol(address, symbol))
        log(LogLevel::Error, "  [<{:016x}>] {}+{:#x}", address, symbol.name, symbol.offset);
    else
        log(LogLevel::Error, "  [<{:016x}>] ?", address);
}
}  // namespace

bool lookup_symbol(std::uint64_t address, SymbolLookup& out) {
    const std::uint64_t* table = __symbols_start;
    const auto words = static_cast<std::uint64_t>(__symbols_end - __symbols_start);
    if (words < 1)
        return false;
    const std::uint64_t count = table[0];
    if (1 + 2 * count > words)
        return false;
    const std::uint64_t* entries = table + 1;
    const char* names = reinterpret_cast<const char*>(entries + 2 * count);
    // Binary search for the last symbol at or below the address.
    std::uint64_t low = 0, high = count;
    while (low < high) {
        const std::uint64_t mid = (low + high) / 2;
        if (entries[2 * mid] <= address)
            low = mid + 1;
        else
            high = mid;
    }
    if (low == 0 || !in_text(address))
        return false;
    const std::uint64_t index = low - 1;
    const char* name = names + entries[2 * index + 1];
    std::size_t length = 0;
    while (name[length])
        ++length;
    out = {std::string_view(name, length), address - entries[2 * index]};
    return true;
}

void print_backtrace(std::uint64_t rip, std::uint64_t rbp) {
    log(LogLevel::Error, "backtrace:");
    if (rip)
        print_frame(rip);
    // Frames must stay inside the stack block we are running on.
    const std::uint64_t block = rbp & ~static_cast<std::uint64_t>(STACK_BLOCK_SIZE - 1);
    for (unsigned i = 0; i < MAX_FRAMES; ++i) {
        if (rbp < block || rbp + 16 > block + STACK_BLOCK_SIZE || (rbp & 7))
            break;
        const auto* frame = reinterpret_cast<const std::uint64_t*>(rbp);
        const std::uint64_t return_address = frame[1];
        if (!in_text(return_address))
            break;
        print_frame(return_address);
        if (frame[0] <= rbp)
            break;  // the chain must move up the stack
        rbp = frame[0];
    }
}

}  // namespace xenolith
