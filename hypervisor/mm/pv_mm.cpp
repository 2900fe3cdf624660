// The hypervisor's instance of the PV memory core.
#include "mm/pv_mm.hpp"

#include <new>

#include "arch/x86_64/cr.hpp"
#include "arch/x86_64/paging.hpp"
#include "core/console.hpp"
#include "core/cpu.hpp"
#include "core/smp.hpp"
#include "domain/domain.hpp"
#include "mm/guest_frames.hpp"
#include "mm/kernel_space.hpp"
#include "mm/log_dirty.hpp"
#include "mm/page_allocator.hpp"
#include "mm/page_ref.hpp"
#include "mm/pt_validate.hpp"
#include "pv/descriptors.hpp"

namespace xenolith {

namespace {

// Frames as the hypervisor sees them: the frame table and the direct map.
class MachineFrames final : public GuestFrames {
public:
    std::uint64_t frame_count() const override { return max_frame_number(); }
    FrameInfo& info(std::uint64_t mfn) override { return *frame_info(mfn); }
    std::uint64_t read_entry(std::uint64_t mfn, unsigned index) const override {
        return __atomic_load_n(&table(mfn)[index], __ATOMIC_RELAXED);
    }
    void write_entry(std::uint64_t mfn, unsigned index, std::uint64_t value) override {
        __atomic_store_n(&table(mfn)[index], value, __ATOMIC_RELEASE);
    }
    std::uint64_t compare_exchange_entry(std::uint64_t mfn, unsigned index, std::uint64_t expected,
                                         std::uint64_t desired) override {
        __atomic_compare_exchange_n(&table(mfn)[index], &expected, desired, false, __ATOMIC_SEQ_CST,
                                    __ATOMIC_SEQ_CST);
        return expected;  // what the entry held (== the original expected on success)
    }
    void flush_stale_writable(std::uint64_t) override { flush_all_tlbs(); }
    void note_written(std::uint64_t mfn) override { log_dirty_note_frame(mfn); }

private:
    static std::uint64_t* table(std::uint64_t mfn) { return static_cast<std::uint64_t*>(arch::phys_to_virt(mfn << 12)); }
};

class DomainPolicy final : public MappingPolicy {
public:
    bool may_map_foreign(DomainId mapper, DomainId) const override {
        const Domain* d = find_domain(mapper);
        return d && d->privileged;
    }
    bool io_capable(DomainId) const override { return false; }  // no device access yet
    bool may_map_io(DomainId, std::uint64_t) const override { return false; }
    // A GDT frame's descriptors are checked and fixed in place when it takes the type (§5.4).
    bool descriptor_page_ok(GuestFrames&, std::uint64_t mfn) const override {
        return validate_descriptor_page(static_cast<std::uint64_t*>(arch::phys_to_virt(mfn << 12)));
    }
};

class LogDiagnostics final : public Diagnostics {
public:
    void report(std::string_view message) override { log_error("mm: {}", message); }
};

SpinLock g_lock;
MachineFrames g_frames;
DomainPolicy g_policy;
LogDiagnostics g_diag;
alignas(PageRefs) std::byte g_refs_storage[sizeof(PageRefs)];
alignas(PageTableValidator) std::byte g_validator_storage[sizeof(PageTableValidator)];
PageRefs* g_refs = nullptr;
PageTableValidator* g_validator = nullptr;

void flush_this_cpu(void*) { arch::flush_tlb_global(); }

}  // namespace

void init_pv_mm() {
    // Every validated L4 gets the hypervisor's own slots 256-271 (§2.5), the read-only M2P
    // included (Linux reads it in kernel mode from its first instruction; non-strict mode).
    PageTableValidator::HypervisorSlots slots{};
    const auto* idle = static_cast<const std::uint64_t*>(arch::phys_to_virt(idle_page_table_root));
    for (unsigned i = 0; i < slots.size(); ++i)
        slots[i] = idle[PageTableValidator::kHypervisorFirstSlot + i];
    g_refs = new (g_refs_storage) PageRefs(g_frames, g_diag);
    g_validator = new (g_validator_storage) PageTableValidator(*g_refs, g_policy, slots);
}

SpinLock& mm_lock() { return g_lock; }

MmLockGuard::MmLockGuard() {
    while (!g_lock.try_lock())
        serve_cross_calls();
}
MmLockGuard::~MmLockGuard() { g_lock.unlock(); }
PageRefs& page_refs() { return *g_refs; }
PageTableValidator& page_table_validator() { return *g_validator; }

Result<void> install_boot_page_tables(Vcpu& vcpu, std::uint64_t l4_mfn) {
    MmLockGuard guard;
    TRY(g_refs->pin(l4_mfn, vcpu.domain->id, PageType::L4));
    if (auto taken = g_refs->get_page_and_type(l4_mfn, vcpu.domain->id, PageType::L4); !taken) {
        (void)g_refs->unpin(l4_mfn, vcpu.domain->id);
        return taken;
    }
    vcpu.kernel_root = l4_mfn << 12;
    return ok();
}

Result<void> set_base_pointer(Vcpu& vcpu, std::uint64_t mfn, bool user) {
    std::uint64_t& base = user ? vcpu.user_root : vcpu.kernel_root;
    MmLockGuard guard;
    if (mfn == (base >> 12) && base)
        return ok();  // the same base: just a reload
    if (mfn || !user)
        TRY(g_refs->get_page_and_type(mfn, vcpu.domain->id, PageType::L4));
    if (base)
        g_refs->put_page_and_type(base >> 12);
    base = mfn << 12;
    return ok();
}

void relinquish_domain_memory(Domain& domain) {
    MmLockGuard guard;
    for (unsigned i = 0; i < domain.vcpu_count; ++i) {
        Vcpu& vcpu = *domain.vcpus[i];
        for (std::uint64_t* base : {&vcpu.kernel_root, &vcpu.user_root}) {
            if (*base)
                g_refs->put_page_and_type(*base >> 12);
            *base = 0;
        }
        for (unsigned f = 0; f < vcpu.gdt_frame_count; ++f)
            g_refs->put_page_and_type(vcpu.gdt_frames[f]);
        vcpu.gdt_frame_count = 0;
        if (vcpu.vcpu_info_registered) {
            g_refs->put_page_and_type(vcpu.vcpu_info_mfn);
            vcpu.vcpu_info_registered = false;
        }
    }
    if (domain.console_mfn) {
        g_refs->put_page_and_type(domain.console_mfn);
        domain.console_mfn = 0;
    }
    // Unpinning drops each pinned table's last type reference; devalidation then releases the
    // references its entries hold, level by level.
    const std::uint64_t frames = max_frame_number();
    for (std::uint64_t mfn = 0; mfn < frames; ++mfn) {
        if (mfn % 1024 == 0)
            serve_cross_calls();  // long, interrupts off: see release_domain_memory
        const PageState& page = frame_info(mfn)->page;
        if (page.owned_by(domain.id) && page.pinned())
            (void)g_refs->unpin(mfn, domain.id);
    }
    std::uint64_t held = 0;
    for (std::uint64_t mfn = 0; mfn < frames; ++mfn) {
        const PageState& page = frame_info(mfn)->page;
        held += page.owned_by(domain.id) && page.count != 0 && mfn << 12 != domain.shared_info_phys;
    }
    if (held)
        log_warning("domain {}: {} frames still referenced at teardown", domain.id, held);
}

Result<void> find_l1_entry(std::uint64_t root, std::uint64_t va, std::uint64_t& l1_mfn, unsigned& index) {
    std::uint64_t table = root >> 12;
    for (int level = 4; level > 1; --level) {
        const unsigned slot = static_cast<unsigned>((va >> (12 + 9 * (level - 1))) & 511);
        const std::uint64_t entry = g_frames.read_entry(table, slot);
        if (!pte::present(entry) || (entry & pte::kLargePage))
            return Error{Errno::EINVAL};
        table = pte::frame(entry);
        if (table >= g_frames.frame_count())
            return Error{Errno::EINVAL};
    }
    const PageState& page = g_frames.page(table);
    if (page.type != PageType::L1 || !page.validated())
        return Error{Errno::EINVAL};
    l1_mfn = table;
    index = static_cast<unsigned>((va >> 12) & 511);
    return ok();
}

void flush_local_tlb() { flush_this_cpu(nullptr); }

void flush_all_tlbs() {
    flush_this_cpu(nullptr);
    // The updates being flushed are visible before we look at who runs a vCPU; switch_to's
    // store of `current` is likewise a full barrier before it loads the vCPU's tables.
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    for (unsigned i = 0; i < cpus_present(); ++i) {
        Cpu& cpu = cpu_by_index(i);
        if (&cpu != &this_cpu() && cpu.online.load() && __atomic_load_n(&cpu.current, __ATOMIC_SEQ_CST))
            cross_call(i, flush_this_cpu, nullptr);
    }
}

}  // namespace xenolith
