// Guest context switch pieces.
#include "arch/x86_64/guest_context.hpp"

#include "arch/x86_64/cr.hpp"
#include "arch/x86_64/msr.hpp"
#include "domain/domain.hpp"
#include "mm/kernel_space.hpp"

namespace xenolith::arch {

namespace {
void fxsave(std::uint8_t* area) { asm volatile("fxsave64 %0" : "=m"(*reinterpret_cast<std::uint8_t(*)[512]>(area))); }
void fxrstor(const std::uint8_t* area) {
    asm volatile("fxrstor64 %0" ::"m"(*reinterpret_cast<const std::uint8_t(*)[512]>(area)));
}
void fninit() { asm volatile("fninit"); }
}  // namespace

std::uint64_t active_root(const Vcpu& vcpu) {
    return vcpu.kernel_mode || !vcpu.user_root ? vcpu.kernel_root : vcpu.user_root;
}

void load_guest_context(Vcpu& vcpu) {
    write_cr3_flush_global(active_root(vcpu));  // nothing of the previous vCPU survives
    wrmsr(msr::FS_BASE, vcpu.fs_base);
    wrmsr(msr::GS_BASE, vcpu.kernel_mode ? vcpu.gs_base_kernel : vcpu.gs_base_user);
    // The FPU is switched eagerly: the hypervisor itself never touches it (-mgeneral-regs-only).
    write_cr0(read_cr0() & ~cr0::TS);
    if (vcpu.fpu_initialised) {
        fxrstor(vcpu.fpu_state);
    } else {
        fninit();
        vcpu.fpu_initialised = true;
    }
    if (vcpu.virtual_ts)
        write_cr0(read_cr0() | cr0::TS);
}

void save_guest_context(Vcpu& vcpu) {
    write_cr0(read_cr0() & ~cr0::TS);
    fxsave(vcpu.fpu_state);
}

void load_idle_context() { write_cr3(idle_page_table_root); }

}  // namespace xenolith::arch
