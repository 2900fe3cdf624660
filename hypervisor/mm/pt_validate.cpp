// PageTableValidator: what a PV guest's page tables may contain, and the references they hold.
// Rules from pv-abi-core.md §7.4 (flags, targets, adjustments), §7.5 (linear entries),
// §2.5 (hypervisor L4 slots) and §5.3 (mmu_update entry updates).
#include "mm/pt_validate.hpp"

#include <limits>

namespace xenolith {

namespace {

// The type an entry of a `level` table gives the frame it points at (§7.3 table).
PageType lower_level(PageType level) {
    switch (level) {
    case PageType::L2: return PageType::L1;
    case PageType::L3: return PageType::L2;
    case PageType::L4: return PageType::L3;
    default: return PageType::None;
    }
}

// The bits an entry's references depend on. If only other bits change, an update just rewrites
// the entry (Xen's "fast path", §5.3): the flags were checked, the references stay as they are.
constexpr std::uint64_t kReferenceBits = pte::kPresent | pte::kWritable | pte::kFrameMask;

}  // namespace

PageTableValidator::PageTableValidator(PageRefs& refs, const MappingPolicy& policy,
                                       const HypervisorSlots& hypervisor_slots)
    : m_refs(refs), m_frames(refs.frames()), m_policy(policy), m_hypervisor_slots(hypervisor_slots) {
    m_refs.attach_validator(*this);
}

std::uint64_t PageTableValidator::adjust(PageType level, std::uint64_t entry) {
    if (!pte::present(entry))
        return entry;
    switch (level) {
    case PageType::L1:
        // The guest kernel runs in ring 3, so every mapping must be user-accessible; bit 52
        // remembers "kernel only", and user mappings become global so they survive the
        // kernel/user CR3 switch (§7.4).
        if ((entry & pte::kUser) == 0)
            return entry | pte::kUser | pte::kGuestKernel;
        if ((entry & pte::kGuestKernel) == 0)
            return entry | pte::kGlobal;
        return entry;
    case PageType::L2:
    case PageType::L3: return entry | pte::kUser;
    case PageType::L4: return entry | pte::kUser | pte::kAccessed;
    default: return entry;
    }
}

Result<void> PageTableValidator::check_flags(PageType level, std::uint64_t entry, DomainId pt_owner) const {
    if (!pte::present(entry))
        return ok();  // not-present entries are stored as written (L1TF check not done, §7.4)
    std::uint64_t disallowed = pte::kUpperDisallowed;
    if (level == PageType::L1) {
        disallowed = pte::kL1Disallowed;
        if (!m_policy.io_capable(pt_owner))
            disallowed |= pte::kL1CacheAttributes;
    }
    if ((entry & disallowed) != 0)
        return Error{Errno::EINVAL};
    return ok();
}

Result<void> PageTableValidator::get_l1_refs(std::uint64_t entry, DomainId pt_owner, DomainId data_owner) {
    std::uint64_t mfn = pte::frame(entry);
    if (!m_refs.in_range(mfn) || m_frames.page(mfn).owner == PageState::kOwnerIo) {
        // Not RAM the hypervisor accounts: MMIO. Mapped without references, if permitted (§7.4).
        if (m_policy.may_map_io(pt_owner, mfn))
            return ok();
        return Error{Errno::EPERM};
    }
    const PageState& page = m_frames.page(mfn);
    // Free and hypervisor frames are never mappable here (shared_info sharing comes later).
    if (!page.is_domain_owned())
        return Error{Errno::EBUSY};
    DomainId owner = page.domain();
    if (owner != data_owner && !m_policy.may_map_foreign(pt_owner, owner))
        return Error{Errno::EBUSY};
    if (m_refs.get_page(mfn, owner).is_error())
        return Error{Errno::EBUSY};
    if (pte::writable(entry) && m_refs.get_page_type(mfn, PageType::Writable).is_error()) {
        // §7.3: a page table or descriptor page can never be mapped writable.
        m_refs.put_page(mfn);
        return Error{Errno::EBUSY};
    }
    return ok();
}

void PageTableValidator::put_l1_refs(std::uint64_t entry) {
    if (!pte::present(entry))
        return;
    std::uint64_t mfn = pte::frame(entry);
    if (!m_refs.in_range(mfn) || m_frames.page(mfn).owner == PageState::kOwnerIo)
        return;  // MMIO: no references were taken
    if (pte::writable(entry))
        m_refs.put_page_type(mfn);
    m_refs.put_page(mfn);
}

Result<void> PageTableValidator::get_upper_refs(PageType level, std::uint64_t table_mfn, std::uint64_t entry,
                                                DomainId pt_owner) {
    std::uint64_t mfn = pte::frame(entry);
    // Upper-level entries point at the PT owner's own RAM only: no MMIO, no foreign frames.
    if (!m_refs.in_range(mfn) || !m_frames.page(mfn).owned_by(pt_owner))
        return Error{Errno::EINVAL};

    // §7.5: a read-only entry pointing at its own table holds nothing and is always allowed.
    if (mfn == table_mfn)
        return pte::writable(entry) ? Result<void>{Error{Errno::EINVAL}} : ok();

    PageState& target = m_frames.page(mfn);
    if (target.type_count == 0 || target.type != level)
        return m_refs.get_page_and_type(mfn, pt_owner, lower_level(level));

    // §7.5 linear entry: a same-level table, read-only, already validated; one level of
    // linearity only: the containing table must not itself be a linear target, and the target
    // must hold no linear entries of its own.
    PageState& container = m_frames.page(table_mfn);
    if (pte::writable(entry) || !target.validated() || container.linear_count < 0 || target.linear_count > 0)
        return Error{Errno::EINVAL};
    if (container.linear_count == std::numeric_limits<std::int16_t>::max() ||
        target.linear_count == std::numeric_limits<std::int16_t>::min())
        return Error{Errno::EBUSY};
    TRY(m_refs.get_page_and_type(mfn, pt_owner, level));
    ++container.linear_count;
    --target.linear_count;
    return ok();
}

void PageTableValidator::put_upper_refs(PageType level, std::uint64_t table_mfn, std::uint64_t entry) {
    if (!pte::present(entry))
        return;
    std::uint64_t mfn = pte::frame(entry);
    if (!m_refs.in_range(mfn)) {
        m_refs.diagnostics().error("mm: validated table {} holds out-of-range entry {}", table_mfn, entry);
        return;
    }
    if (mfn == table_mfn)
        return;  // self-reference: nothing held
    PageState& target = m_frames.page(mfn);
    if (target.type == level) {
        // A linear entry: the type reference it holds keeps the target at this level, so the
        // target's type tells the two kinds of entry apart.
        PageState& container = m_frames.page(table_mfn);
        if (container.linear_count <= 0 || target.linear_count >= 0)
            m_refs.diagnostics().error("mm: linear counts of {} ({}) and {} ({}) inconsistent", table_mfn,
                                       container.linear_count, mfn, target.linear_count);
        else {
            --container.linear_count;
            ++target.linear_count;
        }
    }
    m_refs.put_page_and_type(mfn);
}

Result<void> PageTableValidator::get_entry_refs(PageType level, std::uint64_t table_mfn, std::uint64_t entry,
                                                DomainId pt_owner, DomainId data_owner) {
    if (!pte::present(entry))
        return ok();
    if (level == PageType::L1)
        return get_l1_refs(entry, pt_owner, data_owner);
    return get_upper_refs(level, table_mfn, entry, pt_owner);
}

void PageTableValidator::put_entry_refs(PageType level, std::uint64_t table_mfn, std::uint64_t entry) {
    if (level == PageType::L1)
        put_l1_refs(entry);
    else
        put_upper_refs(level, table_mfn, entry);
}

void PageTableValidator::release_entries_before(PageType level, std::uint64_t mfn, unsigned end) {
    for (unsigned i = 0; i < end; ++i) {
        if (!skipped_slot(level, i))
            put_entry_refs(level, mfn, m_frames.read_entry(mfn, i));
    }
}

Result<void> PageTableValidator::promote(std::uint64_t mfn, PageType type) {
    if (!m_refs.in_range(mfn))
        return Error{Errno::EINVAL};
    if (type == PageType::SegDesc)
        return m_policy.descriptor_page_ok(m_frames, mfn) ? ok() : Result<void>{Error{Errno::EINVAL}};
    if (!is_page_table_type(type))
        return Error{Errno::EINVAL};
    const PageState& page = m_frames.page(mfn);
    if (!page.is_domain_owned())
        return Error{Errno::EINVAL};
    DomainId owner = page.domain();

    // Check and reference every entry; undo the ones done so far at the first failure.
    // (While this runs the frame is typed but not validated, so nothing can map it writable,
    // and the entries cannot change under us.)
    for (unsigned i = 0; i < kEntries; ++i) {
        if (skipped_slot(type, i))
            continue;  // §2.5: whatever the guest put there is ignored and overwritten below
        std::uint64_t entry = m_frames.read_entry(mfn, i);
        Result<void> checked = check_flags(type, entry, owner);
        if (checked.is_ok())
            checked = get_entry_refs(type, mfn, entry, owner, owner);
        if (checked.is_error()) {
            release_entries_before(type, mfn, i);
            return checked;
        }
    }

    // Commit: nothing below can fail.
    for (unsigned i = 0; i < kEntries; ++i) {
        if (skipped_slot(type, i)) {
            m_frames.write_entry(mfn, i, m_hypervisor_slots[i - kHypervisorFirstSlot]);
            continue;
        }
        std::uint64_t entry = m_frames.read_entry(mfn, i);
        std::uint64_t adjusted = adjust(type, entry);
        if (adjusted != entry)
            m_frames.write_entry(mfn, i, adjusted);
    }
    return ok();
}

void PageTableValidator::demote(std::uint64_t mfn, PageType type) {
    if (!is_page_table_type(type))
        return;  // descriptor pages hold no references
    release_entries_before(type, mfn, kEntries);
    // The entries stay as they are: the guest sees its (adjusted) values, and the hypervisor
    // slots are harmless while the frame is not a table (validation ignores them next time).
}

Result<void> PageTableValidator::commit_entry(std::uint64_t table_mfn, unsigned index, std::uint64_t expected,
                                              std::uint64_t value, bool preserve_ad) {
    constexpr std::uint64_t kHardwareBits = pte::kAccessed | pte::kDirty;
    // The MMU may set A/D in the live entry meanwhile (only ever set, so few retries); nothing
    // else can change it while we hold the memory-management lock.
    for (int attempt = 0; attempt < 4; ++attempt) {
        std::uint64_t seen = m_frames.compare_exchange_entry(table_mfn, index, expected, value);
        if (seen == expected)
            return ok();
        if (((seen ^ expected) & ~kHardwareBits) != 0)
            break;
        if (preserve_ad)
            value |= seen & kHardwareBits;
        expected = seen;
    }
    m_refs.diagnostics().error("mm: entry {} of table {} changed under the update", index, table_mfn);
    return Error{Errno::EBUSY};
}

Result<void> PageTableValidator::mod_entry(PageType level, const UpdateContext& ctx, std::uint64_t table_mfn,
                                           unsigned index, std::uint64_t value, bool preserve_ad) {
    if (!is_page_table_type(level) || !m_refs.in_range(table_mfn) || index >= kEntries)
        return Error{Errno::EINVAL};
    const PageState& table = m_frames.page(table_mfn);
    if (!table.owned_by(ctx.pt_owner) || table.type != level || table.type_count == 0 || !table.validated())
        return Error{Errno::EINVAL};
    if (skipped_slot(level, index))
        return Error{Errno::EINVAL};  // §2.5: the hypervisor's L4 slots are not the guest's
    if (ctx.data_owner != ctx.pt_owner) {
        if (level != PageType::L1)
            return Error{Errno::EINVAL};  // §5.3: FD must equal the PT owner above L1
        if (!m_policy.may_map_foreign(ctx.pt_owner, ctx.data_owner))
            return Error{Errno::EPERM};
    }

    std::uint64_t old_entry = m_frames.read_entry(table_mfn, index);
    std::uint64_t new_entry = value;
    if (preserve_ad)
        new_entry |= old_entry & (pte::kAccessed | pte::kDirty);
    TRY(check_flags(level, new_entry, ctx.pt_owner));
    new_entry = adjust(level, new_entry);

    bool same_references = pte::present(old_entry) && pte::present(new_entry) &&
                           ((old_entry ^ new_entry) & kReferenceBits) == 0;
    if (same_references)
        return commit_entry(table_mfn, index, old_entry, new_entry, preserve_ad);

    // Validate and reference the new entry, store it, then release the old one.
    TRY(get_entry_refs(level, table_mfn, new_entry, ctx.pt_owner, ctx.data_owner));
    Result<void> stored = commit_entry(table_mfn, index, old_entry, new_entry, preserve_ad);
    if (stored.is_error()) {
        put_entry_refs(level, table_mfn, new_entry);
        return stored;
    }
    put_entry_refs(level, table_mfn, old_entry);
    return ok();
}

Result<void> PageTableValidator::update_entry(const UpdateContext& ctx, std::uint64_t table_mfn, unsigned index,
                                              std::uint64_t value, bool preserve_ad) {
    if (!m_refs.in_range(table_mfn) || index >= kEntries)
        return Error{Errno::EINVAL};
    const PageState& table = m_frames.page(table_mfn);
    if (!table.owned_by(ctx.pt_owner))
        return Error{Errno::EINVAL};
    if (table.type_count != 0 && table.type != PageType::Writable) {
        if (!is_page_table_type(table.type))
            return Error{Errno::EINVAL};  // descriptor pages: only through update_descriptor
        return mod_entry(table.type, ctx, table_mfn, index, value, preserve_ad);
    }
    // §5.3: a frame that is not a page table takes the value unchecked (Linux writes upper
    // entries of not-yet-pinned tables this way). Nothing walks it, so nothing to validate.
    if (preserve_ad)
        value |= m_frames.read_entry(table_mfn, index) & (pte::kAccessed | pte::kDirty);
    m_frames.write_entry(table_mfn, index, value);
    m_frames.note_written(table_mfn);  // an untyped frame: no type count covers this write
    return ok();
}

}  // namespace xenolith
