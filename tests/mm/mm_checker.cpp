// The independent invariant checker for the PV memory core (see mm_fixture.hpp).
#include <sstream>

#include "mm_fixture.hpp"

namespace xenolith::test {

namespace {

// Own copies of the ABI bits (pv-abi-core.md §7.4), so a wrong constant in the core shows up.
constexpr std::uint64_t P = 1, RW = 2, US = 4, PWT = 8, PCD = 0x10, A = 0x20, PS_PAT = 0x80, G = 0x100;
constexpr std::uint64_t GUEST_KERNEL = 1ull << 52, GNTTAB = 1ull << 62;
constexpr std::uint64_t ADDR = 0x000FFFFFFFFFF000ull;

int level_of(PageType t) {
    switch (t) {
    case PageType::L1: return 1;
    case PageType::L2: return 2;
    case PageType::L3: return 3;
    case PageType::L4: return 4;
    default: return 0;
    }
}
PageType table_type(int level) { return static_cast<PageType>(level); }

const char* type_name(PageType t) {
    switch (t) {
    case PageType::None: return "none";
    case PageType::L1: return "L1";
    case PageType::L2: return "L2";
    case PageType::L3: return "L3";
    case PageType::L4: return "L4";
    case PageType::SegDesc: return "segdesc";
    case PageType::Writable: return "writable";
    }
    return "?";
}

struct Expected {
    std::uint64_t count = 0;
    std::uint64_t type_count = 0;
    std::int64_t linear = 0;
    bool holds_linear = false;   // has linear entries to other tables
    bool linear_target = false;  // is pointed at by linear entries
    bool writably_mapped = false;
    bool type_conflict = false;
    PageType type = PageType::None;
};

}  // namespace

std::vector<std::string> check_world(MmWorld& world) {
    std::vector<std::string> bad;
    auto report = [&](auto&&... parts) {
        std::ostringstream line;
        (line << ... << parts);
        bad.push_back(line.str());
    };
    FakeFrames& mem = world.memory;
    const std::uint64_t n = mem.frame_count();
    std::vector<Expected> exp(n);
    const auto hyp = test_hypervisor_slots();

    auto require_type = [&](std::uint64_t mfn, PageType t) {
        Expected& e = exp[mfn];
        if (e.type_count != 0 && e.type != t)
            e.type_conflict = true;
        e.type = t;
        ++e.type_count;
    };

    for (auto [mfn, level] : world.ledger.pins) {
        exp[mfn].count++;
        require_type(mfn, level);
    }
    for (std::uint64_t mfn : world.ledger.general)
        exp[mfn].count++;
    for (auto [mfn, type] : world.ledger.typed) {
        exp[mfn].count++;
        require_type(mfn, type);
    }

    for (std::uint64_t t = 0; t < n; ++t) {
        const PageState& table = mem.page(t);
        int level = level_of(table.type);
        if (level == 0 || table.type_count == 0)
            continue;
        if (!table.validated())
            report("table ", t, " has type ", type_name(table.type), " in use but is not validated");
        if (!table.is_domain_owned()) {
            report("table ", t, " is not owned by a domain");
            continue;
        }
        DomainId d = table.domain();
        bool privileged = world.policy.privileged.count(d) != 0;
        bool io = world.policy.io.count(d) != 0;
        for (unsigned i = 0; i < 512; ++i) {
            std::uint64_t e = mem.entry(t, i);
            if (level == 4 && i >= 256 && i < 272) {
                if (e != hyp[i - 256])
                    report("L4 ", t, " slot ", i, " is ", e, " not the hypervisor's ", hyp[i - 256]);
                continue;
            }
            if ((e & P) == 0)
                continue;
            std::uint64_t m = (e & ADDR) >> 12;
            // Flags allowed at this level, and the hypervisor's adjustments applied (§7.4).
            if ((e & US) == 0)
                report("entry ", t, "[", i, "] lacks US");
            if (level == 1) {
                if ((e & GNTTAB) != 0 || (!io && (e & (PWT | PCD | PS_PAT)) != 0))
                    report("L1 entry ", t, "[", i, "] has disallowed flags ", e);
                if ((e & GUEST_KERNEL) == 0 && (e & G) == 0)
                    report("L1 user entry ", t, "[", i, "] not global");
            } else if ((e & (PWT | PCD | PS_PAT | G)) != 0) {
                report("L", level, " entry ", t, "[", i, "] has disallowed flags ", e);
            }
            if (level == 4 && (e & A) == 0)
                report("L4 entry ", t, "[", i, "] lacks A");

            if (level == 1) {
                if (m >= n || mem.page(m).owner == PageState::kOwnerIo) {
                    if (!io)
                        report("d", d, " maps MMIO ", m, " without permission from ", t, "[", i, "]");
                    continue;
                }
                const PageState& target = mem.page(m);
                if (!target.is_domain_owned()) {
                    report("L1 ", t, "[", i, "] maps frame ", m, " owned by nobody (owner code ", target.owner, ")");
                    continue;
                }
                if (target.domain() != d && !privileged)
                    report("unprivileged d", d, " maps d", target.domain(), "'s frame ", m, " from ", t, "[", i, "]");
                exp[m].count++;
                if ((e & RW) != 0) {
                    require_type(m, PageType::Writable);
                    exp[m].writably_mapped = true;
                }
                continue;
            }
            if (m >= n) {
                report("L", level, " ", t, "[", i, "] points outside RAM: ", m);
                continue;
            }
            if (!mem.page(m).owned_by(d))
                report("L", level, " ", t, "[", i, "] points at frame ", m, " not owned by d", d);
            if (m == t) {
                if ((e & RW) != 0)
                    report("writable self-reference in ", t, "[", i, "]");
                continue;
            }
            exp[m].count++;
            if (mem.page(m).type == table.type) {
                // Linear entry (§7.5): read-only, one level only.
                if ((e & RW) != 0)
                    report("writable linear entry ", t, "[", i, "] -> ", m);
                require_type(m, table.type);
                exp[t].linear++;
                exp[t].holds_linear = true;
                exp[m].linear--;
                exp[m].linear_target = true;
            } else {
                require_type(m, table_type(level - 1));
            }
        }
    }

    for (std::uint64_t f = 0; f < n; ++f) {
        const PageState& s = mem.page(f);
        const Expected& e = exp[f];
        if (s.count != e.count)
            report("frame ", f, ": count ", s.count, " expected ", e.count);
        if (s.type_count != e.type_count)
            report("frame ", f, ": type count ", s.type_count, " expected ", e.type_count);
        if (s.linear_count != e.linear)
            report("frame ", f, ": linear count ", s.linear_count, " expected ", e.linear);
        if (e.type_conflict)
            report("frame ", f, " is wanted as two types at once");
        if (e.type_count != 0 && s.type != e.type)
            report("frame ", f, ": type ", type_name(s.type), " expected ", type_name(e.type));
        if (s.type_count == 0 && (s.type != PageType::None || s.validated() || s.pinned()))
            report("frame ", f, ": untyped but type ", type_name(s.type), " flags ", int(s.flags));
        if (e.writably_mapped && (is_page_table_type(s.type) || s.type == PageType::SegDesc))
            report("frame ", f, " is a ", type_name(s.type), " and writably mapped");
        if (e.holds_linear && e.linear_target)
            report("frame ", f, " both holds linear entries and is a linear target");
        if (s.pinned() != (world.ledger.pins.count(f) != 0))
            report("frame ", f, ": pinned flag ", s.pinned(), " disagrees with the ledger");
        if (s.type_count > s.count)
            report("frame ", f, ": more type references than references");
        if (s.is_free() && (s.count != 0 || s.flags != 0 || s.type != PageType::None))
            report("free frame ", f, " has state");
    }
    if (world.diag.count() != 0)
        report("core reported: ", world.diag.all());
    return bad;
}

}  // namespace xenolith::test
