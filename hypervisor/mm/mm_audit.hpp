// The PV memory invariants, checked against the real frame table (docs/memory.md "Invariants"):
// a debugging aid the fuzz tests switch on with the option mm_audit=N.
#pragma once

#include <cstdint>

namespace xenolith {

// Walks every frame and every validated guest table under the mm lock and recomputes what the
// model says must hold; panics naming the frame and the rule on the first violation.
void audit_memory();

// Counts memory hypercalls and runs audit_memory() after every N-th (option mm_audit=N; 0 off).
void maybe_audit_memory();

// One line at the top of each memory hypercall handler: counts it (and maybe audits) whichever
// way the handler returns.
struct MemoryAuditPoint {
    MemoryAuditPoint() = default;
    MemoryAuditPoint(const MemoryAuditPoint&) = delete;
    MemoryAuditPoint& operator=(const MemoryAuditPoint&) = delete;
    ~MemoryAuditPoint() { maybe_audit_memory(); }
};

}  // namespace xenolith
