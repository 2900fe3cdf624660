// The small per-vCPU state hypercalls: stack_switch (3), set_segment_base (25),
// fpu_taskswitch (5), set/get_debugreg (8/9), vm_assist (21), set_timer_op (15), and the
// physdev_op (33) and xenpmu_op (40) sub-ops a domU uses, and platform_op (7) refused to domUs
// (pv-abi-core.md §5.5-§5.8, §5.11, §5.16, §5.17, §5.20, §5.27).
#include "arch/x86_64/cr.hpp"
#include "arch/x86_64/debugreg.hpp"
#include "arch/x86_64/guest_context.hpp"
#include "arch/x86_64/msr.hpp"
#include "domain/domain.hpp"
#include "hypercall/hypercall.hpp"
#include "pv/descriptors.hpp"
#include "pv/guest_memory.hpp"
#include "pv/time.hpp"
#include "xen/arch_x86_64.hpp"
#include "xen/mm.hpp"
#include "xen/physdev.hpp"

namespace xenolith {

namespace {
bool canonical(std::uint64_t address) {
    return address < 0x0000800000000000ull || address >= 0xffff800000000000ull;
}
}  // namespace

std::int64_t do_stack_switch(HypercallContext& c) {
    c.vcpu.kernel_ss = c.arg(0) | 3;
    c.vcpu.kernel_sp = c.arg(1);
    return 0;
}

std::int64_t do_set_segment_base(HypercallContext& c) {
    Vcpu& vcpu = c.vcpu;
    const std::uint64_t which = c.arg(0) & 0xffffffff;
    const std::uint64_t base = c.arg(1);
    switch (which) {
    case xen::SEGBASE_FS:
        if (!canonical(base))
            return xen::negated(Errno::EINVAL);
        vcpu.fs_base = base;
        arch::wrmsr(arch::msr::FS_BASE, base);
        return 0;
    case xen::SEGBASE_GS_USER:
        if (!canonical(base))
            return xen::negated(Errno::EINVAL);
        vcpu.gs_base_user = base;
        if (!vcpu.kernel_mode)
            arch::wrmsr(arch::msr::GS_BASE, base);
        return 0;
    case xen::SEGBASE_GS_KERNEL:
        if (!canonical(base))
            return xen::negated(Errno::EINVAL);
        vcpu.gs_base_kernel = base;
        if (vcpu.kernel_mode)
            arch::wrmsr(arch::msr::GS_BASE, base);
        return 0;
    case xen::SEGBASE_GS_USER_SEL:
        // §5.20: the user GS base becomes what the selector's descriptor gives (a selector
        // that would not load counts as null). The selector register itself is not tracked.
        vcpu.gs_base_user = selector_base(vcpu, static_cast<std::uint16_t>(base | ((base & 0xffff) > 3 ? 3 : 0)));
        if (!vcpu.kernel_mode)
            arch::wrmsr(arch::msr::GS_BASE, vcpu.gs_base_user);
        return 0;
    default: return xen::negated(Errno::EINVAL);
    }
}

std::int64_t do_fpu_taskswitch(HypercallContext& c) {
    // §5.7: set or clear the virtual CR0.TS; the real TS follows so the next FPU use traps.
    c.vcpu.virtual_ts = c.arg(0) != 0;
    if (c.vcpu.virtual_ts)
        arch::write_cr0(arch::read_cr0() | arch::cr0::TS);
    else
        arch::write_cr0(arch::read_cr0() & ~arch::cr0::TS);
    return 0;
}

namespace {
constexpr std::uint64_t CR4_DE = 1u << 3;

// §5.8: DR4/DR5 are aliases of DR6/DR7 unless the guest's virtual CR4.DE is set (as on
// hardware); -1 when the register does not exist.
int debugreg_index(const Vcpu& vcpu, std::uint64_t reg) {
    if (reg > 7 || ((reg == 4 || reg == 5) && (vcpu.virtual_cr4 & CR4_DE)))
        return -1;
    return reg == 4 ? 6 : reg == 5 ? 7 : static_cast<int>(reg);
}

// §5.8 DR7: upper half zero, no general detect, I/O breakpoints only with the guest's virtual
// CR4.DE (else -EPERM, as Xen). Even then they are refused (-EOPNOTSUPP): the guest's port I/O
// is emulated, so hardware I/O breakpoints could never fire for it and nothing emulates them.
Result<std::uint64_t> check_dr7(const Vcpu& vcpu, std::uint64_t value) {
    if (value >> 32)
        return Errno::EINVAL;
    if (value & arch::dr7::GD)
        return Errno::EPERM;
    for (unsigned n = 0; n < 4; ++n) {
        if (!arch::dr7::enabled(value, n) || arch::dr7::rw(value, n) != arch::dr7::RW_IO)
            continue;
        if (!(vcpu.virtual_cr4 & CR4_DE))
            return Errno::EPERM;
        return Errno::EOPNOTSUPP;
    }
    // The reserved bits take their architectural values, so the value loads into DR7 as is.
    return (value & ~arch::dr7::RESERVED_ZERO) | arch::dr7::RESERVED_ONE;
}
}  // namespace

std::int64_t do_set_debugreg(HypercallContext& c) {
    Vcpu& vcpu = c.vcpu;
    const std::uint64_t value = c.arg(1);
    const int index = debugreg_index(vcpu, c.arg(0) & 0xffffffff);
    switch (index) {
    case 0:
    case 1:
    case 2:
    case 3:
        // §5.8: breakpoints must be guest addresses.
        if (!is_guest_range(value, 1))
            return xen::negated(Errno::EPERM);
        vcpu.debugreg[index] = value;
        break;
    case 6:
        if (value >> 32)
            return xen::negated(Errno::EINVAL);
        vcpu.debugreg[6] = value;
        return 0;
    case 7: {
        auto checked = check_dr7(vcpu, value);
        if (!checked)
            return xen::negated(checked.error());
        vcpu.debugreg[7] = *checked;
        break;
    }
    default: return xen::negated(Errno::ENODEV);
    }
    // The caller is the vCPU on this CPU: its breakpoints take effect at once.
    arch::load_debug_registers(vcpu);
    return 0;
}

std::int64_t do_get_debugreg(HypercallContext& c) {
    const int index = debugreg_index(c.vcpu, c.arg(0) & 0xffffffff);
    if (index < 0)
        return xen::negated(Errno::ENODEV);
    return static_cast<std::int64_t>(c.vcpu.debugreg[index]);
}

std::int64_t do_vm_assist(HypercallContext& c) {
    const std::uint64_t command = c.arg(0) & 0xffffffff;
    const std::uint64_t type = c.arg(1) & 0xffffffff;
    if (command != xen::VMASST_CMD_enable && command != xen::VMASST_CMD_disable)
        return xen::negated(Errno::ENOSYS);
    if (type >= 64 || !(xen::VMASST_VALID_MASK_PV64 & (std::uint64_t{1} << type)))
        return xen::negated(Errno::EINVAL);
    Domain& domain = *c.vcpu.domain;
    if (command == xen::VMASST_CMD_enable)
        __atomic_fetch_or(&domain.vm_assist, std::uint64_t{1} << type, __ATOMIC_SEQ_CST);
    else
        __atomic_fetch_and(&domain.vm_assist, ~(std::uint64_t{1} << type), __ATOMIC_SEQ_CST);
    return 0;
}

std::int64_t do_set_timer_op(HypercallContext& c) {
    // §5.11: an absolute system time for the single-shot timer; 0 stops it.
    set_singleshot_timer(c.vcpu, c.arg(0));
    return 0;
}

std::int64_t do_physdev_op(HypercallContext& c) {
    const std::uint64_t command = c.arg(0) & 0xffffffff;
    if (command == xen::PHYSDEVOP_set_iopl) {
        auto iopl = GuestPtr<std::uint32_t>(c.arg(1)).read();
        if (!iopl)
            return xen::negated(iopl.error());
        if (*iopl > 3)
            return xen::negated(Errno::EINVAL);
        c.vcpu.virtual_iopl = *iopl;
        return 0;
    }
    // Physical interrupts and devices belong to dom0 with hardware (a later stage).
    return xen::negated(Errno::ENOSYS);
}

std::int64_t do_platform_op(HypercallContext& c) {
    // §5.27: platform_op is the hardware domain's; a domU is refused with -EPERM (as Xen's
    // XSM check does) rather than told the call does not exist. No sub-op is implemented yet.
    return xen::negated(c.vcpu.domain->privileged ? Errno::ENOSYS : Errno::EPERM);
}

std::int64_t do_xenpmu_op(HypercallContext&) {
    // §5.27: no virtual PMU; Linux prints "VPMU disabled by hypervisor." and carries on.
    return xen::negated(Errno::EOPNOTSUPP);
}

}  // namespace xenolith
