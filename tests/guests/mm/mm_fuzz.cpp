// mm-fuzz: random memory hypercalls (mmu_update, mmuext_op, update_va_mapping, memory_op,
// emulated page-table stores), arguments biased toward edge values: our own page-table frames,
// another domain's frames, 0, ~0, the largest MFN, the hypervisor's L4 slots, random flags.
// `iterations=N` hypercalls; the hypervisor must survive them all (run it with mm_audit=N to
// have it check its invariants meanwhile). A victim (`victim=ID`) checks its memory afterwards.
//
// What the fuzzer never does, because it would only kill itself: change the entries that map
// its own image (boot L4 slot 511 and everything below it except the spare windows), switch its
// kernel base to anything but the bootstrap L4, give back or overwrite frames of its image.
#include "mm_util.hpp"
#include "xt/traps.hpp"

namespace {

using namespace mmt;

constexpr unsigned ARENA = 48;      // spare frames the fuzzer plays with (spare 0 .. ARENA-1)
constexpr unsigned FUZZ_WINDOWS = 16;

std::uint64_t g_arena[ARENA];       // current MFN behind each arena PFN (~0: given back)
std::uint64_t g_victim[32];
unsigned g_victim_count = 0;
std::uint64_t g_max_ram = 0;
std::uint64_t g_calls = 0;
std::uint64_t g_ok = 0;
std::uint64_t g_errors[128];        // by errno
unsigned g_faults = 0;

// The emulated-store path: a refused store to our own L1 reflects #PF; skip the 3-byte store.
bool on_page_fault(xt::TrapFrame& f) {
    ++g_faults;
    f.rip += 3;
    return true;
}
void store(volatile std::uint64_t* address, std::uint64_t value) {
    asm volatile(".byte 0x48, 0x89, 0x02" ::"a"(value), "d"(address) : "memory");
}

void record(long rc) {
    ++g_calls;
    if (rc >= 0) {
        ++g_ok;
    } else if (-rc < 128) {
        ++g_errors[-rc];
    } else {
        ++g_errors[0];
    }
}

std::uint64_t pick_frame(Random& r) {
    switch (r.below(14)) {
    case 0: case 1: case 2: case 3: case 4: {
        const std::uint64_t mfn = g_arena[r.below(ARENA)];
        return mfn == ~0ull ? 0 : mfn;
    }
    case 5: return g_victim_count ? g_victim[r.below(g_victim_count)] : 0x300;
    case 6: return boot_l4_mfn();
    case 7: return r.chance(2) ? boot_l3_mfn() : boot_l2_mfn();
    case 8: return boot_l1_mfn(window(0));
    case 9: {
        const std::uint64_t edges[] = {0, 1, 0x200, g_max_ram - 1, g_max_ram, g_max_ram + 1, 0xFFFFFFFFFFull,
                                       ~0ull >> 12, 0xfee00, 0xb8};
        return edges[r.below(sizeof(edges) / sizeof(edges[0]))];
    }
    case 10: return xt::p2m(r.below(xt::va_to_pfn(region_end())));  // one of our image's frames
    case 11: return r.below(g_max_ram + 16);
    case 12: return r.next() >> 24;
    default: return spare_mfn(ARENA + r.below(8));  // spare, untouched frames
    }
}

// A frame we may write into or give back: an arena frame, another domain's, or an edge value
// that is not ours. Never a frame of our image or a spare frame outside the arena.
std::uint64_t pick_target(Random& r) {
    switch (r.below(6)) {
    case 0: return g_victim_count ? g_victim[r.below(g_victim_count)] : 0x300;
    case 1: {
        const std::uint64_t edges[] = {0, 1, 0x200, g_max_ram - 1, g_max_ram, ~0ull >> 12};
        return edges[r.below(sizeof(edges) / sizeof(edges[0]))];
    }
    default: {
        const std::uint64_t mfn = g_arena[r.below(ARENA)];
        return mfn == ~0ull ? 0 : mfn;
    }
    }
}

std::uint64_t pick_flags(Random& r) {
    switch (r.below(6)) {
    case 0: return P;
    case 1: return P | RW | A | D;
    case 2: return P | RW;
    case 3: return 0;
    case 4: {
        const std::uint64_t bits[] = {P, RW, US, PWT, PCD, A, D, PS, G, 1ull << 9, GUEST_KERNEL, GNTTAB, NX};
        std::uint64_t f = 0;
        for (std::uint64_t b : bits) {
            f |= r.chance(3) ? b : 0;
        }
        return f;
    }
    default: return r.next() & ~FRAME_MASK;
    }
}

std::uint64_t pick_value(Random& r) {
    if (r.chance(16)) {
        return r.chance(2) ? ~0ull : r.next();
    }
    return (pick_frame(r) << 12 & FRAME_MASK) | pick_flags(r);
}

// The machine address of an entry we may change: anywhere in an arena frame, a guest or
// hypervisor slot of the bootstrap L4 other than ours (511), a spare window of the bootstrap L1,
// or something we do not own at all.
std::uint64_t pick_entry(Random& r) {
    switch (r.below(8)) {
    case 0: case 1: case 2: {
        const std::uint64_t mfn = g_arena[r.below(ARENA)];
        return ((mfn == ~0ull ? 0 : mfn) << 12) + r.below(512) * 8;
    }
    case 3: return (boot_l4_mfn() << 12) + (256 + r.below(255)) * 8;
    case 4: return boot_l1_entry_maddr(window(static_cast<unsigned>(r.below(FUZZ_WINDOWS))));
    case 5: return (pick_target(r) << 12) + r.below(512) * 8;
    case 6: return r.next() & ~7ull;  // (an own frame by chance: one in 2^40)
    default: return ((g_arena[r.below(ARENA)] & 0xFFFFFFFFFull) << 12) + (r.chance(2) ? 0 : 256 * 8 + r.below(16) * 8);
    }
}

std::uint64_t pick_pointer(Random& r, std::uint64_t good) {
    switch (r.below(10)) {
    case 0: return 0;
    case 1: return 0xffff830000000000ull + r.below(1 << 20) * 8;
    case 2: return 0xffff800000000000ull;
    case 3: return good + 1;
    case 4: return r.next();
    default: return good;
    }
}

void fuzz_mmu_update(Random& r) {
    static xen::mmu_update requests[200];
    const unsigned count = r.chance(64) ? 129 + static_cast<unsigned>(r.below(71)) : 1 + static_cast<unsigned>(r.below(4));
    for (unsigned i = 0; i < count; ++i) {
        std::uint64_t command = r.chance(8) ? r.below(8) : (r.chance(4) ? xen::MMU_PT_UPDATE_PRESERVE_AD : 0);
        std::uint64_t ptr = pick_entry(r);
        std::uint64_t val = pick_value(r);
        if (command == xen::MMU_MACHPHYS_UPDATE) {
            // Only arena or foreign frames: our image's M2P entries are how we read our tables.
            ptr = pick_target(r) << 12;
            val = r.chance(2) ? r.below(1 << 20) : r.next();
        }
        requests[i] = {ptr | command, val};
    }
    unsigned done = 0;
    const unsigned foreigndom = r.chance(16) ? static_cast<unsigned>(r.next()) : xen::DOMID_SELF;
    record(xt::mmu_update(reinterpret_cast<xen::mmu_update*>(pick_pointer(r, xt::handle(requests))), count,
                          r.chance(8) ? nullptr : &done, foreigndom));
}

void fuzz_mmuext_op(Random& r) {
    static xen::mmuext_op ops[4];
    static std::uint64_t mask = 1;
    const unsigned count = 1 + static_cast<unsigned>(r.below(4));
    for (unsigned i = 0; i < count; ++i) {
        xen::mmuext_op& op = ops[i];
        op = {};
        op.cmd = r.chance(32) ? static_cast<std::uint32_t>(r.next()) : static_cast<std::uint32_t>(r.below(22));
        op.arg1.mfn = pick_frame(r);
        op.arg2.src_mfn = r.chance(2) ? pick_frame(r) : xt::handle(&mask);
        switch (op.cmd) {
        case xen::MMUEXT_NEW_BASEPTR:
            // Only the bootstrap L4 (a reload) or something that cannot be a base.
            if (r.chance(2)) {
                op.arg1.mfn = boot_l4_mfn();
            } else if (op.arg1.mfn < g_max_ram && !(g_victim_count && op.arg1.mfn == g_victim[0])) {
                op.arg1.mfn = boot_l1_mfn(window(0));
            }
            break;
        case xen::MMUEXT_CLEAR_PAGE:
        case xen::MMUEXT_COPY_PAGE:
            op.arg1.mfn = pick_target(r);  // never into our image
            break;
        case xen::MMUEXT_INVLPG_LOCAL:
        case xen::MMUEXT_INVLPG_MULTI:
        case xen::MMUEXT_INVLPG_ALL:
        case xen::MMUEXT_SET_LDT:
            op.arg1.linear_addr = r.chance(2) ? window(static_cast<unsigned>(r.below(FUZZ_WINDOWS))) : r.next();
            op.arg2.nr_ents = r.chance(2) ? 0 : static_cast<std::uint32_t>(r.next());
            if (op.cmd == xen::MMUEXT_SET_LDT && !r.chance(4)) {
                op.arg2.nr_ents = 0;
            }
            break;
        default: break;
        }
    }
    unsigned done = 0;
    const unsigned foreigndom = r.chance(16) ? static_cast<unsigned>(r.next()) : xen::DOMID_SELF;
    record(xt::mmuext_op(reinterpret_cast<xen::mmuext_op*>(pick_pointer(r, xt::handle(ops))), count, &done, foreigndom));
}

void fuzz_update_va_mapping(Random& r) {
    static std::uint64_t mask = 1;
    std::uint64_t va;
    switch (r.below(6)) {
    case 0: va = r.next(); break;
    case 1: va = 0xffff800000000000ull + (r.next() & 0x7fffffffff000ull); break;
    default: va = window(static_cast<unsigned>(r.below(FUZZ_WINDOWS))); break;
    }
    std::uint64_t flags = r.below(8);
    if (r.chance(8)) {
        flags = (r.chance(2) ? xt::handle(&mask) : r.next()) | r.below(4);
    }
    if (r.chance(32)) {
        record(xt::hypercall(xen::HYPERVISOR_update_va_mapping_otherdomain, va, pick_value(r), flags,
                             r.chance(2) ? xen::DOMID_SELF : r.below(4)));
        return;
    }
    record(xt::update_va_mapping(va, pick_value(r), flags));
}

void fuzz_memory_op(Random& r) {
    static std::uint64_t extents[8];
    static std::uint8_t junk[64];
    xen::xen_memory_reservation res{};
    switch (r.below(6)) {
    case 0: {  // give back arena frames (or anything)
        const unsigned n = 1 + static_cast<unsigned>(r.below(3));
        for (unsigned i = 0; i < n; ++i) {
            extents[i] = pick_target(r);
        }
        res.extent_start = xt::handle(extents);
        res.nr_extents = n;
        res.domid = r.chance(8) ? static_cast<xen::domid_t>(2 + r.below(2)) : xen::DOMID_SELF;  // never our own id
        const long done = xt::memory_op(xen::XENMEM_decrease_reservation, &res);
        record(done);
        for (long i = 0; i < done && res.domid == xen::DOMID_SELF; ++i) {
            for (unsigned a = 0; a < ARENA; ++a) {
                if (g_arena[a] == extents[i]) {
                    g_arena[a] = ~0ull;
                }
            }
        }
        return;
    }
    case 1: {  // refill holes of the arena at their PFNs
        unsigned a = static_cast<unsigned>(r.below(ARENA));
        for (unsigned k = 0; k < ARENA && g_arena[a] != ~0ull; ++k) {
            a = (a + 1) % ARENA;
        }
        std::uint64_t mfn = 0;
        const long done = populate_one(spare_pfn(a), mfn);
        record(done);
        if (done == 1) {
            if (g_arena[a] == ~0ull) {
                g_arena[a] = mfn;
                set_p2m(spare_pfn(a), mfn);
            } else {
                // A second frame for a PFN that has one: give it straight back.
                record(decrease_one(mfn));
            }
        }
        return;
    }
    case 2: {  // increase_reservation / populate with odd arguments (bounded buffers)
        // Only our buffer or pointers nothing can be written through (a misaligned or random one
        // could make the hypervisor write frame numbers over our own memory).
        res.extent_start = r.chance(4) ? (r.chance(2) ? 0 : 0xffff830000000000ull) : xt::handle(extents);
        res.nr_extents = r.chance(4) ? r.next() : r.below(8);
        res.extent_order = r.chance(4) ? static_cast<std::uint32_t>(r.below(20)) : 0;
        res.mem_flags = r.chance(4) ? static_cast<std::uint32_t>(r.next()) : 0;
        res.domid = r.chance(4) ? static_cast<xen::domid_t>(r.next()) : xen::DOMID_SELF;
        if (res.extent_start == xt::handle(extents) && res.nr_extents > 8) {
            res.nr_extents = 8;
        }
        for (auto& e : extents) {
            e = r.chance(2) ? r.below(1 << 20) : r.next();
        }
        const std::uint32_t cmd = r.chance(2) ? xen::XENMEM_increase_reservation : xen::XENMEM_populate_physmap;
        const long done = xt::memory_op(cmd, pick_pointer(r, xt::handle(&res)) == xt::handle(&res) ? &res : nullptr);
        record(done);
        // Whatever we were given (at most a few frames, we are at max_pages) goes back.
        for (long i = 0; i < done && i < 8 && res.extent_start == xt::handle(extents); ++i) {
            record(decrease_one(extents[i]));
        }
        return;
    }
    default: {  // the queries and everything else, with junk arguments
        for (auto& b : junk) {
            b = static_cast<std::uint8_t>(r.next());
        }
        std::uint64_t cmd = r.below(30);
        if (cmd == xen::XENMEM_increase_reservation || cmd == xen::XENMEM_decrease_reservation ||
            cmd == xen::XENMEM_populate_physmap || cmd == xen::XENMEM_memory_map || cmd == xen::XENMEM_exchange ||
            cmd == xen::XENMEM_machphys_mfn_list) {
            cmd = xen::XENMEM_maximum_gpfn;  // these write through pointers inside the argument
        }
        if (r.chance(16)) {
            cmd |= r.next() << 6;  // a continuation extent nobody asked for
        }
        record(xt::hypercall(xen::HYPERVISOR_memory_op, cmd, pick_pointer(r, xt::handle(junk))));
        return;
    }
    }
}

void fuzz_pt_store(Random& r) {
    const std::uint64_t w = window(static_cast<unsigned>(r.below(FUZZ_WINDOWS)));
    volatile std::uint64_t* pte =
        reinterpret_cast<volatile std::uint64_t*>(xt::pfn_to_va(xt::m2p(boot_l1_mfn(w)))) + ((w >> 12) & 511);
    const unsigned before = g_faults;
    store(pte, pick_value(r));
    record(g_faults == before ? 0 : -14);
}

}  // namespace

