// The memory-management test kernels' shared helpers (see mm_util.hpp).
#include "mm_util.hpp"

namespace mmt {
namespace {

std::uint64_t g_region_end = 0;
std::uint64_t g_spare_count = 0;

std::uint64_t index_of(std::uint64_t va, int level) { return (va >> (12 + 9 * (level - 1))) & 511; }

// A bootstrap table frame, read through the region's own 1:1 map (§2 item 4).
const volatile std::uint64_t* table_va(std::uint64_t mfn) {
    return reinterpret_cast<const volatile std::uint64_t*>(xt::pfn_to_va(xt::m2p(mfn)));
}

// The table frame at `level` on the path to `va` (level 4 = the L4 itself); 0 if not present.
std::uint64_t table_at(std::uint64_t va, int level) {
    std::uint64_t mfn = boot_l4_mfn();
    for (int l = 4; l > level; --l) {
        const std::uint64_t entry = table_va(mfn)[index_of(va, l)];
        if (!(entry & P)) {
            return 0;
        }
        mfn = frame_of(entry);
    }
    return mfn;
}

bool parse_number(const char* p, std::uint64_t& out) {
    std::uint64_t value = 0;
    unsigned base = 10;
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
        base = 16;
        p += 2;
    }
    bool any = false;
    for (;; ++p) {
        unsigned digit;
        if (*p >= '0' && *p <= '9') {
            digit = static_cast<unsigned>(*p - '0');
        } else if (base == 16 && *p >= 'a' && *p <= 'f') {
            digit = static_cast<unsigned>(*p - 'a' + 10);
        } else {
            break;
        }
        value = value * base + digit;
        any = true;
    }
    out = value;
    return any;
}

}  // namespace

std::uint64_t boot_l4_mfn() { return xt::p2m(xt::va_to_pfn(xt::start_info()->pt_base)); }

std::uint64_t boot_pte(std::uint64_t va) {
    const std::uint64_t l1 = table_at(va, 1);
    return l1 ? table_va(l1)[index_of(va, 1)] : 0;
}
std::uint64_t boot_l1_mfn(std::uint64_t va) { return table_at(va, 1); }
std::uint64_t boot_l1_entry_maddr(std::uint64_t va) { return (boot_l1_mfn(va) << 12) + index_of(va, 1) * 8; }
std::uint64_t boot_l2_mfn() { return table_at(xt::VIRT_BASE, 2); }
std::uint64_t boot_l3_mfn() { return table_at(xt::VIRT_BASE, 3); }

void init() {
    const xen::start_info* si = xt::start_info();
    // The region ends where the bootstrap tables stop mapping (§2 items 2 and 6).
    std::uint64_t va = si->pt_base;
    while (boot_pte(va) & P) {
        va += 4096;
    }
    g_region_end = va;
    const std::uint64_t end_pfn = xt::va_to_pfn(va);
    g_spare_count = si->nr_pages > end_pfn ? si->nr_pages - end_pfn : 0;
    xt::print("mm: region ends at {:#x} (pfn {}), {} spare frames, boot L4 mfn {:#x}\n", va, end_pfn, g_spare_count,
              boot_l4_mfn());
}

std::uint64_t region_end() { return g_region_end; }
std::uint64_t window(unsigned k) { return g_region_end - (std::uint64_t{k} + 1) * 4096; }

long map_window(unsigned k, std::uint64_t mfn, bool writable) {
    return xt::update_va_mapping(window(k), (mfn << 12) | P | A | (writable ? RW | D : 0), xen::UVMF_INVLPG);
}

std::uint64_t spare_count() { return g_spare_count; }
std::uint64_t spare_pfn(std::uint64_t i) { return xt::start_info()->nr_pages - 1 - i; }
std::uint64_t spare_mfn(std::uint64_t i) { return xt::p2m(spare_pfn(i)); }
void set_p2m(std::uint64_t pfn, std::uint64_t mfn) {
    reinterpret_cast<std::uint64_t*>(xt::start_info()->mfn_list)[pfn] = mfn;
}

bool own_frame(std::uint64_t mfn) {
    const std::uint64_t pfn = xt::m2p(mfn);
    return pfn < xt::start_info()->nr_pages && xt::p2m(pfn) == mfn;
}

long write_table(std::uint64_t mfn, const std::uint64_t* entries) {
    static xen::mmu_update requests[512];
    for (unsigned i = 0; i < 512; ++i) {
        requests[i] = {(mfn << 12) + i * 8 + xen::MMU_NORMAL_PT_UPDATE, entries[i]};
    }
    unsigned done = 0;
    const long rc = xt::mmu_update(requests, 512, &done, xen::DOMID_SELF);
    if (rc == 0 && done != 512) {
        xt::print("  write_table: done {} of 512\n", done);
        return -1;
    }
    return rc;
}

