// The shared_info page and the per-vCPU vcpu_info/time records inside it.
// Source: pv-abi-core.md §3.2-§3.6, §8.1-§8.2; pv-abi-devices.md §0.1-§0.2.
#pragma once

#include <cstddef>
#include <cstdint>

namespace xen {

// §3.6: number of vcpu_info slots in shared_info (vCPUs beyond need VCPUOP_register_vcpu_info).
inline constexpr std::size_t XEN_LEGACY_MAX_VCPUS = 32;

// §3.2 / §8.1: vcpu_time_info flag bits.
inline constexpr std::uint8_t XEN_PVCLOCK_TSC_STABLE_BIT = 1u << 0;
inline constexpr std::uint8_t XEN_PVCLOCK_GUEST_STOPPED = 1u << 1;

// §3.2: struct vcpu_time_info, 32 bytes; version odd while the hypervisor updates it (§8.1).
struct vcpu_time_info {
    std::uint32_t version;
    std::uint32_t pad0;
    std::uint64_t tsc_timestamp;
    std::uint64_t system_time;
    std::uint32_t tsc_to_system_mul;
    std::int8_t tsc_shift;
    std::uint8_t flags;
    std::uint8_t pad1[2];
};
static_assert(sizeof(vcpu_time_info) == 32);
static_assert(offsetof(vcpu_time_info, version) == 0);
static_assert(offsetof(vcpu_time_info, tsc_timestamp) == 8);
static_assert(offsetof(vcpu_time_info, system_time) == 16);
static_assert(offsetof(vcpu_time_info, tsc_to_system_mul) == 24);
static_assert(offsetof(vcpu_time_info, tsc_shift) == 28);
static_assert(offsetof(vcpu_time_info, flags) == 29);

// §3.3: struct arch_vcpu_info, 16 bytes; cr2 is written before a #PF is delivered (§6.6).
struct arch_vcpu_info {
    std::uint64_t cr2;
    std::uint64_t pad;
};
static_assert(sizeof(arch_vcpu_info) == 16);
static_assert(offsetof(arch_vcpu_info, cr2) == 0);

// §3.4: struct vcpu_info, 64 bytes. Xen tests pending and mask together as one 16-bit load.
struct vcpu_info {
    std::uint8_t evtchn_upcall_pending;
    std::uint8_t evtchn_upcall_mask;  // non-zero = virtual IF clear (§6.10)
    std::uint8_t pad0[6];
    std::uint64_t evtchn_pending_sel;
    arch_vcpu_info arch;
    vcpu_time_info time;
};
static_assert(sizeof(vcpu_info) == 64);
static_assert(offsetof(vcpu_info, evtchn_upcall_pending) == 0);
static_assert(offsetof(vcpu_info, evtchn_upcall_mask) == 1);
static_assert(offsetof(vcpu_info, evtchn_pending_sel) == 8);
static_assert(offsetof(vcpu_info, arch) == 16);
static_assert(offsetof(vcpu_info, arch.cr2) == 16);
static_assert(offsetof(vcpu_info, time) == 32);

// §3.5: struct arch_shared_info, 48 bytes, written by the guest (read by tools).
struct arch_shared_info {
    std::uint64_t max_pfn;
    std::uint64_t pfn_to_mfn_frame_list_list;
    std::uint64_t nmi_reason;
    std::uint64_t p2m_cr3;
    std::uint64_t p2m_vaddr;
    std::uint64_t p2m_generation;
};
static_assert(sizeof(arch_shared_info) == 48);
static_assert(offsetof(arch_shared_info, max_pfn) == 0);
static_assert(offsetof(arch_shared_info, pfn_to_mfn_frame_list_list) == 8);
static_assert(offsetof(arch_shared_info, nmi_reason) == 16);
static_assert(offsetof(arch_shared_info, p2m_cr3) == 24);
static_assert(offsetof(arch_shared_info, p2m_vaddr) == 32);
static_assert(offsetof(arch_shared_info, p2m_generation) == 40);

// §3.5 (nmi.h): bits of arch_shared_info.nmi_reason.
inline constexpr std::uint64_t XEN_NMIREASON_io_error = 1u << 0;
inline constexpr std::uint64_t XEN_NMIREASON_pci_serr = 1u << 1;
inline constexpr std::uint64_t XEN_NMIREASON_unknown = 1u << 2;

// 2-level event channel geometry (pv-abi-devices.md §1.3): 64 words x 64 bits = 4096 ports.
inline constexpr std::size_t EVTCHN_2L_WORDS = 64;
inline constexpr std::size_t EVTCHN_2L_NR_CHANNELS = EVTCHN_2L_WORDS * 64;

// §3.6: struct shared_info, 3136 bytes used of its page (the size "may vary"; guests must not
// rely on it, but this layout is Xen 4.17's).
struct shared_info {
    ::xen::vcpu_info vcpu_info[XEN_LEGACY_MAX_VCPUS];
    std::uint64_t evtchn_pending[EVTCHN_2L_WORDS];
    std::uint64_t evtchn_mask[EVTCHN_2L_WORDS];
    std::uint32_t wc_version;
    std::uint32_t wc_sec;
    std::uint32_t wc_nsec;
    std::uint32_t wc_sec_hi;
    arch_shared_info arch;
};
static_assert(sizeof(shared_info) == 3136);
static_assert(sizeof(shared_info) <= 4096);
static_assert(offsetof(shared_info, vcpu_info) == 0);
static_assert(offsetof(shared_info, evtchn_pending) == 2048);
static_assert(offsetof(shared_info, evtchn_mask) == 2560);
static_assert(offsetof(shared_info, wc_version) == 3072);
static_assert(offsetof(shared_info, wc_sec) == 3076);
static_assert(offsetof(shared_info, wc_nsec) == 3080);
static_assert(offsetof(shared_info, wc_sec_hi) == 3084);
static_assert(offsetof(shared_info, arch) == 3088);
static_assert(offsetof(shared_info, arch.max_pfn) == 3088);
static_assert(offsetof(shared_info, arch.pfn_to_mfn_frame_list_list) == 3096);
static_assert(offsetof(shared_info, arch.nmi_reason) == 3104);
static_assert(offsetof(shared_info, arch.p2m_cr3) == 3112);
static_assert(offsetof(shared_info, arch.p2m_vaddr) == 3120);
static_assert(offsetof(shared_info, arch.p2m_generation) == 3128);

}  // namespace xen
