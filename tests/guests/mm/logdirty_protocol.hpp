// What the log-dirty controller (domain 0) and the writer (a domU) agree on: their M2P
// markers (mm_util.hpp) and how the writer reports the PFNs it wrote.
#pragma once

#include <cstdint>

#include "xen/domctl.hpp"
#include "xt/hypercall.hpp"

namespace ldt {

// Writer -> controller: booted (its spare frames untouched); finished writing; saw CHECKED
// (until then the controller stays alive: its marker vanishes with it).
inline constexpr std::uint64_t WRITER_READY = 0x00D0'4E00'4C44'0001ull;
inline constexpr std::uint64_t WRITER_WROTE = 0x00D0'4E00'4C44'0002ull;
inline constexpr std::uint64_t WRITER_DONE = 0x00D0'4E00'4C44'0005ull;
// Controller -> writer: log-dirty is on and the first rounds are read; the checks are done.
inline constexpr std::uint64_t CONTROLLER_ENABLED = 0x00D0'4E00'4C44'0003ull;
inline constexpr std::uint64_t CONTROLLER_CHECKED = 0x00D0'4E00'4C44'0004ull;

// A written PFN is reported by setting the M2P entry of one of the writer's spare frames to
// REPORT | role << 32 | pfn (MMU_MACHPHYS_UPDATE; every guest can read the M2P).
inline constexpr std::uint64_t REPORT = 0x4C44'0000'0000'0000ull;
inline constexpr std::uint64_t REPORT_MASK = 0xFFFF'0000'0000'0000ull;
enum Role : std::uint64_t {
    PREEXISTING = 1,  // written through a writable mapping made before log-dirty was enabled
    MAPPED_THEN_UNMAPPED = 2,  // mapped writable after the enable, written, unmapped again
    STILL_MAPPED = 3,          // mapped writable after the enable, written, left mapped
    HYPERVISOR_COPY = 4,       // written by the hypervisor (xen_version copy-out), then unmapped
    HYPERVISOR_PT_WRITE = 5,   // never mapped; written by mmu_update as an untyped frame
    UNTOUCHED = 6,             // never mapped nor written after the enable: must drop out
    ROLES = 7,
};

inline long domctl(xen::xen_domctl& op) { return xt::hypercall(xen::HYPERVISOR_domctl, xt::handle(&op)); }

inline xen::xen_domctl shadow_op(std::uint16_t domain, std::uint32_t op, std::uint32_t mode = 0) {
    xen::xen_domctl d{};
    d.cmd = xen::XEN_DOMCTL_shadow_op;
    d.interface_version = xen::XEN_DOMCTL_INTERFACE_VERSION;
    d.domain = domain;
    d.u.shadow_op.op = op;
    d.u.shadow_op.mode = mode;
    return d;
}

}  // namespace ldt
