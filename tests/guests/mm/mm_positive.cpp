// mm-positive: everything a well-behaved PV kernel does with its memory works. Builds, pins,
// switches to and tears down its own page tables; writable page tables; update_va_mapping
// with every flag; MMU_MACHPHYS_UPDATE; shrinking and growing the reservation; the memory
// queries (pv-abi-core.md §5.3, §5.10, §5.12, §5.16, §5.21, §7.3-§7.7).
#include "mm_util.hpp"

namespace {

using namespace mmt;
using xen::Errno;

constexpr std::uint64_t PATTERN = 0x5eed'0000'0000'0000ull;

// Fills a frame (mapped RW at window k) with a recognisable pattern.
void fill(unsigned k, std::uint64_t mfn, std::uint64_t tag) {
    CHECK_EQ(map_window(k, mfn, true), 0);
    volatile std::uint64_t* p = window_ptr(k);
    for (unsigned i = 0; i < 512; ++i) {
        p[i] = PATTERN | (tag << 16) | i;
    }
}

std::uint64_t first_word_through(std::uint64_t va) { return *reinterpret_cast<volatile std::uint64_t*>(va); }

// Own tables: L4 -> L3 -> L2 -> L1 copies of the bootstrap path to the region, with the
// window-0 entry of the new L1 pointing at another frame, so we can tell which tree is live.
void test_own_page_tables() {
    xt::print("mm-positive: own page tables\n");
    const std::uint64_t l4 = spare_mfn(0), l3 = spare_mfn(1), l2 = spare_mfn(2), l1 = spare_mfn(3);
    const std::uint64_t user_l4 = spare_mfn(4);
    const std::uint64_t marker_new = spare_mfn(5), marker_old = spare_mfn(6);
    fill(1, marker_new, 1);
    fill(1, marker_old, 2);
    CHECK_EQ(map_window(0, marker_old, true), 0);
    CHECK_EQ(first_word_through(window(0)), PATTERN | (2ull << 16));

    static std::uint64_t entries[512];
    // Copy each bootstrap level (readable through the region) and redirect one entry.
    auto copy_level = [](std::uint64_t source_mfn) {
        CHECK_EQ(map_window(2, source_mfn, false), 0);
        for (unsigned i = 0; i < 512; ++i) {
            entries[i] = window_ptr(2)[i];
        }
    };
    const std::uint64_t w0 = window(0);
    copy_level(boot_l1_mfn(w0));
    entries[(w0 >> 12) & 511] = (marker_new << 12) | DATA;
    CHECK_EQ(write_table(l1, entries), 0);
    copy_level(boot_l2_mfn());
    entries[(w0 >> 21) & 511] = (l1 << 12) | P | RW | A | D;
    CHECK_EQ(write_table(l2, entries), 0);
    copy_level(boot_l3_mfn());
    entries[(w0 >> 30) & 511] = (l2 << 12) | P | RW | A | D;
    CHECK_EQ(write_table(l3, entries), 0);
    copy_level(boot_l4_mfn());
    for (unsigned i = 256; i < 272; ++i) {
        entries[i] = 0;  // the hypervisor's slots: ignored and overwritten at validation (§2.5)
    }
    entries[(w0 >> 39) & 511] = (l3 << 12) | P | RW | A | D;
    CHECK_EQ(write_table(l4, entries), 0);
    static const std::uint64_t empty[512] = {};
    CHECK_EQ(write_table(user_l4, empty), 0);

    // Pin bottom-up (each level validates; higher ones take references on the lower).
    CHECK_EQ(pin(1, l1), 0);
    CHECK_EQ(pin(2, l2), 0);
    CHECK_EQ(pin(3, l3), 0);
    CHECK_EQ(pin(4, l4), 0);
    CHECK_EQ(pin(4, user_l4), 0);
    // The hypervisor filled in its slots (§2.5): same as the bootstrap L4's.
    CHECK_EQ(map_window(2, l4, false), 0);
    CHECK_EQ(map_window(3, boot_l4_mfn(), false), 0);
    for (unsigned i = 256; i < 272; ++i) {
        CHECK_EQ(window_ptr(2)[i], window_ptr(3)[i]);
    }
    // A pinned table cannot be mapped writable (§7.3), but read-only is fine.
    CHECK_ERRNO(map_window(4, l1, true), Errno::EBUSY);

    // Switch (§5.21 NEW_BASEPTR): the window now shows the new marker.
    CHECK_EQ(mmuext_one(xen::MMUEXT_NEW_BASEPTR, l4), 0);
    CHECK_EQ(first_word_through(w0), PATTERN | (1ull << 16));
    CHECK_EQ(mmuext_one(xen::MMUEXT_NEW_USER_BASEPTR, user_l4), 0);
    // Still running: a hypercall and some stack work on the new tables.
    volatile std::uint64_t sum = 0;
    for (unsigned i = 0; i < 1000; ++i) {
        sum = sum + i;
    }
    CHECK_EQ(sum, 499500ull);
    CHECK(xt::xen_version(xen::XENVER_version) > 0);
    // update_va_mapping walks the *current* tables: it changes the new L1, not the bootstrap one.
    CHECK_EQ(xt::update_va_mapping(w0, (marker_old << 12) | DATA, xen::UVMF_INVLPG), 0);
    CHECK_EQ(first_word_through(w0), PATTERN | (2ull << 16));
    CHECK_EQ(xt::update_va_mapping(w0, (marker_new << 12) | DATA, xen::UVMF_INVLPG), 0);

    // A table in use as a base pointer cannot be freed even when unpinned.
    CHECK_EQ(unpin(user_l4), 0);
    CHECK_EQ(decrease_one(user_l4), 0);

    // Back to the bootstrap tables.
    CHECK_EQ(mmuext_one(xen::MMUEXT_NEW_USER_BASEPTR, 0), 0);
    CHECK_EQ(mmuext_one(xen::MMUEXT_NEW_BASEPTR, boot_l4_mfn()), 0);
    CHECK_EQ(first_word_through(w0), PATTERN | (2ull << 16));

    // Tear down: unpin top-down; every frame loses its type and is data again.
    CHECK_EQ(unpin(l4), 0);
    CHECK_EQ(unpin(l3), 0);
    CHECK_EQ(unpin(l2), 0);
    CHECK_EQ(unpin(l1), 0);
    CHECK_ERRNO(unpin(l1), Errno::EINVAL);
    const std::uint64_t reused[] = {l4, l3, l2, l1, user_l4};
    for (std::uint64_t mfn : reused) {
        CHECK_EQ(map_window(4, mfn, true), 0);
        window_ptr(4)[7] = 0x1234'5678 ^ mfn;
        CHECK_EQ(window_ptr(4)[7], 0x1234'5678 ^ mfn);
    }
    // Reused as data, a frame cannot become a table while mapped writable (§7.3) ...
    // user_l4 is all zeros again once the hypervisor's slots (written at validation) go.
    for (unsigned i = 0; i < 512; ++i) {
        window_ptr(4)[i] = 0;
    }
    CHECK_ERRNO(pin(1, user_l4), Errno::EINVAL);
    // ... and can once the writable mapping is gone (UVMF_NONE is enough: the hypervisor
    // flushes stale writable translations itself on the type change, §7.3).
    CHECK_EQ(xt::update_va_mapping(window(4), (marker_old << 12) | DATA, xen::UVMF_NONE), 0);
    CHECK_EQ(pin(1, user_l4), 0);
    CHECK_EQ(unpin(user_l4), 0);
}

// §5.16/§7.6: with writable page tables, plain stores, xchg and lock cmpxchg to our own L1
// entries are emulated and validated.
void test_writable_page_tables() {
    xt::print("mm-positive: writable page tables\n");
    CHECK_EQ(xt::vm_assist(xen::VMASST_CMD_enable, xen::VMASST_TYPE_writable_pagetables), 0);
    const std::uint64_t frame_a = spare_mfn(7), frame_b = spare_mfn(8), frame_c = spare_mfn(9);
    fill(1, frame_a, 0xa);
    fill(1, frame_b, 0xb);
    fill(1, frame_c, 0xc);
    CHECK_EQ(map_window(1, frame_a, false), 0);  // window 1 stops mapping frame_c writable
    const std::uint64_t w0 = window(0);
    const std::uint64_t l1 = boot_l1_mfn(w0);
    // The bootstrap L1 is mapped read-only inside the region (§2 item 5): write through that.
    volatile std::uint64_t* pte = reinterpret_cast<volatile std::uint64_t*>(xt::pfn_to_va(xt::m2p(l1))) + ((w0 >> 12) & 511);
    auto flush = [w0] { CHECK_EQ(mmuext_one(xen::MMUEXT_INVLPG_LOCAL, w0), 0); };
    auto tag_at_window = [w0] { return (first_word_through(w0) >> 16) & 0xffff; };

    *pte = (frame_a << 12) | DATA;  // mov
    flush();
    CHECK_EQ(tag_at_window(), 0xaull);
    CHECK_EQ(frame_of(*pte), frame_a);
    // The stored value carries the hypervisor's adjustments (§7.4): US and bit 52 for a kernel
    // mapping.
    CHECK((*pte & (US | GUEST_KERNEL)) == (US | GUEST_KERNEL));

    const std::uint64_t old = __atomic_exchange_n(pte, (frame_b << 12) | DATA, __ATOMIC_SEQ_CST);  // xchg
    CHECK_EQ(frame_of(old), frame_a);
    flush();
    CHECK_EQ(tag_at_window(), 0xbull);

    std::uint64_t expected = *pte;
    CHECK(__atomic_compare_exchange_n(pte, &expected, (frame_c << 12) | DATA, false, __ATOMIC_SEQ_CST,
                                      __ATOMIC_SEQ_CST));  // lock cmpxchg, succeeding
    flush();
    CHECK_EQ(tag_at_window(), 0xcull);
    std::uint64_t wrong = (frame_a << 12) | DATA;
    CHECK(!__atomic_compare_exchange_n(pte, &wrong, (frame_b << 12) | DATA, false, __ATOMIC_SEQ_CST,
                                       __ATOMIC_SEQ_CST));  // lock cmpxchg, failing
    CHECK_EQ(frame_of(wrong), frame_c);
    flush();
    CHECK_EQ(tag_at_window(), 0xcull);

    // Locked read-modify-write forms Linux uses on PTEs (§7.6).
    __atomic_fetch_and(pte, ~RW, __ATOMIC_SEQ_CST);  // lock and
    CHECK_EQ(*pte & RW, 0ull);
    __atomic_fetch_or(pte, RW, __ATOMIC_SEQ_CST);  // lock or
    CHECK_EQ(*pte & RW, RW);
    asm volatile("lock btrq $1, %0" : "+m"(*pte)::"memory", "cc");
    CHECK_EQ(*pte & RW, 0ull);
    asm volatile("lock btsq $1, %0" : "+m"(*pte)::"memory", "cc");
    CHECK_EQ(*pte & RW, RW);
    flush();
    CHECK_EQ(tag_at_window(), 0xcull);
    window_ptr(0)[1] = 42;  // writable again
    CHECK_EQ(window_ptr(0)[1], 42ull);

    // The writable mapping made frame_c Writable-typed: it cannot be pinned until unmapped by a
    // plain store of a not-present entry.
    CHECK_ERRNO(pin(1, frame_c), Errno::EINVAL);
    *pte = 0;
    flush();
    CHECK_EQ(mmuext_one(xen::MMUEXT_CLEAR_PAGE, frame_c), 0);
    CHECK_EQ(pin(1, frame_c), 0);  // an all-zero L1
    CHECK_EQ(unpin(frame_c), 0);
    *pte = (frame_a << 12) | DATA;
    flush();
    CHECK_EQ(tag_at_window(), 0xaull);
}

// §5.10: update_va_mapping with every flush flag, each remap visible right after.
void test_update_va_mapping_flags() {
    xt::print("mm-positive: update_va_mapping flags\n");
    const std::uint64_t frames[2] = {spare_mfn(7), spare_mfn(8)};  // tags 0xa, 0xb
    const std::uint64_t w0 = window(0);
    static std::uint64_t vcpu_mask = 1;  // vCPU 0
    const std::uint64_t flags[] = {
        xen::UVMF_NONE,
        xen::UVMF_TLB_FLUSH | xen::UVMF_LOCAL,
        xen::UVMF_INVLPG | xen::UVMF_LOCAL,
        xen::UVMF_TLB_FLUSH | xen::UVMF_ALL,
        xen::UVMF_INVLPG | xen::UVMF_ALL,
        xen::UVMF_TLB_FLUSH | xt::handle(&vcpu_mask),  // UVMF_MULTI: a vCPU bitmap pointer
        xen::UVMF_INVLPG | xt::handle(&vcpu_mask),
    };
    unsigned n = 0;
    for (std::uint64_t f : flags) {
        const std::uint64_t frame = frames[n++ & 1];
        CHECK_EQ(xt::update_va_mapping(w0, (frame << 12) | DATA, f), 0);
        if (f == xen::UVMF_NONE) {
            CHECK_EQ(mmuext_one(xen::MMUEXT_TLB_FLUSH_LOCAL, 0), 0);  // our job then (§7.8)
        }
        CHECK_EQ(frame_of(boot_pte(w0)), frame);
        CHECK_EQ((first_word_through(w0) >> 16) & 0xffff, frame == frames[0] ? 0xaull : 0xbull);
    }
    // Every other flush op of mmuext_op (§5.21), in one batch.
    xen::mmuext_op ops[6] = {};
    ops[0].cmd = xen::MMUEXT_TLB_FLUSH_LOCAL;
    ops[1].cmd = xen::MMUEXT_INVLPG_LOCAL, ops[1].arg1.linear_addr = w0;
    ops[2].cmd = xen::MMUEXT_TLB_FLUSH_MULTI, ops[2].arg2.vcpumask = xt::handle(&vcpu_mask);
    ops[3].cmd = xen::MMUEXT_INVLPG_MULTI, ops[3].arg1.linear_addr = w0, ops[3].arg2.vcpumask = xt::handle(&vcpu_mask);
    ops[4].cmd = xen::MMUEXT_TLB_FLUSH_ALL;
    ops[5].cmd = xen::MMUEXT_INVLPG_ALL, ops[5].arg1.linear_addr = w0;
    unsigned done = 0;
    CHECK_EQ(xt::mmuext_op(ops, 6, &done, xen::DOMID_SELF), 0);
    CHECK_EQ(done, 6u);
    // SET_LDT with no entries (what Linux does).
    xen::mmuext_op ldt{};
    ldt.cmd = xen::MMUEXT_SET_LDT;
    CHECK_EQ(xt::mmuext_op(&ldt, 1, nullptr, xen::DOMID_SELF), 0);
    // PRESERVE_AD through mmu_update keeps the A/D bits the entry has.
    const std::uint64_t maddr = boot_l1_entry_maddr(w0);
    CHECK_EQ(mmu_one(maddr | xen::MMU_PT_UPDATE_PRESERVE_AD, (frames[0] << 12) | P | RW), 0);
    CHECK((boot_pte(w0) & (A | D)) == (A | D));
    CHECK_EQ(mmu_one(maddr | xen::MMU_NORMAL_PT_UPDATE, (frames[1] << 12) | P | RW), 0);
    CHECK_EQ(boot_pte(w0) & D, 0ull);
    CHECK_EQ(xt::update_va_mapping(w0, (frames[0] << 12) | DATA, xen::UVMF_INVLPG), 0);
}

// §5.3 MMU_MACHPHYS_UPDATE: we maintain our own M2P entries.
void test_machphys_update() {
    xt::print("mm-positive: MMU_MACHPHYS_UPDATE\n");
    const std::uint64_t pfn = spare_pfn(10), mfn = spare_mfn(10);
    CHECK_EQ(xt::m2p(mfn), pfn);
    CHECK_EQ(mmu_one((mfn << 12) | xen::MMU_MACHPHYS_UPDATE, 0x123456), 0);
    CHECK_EQ(xt::m2p(mfn), 0x123456ull);
    CHECK_EQ(mmu_one((mfn << 12) | xen::MMU_MACHPHYS_UPDATE, pfn), 0);
    CHECK_EQ(xt::m2p(mfn), pfn);
}

// §5.12: shrink and grow the reservation; the queries.
void test_reservation() {
    xt::print("mm-positive: reservation\n");
    const xen::start_info* si = xt::start_info();
    xen::xen_memory_domain self{xen::DOMID_SELF};
    const long start = current_reservation();
    CHECK_EQ(start, static_cast<long>(si->nr_pages));
    CHECK_EQ(xt::memory_op(xen::XENMEM_maximum_reservation, &self), static_cast<long>(si->nr_pages));

    // Give back two spare frames.
    const std::uint64_t pfns[2] = {spare_pfn(20), spare_pfn(21)};
    std::uint64_t extents[2] = {spare_mfn(20), spare_mfn(21)};
    xen::xen_memory_reservation r{};
    r.extent_start = xt::handle(extents);
    r.nr_extents = 2;
    r.domid = xen::DOMID_SELF;
    CHECK_EQ(xt::memory_op(xen::XENMEM_decrease_reservation, &r), 2);
    CHECK_EQ(current_reservation(), start - 2);
    CHECK_EQ(xt::m2p(extents[0]), INVALID_M2P);
    CHECK_EQ(xt::m2p(extents[1]), INVALID_M2P);
    // Gone means gone: mapping a frame we gave back is refused.
    CHECK(map_window(5, extents[0], false) != 0);
    set_p2m(pfns[0], ~0ull);
    set_p2m(pfns[1], ~0ull);

    // populate_physmap: a frame at a PFN we name, M2P set by the hypervisor (§5.12.1).
    std::uint64_t mfn = 0;
    CHECK_EQ(populate_one(pfns[0], mfn), 1);
    CHECK_EQ(xt::m2p(mfn), pfns[0]);
    set_p2m(pfns[0], mfn);
    CHECK_EQ(current_reservation(), start - 1);
    CHECK_EQ(map_window(5, mfn, true), 0);
    CHECK_EQ(window_ptr(5)[0], 0ull);  // scrubbed
    window_ptr(5)[0] = 77;
    // increase_reservation: any frame; we record where we put it.
    std::uint64_t extra = 0;
    r.extent_start = xt::handle(&extra);
    r.nr_extents = 1;
    CHECK_EQ(xt::memory_op(xen::XENMEM_increase_reservation, &r), 1);
    CHECK(extra != 0);
    CHECK_EQ(current_reservation(), start);
    CHECK_EQ(mmu_one((extra << 12) | xen::MMU_MACHPHYS_UPDATE, pfns[1]), 0);
    set_p2m(pfns[1], extra);
    CHECK(own_frame(extra));
    // At max_pages nothing more is handed out (a short count, not an errno).
    CHECK_EQ(xt::memory_op(xen::XENMEM_increase_reservation, &r), 0);
    CHECK_EQ(current_reservation(), start);
    CHECK_EQ(map_window(5, spare_mfn(7), true), 0);

    // The queries.
    const long max_ram = xt::memory_op(xen::XENMEM_maximum_ram_page, nullptr);
    CHECK(max_ram > 0);
    CHECK(static_cast<std::uint64_t>(max_ram) > boot_l4_mfn());
    xen::xen_machphys_mapping mapping{};
    CHECK_EQ(xt::memory_op(xen::XENMEM_machphys_mapping, &mapping), 0);
    CHECK_EQ(mapping.v_start, 0xFFFF800000000000ull);
    CHECK(mapping.v_end > mapping.v_start && mapping.v_end <= 0xFFFF804000000000ull);
    CHECK(mapping.max_mfn >= static_cast<std::uint64_t>(max_ram) - 1);
    CHECK((mapping.v_end - mapping.v_start) / 8 >= mapping.max_mfn);
    CHECK_EQ(xt::m2p(boot_l4_mfn()), xt::va_to_pfn(si->pt_base));  // the RO M2P is readable
    xen::e820_entry map[4] = {};
    xen::xen_memory_map request{4, 0, xt::handle(map)};
    CHECK_EQ(xt::memory_op(xen::XENMEM_memory_map, &request), 0);
    CHECK_EQ(request.nr_entries, 1u);
    CHECK_EQ(map[0].addr, 0ull);
    CHECK(map[0].size >= si->nr_pages * 4096);
    CHECK_EQ(map[0].type, xen::E820_RAM);
}

}  // namespace

void guest_main(const xen::start_info*) {
    mmt::init();
    CHECK(mmt::spare_count() >= 64);
    test_own_page_tables();
    test_writable_page_tables();
    test_update_va_mapping_flags();
    test_machphys_update();
    test_reservation();
}
