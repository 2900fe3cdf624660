// PageRefs: frame ownership and the type/reference-count state machine of the PV memory model.
#pragma once

#include <cstdint>

#include "lib/diagnostics.hpp"
#include "lib/result.hpp"
#include "mm/frame_info.hpp"
#include "mm/guest_frames.hpp"

namespace xenolith {

// Runs when a frame gets, or loses, a type whose contents must be checked (page tables and
// descriptor pages): promote() takes the references the contents hold and, if it fails, holds
// nothing; demote() drops them again. PageTableValidator is the implementation.
class TypeValidator {
public:
    virtual Result<void> promote(std::uint64_t mfn, PageType type) = 0;
    virtual void demote(std::uint64_t mfn, PageType type) = 0;

protected:
    ~TypeValidator() = default;
};

// Whether get_page may take a reference on a frame owned by another domain than the one named.
// The caller decides (a privileged domain acting with a foreign-domain argument, §5.3, §7.9).
enum class ForeignAccess : bool { Refuse, Allow };

// Xen's model (pv-abi-core.md §7.2, §7.3):
//  * a general reference count: every present entry pointing at the frame, every pin, every
//    hypervisor use; a frame with references cannot be freed;
//  * a type with a type count; the type changes only while the count is zero; page-table types
//    are validated when they are taken at count zero and devalidated when the count returns to 0;
//  * every type reference is accompanied by a general reference (get_page_and_type).
// Counts never wrap: a get at the maximum is refused (EBUSY), a put at zero is a programming
// error that is reported on the Diagnostics and ignored.
//
// Locking: not thread-safe. The hypervisor serialises every call with one global memory-
// management lock, taken per mmu_update request / mmuext_op operation / teardown chunk (batches
// drop it between entries, so preemption points stay short). A per-domain lock alone would not
// do: a privileged domain's foreign mappings (and, later, grant mappings) change the counts and
// types of another domain's frames, so two domains' operations can race on one frame. The next
// step, when contention shows up, is per-domain locks taken in domain-id order for foreign
// operations; Xen's lock-free cmpxchg style would need every transition below rewritten as one
// atomic word update, which is not worth it before measurements say so.
class PageRefs {
public:
    static constexpr std::uint32_t kMaxCount = 0xFFFFFFFFu;

    PageRefs(GuestFrames& frames, Diagnostics& diag) : m_frames(frames), m_diag(diag) {}
    PageRefs(const PageRefs&) = delete;
    PageRefs& operator=(const PageRefs&) = delete;

    // The validator for page-table and descriptor types; must be attached before any such type
    // is taken (without one, those types are refused with ENOSYS).
    void attach_validator(TypeValidator& validator) { m_validator = &validator; }

    // --- Ownership (§7.1): a frame is free, the hypervisor's, MMIO (DOMID_IO) or one domain's.
    // Free -> owned. EINVAL out of range or a reserved domain id; EBUSY if not free.
    Result<void> assign_to_domain(std::uint64_t mfn, DomainId domain);
    Result<void> assign_to_hypervisor(std::uint64_t mfn);
    // MMIO holes inside the frame table: mappable by I/O-capable domains, never reference-counted,
    // and never released (a mapping holds no reference that would stop a release).
    Result<void> assign_to_io(std::uint64_t mfn);
    // Domain -> free (the caller scrubs it and gives it back to the allocator). EINVAL if out of
    // range or not owned by `domain`; EBUSY while any reference is held.
    Result<void> release(std::uint64_t mfn, DomainId domain);

    // --- General references.
    // EINVAL if out of range or not owned by `domain` (with Allow: not owned by any domain);
    // EBUSY at the maximum count.
    Result<void> get_page(std::uint64_t mfn, DomainId domain, ForeignAccess foreign = ForeignAccess::Refuse);
    void put_page(std::uint64_t mfn);

    // --- Type references (the caller holds a general reference).
    // At type count zero: take the type, validating page-table/descriptor types (their errno
    // propagates; nothing changes on failure). Otherwise the type must match (EINVAL if not, or
    // if the type is still being validated); EBUSY at the maximum count.
    Result<void> get_page_type(std::uint64_t mfn, PageType type);
    // Drop a type reference; the last one devalidates a page-table or descriptor type.
    void put_page_type(std::uint64_t mfn);

    Result<void> get_page_and_type(std::uint64_t mfn, DomainId domain, PageType type,
                                   ForeignAccess foreign = ForeignAccess::Refuse);
    void put_page_and_type(std::uint64_t mfn);

    // --- Pinning (§5.21 MMUEXT_PIN_Ln_TABLE / MMUEXT_UNPIN_TABLE): a pin holds one general and
    // one type reference. EINVAL: level not L1..L4, out of range, not owned by `domain`, already
    // pinned; validation errors propagate.
    Result<void> pin(std::uint64_t mfn, DomainId domain, PageType level);
    // EINVAL if out of range, not owned by `domain` or not pinned. Unpinning a table that is
    // still referenced (e.g. as CR3) only drops the pin (§7.7 step 5).
    Result<void> unpin(std::uint64_t mfn, DomainId domain);

    GuestFrames& frames() { return m_frames; }
    Diagnostics& diagnostics() { return m_diag; }
    bool in_range(std::uint64_t mfn) const { return mfn < m_frames.frame_count(); }

private:
    bool check_put(std::uint64_t mfn, const char* what);

    GuestFrames& m_frames;
    Diagnostics& m_diag;
    TypeValidator* m_validator = nullptr;
};

}  // namespace xenolith
