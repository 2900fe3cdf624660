// mm-hostile: an unprivileged guest that tries every forbidden memory operation and checks it
// gets the documented errno each time and keeps running (pv-abi-core.md §2.5, §5.3, §5.10,
// §5.12, §5.16, §5.21, §7.3-§7.6; docs/memory.md). A victim domain (`victim=ID`) runs beside it
// and checks afterwards that its memory is untouched; we tell it we are done through the M2P.
#include "mm_util.hpp"
#include "xt/traps.hpp"

namespace {

using namespace mmt;
using xen::Errno;

std::uint64_t g_victim_frames[64];
unsigned g_victim_count = 0;
std::uint64_t g_max_ram = 0;
xen::domid_t g_victim = 2;

// The read-only M2P says who owns what: frames with a PFN that are not in our P2M belong to
// another domain (here: the victim).
void find_victim_frames() {
    for (std::uint64_t mfn = 0; mfn < g_max_ram && g_victim_count < 64; ++mfn) {
        const std::uint64_t pfn = xt::m2p(mfn);
        if (pfn != INVALID_M2P && pfn < (1ull << 32) && !own_frame(mfn)) {
            g_victim_frames[g_victim_count++] = mfn;
        }
    }
    xt::print("mm-hostile: {} foreign frames found in the M2P (first {:#x})\n", g_victim_count,
              g_victim_count ? g_victim_frames[0] : 0);
}

// A #PF we provoke on purpose: the faulting store is `mov %rax, (%rdx)` (3 bytes), skipped.
unsigned g_page_faults = 0;
bool g_expect_fault = false;
bool on_page_fault(xt::TrapFrame& f) {
    if (!g_expect_fault) {
        return false;
    }
    ++g_page_faults;
    f.rip += 3;
    return true;
}
bool store_faults(volatile std::uint64_t* address, std::uint64_t value) {
    const unsigned before = g_page_faults;
    g_expect_fault = true;
    asm volatile(".byte 0x48, 0x89, 0x02" ::"a"(value), "d"(address) : "memory");
    g_expect_fault = false;
    return g_page_faults == before + 1;
}

void test_foreign_frames() {
    xt::print("mm-hostile: foreign and hypervisor frames\n");
    const std::uint64_t w1 = window(1);
    const std::uint64_t entry = boot_l1_entry_maddr(w1);
    const std::uint64_t before = boot_pte(w1);
    CHECK(g_victim_count > 0);
    for (unsigned i = 0; i < g_victim_count; ++i) {
        const std::uint64_t mfn = g_victim_frames[i];
        // Mapping another domain's frame: EBUSY (docs/memory.md, L1 target not mappable).
        CHECK_ERRNO(mmu_one(entry, (mfn << 12) | P | RW), Errno::EBUSY);
        CHECK_ERRNO(mmu_one(entry, (mfn << 12) | P), Errno::EBUSY);
        CHECK_ERRNO(xt::update_va_mapping(w1, (mfn << 12) | P, xen::UVMF_INVLPG), Errno::EBUSY);
        // Writing into another domain's frame as if it were a table: EINVAL (§5.3 must be a
        // page of the PT owner).
        CHECK_ERRNO(mmu_one((mfn << 12) + 8 * (i % 512), 0), Errno::EINVAL);
        CHECK_ERRNO(pin(1 + i % 4, mfn), Errno::EINVAL);
        CHECK_ERRNO(unpin(mfn), Errno::EINVAL);
        CHECK_ERRNO(mmuext_one(xen::MMUEXT_CLEAR_PAGE, mfn), Errno::EINVAL);
        CHECK_ERRNO(mmuext_one(xen::MMUEXT_COPY_PAGE, spare_mfn(0), mfn), Errno::EINVAL);
        CHECK_ERRNO(mmuext_one(xen::MMUEXT_NEW_BASEPTR, mfn), Errno::EINVAL);
        CHECK_ERRNO(mmu_one((mfn << 12) | xen::MMU_MACHPHYS_UPDATE, 0), Errno::EINVAL);
        CHECK_EQ(decrease_one(mfn), 0);
    }
    // The hypervisor's own frames (its image at 2 MiB, low memory) are never mappable.
    const std::uint64_t hypervisor_frames[] = {0x200, 0x201, 0x250, 0x300, 0x0, 0x1};
    for (std::uint64_t mfn : hypervisor_frames) {
        CHECK_ERRNO(mmu_one(entry, (mfn << 12) | P), Errno::EBUSY);
        CHECK_ERRNO(xt::update_va_mapping(w1, (mfn << 12) | P | RW, xen::UVMF_INVLPG), Errno::EBUSY);
        CHECK_ERRNO(pin(1, mfn), Errno::EINVAL);
        CHECK_ERRNO(mmuext_one(xen::MMUEXT_CLEAR_PAGE, mfn), Errno::EINVAL);
    }
    // The legacy VGA hole: not RAM of ours, either MMIO (EPERM) or unmappable RAM (EBUSY).
    const long vga = mmu_one(entry, (0xb8ull << 12) | P | RW);
    CHECK(vga == xen::negated(Errno::EPERM) || vga == xen::negated(Errno::EBUSY));
    // Beyond RAM: I/O memory an unprivileged domain may not map (§7.4: EPERM).
    const std::uint64_t beyond[] = {g_max_ram, g_max_ram + 1, 0xfee00, 0xFFFFFFFFFull};
    for (std::uint64_t mfn : beyond) {
        CHECK_ERRNO(mmu_one(entry, (mfn << 12) | P), Errno::EPERM);
        CHECK_ERRNO(xt::update_va_mapping(w1, (mfn << 12) | P, xen::UVMF_NONE), Errno::EPERM);
        // ... and as frame numbers of operations: out of range.
        CHECK_ERRNO(pin(4, mfn), Errno::EINVAL);
        CHECK_ERRNO(unpin(mfn), Errno::EINVAL);
        CHECK_ERRNO(mmu_one(mfn << 12, 0), Errno::EINVAL);
        CHECK_ERRNO(mmu_one((mfn << 12) | xen::MMU_MACHPHYS_UPDATE, 0), Errno::EINVAL);
        CHECK_ERRNO(mmuext_one(xen::MMUEXT_NEW_BASEPTR, mfn), Errno::EINVAL);
        CHECK_ERRNO(mmuext_one(xen::MMUEXT_CLEAR_PAGE, mfn), Errno::EINVAL);
    }
    CHECK_ERRNO(pin(1, ~0ull), Errno::EINVAL);
    CHECK_ERRNO(mmuext_one(xen::MMUEXT_NEW_USER_BASEPTR, ~0ull), Errno::EINVAL);
    CHECK_ERRNO(mmu_one(~7ull, 0), Errno::EINVAL);
    CHECK_EQ(boot_pte(w1), before);
}

void test_foreign_domain_argument() {
    xt::print("mm-hostile: foreigndom\n");
    const std::uint64_t entry = boot_l1_entry_maddr(window(1));
    const std::uint64_t victim_mfn = g_victim_count ? g_victim_frames[0] : 0;
    unsigned done = 99;
    // §5.3: acting for another domain is privileged (EPERM); naming oneself numerically, ESRCH.
    CHECK_ERRNO(mmu_one(entry, (victim_mfn << 12) | P, &done, g_victim), Errno::EPERM);
    CHECK_ERRNO(mmu_one(entry, (victim_mfn << 12) | P, nullptr, xen::mmu_foreigndom(xen::DOMID_SELF, g_victim + 1u)),
                Errno::EPERM);
    CHECK_ERRNO(mmu_one((victim_mfn << 12), 0, nullptr, xen::mmu_foreigndom(xen::DOMID_SELF, g_victim + 1u)),
                Errno::EPERM);
    xen::domid_t self_id = 1;  // module order: we are domain 1
    CHECK_ERRNO(mmu_one(entry, (spare_mfn(0) << 12) | P, nullptr, self_id), Errno::ESRCH);
    CHECK_ERRNO(mmuext_one(xen::MMUEXT_PIN_L1_TABLE, victim_mfn, 0, g_victim), Errno::EPERM);
    CHECK_ERRNO(mmuext_one(xen::MMUEXT_NEW_BASEPTR, boot_l4_mfn(), 0, xen::mmu_foreigndom(xen::DOMID_SELF, g_victim + 1u)),
                Errno::EPERM);
    // update_va_mapping_otherdomain (22) is for privileged domains.
    CHECK_ERRNO(xt::hypercall(xen::HYPERVISOR_update_va_mapping_otherdomain, window(1), (victim_mfn << 12) | P,
                              xen::UVMF_INVLPG, g_victim),
                Errno::EPERM);
    // memory_op on another domain's reservation.
    xen::xen_memory_domain other{g_victim};
    CHECK_ERRNO(xt::memory_op(xen::XENMEM_current_reservation, &other), Errno::EPERM);
    CHECK_ERRNO(xt::memory_op(xen::XENMEM_maximum_reservation, &other), Errno::EPERM);
    std::uint64_t extent = victim_mfn;
    xen::xen_memory_reservation r{};
    r.extent_start = xt::handle(&extent);
    r.nr_extents = 1;
    r.domid = g_victim;
    CHECK_ERRNO(xt::memory_op(xen::XENMEM_decrease_reservation, &r), Errno::EPERM);
    CHECK_ERRNO(xt::memory_op(xen::XENMEM_increase_reservation, &r), Errno::EPERM);
}

void test_page_tables_writable() {
    xt::print("mm-hostile: page tables writable\n");
    const std::uint64_t w1 = window(1);
    const std::uint64_t entry = boot_l1_entry_maddr(w1);
    const std::uint64_t tables[] = {boot_l4_mfn(), boot_l3_mfn(), boot_l2_mfn(), boot_l1_mfn(w1)};
    for (std::uint64_t mfn : tables) {
        // §7.3: a page table never gets a writable mapping (EBUSY), whatever the path.
        CHECK_ERRNO(xt::update_va_mapping(w1, (mfn << 12) | DATA, xen::UVMF_INVLPG), Errno::EBUSY);
        CHECK_ERRNO(mmu_one(entry, (mfn << 12) | DATA), Errno::EBUSY);
        CHECK_ERRNO(mmu_one(entry | xen::MMU_PT_UPDATE_PRESERVE_AD, (mfn << 12) | P | RW), Errno::EBUSY);
        // Read-only is fine.
        CHECK_EQ(map_window(1, mfn, false), 0);
        // Used as tables they cannot be cleared, pinned at another level, or freed.
        CHECK_ERRNO(mmuext_one(xen::MMUEXT_CLEAR_PAGE, mfn), Errno::EINVAL);
        CHECK_ERRNO(mmuext_one(xen::MMUEXT_COPY_PAGE, mfn, spare_mfn(0)), Errno::EINVAL);
        CHECK_EQ(decrease_one(mfn), 0);
    }
    CHECK_ERRNO(pin(4, boot_l4_mfn()), Errno::EINVAL);  // pinned by the builder already
    CHECK_ERRNO(pin(1, boot_l4_mfn()), Errno::EINVAL);  // an L4 is not an L1
    CHECK_ERRNO(mmuext_one(xen::MMUEXT_NEW_BASEPTR, boot_l1_mfn(w1)), Errno::EINVAL);
    // A frame mapped writable cannot become a table.
    CHECK_EQ(map_window(1, spare_mfn(3), true), 0);
    CHECK_ERRNO(pin(1, spare_mfn(3)), Errno::EINVAL);
    CHECK_ERRNO(mmuext_one(xen::MMUEXT_NEW_BASEPTR, spare_mfn(3)), Errno::EINVAL);
    // Our own code page and data are referenced: decrease_reservation refuses them.
    CHECK_EQ(decrease_one(xt::p2m(xt::va_to_pfn(reinterpret_cast<std::uint64_t>(&test_page_tables_writable)))), 0);
    CHECK_EQ(decrease_one(xt::p2m(xt::va_to_pfn(reinterpret_cast<std::uint64_t>(&g_victim_count)))), 0);
    CHECK_EQ(map_window(1, spare_mfn(2), false), 0);
}

void test_self_references() {
    xt::print("mm-hostile: self references and linear tables\n");
    const std::uint64_t l4 = boot_l4_mfn(), l3 = boot_l3_mfn(), l2 = boot_l2_mfn();
    const std::uint64_t l4_slot = (l4 << 12) + 300 * 8, l3_slot = (l3 << 12) + 5 * 8, l2_slot = (l2 << 12) + 400 * 8;
    // §7.5: a self reference must be read-only.
    CHECK_ERRNO(mmu_one(l4_slot, (l4 << 12) | P | RW), Errno::EINVAL);
    CHECK_EQ(mmu_one(l4_slot, (l4 << 12) | P), 0);
    CHECK_EQ(mmu_one(l4_slot, 0), 0);
    CHECK_ERRNO(mmu_one(l2_slot, (l2 << 12) | P | RW), Errno::EINVAL);
    CHECK_EQ(mmu_one(l2_slot, (l2 << 12) | P), 0);
    CHECK_EQ(mmu_one(l2_slot, 0), 0);
    // Wrong levels: an L3 entry must point at an L2, an L2 entry at an L1.
    CHECK_ERRNO(mmu_one(l3_slot, (l4 << 12) | P), Errno::EINVAL);
    CHECK_ERRNO(mmu_one(l3_slot, (l4 << 12) | P | RW), Errno::EINVAL);
    CHECK_ERRNO(mmu_one(l2_slot, (l3 << 12) | P), Errno::EINVAL);
    CHECK_ERRNO(mmu_one(l2_slot, (l4 << 12) | P | RW), Errno::EINVAL);
    CHECK_ERRNO(mmu_one(l4_slot, (l2 << 12) | P), Errno::EINVAL);
    // An L1 entry mapping its own table writable: a page table writable (EBUSY); read-only ok.
    const std::uint64_t w1 = window(1);
    const std::uint64_t l1 = boot_l1_mfn(w1);
    CHECK_ERRNO(mmu_one(boot_l1_entry_maddr(w1), (l1 << 12) | P | RW), Errno::EBUSY);
    CHECK_EQ(mmu_one(boot_l1_entry_maddr(w1), (l1 << 12) | P), 0);

    // A second L4, pinned, as a linear target of the first (one level of linearity, §7.5).
    const std::uint64_t other = spare_mfn(4);
    static const std::uint64_t empty[512] = {};
    CHECK_EQ(write_table(other, empty), 0);
    CHECK_EQ(pin(4, other), 0);
    CHECK_ERRNO(mmu_one(l4_slot, (other << 12) | P | RW), Errno::EINVAL);  // RW: needs an L3
    CHECK_EQ(mmu_one(l4_slot, (other << 12) | P), 0);                      // linear, read-only
    // The target of a linear entry may not hold linear entries itself, nor become one's container.
    CHECK_ERRNO(mmu_one((other << 12) + 5 * 8, (l4 << 12) | P), Errno::EINVAL);
    CHECK_ERRNO(mmu_one((other << 12) + 6 * 8, (other << 12) | P | RW), Errno::EINVAL);
    // While it is in use it cannot be freed; unpinned it survives through the linear reference.
    CHECK_EQ(unpin(other), 0);
    CHECK_EQ(decrease_one(other), 0);
    CHECK_ERRNO(map_window(2, other, true), Errno::EBUSY);
    CHECK_EQ(mmu_one(l4_slot, 0), 0);
    // Gone from every table: an ordinary frame again.
    CHECK_EQ(map_window(2, other, true), 0);
    CHECK_EQ(map_window(2, spare_mfn(2), false), 0);
}

void test_pin_rules() {
    xt::print("mm-hostile: pinning\n");
    const std::uint64_t t = spare_mfn(5);
    static std::uint64_t entries[512];
    for (auto& e : entries) {
        e = 0;
    }
    CHECK_EQ(write_table(t, entries), 0);
    CHECK_ERRNO(unpin(t), Errno::EINVAL);  // not pinned
    CHECK_EQ(pin(1, t), 0);
    CHECK_ERRNO(pin(1, t), Errno::EINVAL);  // twice
    CHECK_ERRNO(pin(2, t), Errno::EINVAL);  // at another level
    CHECK_EQ(unpin(t), 0);
    CHECK_ERRNO(unpin(t), Errno::EINVAL);

    // Tables with forbidden contents (§7.4); each refused attempt leaves the frame untyped.
    struct Bad {
        unsigned level;
        std::uint64_t entry;
        long error;
    };
    const std::uint64_t victim = g_victim_count ? g_victim_frames[0] : 0x200;
    const Bad bad[] = {
        {1, (victim << 12) | P, xen::negated(Errno::EBUSY)},              // another domain's frame
        {1, (0x200ull << 12) | P, xen::negated(Errno::EBUSY)},            // the hypervisor's
        {1, (g_max_ram << 12) | P, xen::negated(Errno::EPERM)},           // MMIO
        {1, (boot_l4_mfn() << 12) | P | RW, xen::negated(Errno::EBUSY)},  // a table, writable
        {1, (spare_mfn(6) << 12) | P | PCD, xen::negated(Errno::EINVAL)}, // cache attributes
        {1, (spare_mfn(6) << 12) | P | PWT, xen::negated(Errno::EINVAL)},
        {1, (spare_mfn(6) << 12) | P | PS, xen::negated(Errno::EINVAL)},  // PAT at L1
        {1, (spare_mfn(6) << 12) | P | GNTTAB, xen::negated(Errno::EINVAL)},
        {2, (spare_mfn(6) << 12) | P | PS, xen::negated(Errno::EINVAL)},  // superpage
        {2, (spare_mfn(6) << 12) | P | G, xen::negated(Errno::EINVAL)},
        {2, (victim << 12) | P, xen::negated(Errno::EINVAL)},             // upper levels: own frames only
        {3, (boot_l3_mfn() << 12) | P | RW, xen::negated(Errno::EINVAL)}, // L3 entry to an L3, RW
        {4, (victim << 12) | P, xen::negated(Errno::EINVAL)},
    };
    for (const Bad& b : bad) {
        entries[17] = b.entry;
        CHECK_EQ(write_table(t, entries), 0);
        const long rc = pin(b.level, t);
        if (rc != b.error) {
            xt::print("  pin L{} with entry {:#x}: {} (expected {})\n", b.level, b.entry, rc, b.error);
            CHECK(false);
        }
        // Nothing was left typed or referenced: the frame can be mapped writable.
        CHECK_EQ(map_window(2, t, true), 0);
        CHECK_EQ(map_window(2, spare_mfn(2), false), 0);
    }
    entries[17] = 0;
    CHECK_EQ(write_table(t, entries), 0);
    // The same entries written into a pinned table one by one (mod_entry) are refused alike.
    CHECK_EQ(pin(1, t), 0);
    CHECK_ERRNO(mmu_one((t << 12) + 17 * 8, (victim << 12) | P), Errno::EBUSY);
    CHECK_ERRNO(mmu_one((t << 12) + 17 * 8, (spare_mfn(6) << 12) | P | PCD), Errno::EINVAL);
    CHECK_ERRNO(mmu_one((t << 12) + 17 * 8, (t << 12) | P | RW), Errno::EBUSY);
    CHECK_EQ(mmu_one((t << 12) + 17 * 8, (spare_mfn(6) << 12) | P | RW), 0);
    // A table referenced by nothing but its pin and holding a writable mapping: still no free.
    CHECK_EQ(decrease_one(t), 0);
    CHECK_EQ(decrease_one(spare_mfn(6)), 0);  // mapped writable by t
    CHECK_EQ(unpin(t), 0);
}

void test_hypervisor_slots() {
    xt::print("mm-hostile: hypervisor L4 slots\n");
    const std::uint64_t l4 = boot_l4_mfn();
    CHECK_EQ(map_window(2, l4, false), 0);
    std::uint64_t saved[16];
    for (unsigned i = 0; i < 16; ++i) {
        saved[i] = window_ptr(2)[256 + i];
    }
    for (unsigned i = 256; i < 272; ++i) {
        // §2.5: EINVAL whatever the value.
        CHECK_ERRNO(mmu_one((l4 << 12) + i * 8, 0), Errno::EINVAL);
        CHECK_ERRNO(mmu_one((l4 << 12) + i * 8, (boot_l3_mfn() << 12) | P), Errno::EINVAL);
        CHECK_ERRNO(mmu_one(((l4 << 12) + i * 8) | xen::MMU_PT_UPDATE_PRESERVE_AD, saved[i - 256]), Errno::EINVAL);
    }
    for (unsigned i = 0; i < 16; ++i) {
        CHECK_EQ(window_ptr(2)[256 + i], saved[i]);
    }
    // A fresh L4 gets exactly the hypervisor's slots, whatever we wrote there before pinning.
    const std::uint64_t t = spare_mfn(7);
    static std::uint64_t entries[512];
    for (unsigned i = 0; i < 512; ++i) {
        entries[i] = (i >= 256 && i < 272) ? (spare_mfn(8) << 12) | P | RW : 0;
    }
    CHECK_EQ(write_table(t, entries), 0);
    CHECK_EQ(pin(4, t), 0);
    CHECK_EQ(map_window(3, t, false), 0);
    for (unsigned i = 0; i < 16; ++i) {
        CHECK_EQ(window_ptr(3)[256 + i], saved[i]);
    }
    CHECK_ERRNO(mmu_one((t << 12) + 260 * 8, 0), Errno::EINVAL);
    CHECK_EQ(unpin(t), 0);
    CHECK_EQ(map_window(3, spare_mfn(2), false), 0);
    CHECK_EQ(map_window(2, spare_mfn(2), false), 0);
}

void test_batches() {
    xt::print("mm-hostile: batches\n");
    const std::uint64_t e1 = boot_l1_entry_maddr(window(1)), e2 = boot_l1_entry_maddr(window(2)),
                        e3 = boot_l1_entry_maddr(window(3));
    const std::uint64_t before3 = boot_pte(window(3));
    const std::uint64_t victim = g_victim_count ? g_victim_frames[0] : 0x200;
    // Duplicate entries (the second wins), then a failure: processing stops there and `done`
    // says how many succeeded (§5.3).
    xen::mmu_update batch[5] = {
        {e1, (spare_mfn(9) << 12) | P},
        {e1, (spare_mfn(10) << 12) | P},
        {e2, (spare_mfn(11) << 12) | P | RW},
        {e2 + 8 * 0, (victim << 12) | P},
        {e3, (spare_mfn(12) << 12) | P},
    };
    unsigned done = 99;
    CHECK_ERRNO(xt::mmu_update(batch, 5, &done, xen::DOMID_SELF), Errno::EBUSY);
    CHECK_EQ(done, 3u);
    CHECK_EQ(frame_of(boot_pte(window(1))), spare_mfn(10));
    CHECK_EQ(frame_of(boot_pte(window(2))), spare_mfn(11));
    CHECK_EQ(boot_pte(window(3)), before3);
    // Undefined commands (§5.3: 4-7 -> ENOSYS) stop a batch too.
    for (std::uint64_t cmd = 4; cmd < 8; ++cmd) {
        batch[0] = {e3 | cmd, (spare_mfn(12) << 12) | P};
        CHECK_ERRNO(xt::mmu_update(batch, 1, &done, xen::DOMID_SELF), Errno::ENOSYS);
        CHECK_EQ(done, 0u);
    }
    CHECK_EQ(boot_pte(window(3)), before3);
    // A request array the hypervisor cannot read: EFAULT; a misaligned one is just read.
    CHECK_ERRNO(xt::mmu_update(reinterpret_cast<xen::mmu_update*>(0xffff830000000000ull), 1, &done, xen::DOMID_SELF),
                Errno::EFAULT);
    static unsigned char raw[sizeof(xen::mmu_update) + 1];
    const xen::mmu_update one{e3, (spare_mfn(12) << 12) | P};
    __builtin_memcpy(raw + 1, &one, sizeof(one));
    CHECK_EQ(xt::mmu_update(reinterpret_cast<xen::mmu_update*>(raw + 1), 1, &done, xen::DOMID_SELF), 0);
    CHECK_EQ(frame_of(boot_pte(window(3))), spare_mfn(12));
    // A mmuext_op batch stops at its first failure.
    xen::mmuext_op ops[3] = {};
    ops[0].cmd = xen::MMUEXT_TLB_FLUSH_LOCAL;
    ops[1].cmd = xen::MMUEXT_PIN_L1_TABLE, ops[1].arg1.mfn = victim;
    ops[2].cmd = xen::MMUEXT_TLB_FLUSH_ALL;
    CHECK_ERRNO(xt::mmuext_op(ops, 3, &done, xen::DOMID_SELF), Errno::EINVAL);
    CHECK_EQ(done, 1u);
    // A long batch (continuations, §4.5) that fails near its end reports the exact count.
    static xen::mmu_update many[600];
    for (unsigned i = 0; i < 600; ++i) {
        many[i] = {e1, (spare_mfn(9 + i % 2) << 12) | P};
    }
    many[555].val = (victim << 12) | P;
    CHECK_ERRNO(xt::mmu_update(many, 600, &done, xen::DOMID_SELF), Errno::EBUSY);
    CHECK_EQ(done, 555u);
}

void test_other_refusals() {
    xt::print("mm-hostile: other refusals\n");
    CHECK_ERRNO(mmuext_one(xen::MMUEXT_MARK_SUPER, spare_mfn(0)), Errno::EOPNOTSUPP);
    CHECK_ERRNO(mmuext_one(xen::MMUEXT_UNMARK_SUPER, spare_mfn(0)), Errno::EOPNOTSUPP);
    CHECK_ERRNO(mmuext_one(xen::MMUEXT_FLUSH_CACHE, 0), Errno::EACCES);
    CHECK_ERRNO(mmuext_one(xen::MMUEXT_FLUSH_CACHE_GLOBAL, 0), Errno::EACCES);
    CHECK_ERRNO(mmuext_one(14, 0), Errno::ENOSYS);
    CHECK_ERRNO(mmuext_one(21, 0), Errno::ENOSYS);
    CHECK_ERRNO(mmuext_one(0xffffffffu, 0), Errno::ENOSYS);
    xen::mmuext_op ldt{};
    ldt.cmd = xen::MMUEXT_SET_LDT;
    ldt.arg1.linear_addr = window(1) + 8;  // misaligned
    CHECK_ERRNO(xt::mmuext_op(&ldt, 1, nullptr, xen::DOMID_SELF), Errno::EINVAL);
    ldt.arg1.linear_addr = window(1);
    ldt.arg2.nr_ents = xen::MMUEXT_MAX_LDT_ENTS + 1;
    CHECK_ERRNO(xt::mmuext_op(&ldt, 1, nullptr, xen::DOMID_SELF), Errno::EINVAL);
    // update_va_mapping outside our part of the address space, or where no L1 exists (§5.10).
    const std::uint64_t bad_va[] = {0xffff800000000000ull, 0xffff830000001000ull, 0x1000, 0x0000800000000000ull,
                                    0xffff900000000000ull};
    for (std::uint64_t va : bad_va) {
        CHECK_ERRNO(xt::update_va_mapping(va, (spare_mfn(2) << 12) | P, xen::UVMF_INVLPG), Errno::EINVAL);
    }
    // vm_assist: bad type / command (§5.16).
    CHECK_ERRNO(xt::vm_assist(xen::VMASST_CMD_enable, 31), Errno::EINVAL);
    CHECK_ERRNO(xt::vm_assist(7, xen::VMASST_TYPE_writable_pagetables), Errno::ENOSYS);
    // memory_op odds and ends.
    CHECK_ERRNO(xt::memory_op(xen::XENMEM_add_to_physmap, nullptr), Errno::EACCES);
    std::uint64_t extents[4] = {};
    xen::xen_memory_reservation r{};
    r.extent_start = xt::handle(extents);
    r.nr_extents = 4;
    r.domid = xen::DOMID_SELF;
    CHECK_EQ(xt::memory_op(xen::XENMEM_increase_reservation, &r), 0);  // at max_pages already
    r.extent_order = 9;
    CHECK_EQ(xt::memory_op(xen::XENMEM_populate_physmap, &r), 0);
    CHECK_ERRNO(xt::memory_op(xen::XENMEM_current_reservation, reinterpret_cast<void*>(0xffff830000000000ull)),
                Errno::EFAULT);
}

// §7.6: only stores to our own L1 tables are emulated, and only valid ones.
void test_writable_page_table_abuse() {
    xt::print("mm-hostile: writable page-table abuse\n");
    CHECK_EQ(xt::install_traps(), 0);
    xt::set_trap_handler(14, on_page_fault);
    CHECK_EQ(xt::vm_assist(xen::VMASST_CMD_enable, xen::VMASST_TYPE_writable_pagetables), 0);
    const std::uint64_t w1 = window(1);
    volatile std::uint64_t* l1_entry =
        reinterpret_cast<volatile std::uint64_t*>(xt::pfn_to_va(xt::m2p(boot_l1_mfn(w1)))) + ((w1 >> 12) & 511);
    volatile std::uint64_t* l2_entry = reinterpret_cast<volatile std::uint64_t*>(xt::pfn_to_va(xt::m2p(boot_l2_mfn()))) + 400;
    volatile std::uint64_t* l4_entry = reinterpret_cast<volatile std::uint64_t*>(xt::start_info()->pt_base) + 300;
    const std::uint64_t before = *l1_entry;
    const std::uint64_t victim = g_victim_count ? g_victim_frames[0] : 0x200;
    CHECK(store_faults(l1_entry, (victim << 12) | P));                   // not ours
    CHECK(store_faults(l1_entry, (boot_l4_mfn() << 12) | P | RW));       // a table, writable
    CHECK(store_faults(l1_entry, (spare_mfn(2) << 12) | P | PCD));       // cache attributes
    CHECK(store_faults(l2_entry, 0));                                    // L2: never emulated
    CHECK(store_faults(l4_entry, (boot_l4_mfn() << 12) | P));            // L4: never emulated
    CHECK(store_faults(reinterpret_cast<volatile std::uint64_t*>(reinterpret_cast<std::uint64_t>(l1_entry) + 4), 0));
    CHECK_EQ(*l1_entry, before);
    CHECK_EQ(*l2_entry, 0ull);
    CHECK_EQ(g_page_faults, 6u);
}

}  // namespace

void guest_main(const xen::start_info*) {
    init();
    g_victim = static_cast<xen::domid_t>(cmdline_number("victim", 2));
    g_max_ram = static_cast<std::uint64_t>(xt::memory_op(xen::XENMEM_maximum_ram_page, nullptr));
    const long reservation = current_reservation();
    CHECK(wait_for_marker(READY_MAGIC, 60'000'000'000ull));
    find_victim_frames();
    test_foreign_frames();
    test_foreign_domain_argument();
    test_page_tables_writable();
    test_self_references();
    test_pin_rules();
    test_hypervisor_slots();
    test_batches();
    test_other_refusals();
    test_writable_page_table_abuse();
    // Still here, with what we had.
    CHECK_EQ(current_reservation(), reservation);
    CHECK(xt::xen_version(xen::XENVER_version) > 0);
    xt::print("mm-hostile: every attack refused; telling the victim\n");
    set_marker(DONE_MAGIC);
    // The victim replaces READY by CHECKED once it has seen DONE (and it may be gone already).
    const std::uint64_t start = now_ns();
    while (marker_present(READY_MAGIC) && now_ns() - start < 60'000'000'000ull) {
        xt::sched_yield();
    }
    CHECK(!marker_present(READY_MAGIC));
}
