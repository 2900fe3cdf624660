// Domains and virtual CPUs: the objects every other part of the hypervisor acts on.
#pragma once

#include <cstdint>
#include <string_view>

#include "arch/x86_64/trap_frame.hpp"
#include "arch/x86_64/xstate.hpp"
#include "xen/shared_info.hpp"
#include "core/timer.hpp"
#include "hypercall/unimplemented.hpp"
#include "lib/atomic.hpp"
#include "lib/result.hpp"
#include "lib/spinlock.hpp"

namespace xenolith {

struct Domain;
struct EventChannel;

inline constexpr unsigned MAX_VCPUS_PER_DOMAIN = 32;  // XEN_LEGACY_MAX_VCPUS: vcpu_info slots in shared_info
inline constexpr unsigned MAX_DOMAINS = 256;
inline constexpr unsigned TRAP_VECTORS = 256;

// One virtual-IDT slot (set_trap_table, pv-abi-core.md §5.2).
struct GuestTrap {
    std::uint64_t address = 0;
    std::uint16_t cs = 0;
    std::uint8_t flags = 0;  // bits 0-1: DPL for INT n; bit 2: mask events on entry
};

// Entry points registered with set_callbacks/callback_op (§5.6).
struct GuestCallbacks {
    std::uint64_t event = 0;
    std::uint64_t failsafe = 0;
    std::uint64_t syscall = 0;
    std::uint64_t syscall32 = 0;
    std::uint64_t sysenter = 0;
    bool failsafe_masks_events = false;
    bool syscall_masks_events = false;
    bool syscall32_masks_events = false;
    bool sysenter_masks_events = false;
};

enum class VcpuState : std::uint8_t {
    Down,      // not initialised or VCPUOP_down
    Runnable,  // waiting for a CPU, or running
    Blocked,   // SCHEDOP_block / SCHEDOP_poll until an event or timeout
};

// The last hypercalls of a vCPU, printed when its domain crashes.
struct HypercallRecord {
    bool used;
    std::uint64_t number;
    std::uint64_t args[5];
    std::int64_t result;
};
inline constexpr unsigned HYPERCALL_TRAIL = 16;

struct Vcpu {
    Domain* domain = nullptr;
    unsigned id = 0;

    // Guest registers while the vCPU is not on a CPU (on a CPU they are its stack's TrapFrame).
    arch::TrapFrame regs{};
    bool kernel_mode = true;           // the PV "guest kernel mode" flag (§6.1)
    std::uint64_t kernel_root = 0;     // CR3 of guest kernel mode (machine address of the L4)
    std::uint64_t user_root = 0;       // CR3 of guest user mode, 0 = none
    std::uint64_t fs_base = 0;
    std::uint64_t gs_base_kernel = 0;
    std::uint64_t gs_base_user = 0;
    std::uint64_t kernel_sp = 0;       // stack_switch (§5.5)
    std::uint64_t kernel_ss = 0;
    std::uint64_t virtual_cr2 = 0;
    bool virtual_ts = false;           // virtual CR0.TS (fpu_taskswitch, §5.7)
    std::uint32_t virtual_iopl = 0;    // PHYSDEVOP_set_iopl (§5.17)
    std::uint64_t virtual_cr4 = 0;     // the guest-settable CR4 bits it wrote (§6.11)
    std::uint64_t debugreg[8] = {0, 0, 0, 0, 0, 0, 0xffff0ff0, 0x400};
    bool nmi_pending = false;
    bool nmi_masked = false;           // until the next HYPERVISOR_iret (§6.12)

    std::uint64_t gdt_frames[14] = {};  // set_gdt: MFNs holding a segment-descriptor type reference
    unsigned gdt_frame_count = 0;

    GuestTrap traps[TRAP_VECTORS];
    GuestCallbacks callbacks;

    // Where this vCPU's vcpu_info lives (shared_info slot, or registered elsewhere, §5.19).
    xen::vcpu_info* vcpu_info = nullptr;  // hypervisor virtual address (direct map)
    bool vcpu_info_registered = false;
    std::uint64_t vcpu_info_mfn = 0;      // the registered page (holds a writable type reference)
    std::uint64_t runstate_area = 0;    // guest virtual address, 0 = none
    std::int32_t runstate = 3;          // RUNSTATE_* (pv/runstate.cpp); starts offline
    std::uint64_t runstate_entry_ns = 0;
    std::uint64_t runstate_time[4] = {};

