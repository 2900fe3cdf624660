// Hypercall wrappers of the test kernels: raw entry (syscall or hypercall page) and typed helpers.
// Source: pv-abi-core.md §4.1-§4.3 (transfer and registers), §5 (each call's arguments).
#pragma once

#include <cstddef>
#include <cstdint>

#include "xen/xen.hpp"

// Defined by hypercall_page.S when the guest asked for a hypercall page; null otherwise.
extern "C" char hypercall_page[] __attribute__((weak));

namespace xt {

// How hypercalls enter the hypervisor: the `syscall` instruction issued inline (Linux 6.1,
// §4.3), or `call hypercall_page + 32 * nr` (Mini-OS/XTF, §4.1).
enum class HypercallMode : std::uint8_t { Syscall, Page };

bool has_hypercall_page();
// Selects the mode for all later hypercalls and for HYPERVISOR_iret on trap return. Page mode
// is refused (returns false) when the guest has no hypercall page.
bool set_hypercall_mode(HypercallMode mode);
HypercallMode hypercall_mode();

namespace detail {
extern HypercallMode g_mode;

// §4.2/§4.3: number in rax, arguments in rdi, rsi, rdx, r10, r8; result in rax. syscall
// destroys rcx and r11, so we save and restore them around it exactly like Linux's
// xen_hypercall_pv; every argument register is clobbered by the hypervisor.
inline long hypercall_syscall(std::uint64_t nr, std::uint64_t a1, std::uint64_t a2, std::uint64_t a3,
                              std::uint64_t a4, std::uint64_t a5) {
    register std::uint64_t r10 asm("r10") = a4;
    register std::uint64_t r8 asm("r8") = a5;
    long result;
    asm volatile(
        "push %%rcx\n\t"
        "push %%r11\n\t"
        "syscall\n\t"
        "pop %%r11\n\t"
        "pop %%rcx"
        : "=a"(result), "+D"(a1), "+S"(a2), "+d"(a3), "+r"(r10), "+r"(r8)
        : "0"(nr)
        : "memory", "cc");
    return result;
}

// §4.1: the stub at hypercall_page + 32 * nr loads eax itself and saves rcx/r11.
inline long hypercall_page_call(std::uint64_t nr, std::uint64_t a1, std::uint64_t a2, std::uint64_t a3,
                                std::uint64_t a4, std::uint64_t a5) {
    register std::uint64_t r10 asm("r10") = a4;
    register std::uint64_t r8 asm("r8") = a5;
    const std::uint64_t target = reinterpret_cast<std::uint64_t>(hypercall_page) + nr * xen::HYPERCALL_STUB_SIZE;
    long result;
    asm volatile("call *%[target]"
                 : "=a"(result), "+D"(a1), "+S"(a2), "+d"(a3), "+r"(r10), "+r"(r8)
                 : [target] "r"(target)
                 : "memory", "cc", "r9");
    return result;
}
}  // namespace detail

// The raw hypercall in the current mode; returns the hypervisor's rax (>= 0 or -errno).
inline long hypercall(std::uint64_t nr, std::uint64_t a1 = 0, std::uint64_t a2 = 0, std::uint64_t a3 = 0,
                      std::uint64_t a4 = 0, std::uint64_t a5 = 0) {
    if (detail::g_mode == HypercallMode::Page) {
        return detail::hypercall_page_call(nr, a1, a2, a3, a4, a5);
    }
    return detail::hypercall_syscall(nr, a1, a2, a3, a4, a5);
}

template <class T>
inline std::uint64_t handle(T* p) {
    return reinterpret_cast<std::uint64_t>(p);
}

// --- Typed helpers, one per hypercall (§5.x) -------------------------------------------------

inline long set_trap_table(const xen::trap_info* table) {  // §5.2
    return hypercall(xen::HYPERVISOR_set_trap_table, handle(table));
}
inline long mmu_update(const xen::mmu_update* reqs, unsigned count, unsigned* done, unsigned foreigndom) {  // §5.3
    return hypercall(xen::HYPERVISOR_mmu_update, handle(reqs), count, handle(done), foreigndom);
}
inline long set_gdt(const std::uint64_t* frames, unsigned entries) {  // §5.4
    return hypercall(xen::HYPERVISOR_set_gdt, handle(frames), entries);
}
inline long stack_switch(std::uint64_t ss, std::uint64_t sp) {  // §5.5
    return hypercall(xen::HYPERVISOR_stack_switch, ss, sp);
}
inline long set_callbacks(std::uint64_t event, std::uint64_t failsafe, std::uint64_t syscall) {  // §5.6
    return hypercall(xen::HYPERVISOR_set_callbacks, event, failsafe, syscall);
}
inline long callback_op(std::uint32_t cmd, const void* arg) {  // §5.6
    return hypercall(xen::HYPERVISOR_callback_op, cmd, handle(arg));
}
inline long register_callback(std::uint16_t type, std::uint64_t address, std::uint16_t flags = 0) {
    const xen::callback_register reg{type, flags, 0, address};
    return callback_op(xen::CALLBACKOP_register, &reg);
}
inline long fpu_taskswitch(int set) {  // §5.7
    return hypercall(xen::HYPERVISOR_fpu_taskswitch, static_cast<std::uint64_t>(set));
}
inline long set_debugreg(int reg, std::uint64_t value) {  // §5.8
    return hypercall(xen::HYPERVISOR_set_debugreg, static_cast<std::uint64_t>(reg), value);
}
inline long get_debugreg(int reg) {  // §5.8: the value, or -errno ("defective" interface)
    return hypercall(xen::HYPERVISOR_get_debugreg, static_cast<std::uint64_t>(reg));
}
inline long update_descriptor(std::uint64_t maddr, std::uint64_t desc) {  // §5.9
    return hypercall(xen::HYPERVISOR_update_descriptor, maddr, desc);
}
inline long memory_op(std::uint32_t cmd, void* arg) {  // §5.12
    return hypercall(xen::HYPERVISOR_memory_op, cmd, handle(arg));
}
inline long multicall(xen::multicall_entry* calls, std::uint64_t nr_calls) {  // §4.6
    return hypercall(xen::HYPERVISOR_multicall, handle(calls), nr_calls);
}
inline long update_va_mapping(std::uint64_t va, std::uint64_t pte, std::uint64_t flags) {  // §5.10
    return hypercall(xen::HYPERVISOR_update_va_mapping, va, pte, flags);
}
inline long set_timer_op(std::uint64_t timeout_abs_ns) {  // §5.11
    return hypercall(xen::HYPERVISOR_set_timer_op, timeout_abs_ns);
}
inline long xen_version(std::uint32_t cmd, void* arg = nullptr) {  // §5.13
    return hypercall(xen::HYPERVISOR_xen_version, cmd, handle(arg));
}
inline long console_io(std::uint32_t cmd, std::uint32_t count, const char* buffer) {  // §5.14
    return hypercall(xen::HYPERVISOR_console_io, cmd, count, handle(buffer));
}
inline long vm_assist(std::uint32_t cmd, std::uint32_t type) {  // §5.16
    return hypercall(xen::HYPERVISOR_vm_assist, cmd, type);
}
inline long vcpu_op(std::uint32_t cmd, std::uint32_t vcpu, void* arg = nullptr) {  // §5.19
    return hypercall(xen::HYPERVISOR_vcpu_op, cmd, vcpu, handle(arg));
}
inline long set_segment_base(std::uint32_t which, std::uint64_t base) {  // §5.20
    return hypercall(xen::HYPERVISOR_set_segment_base, which, base);
}
inline long mmuext_op(const xen::mmuext_op* ops, unsigned count, unsigned* done, unsigned foreigndom) {  // §5.21
    return hypercall(xen::HYPERVISOR_mmuext_op, handle(ops), count, handle(done), foreigndom);
}
inline long nmi_op(std::uint32_t cmd, void* arg) {  // §5.23
    return hypercall(xen::HYPERVISOR_nmi_op, cmd, handle(arg));
}
inline long sched_op(std::uint32_t cmd, void* arg = nullptr) {  // §5.24
    return hypercall(xen::HYPERVISOR_sched_op, cmd, handle(arg));
}
inline long sched_yield() { return sched_op(xen::SCHEDOP_yield); }
inline long sched_block() { return sched_op(xen::SCHEDOP_block); }
inline long sched_poll(xen::evtchn_port_t* ports, std::uint32_t nr_ports, std::uint64_t timeout_abs_ns) {
    xen::sched_poll poll{handle(ports), nr_ports, 0, timeout_abs_ns};
    return sched_op(xen::SCHEDOP_poll, &poll);
}
inline long sched_shutdown(std::uint32_t reason) {
    xen::sched_shutdown arg{reason};
    return sched_op(xen::SCHEDOP_shutdown, &arg);
}
inline long event_channel_op(std::uint32_t cmd, void* arg) {  // devices §1.1
    return hypercall(xen::HYPERVISOR_event_channel_op, cmd, handle(arg));
}
inline long evtchn_send(xen::evtchn_port_t port) {
    xen::evtchn_send arg{port};
    return event_channel_op(xen::EVTCHNOP_send, &arg);
}

}  // namespace xt