long mmu_one(std::uint64_t ptr, std::uint64_t val, unsigned* done, unsigned foreigndom) {
    const xen::mmu_update request{ptr, val};
    return xt::mmu_update(&request, 1, done, foreigndom);
}

long mmuext_one(std::uint32_t cmd, std::uint64_t arg1, std::uint64_t arg2, unsigned foreigndom) {
    xen::mmuext_op op{};
    op.cmd = cmd;
    op.arg1.mfn = arg1;
    op.arg2.src_mfn = arg2;
    return xt::mmuext_op(&op, 1, nullptr, foreigndom);
}

long pin(unsigned level, std::uint64_t mfn) { return mmuext_one(xen::MMUEXT_PIN_L1_TABLE + level - 1, mfn); }
long unpin(std::uint64_t mfn) { return mmuext_one(xen::MMUEXT_UNPIN_TABLE, mfn); }

long current_reservation() {
    xen::xen_memory_domain self{xen::DOMID_SELF};
    return xt::memory_op(xen::XENMEM_current_reservation, &self);
}

long decrease_one(std::uint64_t mfn) {
    std::uint64_t extent = mfn;
    xen::xen_memory_reservation r{};
    r.extent_start = xt::handle(&extent);
    r.nr_extents = 1;
    r.domid = xen::DOMID_SELF;
    return xt::memory_op(xen::XENMEM_decrease_reservation, &r);
}

long populate_one(std::uint64_t pfn, std::uint64_t& mfn_out) {
    std::uint64_t extent = pfn;
    xen::xen_memory_reservation r{};
    r.extent_start = xt::handle(&extent);
    r.nr_extents = 1;
    r.domid = xen::DOMID_SELF;
    const long rc = xt::memory_op(xen::XENMEM_populate_physmap, &r);
    mfn_out = extent;
    return rc;
}

void set_marker(std::uint64_t marker) {
    // The lowest spare frame: the fuzzers and attackers leave it alone.
    const std::uint64_t mfn = spare_mfn(spare_count() - 1);
    if (mmu_one((mfn << 12) | xen::MMU_MACHPHYS_UPDATE, marker) != 0) {
        xt::print("  set_marker: MMU_MACHPHYS_UPDATE refused\n");
    }
}

bool marker_present(std::uint64_t marker) {
    const long max_ram = xt::memory_op(xen::XENMEM_maximum_ram_page, nullptr);
    for (long mfn = 0; mfn < max_ram; ++mfn) {
        if (xt::m2p(static_cast<std::uint64_t>(mfn)) == marker) {
            return true;
        }
    }
    return false;
}

bool wait_for_marker(std::uint64_t marker, std::uint64_t timeout_ns) {
    const std::uint64_t start = now_ns();
    while (!marker_present(marker)) {
        if (now_ns() - start > timeout_ns) {
            return false;
        }
        for (unsigned i = 0; i < 20; ++i) {
            xt::sched_yield();
        }
    }
    return true;
}

std::uint64_t cmdline_number(const char* key, std::uint64_t fallback) {
    const char* line = reinterpret_cast<const char*>(xt::start_info()->cmd_line);
    std::uint64_t key_length = 0;
    while (key[key_length]) {
        ++key_length;
    }
    for (const char* p = line; *p; ++p) {
        if ((p == line || p[-1] == ' ')) {
            bool match = true;
            for (std::uint64_t i = 0; i < key_length && match; ++i) {
                match = p[i] == key[i];
            }
            std::uint64_t value;
            if (match && p[key_length] == '=' && parse_number(p + key_length + 1, value)) {
                return value;
            }
        }
    }
    return fallback;
}

std::uint64_t now_ns() {
    xen::shared_info* si = xt::shared_info();
    if (!si) {
        return 0;
    }
    // §8.1: retry while the hypervisor updates the record.
    const volatile xen::vcpu_time_info& t = si->vcpu_info[0].time;
    for (;;) {
        const std::uint32_t version = t.version;
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        std::uint32_t lo, hi;
        asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
        const std::uint64_t delta = ((std::uint64_t{hi} << 32) | lo) - t.tsc_timestamp;
        const std::int8_t shift = t.tsc_shift;
        const std::uint64_t shifted = shift >= 0 ? delta << shift : delta >> -shift;
        const std::uint64_t ns =
            t.system_time + static_cast<std::uint64_t>((static_cast<unsigned __int128>(shifted) * t.tsc_to_system_mul) >> 32);
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        if ((version & 1) == 0 && version == t.version) {
            return ns;
        }
    }
}

}  // namespace mmt