    Atomic<VcpuState> state{VcpuState::Down};
    Atomic<bool> paused{false};
    bool initialised = false;
    unsigned processor = 0;             // the CPU it runs on or last ran on
    Atomic<bool> running{false};

    // Scheduler accounting (sched/credit.cpp).
    std::int64_t credit = 0;
    std::uint64_t ran_since_ns = 0;
    std::uint64_t cpu_time_ns = 0;
    bool yield_requested = false;       // SCHEDOP_yield: give way at the next exit to the guest
    Vcpu* run_queue_next = nullptr;
    Atomic<bool> on_run_queue{false};

    // Timers (§8.3): the single-shot and the periodic timer, both raising VIRQ_TIMER.
    Timer singleshot_timer;
    Timer periodic_timer;
    std::uint64_t periodic_period_ns = 0;
    Timer poll_timer;                      // SCHEDOP_poll's timeout
    unsigned poll_port_count = 0;          // > 0 while blocked in SCHEDOP_poll
    std::uint32_t poll_ports[128] = {};    // §5.24: at most 128 ports
    std::uint32_t virq_port[24] = {};      // bound VIRQ ports (NR_VIRQS, pv-abi-devices.md §1.4)

    HypercallRecord trail[HYPERCALL_TRAIL] = {};
    unsigned trail_next = 0;

    // The FPU image: XSAVE standard format where the CPU has XSAVE, else FXSAVE (first 512
    // bytes). XSAVE needs 64-byte alignment.
    alignas(64) std::uint8_t fpu_state[arch::FPU_AREA_SIZE] = {};
    bool fpu_initialised = false;
    std::uint64_t xcr0 = arch::XCR0_RESET;  // the guest's XCR0 (emulated xsetbv, §6.11)
};

enum class DomainState : std::uint8_t { Building, Running, ShutDown, Dying };

struct Domain {
    std::uint16_t id = 0;
    char name[32] = {};
    bool privileged = false;
    Atomic<DomainState> state{DomainState::Building};
    std::uint32_t shutdown_reason = 0;
    bool shutdown_code_set = false;
    std::uint32_t shutdown_code = 0;

    unsigned vcpu_count = 0;
    Vcpu* vcpus[MAX_VCPUS_PER_DOMAIN] = {};

    std::uint64_t shared_info_phys = 0;
    std::uint64_t console_mfn = 0;  // the console ring served by the hypervisor (0 = none)
    xen::shared_info* shared_info = nullptr;  // direct-map address of the shared_info page
    std::uint64_t vm_assist = 0;

    std::uint64_t max_pages = 0;
    std::uint64_t tot_pages = 0;
    std::uint64_t* frames = nullptr;  // PFN -> MFN as the builder assigned them (mm/domain_memory)
    std::uint64_t frames_count = 0;
    unsigned frames_order = 0;

    EventChannel* event_channels = nullptr;  // MAX_PORTS_PER_DOMAIN entries (event/)
    UnimplementedCalls unimplemented;  // -ENOSYS answers already reported (hypercall/)
    char console_line[160] = {};       // console_io output waiting for its newline
    unsigned console_length = 0;

    unsigned weight = 256;  // credit scheduler (§ issue 3): default 256
    unsigned cap = 0;       // percent of one CPU, 0 = none

    Atomic<bool> reaped{false};
    SpinLock lock;
};

// Domain ids are assigned in creation order; lookups take the table lock.
Result<Domain*> create_domain(std::uint16_t id, const char* name, bool privileged, unsigned vcpus);
Domain* find_domain(std::uint16_t id);
unsigned domain_count_alive();

// Free everything a domain holds (its vCPUs must be off every CPU) and forget it.
void destroy_domain(Domain& domain);

// Destroy a shut-down domain once none of its vCPUs is on a CPU (called again by the scheduler
// when one leaves).
void reap_domain_if_idle(Domain& domain);
// Called after a domain is destroyed: when none is left, the hypervisor reports and (in test
// mode) ends with success if every domain powered off.
void domain_destroyed(std::uint16_t id, std::uint32_t reason);

// End a domain: record the reason, take its vCPUs off every CPU, free what it holds.
void shutdown_domain(Domain& domain, std::uint32_t reason);
// A fatal guest error: report why (with the vCPU's registers and hypercall trail) and shut the
// domain down with SHUTDOWN_crash. Other domains and the hypervisor carry on.
void crash_domain(Vcpu& vcpu, std::string_view why);

// Record a hypercall in the vCPU's trail (for crash reports).
void record_hypercall(Vcpu& vcpu, const arch::TrapFrame& frame);

}  // namespace xenolith
