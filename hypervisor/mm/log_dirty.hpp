// Log-dirty tracking (docs/log-dirty.md, step 1): per-domain dirty bitmaps, the points that mark
// them, and the read-and-clear rounds shadow_op asks for (dom0-devices.md §5.3.14).
#pragma once

#include <cstdint>

#include "lib/result.hpp"
#include "mm/frame_info.hpp"

namespace xenolith {

struct Domain;

// --- Marking. Both need the mm lock held (it keeps the bitmap from being freed under them)
// and cost one load when no domain has tracking on.
// The frame may have been written, or may from now on be written: record its PFN (through the
// M2P) in its owner's bitmap, if the owner is tracked.
void log_dirty_note_frame(std::uint64_t mfn);
// Record `pfn` of domain `domain` directly (an M2P entry that changes: both PFNs are affected).
void log_dirty_note_pfn(DomainId domain, std::uint64_t pfn);

// --- The operations. Callers have checked privilege and that target != caller.
// ENABLE_LOGDIRTY: EINVAL if already on, ENOMEM without memory for the bitmaps.
Result<void> log_dirty_enable(Domain& target);
// OFF: free the bitmaps (nothing to do if off).
void log_dirty_disable(Domain& target);
bool log_dirty_enabled(const Domain& target);

// One CLEAN or PEEK round. The answer is built in steps (swap out the recorded bits, then scan
// the frame table for frames that may be written right now) and only then copied out; `step`
// returns Continue after a bounded slice of the scan so the caller can arrange a continuation,
// Done once `bitmap_out` (if not 0) holds ceil(pages / 8) bytes. The round belongs to the
// calling vCPU until Done: another caller gets EBUSY meanwhile.
struct LogDirtyRound {
    std::uint32_t op;           // CLEAN or PEEK
    std::uint64_t bitmap_out;   // guest address of the caller's byte array (0: counts only)
    std::uint64_t pages;        // IN: bits the caller's buffer holds
    // OUT, valid when Done:
    std::uint64_t pages_out = 0;
    std::uint32_t dirty_count = 0;
    std::uint32_t fault_count = 0;
};
enum class RoundProgress : std::uint8_t { Continue, Done };
Result<RoundProgress> log_dirty_round_step(Domain& target, const Domain& caller, unsigned caller_vcpu,
                                           LogDirtyRound& round, bool may_continue);

// Domain teardown: drop whatever tracking state the domain has (a round in progress too).
void log_dirty_domain_destroyed(Domain& domain);

}  // namespace xenolith
