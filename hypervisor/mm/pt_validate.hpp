// PageTableValidator: validation of guest page-table frames and of updates to their entries (PV).
#pragma once

#include <array>
#include <cstdint>

#include "lib/result.hpp"
#include "mm/frame_info.hpp"
#include "mm/guest_frames.hpp"
#include "mm/page_ref.hpp"

namespace xenolith {

// x86-64 page-table entry bits as the PV ABI uses them (pv-abi-core.md §7.4).
namespace pte {
inline constexpr std::uint64_t kPresent = 1ull << 0;
inline constexpr std::uint64_t kWritable = 1ull << 1;
inline constexpr std::uint64_t kUser = 1ull << 2;
inline constexpr std::uint64_t kWriteThrough = 1ull << 3;  // PWT
inline constexpr std::uint64_t kCacheDisable = 1ull << 4;  // PCD
inline constexpr std::uint64_t kAccessed = 1ull << 5;
inline constexpr std::uint64_t kDirty = 1ull << 6;
inline constexpr std::uint64_t kPat = 1ull << 7;        // in L1 entries
inline constexpr std::uint64_t kLargePage = 1ull << 7;  // PS, in L2/L3 entries
inline constexpr std::uint64_t kGlobal = 1ull << 8;
inline constexpr std::uint64_t kAvailable = 7ull << 9;
inline constexpr std::uint64_t kGuestKernel = 1ull << 52;  // Xen's _PAGE_GUEST_KERNEL (§7.4)
inline constexpr std::uint64_t kGrantTable = 1ull << 62;   // Xen's _PAGE_GNTTAB: grant code only
inline constexpr std::uint64_t kNoExecute = 1ull << 63;
inline constexpr std::uint64_t kFrameMask = 0x000F'FFFF'FFFF'F000ull;  // bits 12-51

constexpr bool present(std::uint64_t entry) { return (entry & kPresent) != 0; }
constexpr bool writable(std::uint64_t entry) { return (entry & kWritable) != 0; }
constexpr std::uint64_t frame(std::uint64_t entry) { return (entry & kFrameMask) >> 12; }
constexpr std::uint64_t make(std::uint64_t mfn, std::uint64_t flags) { return ((mfn << 12) & kFrameMask) | flags; }

// Flag bits refused in present entries (§7.4): PWT/PCD/PAT only for I/O-capable domains and
// never the grant bit at L1; no cache attributes, no superpages (PS) and no G above L1.
inline constexpr std::uint64_t kL1Disallowed = kGrantTable;
inline constexpr std::uint64_t kL1CacheAttributes = kWriteThrough | kCacheDisable | kPat;
inline constexpr std::uint64_t kUpperDisallowed = kWriteThrough | kCacheDisable | kLargePage | kGlobal;
}  // namespace pte

// Who may map what: the domain layer answers, the validator asks.
class MappingPolicy {
public:
    // May `mapper`'s page tables map a frame owned by `owner` (owner != mapper)? Only privileged
    // domains (dom0, device models); §5.3 foreign-domain argument, §7.9.
    virtual bool may_map_foreign(DomainId mapper, DomainId owner) const = 0;
    // Does `domain` have I/O memory/port permissions (PWT/PCD/PAT allowed in its L1 entries)?
    virtual bool io_capable(DomainId domain) const = 0;
    // May `domain` map the non-RAM frame `mfn` (beyond the frame table, or owned by DOMID_IO)?
    virtual bool may_map_io(DomainId domain, std::uint64_t mfn) const = 0;
    // Are the descriptors in `mfn` acceptable for a GDT/LDT frame (§5.4)? Decided by the
    // descriptor code; the validator only routes the PageType::SegDesc type change there.
    virtual bool descriptor_page_ok(GuestFrames& frames, std::uint64_t mfn) const = 0;

protected:
    ~MappingPolicy() = default;
};

// The two domains of an entry update (§5.3 `foreigndom`): whose tables are modified, and who
// must own the data frames new L1 entries map (== pt_owner for DOMID_SELF). The hypercall layer
// resolves DOMID_SELF and checks that the caller may act for both.
struct UpdateContext {
    DomainId pt_owner;
    DomainId data_owner;
};

// Validates page-table frames when they take a page-table type (promotion) and releases what
// their entries hold when they lose it (demotion), for PageRefs; applies single-entry updates
// with mmu_update semantics. Every operation checks everything first and changes nothing when
// it fails (see docs/memory.md for the one cosmetic exception: the US/G adjustments of lower
// tables validated during a promotion that then failed stay written).
class PageTableValidator final : public TypeValidator {
public:
    static constexpr unsigned kEntries = GuestFrames::kEntriesPerFrame;
    static constexpr unsigned kHypervisorFirstSlot = 256;  // §2.5: L4 slots 256-271 are ours
    static constexpr unsigned kHypervisorSlotCount = 16;
    using HypervisorSlots = std::array<std::uint64_t, kHypervisorSlotCount>;

