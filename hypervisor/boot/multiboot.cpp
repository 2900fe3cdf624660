// Multiboot1 and Multiboot2 information parsing (specs: Multiboot 0.6.96 §3.3, Multiboot2 1.0 §3.6).
#include "boot/multiboot.hpp"

namespace xenolith {
namespace {

// Larger than any real info block (GRUB's with an EFI memory map is a few KiB); a bigger
// total_size is corruption, and refusing it bounds how much we ask the reader to map.
constexpr std::uint32_t kMaxMb2InfoSize = 1u << 20;
constexpr std::uint32_t kMaxMb1Modules = 1024;

enum Mb2Tag : std::uint32_t {
    kTagEnd = 0,
    kTagCmdline = 1,
    kTagLoaderName = 2,
    kTagModule = 3,
    kTagBasicMemory = 4,
    kTagMemoryMap = 6,
    kTagAcpiOld = 14,
    kTagAcpiNew = 15,
    kTagLoadBase = 21,
};

MemoryType memory_type(std::uint32_t raw) {
    switch (raw) {
    case 1: return MemoryType::Usable;
    case 3: return MemoryType::AcpiReclaimable;
    case 4: return MemoryType::AcpiNvs;
    case 5: return MemoryType::Bad;
    default: return MemoryType::Reserved;  // 2 and anything unknown: never touch it
    }
}

void add_region(BootInfo& out, std::uint64_t base, std::uint64_t length, std::uint32_t type, Diagnostics& diag) {
    if (length == 0)
        return;
    if (out.memory_count == BootInfo::kMaxMemoryRegions) {
        if (!out.memory_overflow)
            diag.error("multiboot: more than {} memory regions; ignoring region {:#x}+{:#x} and later ones",
                       BootInfo::kMaxMemoryRegions, base, length);
        out.memory_overflow = true;
        return;
    }
    out.memory[out.memory_count++] = {base, length, memory_type(type)};
}

BootModule* add_module(BootInfo& out, std::uint64_t start, std::uint64_t end, Diagnostics& diag) {
    if (end < start) {
        diag.error("multiboot: module {} ends ({:#x}) before it starts ({:#x}); ignored", out.module_count, end, start);
        return nullptr;
    }
    if (out.module_count == BootInfo::kMaxModules) {
        if (!out.module_overflow)
            diag.error("multiboot: more than {} modules; ignoring module at {:#x} and later ones",
                       BootInfo::kMaxModules, start);
        out.module_overflow = true;
        return nullptr;
    }
    BootModule& m = out.modules[out.module_count++];
    m.start = start;
    m.end = end;
    m.cmdline.clear();
    return &m;
}

void add_info_range(BootInfo& out, std::uint64_t start, std::uint64_t length) {
    if (out.info_range_count < BootInfo::kMaxInfoRanges && length != 0)
        out.info_ranges[out.info_range_count++] = {start, start + length};
}

// Copy a string that must be NUL-terminated inside `bytes` (an MB2 tag payload).
template <std::size_t N>
void copy_string(std::span<const std::byte> bytes, BootString<N>& dest, std::string_view what, Diagnostics& diag) {
    dest.clear();
    for (std::byte b : bytes) {
        if (b == std::byte{0})
            return;
        if (!dest.push(static_cast<char>(b))) {
            diag.error("multiboot: {} longer than {} bytes; truncated", what, N - 1);
            return;
        }
    }
    diag.error("multiboot: {} is not NUL-terminated; ignored", what);
    dest.clear();
}

// Copy a NUL-terminated string at a physical address (MB1 stores pointers).
template <std::size_t N>
void copy_phys_string(const PhysReader& memory, std::uint64_t phys, BootString<N>& dest, std::string_view what,
                      Diagnostics& diag) {
    dest.clear();
    // Byte by byte, because we do not know the length and the string may end right at the edge
    // of readable memory.
    for (std::uint64_t i = 0; i < N; ++i) {
        std::span<const std::byte> b = memory.map(phys + i, 1);
        if (b.empty()) {
            diag.error("multiboot: {} at {:#x} is not readable; ignored", what, phys);
            dest.clear();
            return;
        }
        if (b[0] == std::byte{0})
            return;
        if (!dest.push(static_cast<char>(b[0]))) {
            diag.error("multiboot: {} longer than {} bytes; truncated", what, N - 1);
            return;
        }
    }
}

void parse_mb2_memory_map(std::span<const std::byte> tag, BootInfo& out, Diagnostics& diag) {
    if (tag.size() < 16) {
        diag.error("multiboot2: memory map tag too short ({} bytes)", tag.size());
        return;
    }
    const std::uint32_t entry_size = load_le<std::uint32_t>(tag, 8);
    if (entry_size < 24 || entry_size % 8 != 0) {
        diag.error("multiboot2: memory map entry size {} is invalid; map ignored", entry_size);
        return;
    }
    const std::size_t payload = tag.size() - 16;
    if (payload % entry_size != 0)
        diag.error("multiboot2: memory map has {} trailing bytes; ignored", payload % entry_size);
    for (std::size_t off = 16; tag.size() - off >= entry_size; off += entry_size)
        add_region(out, load_le<std::uint64_t>(tag, off), load_le<std::uint64_t>(tag, off + 8),
                   load_le<std::uint32_t>(tag, off + 16), diag);
}

void parse_mb2_tag(std::uint32_t type, std::span<const std::byte> tag, BootInfo& out, bool& have_new_rsdp,
                   Diagnostics& diag) {
    switch (type) {
    case kTagCmdline:
        copy_string(tag.subspan(8), out.cmdline, "command line", diag);
        break;
    case kTagLoaderName:
        copy_string(tag.subspan(8), out.loader_name, "boot loader name", diag);
        break;
    case kTagModule:
        if (tag.size() < 16) {
            diag.error("multiboot2: module tag too short ({} bytes)", tag.size());
            break;
        }
        if (BootModule* m = add_module(out, load_le<std::uint32_t>(tag, 8), load_le<std::uint32_t>(tag, 12), diag))
            copy_string(tag.subspan(16), m->cmdline, "module command line", diag);
        break;
    case kTagBasicMemory:
        if (tag.size() < 16) {
            diag.error("multiboot2: basic memory tag too short ({} bytes)", tag.size());
            break;
        }
        out.has_basic_memory = true;
        out.mem_lower_kib = load_le<std::uint32_t>(tag, 8);
        out.mem_upper_kib = load_le<std::uint32_t>(tag, 12);
        break;
    case kTagMemoryMap:
        parse_mb2_memory_map(tag, out, diag);
        break;
    case kTagAcpiOld:
    case kTagAcpiNew: {
        // The new (ACPI 2.0) copy wins whatever the tag order; the old one is only a fallback.
        const std::size_t need = type == kTagAcpiNew ? 36 : 20;
        if (tag.size() - 8 < need) {
            diag.error("multiboot2: ACPI RSDP tag {} holds {} bytes, need {}", type, tag.size() - 8, need);
            break;
        }
        if (type == kTagAcpiOld && have_new_rsdp)
            break;
        __builtin_memcpy(out.rsdp, tag.data() + 8, need);
        out.rsdp_size = need;
        have_new_rsdp = have_new_rsdp || type == kTagAcpiNew;
        break;
    }
    case kTagLoadBase:
        if (tag.size() >= 12)
            out.load_base = load_le<std::uint32_t>(tag, 8);
        break;
    default:
        break;  // framebuffer, EFI tables, ...: not needed by the hypervisor
    }
}

// Without a full memory map, the basic mem_lower/mem_upper pair still describes usable RAM.
void synthesize_basic_map(BootInfo& out, Diagnostics& diag) {
    if (out.memory_count != 0 || !out.has_basic_memory)
        return;
    add_region(out, 0, std::uint64_t{out.mem_lower_kib} * 1024, 1, diag);
    add_region(out, 1u << 20, std::uint64_t{out.mem_upper_kib} * 1024, 1, diag);
}

// Page-granular bounds: usable memory shrinks inward, reserved memory grows outward.
std::uint64_t page_down(std::uint64_t a) { return a & ~(kPageSize - 1); }
std::uint64_t page_up_saturating(std::uint64_t a) {
    return a > UINT64_MAX - (kPageSize - 1) ? page_down(UINT64_MAX) : page_down(a + kPageSize - 1);
}
std::uint64_t end_saturating(std::uint64_t base, std::uint64_t length) {
    return length > UINT64_MAX - base ? UINT64_MAX : base + length;
}

// Remove [start, end) from the sorted, disjoint ranges out[0..count).
void subtract(std::span<PhysRange> out, std::size_t& count, std::uint64_t start, std::uint64_t end, Diagnostics& diag) {
    for (std::size_t i = 0; i < count;) {
        PhysRange& r = out[i];
        if (end <= r.start || start >= r.end) {
            ++i;
            continue;
        }
        const bool keep_low = r.start < start;
        const bool keep_high = end < r.end;
        if (keep_low && keep_high) {
            if (count == out.size()) {
                // Dropping the upper part only loses usable RAM; it can never hand out reserved RAM.
                diag.error("memory: range table full; dropping usable {:#x}-{:#x}", end, r.end);
                r.end = start;
                ++i;
                continue;
            }
            for (std::size_t j = count; j > i + 1; --j)
                out[j] = out[j - 1];
            out[i + 1] = {end, r.end};
            r.end = start;
            ++count;
            i += 2;
        } else if (keep_low) {
            r.end = start;
            ++i;
        } else if (keep_high) {
            r.start = end;
            ++i;
        } else {
            for (std::size_t j = i; j + 1 < count; ++j)
                out[j] = out[j + 1];
            --count;
        }
    }
}

}  // namespace

std::size_t compute_usable_ranges(std::span<const MemoryRegion> map, std::span<const PhysRange> reserved,
                                  std::span<PhysRange> out, Diagnostics& diag) {
    std::size_t count = 0;
    for (const MemoryRegion& region : map) {
        if (region.type != MemoryType::Usable)
            continue;
        const std::uint64_t start = page_up_saturating(region.base);
        const std::uint64_t end = page_down(end_saturating(region.base, region.length));
        if (start >= end)
            continue;
        if (count == out.size()) {
            diag.error("memory: range table full; dropping usable {:#x}-{:#x}", start, end);
            continue;
        }
        // Insertion sort keeps the table ordered by start as it fills.
        std::size_t i = count++;
        while (i > 0 && out[i - 1].start > start) {
            out[i] = out[i - 1];
            --i;
        }
        out[i] = {start, end};
    }
    // Merge overlapping or touching usable regions.
    std::size_t merged = 0;
    for (std::size_t i = 0; i < count; ++i) {
        if (merged != 0 && out[i].start <= out[merged - 1].end) {
            if (out[i].end > out[merged - 1].end)
                out[merged - 1].end = out[i].end;
        } else {
            out[merged++] = out[i];
        }
    }
    count = merged;
    for (const MemoryRegion& region : map)
        if (region.type != MemoryType::Usable && region.length != 0)
            subtract(out, count, page_down(region.base), page_up_saturating(end_saturating(region.base, region.length)),
                     diag);
    for (const PhysRange& r : reserved)
        if (r.end > r.start)
            subtract(out, count, page_down(r.start), page_up_saturating(r.end), diag);
    return count;
}

void BootInfo::reset() {
    protocol = BootProtocol::None;
    memory_count = 0;
    memory_overflow = false;
    module_count = 0;
    module_overflow = false;
    cmdline.clear();
    loader_name.clear();
    rsdp_size = 0;
    info_range_count = 0;
    has_basic_memory = false;
    mem_lower_kib = 0;
    mem_upper_kib = 0;
    load_base = 0;
}

Result<void> parse_multiboot(std::uint32_t magic, std::uint64_t info_phys, const PhysReader& memory,
                             BootInfo& out, Diagnostics& diag) {
    if (magic == kMultiboot2BootMagic)
        return parse_multiboot2(info_phys, memory, out, diag);
    if (magic == kMultiboot1BootMagic)
        return parse_multiboot1(info_phys, memory, out, diag);
    out.reset();
    diag.error("multiboot: unknown boot magic {:#x}", magic);
    return Errno::EINVAL;
}

Result<void> parse_multiboot2(std::uint64_t info_phys, const PhysReader& memory, BootInfo& out, Diagnostics& diag) {
    out.reset();
    out.protocol = BootProtocol::Multiboot2;
    if (info_phys % 8 != 0) {
        diag.error("multiboot2: info structure at {:#x} is not 8-byte aligned", info_phys);
        return Errno::EINVAL;
    }
    std::span<const std::byte> header = memory.map(info_phys, 8);
    if (header.size() != 8) {
        diag.error("multiboot2: info structure at {:#x} is not readable", info_phys);
        return Errno::EFAULT;
    }
    const std::uint32_t total_size = load_le<std::uint32_t>(header, 0);
    if (total_size < 16 || total_size > kMaxMb2InfoSize) {
        diag.error("multiboot2: implausible total_size {}", total_size);
        return Errno::EBADMSG;
    }
    std::span<const std::byte> info = memory.map(info_phys, total_size);
    if (info.size() != total_size) {
        diag.error("multiboot2: info structure {:#x}+{} is not readable", info_phys, total_size);
        return Errno::EFAULT;
    }
    add_info_range(out, info_phys, total_size);

    bool have_new_rsdp = false;
    std::size_t off = 8;  // tags start after total_size and reserved
    while (true) {
        if (info.size() - off < 8) {
            diag.error("multiboot2: no end tag within total_size {}", total_size);
            synthesize_basic_map(out, diag);
            return Errno::EBADMSG;
        }
        const std::uint32_t type = load_le<std::uint32_t>(info, off);
        const std::uint32_t size = load_le<std::uint32_t>(info, off + 4);
        if (size < 8 || size > info.size() - off) {
            diag.error("multiboot2: tag type {} at offset {} has size {}, outside the {}-byte block", type, off,
                       size, total_size);
            synthesize_basic_map(out, diag);
            return Errno::EBADMSG;
        }
        if (type == kTagEnd)
            break;
        parse_mb2_tag(type, info.subspan(off, size), out, have_new_rsdp, diag);
        // Tags are padded to 8 bytes; size <= total_size <= 1 MiB, so this cannot overflow.
        off += (std::size_t{size} + 7) & ~std::size_t{7};
        if (off > info.size())
            off = info.size();
    }
    synthesize_basic_map(out, diag);
    return ok();
}

Result<void> parse_multiboot1(std::uint64_t info_phys, const PhysReader& memory, BootInfo& out, Diagnostics& diag) {
    out.reset();
    out.protocol = BootProtocol::Multiboot1;
    std::span<const std::byte> flags_bytes = memory.map(info_phys, 4);
    if (flags_bytes.size() != 4) {
        diag.error("multiboot1: info structure at {:#x} is not readable", info_phys);
        return Errno::EFAULT;
    }
    const std::uint32_t flags = load_le<std::uint32_t>(flags_bytes, 0);
    // How much of the fixed structure the flags say is valid (the last field each bit covers).
    constexpr std::uint32_t kFieldEnd[] = {12, 16, 20, 28, 44, 44, 52, 60, 64, 68, 72, 88, 116};
    std::uint32_t length = 4;
    for (std::uint32_t bit = 0; bit < 13; ++bit)
        if (flags & (1u << bit))
            length = kFieldEnd[bit];
    std::span<const std::byte> info = memory.map(info_phys, length);
    if (info.size() != length) {
        diag.error("multiboot1: info structure {:#x}+{} is not readable", info_phys, length);
        return Errno::EFAULT;
    }
    add_info_range(out, info_phys, length);

    if (flags & (1u << 0)) {
        out.has_basic_memory = true;
        out.mem_lower_kib = load_le<std::uint32_t>(info, 4);
        out.mem_upper_kib = load_le<std::uint32_t>(info, 8);
    }
    if (flags & (1u << 2))
        copy_phys_string(memory, load_le<std::uint32_t>(info, 16), out.cmdline, "command line", diag);
    if (flags & (1u << 9))
        copy_phys_string(memory, load_le<std::uint32_t>(info, 64), out.loader_name, "boot loader name", diag);

    Result<void> status = ok();
    if (flags & (1u << 3)) {
        const std::uint32_t count = load_le<std::uint32_t>(info, 20);
        const std::uint32_t addr = load_le<std::uint32_t>(info, 24);
        std::span<const std::byte> list = count <= kMaxMb1Modules ? memory.map(addr, count * 16u) : std::span<const std::byte>{};
        if (count != 0 && list.size() != count * 16u) {
            diag.error("multiboot1: module list ({} entries at {:#x}) is not readable", count, addr);
            status = Errno::EBADMSG;
        } else {
            add_info_range(out, addr, count * 16u);
            for (std::uint32_t i = 0; i < count; ++i) {
                const std::size_t e = i * 16u;
                BootModule* m = add_module(out, load_le<std::uint32_t>(list, e), load_le<std::uint32_t>(list, e + 4), diag);
                const std::uint32_t string = load_le<std::uint32_t>(list, e + 8);
                if (m && string != 0)
                    copy_phys_string(memory, string, m->cmdline, "module command line", diag);
            }
        }
    }
    if (flags & (1u << 6)) {
        const std::uint32_t map_length = load_le<std::uint32_t>(info, 44);
        const std::uint32_t map_addr = load_le<std::uint32_t>(info, 48);
        std::span<const std::byte> map = memory.map(map_addr, map_length);
        if (map.size() != map_length) {
            diag.error("multiboot1: memory map {:#x}+{} is not readable", map_addr, map_length);
            status = Errno::EBADMSG;
        } else {
            add_info_range(out, map_addr, map_length);
            // Each entry is preceded by its own size, which excludes the size field itself.
            std::size_t off = 0;
            while (map.size() - off >= 4) {
                const std::uint32_t size = load_le<std::uint32_t>(map, off);
                if (size < 20 || size > map.size() - off - 4) {
                    diag.error("multiboot1: memory map entry at offset {} has size {}, outside the {}-byte map", off,
                               size, map_length);
                    status = Errno::EBADMSG;
                    break;
                }
                add_region(out, load_le<std::uint64_t>(map, off + 4), load_le<std::uint64_t>(map, off + 12),
                           load_le<std::uint32_t>(map, off + 20), diag);
                off += 4 + std::size_t{size};
            }
            if (status.is_ok() && off != map.size()) {
                diag.error("multiboot1: memory map has {} trailing bytes", map.size() - off);
                status = Errno::EBADMSG;
            }
        }
    }
    synthesize_basic_map(out, diag);
    return status;
}

std::size_t boot_reserved_ranges(const BootInfo& info, std::span<PhysRange> out, Diagnostics& diag) {
    std::size_t n = 0;
    auto put = [&](PhysRange r) {
        if (r.size() == 0)
            return;
        if (n == out.size()) {
            diag.error("boot: no room for reserved range {:#x}-{:#x}", r.start, r.end);
            return;
        }
        out[n++] = r;
    };
    put({0, 1u << 20});
    for (const PhysRange& r : info.info_extent())
        put(r);
    for (const BootModule& m : info.module_list())
        put({m.start, m.end});
    return n;
}

}  // namespace xenolith
