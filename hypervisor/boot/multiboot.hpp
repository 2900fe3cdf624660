// Multiboot1/Multiboot2 boot information, parsed from untrusted memory into one normalized BootInfo.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "lib/diagnostics.hpp"
#include "lib/phys_reader.hpp"
#include "lib/result.hpp"

namespace xenolith {

inline constexpr std::uint32_t kMultiboot2BootMagic = 0x36d76289;  // in eax from an MB2 loader
inline constexpr std::uint32_t kMultiboot1BootMagic = 0x2BADB002;  // in eax from an MB1 loader
inline constexpr std::uint64_t kPageSize = 4096;

enum class MemoryType : std::uint8_t { Usable, Reserved, AcpiReclaimable, AcpiNvs, Bad };

struct MemoryRegion {
    std::uint64_t base;
    std::uint64_t length;
    MemoryType type;
};

// A half-open physical range [start, end).
struct PhysRange {
    std::uint64_t start;
    std::uint64_t end;
    std::uint64_t size() const { return end > start ? end - start : 0; }
    bool operator==(const PhysRange&) const = default;
};

// A NUL-terminated string copied out of boot-loader memory (which the allocator may reuse).
template <std::size_t N>
class BootString {
public:
    std::string_view view() const { return {m_data, m_size}; }
    const char* c_str() const { return m_data; }
    bool truncated() const { return m_truncated; }
    static constexpr std::size_t capacity() { return N - 1; }
    void clear() {
        m_size = 0;
        m_truncated = false;
        m_data[0] = '\0';
    }
    // Appends one character; false (and marked truncated) once full.
    bool push(char c) {
        if (m_size + 1 >= N) {
            m_truncated = true;
            return false;
        }
        m_data[m_size++] = c;
        m_data[m_size] = '\0';
        return true;
    }

private:
    char m_data[N] = {};
    std::size_t m_size = 0;
    bool m_truncated = false;
};

struct BootModule {
    std::uint64_t start;  // physical, inclusive
    std::uint64_t end;    // physical, exclusive
    BootString<256> cmdline;
};

enum class BootProtocol : std::uint8_t { None, Multiboot1, Multiboot2 };

// Everything the hypervisor keeps from the boot loader. It is large (~14 KiB): keep it in static
// storage, never on a boot stack.
struct BootInfo {
    static constexpr std::size_t kMaxMemoryRegions = 128;
    static constexpr std::size_t kMaxModules = 32;
    static constexpr std::size_t kMaxInfoRanges = 4;
    static constexpr std::size_t kRsdpCapacity = 36;  // an ACPI 2.0+ RSDP

    BootProtocol protocol;
    MemoryRegion memory[kMaxMemoryRegions];
    std::size_t memory_count;
    bool memory_overflow;  // the loader gave more regions than fit (the rest were reported)
    BootModule modules[kMaxModules];
    std::size_t module_count;
    bool module_overflow;
    BootString<1024> cmdline;
    BootString<64> loader_name;
    std::byte rsdp[kRsdpCapacity];
    std::size_t rsdp_size;  // 0: the loader passed no RSDP
    // Where the loader's own structures lie (info block; for MB1 also the mmap and module list).
    PhysRange info_ranges[kMaxInfoRanges];
    std::size_t info_range_count;
    bool has_basic_memory;  // mem_lower/mem_upper were given
    std::uint32_t mem_lower_kib;
    std::uint32_t mem_upper_kib;
    std::uint64_t load_base;  // MB2 tag 21 (image load address), 0 if absent

    std::span<const MemoryRegion> memory_map() const { return {memory, memory_count}; }
    std::span<const BootModule> module_list() const { return {modules, module_count}; }
    std::span<const std::byte> rsdp_bytes() const { return {rsdp, rsdp_size}; }
    std::span<const PhysRange> info_extent() const { return {info_ranges, info_range_count}; }

    // Empty every field in place (the struct is too big to assign from a temporary on a stack).
    void reset();
};

// Parse what the loader passed: `magic` from eax selects the protocol, `info_phys` is ebx.
// Structural damage (bad magic/size, a tag running past the end, no end tag) returns an error;
// BootInfo still holds what was read before the damage and `diag` says what was wrong.
// Problems inside one entry (an unterminated string, too many regions) are reported and skipped.
Result<void> parse_multiboot(std::uint32_t magic, std::uint64_t info_phys, const PhysReader& memory,
                             BootInfo& out, Diagnostics& diag);
Result<void> parse_multiboot2(std::uint64_t info_phys, const PhysReader& memory, BootInfo& out,
                              Diagnostics& diag);
Result<void> parse_multiboot1(std::uint64_t info_phys, const PhysReader& memory, BootInfo& out,
                              Diagnostics& diag);

// The ranges the frame allocator must never hand out that BootInfo knows about: the first MiB
// (real-mode structures, EBDA, AP trampoline), the loader's info structures and every module.
// Returns how many were written; reports if `out` is too small.
std::size_t boot_reserved_ranges(const BootInfo& info, std::span<PhysRange> out, Diagnostics& diag);

// Turn the memory map into the RAM the allocator may use: usable regions, minus every
// non-usable region (firmware maps overlap) and every `reserved` range, shrunk inward to page
// boundaries, sorted and merged. Returns the number of ranges written to `out`; if `out` is too
// small the excess is dropped (never invented) and reported.
std::size_t compute_usable_ranges(std::span<const MemoryRegion> map, std::span<const PhysRange> reserved,
                                  std::span<PhysRange> out, Diagnostics& diag);

}  // namespace xenolith
