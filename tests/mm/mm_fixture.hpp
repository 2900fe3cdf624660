// Host-test fixture for the PV memory core: a fake frame memory, a configurable policy, and an
// independent checker that recomputes every count from the memory contents.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "../host/test_support.hpp"
#include "mm/frame_info.hpp"
#include "mm/guest_frames.hpp"
#include "mm/page_ref.hpp"
#include "mm/pt_validate.hpp"

namespace xenolith::test {

class FakeFrames final : public GuestFrames {
public:
    explicit FakeFrames(std::size_t frames) : m_info(frames), m_memory(frames * kEntriesPerFrame, 0) {}

    std::uint64_t frame_count() const override { return m_info.size(); }
    FrameInfo& info(std::uint64_t mfn) override { return m_info.at(mfn); }
    std::uint64_t read_entry(std::uint64_t mfn, unsigned index) const override { return m_memory.at(slot(mfn, index)); }
    void write_entry(std::uint64_t mfn, unsigned index, std::uint64_t value) override {
        m_memory.at(slot(mfn, index)) = value;
    }
    std::uint64_t compare_exchange_entry(std::uint64_t mfn, unsigned index, std::uint64_t expected,
                                         std::uint64_t desired) override {
        std::uint64_t& cell = m_memory.at(slot(mfn, index));
        if (inject_hardware_bits != 0) {
            // Pretend the MMU set A/D bits just before the update.
            cell |= inject_hardware_bits;
            inject_hardware_bits = 0;
        }
        std::uint64_t seen = cell;
        if (seen == expected)
            cell = desired;
        return seen;
    }
    void flush_stale_writable(std::uint64_t mfn) override { flushes.push_back(mfn); }
    void note_written(std::uint64_t mfn) override { written_notes.insert(mfn); }

    std::uint64_t entry(std::uint64_t mfn, unsigned index) const { return read_entry(mfn, index); }
    void set(std::uint64_t mfn, unsigned index, std::uint64_t value) { write_entry(mfn, index, value); }
    void zero(std::uint64_t mfn) {
        for (unsigned i = 0; i < kEntriesPerFrame; ++i)
            write_entry(mfn, i, 0);
    }
    const std::vector<std::uint64_t>& memory() const { return m_memory; }
    const std::vector<FrameInfo>& infos() const { return m_info; }

    std::uint64_t inject_hardware_bits = 0;
    std::vector<std::uint64_t> flushes;
    std::set<std::uint64_t> written_notes;  // note_written() calls (log-dirty marking points)

private:
    static std::size_t slot(std::uint64_t mfn, unsigned index) { return mfn * kEntriesPerFrame + index; }
    std::vector<FrameInfo> m_info;
    std::vector<std::uint64_t> m_memory;
};

class TestPolicy final : public MappingPolicy {
public:
    bool may_map_foreign(DomainId mapper, DomainId) const override { return privileged.count(mapper) != 0; }
    bool io_capable(DomainId domain) const override { return io.count(domain) != 0; }
    bool may_map_io(DomainId domain, std::uint64_t) const override { return io.count(domain) != 0; }
    bool descriptor_page_ok(GuestFrames&, std::uint64_t) const override { return accept_descriptors; }

    std::set<DomainId> privileged;
    std::set<DomainId> io;
    bool accept_descriptors = true;
};

inline PageTableValidator::HypervisorSlots test_hypervisor_slots() {
    PageTableValidator::HypervisorSlots slots{};
    // Recognisable values pointing far outside the fake memory (the hypervisor's own frames).
    for (unsigned i = 0; i < slots.size(); ++i)
        slots[i] = (0x7000000ull + i) << 12 | 0x63;
    return slots;
}

// References the test itself holds (what the hypervisor would hold for CR3, vcpu_info, ...).
struct Ledger {
    std::map<std::uint64_t, PageType> pins;
    std::multiset<std::uint64_t> general;                       // get_page
    std::multiset<std::pair<std::uint64_t, PageType>> typed;    // get_page_and_type
};

// The whole world: frames, policy, core objects and the test's own references.
struct MmWorld {
    explicit MmWorld(std::size_t frames)
        : memory(frames), refs(memory, diag), validator(refs, policy, test_hypervisor_slots()) {}

    FakeFrames memory;
    CollectingDiagnostics diag;
    TestPolicy policy;
    PageRefs refs;
    PageTableValidator validator;
    Ledger ledger;

    PageState& state(std::uint64_t mfn) { return memory.page(mfn); }
};

// Two metadata snapshots are equal. kStaleWritable is left out: it only asks for a TLB flush
// before the next type change, and a refused operation may leave it set after taking and
// dropping a writable reference (an extra flush, never a missing one).
inline bool same_states(const std::vector<PageState>& a, const std::vector<PageState>& b) {
    if (a.size() != b.size())
        return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        auto flags = [](const PageState& s) { return s.flags & ~PageState::kStaleWritable; };
        if (a[i].count != b[i].count || a[i].type_count != b[i].type_count || a[i].owner != b[i].owner ||
            a[i].type != b[i].type || flags(a[i]) != flags(b[i]) || a[i].linear_count != b[i].linear_count)
            return false;
    }
    return true;
}

// Recompute from scratch, by walking the fake memory, what every count must be and check the
// safety invariants. Deliberately shares no code with the core (own bit constants, own rules
// straight from pv-abi-core.md §2.5, §7.3-§7.5). Returns one line per violation.
std::vector<std::string> check_world(MmWorld& world);

}  // namespace xenolith::test