void guest_main(const xen::start_info*) {
    init();
    const std::uint64_t iterations = cmdline_number("iterations", 100000);
    const std::uint64_t seed = cmdline_number("seed", 1);
    g_max_ram = static_cast<std::uint64_t>(xt::memory_op(xen::XENMEM_maximum_ram_page, nullptr));
    CHECK(spare_count() > ARENA + 16);
    CHECK_EQ(xt::install_traps(), 0);
    xt::set_trap_handler(14, on_page_fault);
    CHECK_EQ(xt::vm_assist(xen::VMASST_CMD_enable, xen::VMASST_TYPE_writable_pagetables), 0);
    for (unsigned a = 0; a < ARENA; ++a) {
        g_arena[a] = spare_mfn(a);
    }
    const long reservation = current_reservation();
    CHECK(wait_for_marker(READY_MAGIC, 120'000'000'000ull));
    for (std::uint64_t mfn = 0; mfn < g_max_ram && g_victim_count < 32; ++mfn) {
        const std::uint64_t pfn = xt::m2p(mfn);
        if (pfn != INVALID_M2P && pfn < (1ull << 32) && !own_frame(mfn)) {
            g_victim[g_victim_count++] = mfn;
        }
    }
    xt::print("mm-fuzz: {} iterations, seed {}, {} foreign frames known\n", iterations, seed, g_victim_count);

    Random r(seed);
    const std::uint64_t start = now_ns();
    while (g_calls < iterations) {
        const std::uint64_t kind = r.below(20);
        if (kind < 6) {
            fuzz_mmu_update(r);
        } else if (kind < 12) {
            fuzz_mmuext_op(r);
        } else if (kind < 16) {
            fuzz_update_va_mapping(r);
        } else if (kind < 19) {
            fuzz_memory_op(r);
        } else {
            fuzz_pt_store(r);
        }
        if (g_calls % 1'000'000 == 0 || (g_calls < 1'000'000 && g_calls % 100'000 == 0)) {
            xt::print("mm-fuzz: {} calls, {} ms\n", g_calls, (now_ns() - start) / 1'000'000);
        }
    }
    xt::print("mm-fuzz: {} hypercalls done in {} ms ({} succeeded, {} #PF from refused stores)\n", g_calls,
              (now_ns() - start) / 1'000'000, g_ok, g_faults);
    for (unsigned e = 0; e < 128; ++e) {
        if (g_errors[e]) {
            xt::print("mm-fuzz:   -{}: {}\n", e, g_errors[e]);
        }
    }
    // Still alive and in control of our memory: the bootstrap tables work, the reservation
    // is what we think it is.
    CHECK_EQ(mmuext_one(xen::MMUEXT_NEW_BASEPTR, boot_l4_mfn()), 0);
    long expected = reservation;
    for (unsigned a = 0; a < ARENA; ++a) {
        expected -= g_arena[a] == ~0ull;
    }
    CHECK_EQ(current_reservation(), expected);
    CHECK(xt::xen_version(xen::XENVER_version) > 0);
    set_marker(DONE_MAGIC);
    const std::uint64_t wait_start = now_ns();
    while (marker_present(READY_MAGIC) && now_ns() - wait_start < 120'000'000'000ull) {
        xt::sched_yield();
    }
    CHECK(!marker_present(READY_MAGIC));
}
