// The PV memory manager as the hypervisor runs it: the pure core (mm/page_ref, mm/pt_validate)
// over real frames, one lock around it, and the operations the hypercalls and the domain
// builder use (pv-abi-core.md §7).
#pragma once

#include <cstdint>

#include "lib/result.hpp"
#include "lib/spinlock.hpp"
#include "mm/frame_info.hpp"

namespace xenolith {

struct Domain;
struct Vcpu;
class PageRefs;
class PageTableValidator;

// Set up the core (boot CPU, after the page allocator and the hypervisor's L4 slots exist).
void init_pv_mm();

// The lock every change to frame types and references holds (see mm/page_ref.hpp on locking).
SpinLock& mm_lock();

// Takes mm_lock. Holders may flush TLBs on every CPU (a cross-call), so a CPU waiting for the
// lock with interrupts off keeps answering cross-calls instead of deadlocking with the holder.
class MmLockGuard {
public:
    MmLockGuard();
    ~MmLockGuard();
    MmLockGuard(const MmLockGuard&) = delete;
    MmLockGuard& operator=(const MmLockGuard&) = delete;
};
PageRefs& page_refs();
PageTableValidator& page_table_validator();

// Pin `l4_mfn` as the domain's first L4 (validating the whole tree the builder wrote) and make
// it vCPU 0's kernel base. Under the lock.
Result<void> install_boot_page_tables(Vcpu& vcpu, std::uint64_t l4_mfn);

// MMUEXT_NEW_BASEPTR / NEW_USER_BASEPTR semantics: take an L4 type reference on the new base,
// drop the old one (§5.21). `user` selects the user base; mfn 0 clears a user base.
Result<void> set_base_pointer(Vcpu& vcpu, std::uint64_t mfn, bool user);

// Drop everything the domain's page tables and vCPUs hold, so its frames can be freed.
void relinquish_domain_memory(Domain& domain);

// The L1 table frame and index that map `va` in `root` (for update_va_mapping): EINVAL unless
// every level is present and the L2 entry points at an L1 table.
Result<void> find_l1_entry(std::uint64_t root, std::uint64_t va, std::uint64_t& l1_mfn, unsigned& index);

// TLB flushes on behalf of a domain, global entries included: on this CPU, or on every CPU that
// may hold a stale translation - this one and those running a vCPU now. A CPU running none holds
// none that matter: it runs no guest code, the hypervisor touches guest memory only from the
// vCPU it runs, and loading a vCPU's tables flushes everything (arch::load_guest_context).
void flush_local_tlb();
void flush_all_tlbs();

}  // namespace xenolith
