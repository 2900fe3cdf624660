// Guest context switch pieces.
#include "arch/x86_64/guest_context.hpp"

#include "arch/x86_64/cr.hpp"
#include "arch/x86_64/debugreg.hpp"
#include "arch/x86_64/msr.hpp"
#include "arch/x86_64/xstate.hpp"
#include "domain/domain.hpp"
#include "mm/kernel_space.hpp"

namespace xenolith::arch {

std::uint64_t active_root(const Vcpu& vcpu) {
    return vcpu.kernel_mode || !vcpu.user_root ? vcpu.kernel_root : vcpu.user_root;
}

// The FPU is switched eagerly, on every vCPU switch, never lazily through CR0.TS and #NM: a
// lazy switch leaves the previous vCPU's registers in the CPU until the next one touches the
// FPU, and speculative execution can read them meanwhile (the "LazyFP" leak, CVE-2018-3665);
// Xen switches eagerly too since then. The guest still gets lazy-FPU semantics from its
// virtual CR0.TS (fpu_taskswitch, #NM, §5.7): the real TS only mirrors it.
//
// With XSAVE, XCR0 holds the allowed mask whenever no vCPU's state is loaded, so that XSAVE
// and XRSTOR cover every component a guest may have used: a component the incoming vCPU never
// set up (XSTATE_BV bit clear) is put in its initial state, so no register contents leak from
// one vCPU to the next. The guest's own XCR0 is loaded last.
void load_guest_context(Vcpu& vcpu) {
    write_cr3_flush_global(active_root(vcpu));  // nothing of the previous vCPU survives
    wrmsr(msr::FS_BASE, vcpu.fs_base);
    wrmsr(msr::GS_BASE, vcpu.kernel_mode ? vcpu.gs_base_kernel : vcpu.gs_base_user);
    write_cr0(read_cr0() & ~cr0::TS);
    if (!vcpu.fpu_initialised) {
        fpu_area_reset(vcpu.fpu_state);
        vcpu.fpu_initialised = true;
    }
    const XstatePolicy& xstate = xstate_policy();
    if (xstate.enabled) {
        xrstor(vcpu.fpu_state, xstate.allowed);
        if (vcpu.xcr0 != xstate.allowed)
            xsetbv(0, vcpu.xcr0);
    } else {
        fxrstor(vcpu.fpu_state);
    }
    if (vcpu.virtual_ts)
        write_cr0(read_cr0() | cr0::TS);
    if (vcpu.debugreg[7] & dr7::ENABLES)
        load_debug_registers(vcpu);
}

// Breakpoints are live only while their vCPU is on the CPU: DR7 is cleared when it leaves, so
// the idle loop and every other vCPU (of any domain) run with none armed.
void load_debug_registers(const Vcpu& vcpu) {
    if (!(vcpu.debugreg[7] & dr7::ENABLES)) {
        write_dr7(0);
        return;
    }
    write_dr0(vcpu.debugreg[0]);
    write_dr1(vcpu.debugreg[1]);
    write_dr2(vcpu.debugreg[2]);
    write_dr3(vcpu.debugreg[3]);
    write_dr7(vcpu.debugreg[7]);
}

void save_guest_context(Vcpu& vcpu) {
    if (vcpu.debugreg[7] & dr7::ENABLES)
        write_dr7(0);
    write_cr0(read_cr0() & ~cr0::TS);
    const XstatePolicy& xstate = xstate_policy();
    if (xstate.enabled) {
        if (vcpu.xcr0 != xstate.allowed)
            xsetbv(0, xstate.allowed);
        xsave(vcpu.fpu_state, xstate.allowed);
    } else {
        fxsave(vcpu.fpu_state);
    }
}

void load_idle_context() { write_cr3(idle_page_table_root); }

}  // namespace xenolith::arch
