// The memory invariant audit (docs/memory.md "Invariants", pv-abi-core.md §7.3-§7.5): walks the
// frame table and every validated guest table, recomputes the references they must hold and
// panics on the first rule that does not hold.
#include "mm/mm_audit.hpp"

#include "arch/x86_64/paging.hpp"
#include "core/console.hpp"
#include "core/options.hpp"
#include "core/panic.hpp"
#include "domain/domain.hpp"
#include "lib/atomic.hpp"
#include "lib/string.hpp"
#include "mm/page_allocator.hpp"
#include "mm/pt_validate.hpp"
#include "mm/pv_mm.hpp"

namespace xenolith {

namespace {

// What the walk says each frame must hold: general and type references.
struct Expected {
    std::uint32_t count;
    std::uint32_t type_count;
};

Expected* g_expected = nullptr;  // one per frame, from the page allocator on first use
std::uint64_t g_expected_frames = 0;
Atomic<std::uint64_t> g_calls{0};
std::uint64_t g_audits = 0;  // under the mm lock

const char* type_name(PageType type) {
    switch (type) {
    case PageType::None: return "none";
    case PageType::L1: return "L1";
    case PageType::L2: return "L2";
    case PageType::L3: return "L3";
    case PageType::L4: return "L4";
    case PageType::SegDesc: return "seg_desc";
    case PageType::Writable: return "writable";
    }
    return "?";
}

[[noreturn]] void violated(const char* rule, std::uint64_t mfn, const PageState& page) {
    panic("mm_audit #{}: {} (mfn {:#x}: owner {:#x} type {} type_count {} count {} flags {:#x} linear {})",
          g_audits + 1, rule, mfn, page.owner, type_name(page.type), page.type_count, page.count, page.flags,
          page.linear_count);
}

[[noreturn]] void entry_violated(const char* rule, std::uint64_t table, unsigned index, std::uint64_t entry) {
    const PageState& page = frame_info(table)->page;
    panic("mm_audit #{}: {} (entry {} = {:#x} of {} table mfn {:#x}, owner {:#x})", g_audits + 1, rule, index, entry,
          type_name(page.type), table, page.owner);
}

bool ensure_scratch(std::uint64_t frames) {
    if (g_expected && g_expected_frames >= frames)
        return true;
    unsigned order = 0;
    while ((std::uint64_t{4096} << order) < frames * sizeof(Expected))
        ++order;
    auto phys = allocate_frames(order);
    if (!phys)
        return false;
    g_expected = static_cast<Expected*>(arch::phys_to_virt(*phys));
    g_expected_frames = frames;
    return true;
}

// A hypervisor-held reference (base pointers, vcpu_info, console ring, GDT frames).
void expect_held(std::uint64_t mfn, bool typed) {
    if (mfn >= g_expected_frames)
        return;
    ++g_expected[mfn].count;
    g_expected[mfn].type_count += typed;
}

void walk_table(std::uint64_t mfn, const PageState& page, const PageTableValidator& validator) {
    const auto* entries = static_cast<const std::uint64_t*>(arch::phys_to_virt(mfn << 12));
    const DomainId owner = page.domain();
    const Domain* domain = find_domain(owner);
    const bool privileged = domain && domain->privileged;
    const std::uint64_t frames = g_expected_frames;
    for (unsigned i = 0; i < PageTableValidator::kEntries; ++i) {
        const std::uint64_t e = __atomic_load_n(&entries[i], __ATOMIC_RELAXED);
        if (page.type == PageType::L4 && !PageTableValidator::is_guest_l4_slot(i)) {
            // §2.5: slots 256-271 hold exactly the hypervisor's entries (A may be set by the MMU).
            if ((e | pte::kAccessed) != (validator.hypervisor_slots()[i - PageTableValidator::kHypervisorFirstSlot] |
                                         pte::kAccessed))
                entry_violated("a hypervisor L4 slot was changed", mfn, i, e);
            continue;
        }
        if (!pte::present(e))
            continue;
        if (!(e & pte::kUser))
            entry_violated("a present entry lacks the US adjustment", mfn, i, e);
        const std::uint64_t target = pte::frame(e);
        if (page.type == PageType::L1) {
            if (e & (pte::kL1Disallowed | pte::kL1CacheAttributes))
                entry_violated("an L1 entry has a refused flag bit", mfn, i, e);
            if (target >= frames)
                entry_violated("an L1 entry maps MMIO though no domain may", mfn, i, e);
            const PageState& t = frame_info(target)->page;
            if (!t.is_domain_owned())
                entry_violated("an L1 entry maps a free, MMIO or hypervisor frame", mfn, i, e);
            if (t.domain() != owner && !privileged)
                entry_violated("an unprivileged domain maps another domain's frame", mfn, i, e);
            ++g_expected[target].count;
            if (pte::writable(e)) {
                if (t.type != PageType::Writable)
                    entry_violated("a writable mapping of a frame that is not writable-typed", mfn, i, e);
                ++g_expected[target].type_count;
            }
            continue;
        }
        if (e & pte::kUpperDisallowed)
            entry_violated("an upper-level entry has a refused flag bit", mfn, i, e);
        if (target >= frames || !frame_info(target)->page.owned_by(owner))
            entry_violated("an upper-level entry points outside the owner's RAM", mfn, i, e);
        const PageState& t = frame_info(target)->page;
        const auto lower = static_cast<PageType>(static_cast<unsigned>(page.type) - 1);
        if (target == mfn) {
            if (pte::writable(e))
                entry_violated("a writable self reference", mfn, i, e);
            continue;  // §7.5: a read-only self reference holds nothing
        }
        if (t.type == page.type && !pte::writable(e)) {
            // §7.5: a linear entry; one level of linearity only.
            if (page.linear_count < 0 || t.linear_count > 0)
                entry_violated("a linear entry breaks the one-level rule", mfn, i, e);
        } else if (t.type != lower) {
            entry_violated("an upper-level entry points at a frame of the wrong type", mfn, i, e);
        }
        if (!t.validated())
            entry_violated("an upper-level entry points at a table that is not validated", mfn, i, e);
        ++g_expected[target].count;
        ++g_expected[target].type_count;
    }
}

}  // namespace

void audit_memory() {
    MmLockGuard guard;
    const std::uint64_t frames = max_frame_number();
    if (!ensure_scratch(frames)) {
        log_warning("mm_audit: no memory for the audit's scratch table; skipped");
        return;
    }
    memset(g_expected, 0, frames * sizeof(Expected));
    const PageTableValidator& validator = page_table_validator();

    // Pass 1: each frame's own state, and what validated tables and pins reference.
    for (std::uint64_t mfn = 0; mfn < frames; ++mfn) {
        const PageState& page = frame_info(mfn)->page;
        if ((page.type_count == 0) != (page.type == PageType::None))
            violated("type_count > 0 must go with a type, and a type with type_count > 0", mfn, page);
        if (page.type_count > page.count)
            violated("a type reference without a general reference", mfn, page);
        if (page.is_free() && (page.count || page.type_count || page.flags))
            violated("a free frame holds references or flags", mfn, page);
        const bool table = is_page_table_type(page.type);
        if (page.validated() && !table && page.type != PageType::SegDesc)
            violated("validated on a frame that is neither a page table nor a descriptor page", mfn, page);
        if (table && !page.validated())
            violated("a page-table type in use that is not validated", mfn, page);
        if (page.pinned()) {
            if (!table || !page.is_domain_owned())
                violated("a pin on something that is not a domain's page table", mfn, page);
            expect_held(mfn, true);
        }
        if (page.linear_count && !table)
            violated("linear bookkeeping on a frame that is not a table", mfn, page);
        if (table) {
            if (!page.is_domain_owned())
                violated("a page table not owned by a domain", mfn, page);
            walk_table(mfn, page, validator);
        }
    }

    // The hypervisor's own references, per domain; and each domain's page accounting.
    for (unsigned id = 0; id < MAX_DOMAINS; ++id) {
        const Domain* d = find_domain(static_cast<std::uint16_t>(id));
        if (!d || d->state.load() != DomainState::Running)
            continue;  // being built or torn down: references in flux
        for (unsigned v = 0; v < d->vcpu_count; ++v) {
            const Vcpu& vcpu = *d->vcpus[v];
            if (vcpu.kernel_root)
                expect_held(vcpu.kernel_root >> 12, true);
            if (vcpu.user_root)
                expect_held(vcpu.user_root >> 12, true);
            if (vcpu.vcpu_info_registered)
                expect_held(vcpu.vcpu_info_mfn, true);
            for (unsigned g = 0; g < vcpu.gdt_frame_count; ++g)
                expect_held(vcpu.gdt_frames[g], true);
        }
        if (d->console_mfn)
            expect_held(d->console_mfn, true);
        if (d->tot_pages > d->max_pages)
            panic("mm_audit #{}: domain {} has {} pages, more than its maximum {}", g_audits + 1, d->id, d->tot_pages,
                  d->max_pages);
    }

    // Pass 2: counts against what the walk found. Page-table type counts must match exactly
    // (only tables, pins and base pointers hold them); elsewhere the hypervisor may hold
    // references the walk does not see (a CLEAR/COPY_PAGE in progress, a shared_info page), so
    // those counts may only exceed the expectation, never fall short of it (a missing reference
    // is how a frame gets freed while still mapped).
    for (std::uint64_t mfn = 0; mfn < frames; ++mfn) {
        const PageState& page = frame_info(mfn)->page;
        const Expected& want = g_expected[mfn];
        if (!page.is_domain_owned())
            continue;
        const Domain* d = find_domain(page.domain());
        if (!d || d->state.load() != DomainState::Running)
            continue;
        if (page.count < want.count)
            violated("fewer general references than the tables, pins and hypervisor hold", mfn, page);
        if (page.type_count < want.type_count)
            violated("fewer type references than the tables, pins and hypervisor hold", mfn, page);
        if (is_page_table_type(page.type) && page.type_count != want.type_count)
            violated("a table's type count differs from the entries, pins and base pointers referring to it", mfn, page);
    }
    ++g_audits;
    if (g_audits % 100 == 0)
        log_info("mm_audit: {} audits passed", g_audits);
}

void maybe_audit_memory() {
    const std::uint64_t every = options().mm_audit;
    if (every == 0)
        return;
    if ((g_calls.fetch_add(1) + 1) % every == 0)
        audit_memory();
}

}  // namespace xenolith