    // Attaches itself to `refs`. `hypervisor_slots` are the entries every validated L4 gets in
    // slots 256-271 (the hypervisor decides what they are, e.g. slot 256 blank until the L4 is
    // installed as a kernel base pointer in non-strict M2P mode, §2.5).
    PageTableValidator(PageRefs& refs, const MappingPolicy& policy, const HypervisorSlots& hypervisor_slots);

    static bool is_guest_l4_slot(unsigned index) {
        return index < kHypervisorFirstSlot || index >= kHypervisorFirstSlot + kHypervisorSlotCount;
    }

    // TypeValidator: validate all present entries of a table, taking their references (lower
    // tables are validated recursively), then write the adjusted entries and, for an L4, the
    // hypervisor slots. On failure every reference taken is dropped again.
    Result<void> promote(std::uint64_t mfn, PageType type) override;
    void demote(std::uint64_t mfn, PageType type) override;

    // mmu_update MMU_NORMAL_PT_UPDATE / MMU_PT_UPDATE_PRESERVE_AD on entry `index` of
    // `table_mfn` (§5.3): dispatch on the table's type. Validated L1-L4 tables go through
    // mod_entry; a frame with no type or the writable type gets a plain write; anything else
    // (descriptor pages, a table still being validated) is EINVAL, as are an out-of-range frame or
    // index and a frame not owned by ctx.pt_owner.
    Result<void> update_entry(const UpdateContext& ctx, std::uint64_t table_mfn, unsigned index, std::uint64_t value,
                              bool preserve_ad);

    // mod_l1_entry .. mod_l4_entry: the table must be a validated table of `level`. Validate the
    // new entry, take its references, store it (preserve_ad ORs in the A/D bits the entry has),
    // then drop the old entry's references. Errors: EINVAL (reserved flags, hypervisor L4 slot,
    // foreign domain above L1, bad targets above L1), EBUSY (L1 target not mappable by this
    // domain, or a page table mapped writable), EPERM (MMIO without permission, or a foreign
    // data_owner the PT owner may not act for).
    Result<void> mod_entry(PageType level, const UpdateContext& ctx, std::uint64_t table_mfn, unsigned index,
                           std::uint64_t value, bool preserve_ad);

    // The value the hypervisor stores for a present guest entry (§7.4 adjustments).
    static std::uint64_t adjust(PageType level, std::uint64_t entry);
    // EINVAL if a present entry carries a flag bit not allowed at `level` for `pt_owner`.
    Result<void> check_flags(PageType level, std::uint64_t entry, DomainId pt_owner) const;

    const HypervisorSlots& hypervisor_slots() const { return m_hypervisor_slots; }

private:
    Result<void> get_entry_refs(PageType level, std::uint64_t table_mfn, std::uint64_t entry, DomainId pt_owner,
                                DomainId data_owner);
    void put_entry_refs(PageType level, std::uint64_t table_mfn, std::uint64_t entry);
    Result<void> get_l1_refs(std::uint64_t entry, DomainId pt_owner, DomainId data_owner);
    void put_l1_refs(std::uint64_t entry);
    Result<void> get_upper_refs(PageType level, std::uint64_t table_mfn, std::uint64_t entry, DomainId pt_owner);
    void put_upper_refs(PageType level, std::uint64_t table_mfn, std::uint64_t entry);
    Result<void> commit_entry(std::uint64_t table_mfn, unsigned index, std::uint64_t expected, std::uint64_t value,
                              bool preserve_ad);
    void release_entries_before(PageType level, std::uint64_t mfn, unsigned end);
    static bool skipped_slot(PageType level, unsigned index) {
        return level == PageType::L4 && !is_guest_l4_slot(index);
    }

    PageRefs& m_refs;
    GuestFrames& m_frames;
    const MappingPolicy& m_policy;
    HypervisorSlots m_hypervisor_slots;
};

}  // namespace xenolith
