// Building and auditing the hypervisor's page tables.
#include "arch/x86_64/paging.hpp"

#include "arch/x86_64/cr.hpp"
#include "lib/string.hpp"

namespace xenolith::arch {

namespace {

using Entry = PageTableEntry;

constexpr unsigned index_at(std::uint64_t virt, unsigned level) {
    return static_cast<unsigned>((virt >> (12 + 9 * (level - 1))) & 511);
}

constexpr std::uint64_t level_size(unsigned level) { return 1ull << (12 + 9 * (level - 1)); }

Entry* table_at(std::uint64_t phys) { return static_cast<Entry*>(phys_to_virt(phys)); }

std::uint64_t leaf_flags(MapAttributes a, bool large) {
    std::uint64_t flags = Entry::PRESENT | Entry::ACCESSED;
    if (a.writable)
        flags |= Entry::WRITABLE | Entry::DIRTY;
    if (!a.executable)
        flags |= Entry::NO_EXECUTE;
    if (a.uncached)
        flags |= Entry::CACHE_DISABLE | Entry::WRITE_THROUGH;
    if (a.global)
        flags |= Entry::GLOBAL;
    if (a.user)
        flags |= Entry::USER;
    if (large)
        flags |= Entry::LARGE;
    return flags;
}

// Intermediate entries allow everything; the leaf decides the permissions.
constexpr std::uint64_t TABLE_FLAGS = Entry::PRESENT | Entry::WRITABLE | Entry::ACCESSED;

Result<Entry*> next_table(Entry& entry, PageTableFrameSource source, bool user) {
    if (entry.present()) {
        if (entry.large())
            return Error{Errno::EEXIST};
        // A user-reachable mapping needs the user bit at every level above it.
        if (user && !entry.user())
            entry = Entry(entry.raw() | Entry::USER);
        return table_at(entry.address());
    }
    const std::uint64_t frame = TRY(source());
    memset(phys_to_virt(frame), 0, PAGE_SIZE);
    entry = Entry::make(frame, TABLE_FLAGS | (user ? Entry::USER : 0));
    return table_at(frame);
}

}  // namespace

Result<void> map_range(std::uint64_t root_phys, std::uint64_t virt, std::uint64_t phys, std::uint64_t size,
                       MapAttributes attributes, PageTableFrameSource source, bool allow_huge) {
    if ((virt | phys | size) & (PAGE_SIZE - 1))
        return Error{Errno::EINVAL};
    while (size) {
        unsigned leaf_level = 1;
        if (allow_huge && !((virt | phys) & (HUGE_PAGE_SIZE - 1)) && size >= HUGE_PAGE_SIZE)
            leaf_level = 3;
        else if (!((virt | phys) & (LARGE_PAGE_SIZE - 1)) && size >= LARGE_PAGE_SIZE)
            leaf_level = 2;

        Entry* table = table_at(root_phys);
        for (unsigned level = 4; level > leaf_level; --level)
            table = TRY(next_table(table[index_at(virt, level)], source, attributes.user));

        Entry& leaf = table[index_at(virt, leaf_level)];
        const Entry wanted = Entry::make(phys, leaf_flags(attributes, leaf_level > 1));
        if (leaf.present() && leaf.raw() != wanted.raw())
            return Error{Errno::EEXIST};
        leaf = wanted;

        virt += level_size(leaf_level);
        phys += level_size(leaf_level);
        size -= level_size(leaf_level);
    }
    return ok();
}

void remap_page(std::uint64_t root_phys, std::uint64_t virt, std::uint64_t phys, MapAttributes attributes) {
    Entry* table = table_at(root_phys);
    for (unsigned level = 4; level > 1; --level)
        table = table_at(table[index_at(virt, level)].address());
    table[index_at(virt, 1)] = Entry::make(phys, leaf_flags(attributes, false));
    invlpg(virt);
}

Result<Translation> translate(std::uint64_t root_phys, std::uint64_t virt) {
    Entry* table = table_at(root_phys);
    for (unsigned level = 4; level >= 1; --level) {
        const Entry entry = table[index_at(virt, level)];
        if (!entry.present())
            return Error{Errno::ENOENT};
        if (level == 1 || entry.large()) {
            const std::uint64_t offset = virt & (level_size(level) - 1);
            const std::uint64_t base = entry.address() & ~(level_size(level) - 1);
            return Translation{base + offset, entry, level};
        }
        table = table_at(entry.address());
    }
    return Error{Errno::ENOENT};
}

namespace {

void audit_table(std::uint64_t table_phys, unsigned level, std::uint64_t virt_base, bool writable_above,
                 bool executable_above, WxReport& report) {
    const Entry* table = table_at(table_phys);
    for (unsigned i = 0; i < 512; ++i) {
        const Entry entry = table[i];
        if (!entry.present())
            continue;
        std::uint64_t virt = virt_base + i * level_size(level);
        if (level == 4 && i >= 256)
            virt |= 0xffff000000000000ull;  // canonical upper half
        const bool writable = writable_above && entry.writable();
        const bool executable = executable_above && entry.executable();
        if (level == 1 || entry.large()) {
            ++report.leaf_mappings;
            if (writable && executable) {
                if (!report.writable_executable)
                    report.first_offender = virt;
                ++report.writable_executable;
            }
            continue;
        }
        audit_table(entry.address(), level - 1, virt, writable, executable, report);
    }
}

}  // namespace

WxReport audit_wx(std::uint64_t root_phys) {
    WxReport report;
    audit_table(root_phys, 4, 0, true, true, report);
    return report;
}

}  // namespace xenolith::arch
