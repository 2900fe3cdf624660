// Hypercall dispatch: the table from hypercall number to handler, and what a handler gets.
// Each family lives in its own file in this directory (one file per family).
#pragma once

#include <cstdint>

#include "arch/x86_64/trap_frame.hpp"
#include "lib/result.hpp"

namespace xenolith {

struct Vcpu;

// The registers of a hypercall (pv-abi-core.md §4.2): number in rax, arguments in rdi, rsi, rdx,
// r10, r8; the result goes back in rax.
struct HypercallContext {
    Vcpu& vcpu;
    arch::TrapFrame& frame;
    // Long batches stop and arrange to be re-executed (§4.5) unless inside a multicall.
    bool may_continue = true;
    bool continued = false;
    std::uint64_t arg(unsigned index) const {
        const std::uint64_t args[5] = {frame.rdi, frame.rsi, frame.rdx, frame.r10, frame.r8};
        return args[index];
    }
};

using HypercallHandler = std::int64_t (*)(HypercallContext& context);

// Turn a Result into the value a hypercall returns (0 or a value on success, -errno).
inline std::int64_t to_return(const Result<void>& result) {
    return result.is_ok() ? 0 : xen::negated(result.error());
}
template <typename T>
std::int64_t to_return(const Result<T>& result) {
    return result.is_ok() ? static_cast<std::int64_t>(result.value()) : xen::negated(result.error());
}

// Make the guest re-execute this hypercall (its `syscall`) with new arguments: the way a long
// batch gives up the CPU between chunks (pv-abi-core.md §4.5).
void arrange_continuation(HypercallContext& c, std::uint64_t arg0, std::uint64_t arg1, std::uint64_t arg2,
                          std::uint64_t arg3);

// A `syscall` from a guest: a hypercall from guest kernel mode, a system call for the guest
// kernel from guest user mode (§6.5).
void handle_guest_syscall(arch::TrapFrame& frame);

// Run one hypercall by number (the dispatch table; multicall uses it too).
std::int64_t dispatch_hypercall(Vcpu& vcpu, arch::TrapFrame& frame, std::uint64_t number, bool may_continue,
                                bool* continued);

// The families (hypercall/*.cpp).
std::int64_t do_console_io(HypercallContext& c);
std::int64_t do_xen_version(HypercallContext& c);
std::int64_t do_sched_op(HypercallContext& c);
std::int64_t do_sched_op_compat(HypercallContext& c);
std::int64_t do_set_trap_table(HypercallContext& c);
std::int64_t do_set_callbacks(HypercallContext& c);
std::int64_t do_callback_op(HypercallContext& c);
std::int64_t do_nmi_op(HypercallContext& c);
std::int64_t do_iret(HypercallContext& c);
std::int64_t do_stack_switch(HypercallContext& c);
std::int64_t do_set_segment_base(HypercallContext& c);
std::int64_t do_fpu_taskswitch(HypercallContext& c);
std::int64_t do_set_debugreg(HypercallContext& c);
std::int64_t do_get_debugreg(HypercallContext& c);
std::int64_t do_vm_assist(HypercallContext& c);
std::int64_t do_vcpu_op(HypercallContext& c);
std::int64_t do_set_timer_op(HypercallContext& c);
std::int64_t do_event_channel_op(HypercallContext& c);
std::int64_t do_physdev_op(HypercallContext& c);
std::int64_t do_xenpmu_op(HypercallContext& c);
std::int64_t do_platform_op(HypercallContext& c);
std::int64_t do_multicall(HypercallContext& c);
std::int64_t do_mmu_update(HypercallContext& c);
std::int64_t do_mmuext_op(HypercallContext& c);
std::int64_t do_update_va_mapping(HypercallContext& c);
std::int64_t do_update_va_mapping_otherdomain(HypercallContext& c);
std::int64_t do_memory_op(HypercallContext& c);
std::int64_t do_set_gdt(HypercallContext& c);
std::int64_t do_update_descriptor(HypercallContext& c);
std::int64_t do_domctl(HypercallContext& c);

}  // namespace xenolith
