// Reporting what guests ask for and do not get: every -ENOSYS from a hypercall is logged once
// per domain, naming the hypercall and, for the families with a command, the sub-op. This is
// the list of what a guest kernel (Linux at boot, say) wanted and found missing.
#include "hypercall/unimplemented.hpp"

#include <optional>

#include "core/console.hpp"
#include "core/irq_lock.hpp"
#include "domain/domain.hpp"
#include "hypercall/hypercall.hpp"
#include "pv/guest_memory.hpp"
#include "xen/hypercall.hpp"

namespace xenolith {

namespace {

constexpr const char* NAMES[] = {
    "set_trap_table", "mmu_update", "set_gdt", "stack_switch", "set_callbacks", "fpu_taskswitch",
    "sched_op_compat", "platform_op", "set_debugreg", "get_debugreg", "update_descriptor", nullptr,
    "memory_op", "multicall", "update_va_mapping", "set_timer_op", "event_channel_op_compat",
    "xen_version", "console_io", "physdev_op_compat", "grant_table_op", "vm_assist",
    "update_va_mapping_otherdomain", "iret", "vcpu_op", "set_segment_base", "mmuext_op", "xsm_op",
    "nmi_op", "sched_op", "callback_op", "xenoprof_op", "event_channel_op", "physdev_op", "hvm_op",
    "sysctl", "domctl", "kexec_op", "tmem_op", "argo_op", "xenpmu_op", "dm_op", "hypfs_op",
};

const char* hypercall_name(std::uint64_t number) {
    if (number < sizeof(NAMES) / sizeof(NAMES[0]) && NAMES[number])
        return NAMES[number];
    return number == xen::HYPERVISOR_mca ? "mca" : "unused";
}

// The command of a multiplexed hypercall: its first argument (pv-abi-core.md §4.2, §5), or
// the leading `cmd` of the structure it points at for platform_op, sysctl and domctl.
std::optional<std::uint32_t> sub_op(std::uint64_t number, const HypercallContext& c) {
    switch (number) {
    case xen::HYPERVISOR_memory_op: return static_cast<std::uint32_t>(c.arg(0) & xen::MEMOP_CMD_MASK);
    case xen::HYPERVISOR_sched_op_compat:
    case xen::HYPERVISOR_xen_version:
    case xen::HYPERVISOR_console_io:
    case xen::HYPERVISOR_grant_table_op:
    case xen::HYPERVISOR_vcpu_op:
    case xen::HYPERVISOR_nmi_op:
    case xen::HYPERVISOR_sched_op:
    case xen::HYPERVISOR_callback_op:
    case xen::HYPERVISOR_event_channel_op:
    case xen::HYPERVISOR_physdev_op:
    case xen::HYPERVISOR_hvm_op:
    case xen::HYPERVISOR_xenpmu_op: return static_cast<std::uint32_t>(c.arg(0));
    case xen::HYPERVISOR_platform_op:
    case xen::HYPERVISOR_sysctl:
    case xen::HYPERVISOR_domctl:
        if (auto cmd = GuestPtr<std::uint32_t>(c.arg(0)).read())
            return *cmd;
        return std::nullopt;
    default: return std::nullopt;
    }
}

// True the first time this domain reports this key.
bool first_report(Domain& domain, std::uint64_t key) {
    IrqLockGuard guard(domain.lock);
    UnimplementedCalls& seen = domain.unimplemented;
    for (unsigned i = 0; i < seen.count; ++i) {
        if (seen.keys[i] == key)
            return false;
    }
    if (seen.count == UnimplementedCalls::CAPACITY)
        return false;  // the last slot's message says that the list stops there
    seen.keys[seen.count++] = key;
    return true;
}

}  // namespace

void report_unimplemented(const HypercallContext& c, std::uint64_t number) {
    Domain& domain = *c.vcpu.domain;
    const std::optional<std::uint32_t> op = sub_op(number, c);
    const std::uint64_t family = number < 64 ? number : 64;  // every out-of-range number is one key
    const std::uint64_t key = family << 33 | std::uint64_t{op.has_value()} << 32 | op.value_or(0);
    if (!first_report(domain, key))
        return;
    const bool last = domain.unimplemented.count == UnimplementedCalls::CAPACITY;
    if (op)
        log_info("domain {} ({}): hypercall {} ({}) sub-op {} is not implemented: -ENOSYS{}", domain.id, domain.name,
                 number, hypercall_name(number), *op, last ? " (no more reported)" : "");
    else
        log_info("domain {} ({}): hypercall {} ({}) is not implemented: -ENOSYS{}", domain.id, domain.name, number,
                 hypercall_name(number), last ? " (no more reported)" : "");
}

}  // namespace xenolith
