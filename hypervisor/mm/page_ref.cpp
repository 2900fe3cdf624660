// PageRefs: frame ownership and the type/reference-count state machine (pv-abi-core.md §7.2, §7.3).
#include "mm/page_ref.hpp"

namespace xenolith {

namespace {

bool needs_validation(PageType type) { return is_page_table_type(type) || type == PageType::SegDesc; }

bool valid_domain_id(DomainId domain) { return domain < xen::DOMID_FIRST_RESERVED; }

}  // namespace

Result<void> PageRefs::assign_to_domain(std::uint64_t mfn, DomainId domain) {
    if (!in_range(mfn) || !valid_domain_id(domain))
        return Error{Errno::EINVAL};
    PageState& page = m_frames.page(mfn);
    if (!page.is_free())
        return Error{Errno::EBUSY};
    // A free frame holds nothing (release() checks it); start the new owner from a clean state.
    page = PageState{};
    page.owner = PageState::encode_domain(domain);
    return ok();
}

Result<void> PageRefs::assign_to_hypervisor(std::uint64_t mfn) {
    if (!in_range(mfn))
        return Error{Errno::EINVAL};
    PageState& page = m_frames.page(mfn);
    if (!page.is_free())
        return Error{Errno::EBUSY};
    page = PageState{};
    page.owner = PageState::kOwnerHypervisor;
    return ok();
}

Result<void> PageRefs::assign_to_io(std::uint64_t mfn) {
    if (!in_range(mfn))
        return Error{Errno::EINVAL};
    PageState& page = m_frames.page(mfn);
    if (!page.is_free())
        return Error{Errno::EBUSY};
    page = PageState{};
    page.owner = PageState::kOwnerIo;
    return ok();
}

Result<void> PageRefs::release(std::uint64_t mfn, DomainId domain) {
    if (!in_range(mfn))
        return Error{Errno::EINVAL};
    PageState& page = m_frames.page(mfn);
    if (!page.owned_by(domain))
        return Error{Errno::EINVAL};
    if (page.count != 0 || page.type_count != 0 || page.pinned())
        return Error{Errno::EBUSY};
    if (page.linear_count != 0 || page.validated())
        m_diag.error("mm: release of mfn {} with linear count {} flags {}", mfn, page.linear_count, page.flags);
    // kStaleWritable is dropped with the rest: the allocator flushes TLBs before reusing frames.
    // Log-dirty: the frame leaves the domain (and any "may be written" state) with this.
    m_frames.note_written(mfn);
    page = PageState{};
    return ok();
}

Result<void> PageRefs::get_page(std::uint64_t mfn, DomainId domain, ForeignAccess foreign) {
    if (!in_range(mfn))
        return Error{Errno::EINVAL};
    PageState& page = m_frames.page(mfn);
    bool owner_ok = foreign == ForeignAccess::Allow ? page.is_domain_owned() : page.owned_by(domain);
    if (!owner_ok)
        return Error{Errno::EINVAL};
    if (page.count == kMaxCount)
        return Error{Errno::EBUSY};
    ++page.count;
    return ok();
}

bool PageRefs::check_put(std::uint64_t mfn, const char* what) {
    if (!in_range(mfn)) {
        m_diag.error("mm: {} of out-of-range mfn {}", what, mfn);
        return false;
    }
    return true;
}

void PageRefs::put_page(std::uint64_t mfn) {
    if (!check_put(mfn, "put_page"))
        return;
    PageState& page = m_frames.page(mfn);
    if (page.count == 0) {
        m_diag.error("mm: put_page of mfn {} with no references", mfn);
        return;
    }
    if (page.count == page.type_count) {
        // Every type reference comes with a general one; dropping below would break that.
        m_diag.error("mm: put_page of mfn {} would leave {} type references uncovered", mfn, page.type_count);
        return;
    }
    --page.count;
}

Result<void> PageRefs::get_page_type(std::uint64_t mfn, PageType type) {
    if (!in_range(mfn) || type == PageType::None)
        return Error{Errno::EINVAL};
    PageState& page = m_frames.page(mfn);

    if (page.type_count != 0) {
        // One type at a time (§7.3); a table whose validation is still running is not usable yet.
        if (page.type != type || (needs_validation(type) && !page.validated()))
            return Error{Errno::EINVAL};
        if (page.type_count == kMaxCount)
            return Error{Errno::EBUSY};
        ++page.type_count;
        return ok();
    }

    // Type change at count zero. Log-dirty: from here the frame may be written (a writable
    // mapping, or the MMU's A/D bits in a table); record it (docs/log-dirty.md).
    if (!needs_validation(type)) {
        page.type = type;
        page.type_count = 1;
        m_frames.note_written(mfn);
        return ok();
    }
    if (m_validator == nullptr)
        return Error{Errno::ENOSYS};
    if ((page.flags & PageState::kStaleWritable) != 0) {
        // §7.3: a TLB may still hold a writable translation from before the count fell to zero.
        m_frames.flush_stale_writable(mfn);
        page.flags = static_cast<std::uint8_t>(page.flags & ~PageState::kStaleWritable);
        m_frames.note_written(mfn);  // log-dirty: stale writes, if any, happened before the flush
    }
    // Taken (count 1, not validated) before validating, so entries that point back at this
    // frame see it as busy and cannot take another type or a writable mapping of it.
    page.type = type;
    page.type_count = 1;
    Result<void> validated = m_validator->promote(mfn, type);
    if (validated.is_error()) {
        page.type = PageType::None;
        page.type_count = 0;
        return validated;
    }
    page.flags |= PageState::kValidated;
    m_frames.note_written(mfn);  // validation may have adjusted entries; the MMU sets A/D bits
    return ok();
}

void PageRefs::put_page_type(std::uint64_t mfn) {
    if (!check_put(mfn, "put_page_type"))
        return;
    PageState& page = m_frames.page(mfn);
    if (page.type_count == 0) {
        m_diag.error("mm: put_page_type of mfn {} with no type references", mfn);
        return;
    }
    if (page.type_count == 1 && page.pinned()) {
        m_diag.error("mm: put_page_type would drop the pin's reference on mfn {}", mfn);
        return;
    }
    if (--page.type_count != 0)
        return;

    PageType old_type = page.type;
    bool was_validated = page.validated();
    page.type = PageType::None;
    page.flags = static_cast<std::uint8_t>(page.flags & ~PageState::kValidated);
    if (old_type == PageType::Writable)
        page.flags |= PageState::kStaleWritable;
    // Log-dirty: whatever was written while the type was held is recorded now that the frame
    // leaves the "may be written right now" set a read-and-clear round reports.
    m_frames.note_written(mfn);
    // Devalidate after the frame is untyped: dropping the entries' references can cascade down
    // the tree, but never back up to this frame (type references only point to lower levels, and
    // a linear target holds no linear entries of its own, §7.5).
    if (was_validated && m_validator != nullptr)
        m_validator->demote(mfn, old_type);
}

Result<void> PageRefs::get_page_and_type(std::uint64_t mfn, DomainId domain, PageType type, ForeignAccess foreign) {
    TRY(get_page(mfn, domain, foreign));
    Result<void> typed = get_page_type(mfn, type);
    if (typed.is_error()) {
        put_page(mfn);
        return typed;
    }
    return ok();
}

void PageRefs::put_page_and_type(std::uint64_t mfn) {
    // Type first: the general reference keeps the frame owned while it is being devalidated.
    put_page_type(mfn);
    put_page(mfn);
}

Result<void> PageRefs::pin(std::uint64_t mfn, DomainId domain, PageType level) {
    if (!is_page_table_type(level) || !in_range(mfn))
        return Error{Errno::EINVAL};
    PageState& page = m_frames.page(mfn);
    if (!page.owned_by(domain) || page.pinned())
        return Error{Errno::EINVAL};
    TRY(get_page_and_type(mfn, domain, level));
    page.flags |= PageState::kPinned;
    return ok();
}

Result<void> PageRefs::unpin(std::uint64_t mfn, DomainId domain) {
    if (!in_range(mfn))
        return Error{Errno::EINVAL};
    PageState& page = m_frames.page(mfn);
    if (!page.owned_by(domain) || !page.pinned())
        return Error{Errno::EINVAL};
    page.flags = static_cast<std::uint8_t>(page.flags & ~PageState::kPinned);
    put_page_and_type(mfn);
    return ok();
}

}  // namespace xenolith
