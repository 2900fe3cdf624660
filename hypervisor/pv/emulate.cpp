// Instruction emulation for PV guests (pv-abi-core.md §6.11).
#include "pv/emulate.hpp"

#include "arch/x86_64/cpuid.hpp"
#include "arch/x86_64/cr.hpp"
#include "arch/x86_64/msr.hpp"
#include "arch/x86_64/tsc.hpp"
#include "arch/x86_64/xstate.hpp"
#include "domain/domain.hpp"
#include "pv/guest_memory.hpp"
#include "xen/version.hpp"

namespace xenolith {

namespace {

constexpr std::uint32_t XEN_CPUID_BASE = 0x40000000;
constexpr std::uint64_t XEN_MSR_PAT = 0x0000050100070406ull;  // §6.11: what guests read for PAT

namespace msr_index {
constexpr std::uint32_t TSC = 0x10;
constexpr std::uint32_t APIC_BASE = 0x1b;
constexpr std::uint32_t MISC_ENABLE = 0x1a0;
constexpr std::uint32_t PAT = 0x277;
constexpr std::uint32_t SYSENTER_CS = 0x174, SYSENTER_ESP = 0x175, SYSENTER_EIP = 0x176;
constexpr std::uint32_t EFER = 0xc0000080;
constexpr std::uint32_t STAR = 0xc0000081, LSTAR = 0xc0000082, CSTAR = 0xc0000083, SFMASK = 0xc0000084;
constexpr std::uint32_t FS_BASE = 0xc0000100, GS_BASE = 0xc0000101, SHADOW_GS_BASE = 0xc0000102;
constexpr std::uint32_t TSC_AUX = 0xc0000103;
}  // namespace msr_index

// General-purpose register `index` (x86 encoding: rax, rcx, rdx, rbx, rsp, rbp, rsi, rdi, r8-r15).
std::uint64_t& gpr(arch::TrapFrame& f, unsigned index) {
    std::uint64_t* const registers[16] = {&f.rax, &f.rcx, &f.rdx, &f.rbx, &f.rsp, &f.rbp, &f.rsi, &f.rdi,
                                          &f.r8,  &f.r9,  &f.r10, &f.r11, &f.r12, &f.r13, &f.r14, &f.r15};
    return *registers[index & 15];
}

bool canonical(std::uint64_t address) {
    return address < 0x0000800000000000ull || address >= 0xffff800000000000ull;
}

// The CR4 a guest sees: paging and FPU bits the hypervisor runs with, plus the bits it may set.
constexpr std::uint64_t GUEST_CR4_FIXED = arch::cr4::PAE | arch::cr4::OSFXSR | arch::cr4::OSXMMEXCPT;
constexpr std::uint64_t GUEST_CR4_SETTABLE = (1u << 2) /* TSD */ | (1u << 3) /* DE */ | arch::cr4::PGE;

// §6.11: OSXSAVE is guest-controllable only when the CPUID policy offers XSAVE.
std::uint64_t guest_cr4_settable() {
    return GUEST_CR4_SETTABLE | (arch::xstate_policy().enabled ? arch::cr4::OSXSAVE : 0);
}

// §6.11 xsetbv: an XCR0 write validated against the CPUID policy, with the architectural
// rules (SDM XSETBV): only XCR0 exists, x87 is always on, AVX needs SSE. A refused value is
// #GP(0) for the guest, as on hardware; with the guest's virtual CR4.OSXSAVE clear the
// instruction does not exist for it (#UD).
Emulation emulate_xsetbv(Vcpu& vcpu, arch::TrapFrame& frame, unsigned length) {
    const arch::XstatePolicy& xstate = arch::xstate_policy();
    if (!xstate.enabled || !(vcpu.virtual_cr4 & arch::cr4::OSXSAVE))
        return Emulation::InjectUd;
    const std::uint64_t value = (frame.rdx << 32) | (frame.rax & 0xffffffff);
    if ((frame.rcx & 0xffffffff) != 0 || (value & ~xstate.allowed) || !(value & arch::xfeature::X87) ||
        ((value & arch::xfeature::AVX) && !(value & arch::xfeature::SSE)))
        return Emulation::InjectGp;
    vcpu.xcr0 = value;
    arch::xsetbv(0, value);  // the vCPU is the one on this CPU: its XCR0 is live
    frame.rip += length;
    return Emulation::Done;
}

bool read_msr(Vcpu& vcpu, std::uint32_t index, std::uint64_t& value) {
    switch (index) {
    case msr_index::FS_BASE: value = vcpu.fs_base; return true;
    case msr_index::GS_BASE: value = vcpu.kernel_mode ? vcpu.gs_base_kernel : vcpu.gs_base_user; return true;
    case msr_index::SHADOW_GS_BASE: value = vcpu.kernel_mode ? vcpu.gs_base_user : vcpu.gs_base_kernel; return true;
    case msr_index::EFER:
        // The host's long-mode bits: SCE, LME, LMA, NXE.
        value = arch::rdmsr(arch::msr::EFER) & ((1u << 0) | (1u << 8) | (1u << 10) | (1u << 11));
        return true;
    case msr_index::APIC_BASE: value = 0xfee00000 | (1u << 11) | (vcpu.id == 0 ? (1u << 8) : 0); return true;
    case msr_index::PAT: value = XEN_MSR_PAT; return true;
    case msr_index::MISC_ENABLE: value = (1u << 0) | (1u << 11) | (1u << 12); return true;  // no BTS/PEBS
    case msr_index::TSC: value = arch::rdtsc(); return true;
    case msr_index::TSC_AUX: value = vcpu.id; return true;
    case msr_index::STAR:
    case msr_index::LSTAR:
    case msr_index::CSTAR:
    case msr_index::SFMASK:
    case msr_index::SYSENTER_CS:
    case msr_index::SYSENTER_ESP:
    case msr_index::SYSENTER_EIP: value = 0; return true;
    default: return false;
    }
}

bool write_msr(Vcpu& vcpu, std::uint32_t index, std::uint64_t value) {
    switch (index) {
    case msr_index::FS_BASE:
        if (!canonical(value))
            return false;
        vcpu.fs_base = value;
        arch::wrmsr(arch::msr::FS_BASE, value);
        return true;
    case msr_index::GS_BASE:
        if (!canonical(value))
            return false;
        (vcpu.kernel_mode ? vcpu.gs_base_kernel : vcpu.gs_base_user) = value;
        arch::wrmsr(arch::msr::GS_BASE, value);
        return true;
    case msr_index::SHADOW_GS_BASE:
        if (!canonical(value))
            return false;
        (vcpu.kernel_mode ? vcpu.gs_base_user : vcpu.gs_base_kernel) = value;
        return true;
    case msr_index::EFER: {
        std::uint64_t current;
        read_msr(vcpu, index, current);
        return value == current;  // §6.11: only writing back what was read
    }
    // The hypervisor owns the system-call MSRs and PAT: guest writes are dropped (§6.11).
    case msr_index::STAR:
    case msr_index::LSTAR:
    case msr_index::CSTAR:
    case msr_index::SFMASK:
    case msr_index::SYSENTER_CS:
    case msr_index::SYSENTER_ESP:
    case msr_index::SYSENTER_EIP:
    case msr_index::PAT:
    case msr_index::TSC_AUX: return true;
    case msr_index::MISC_ENABLE: {
        std::uint64_t current;
        read_msr(vcpu, index, current);
        return value == current;
    }
    default: return false;
    }
}

Emulation emulate_control_register(Vcpu& vcpu, arch::TrapFrame& frame, bool write, std::uint8_t modrm, std::uint8_t rex,
                                   unsigned length) {
    if ((modrm >> 6) != 3)
        return Emulation::NotHandled;
    const unsigned cr = ((modrm >> 3) & 7) | ((rex & 0x4) ? 8 : 0);
    std::uint64_t& reg = gpr(frame, (modrm & 7) | ((rex & 0x1) ? 8 : 0));
    if (!write) {
        switch (cr) {
        case 0: reg = (arch::read_cr0() & ~arch::cr0::TS) | (vcpu.virtual_ts ? arch::cr0::TS : 0); break;
        case 2: reg = vcpu.virtual_cr2; break;
        case 3: reg = vcpu.kernel_root; break;
        case 4: reg = GUEST_CR4_FIXED | vcpu.virtual_cr4; break;
        default: return Emulation::InjectGp;
        }
    } else {
        switch (cr) {
        case 0: vcpu.virtual_ts = reg & arch::cr0::TS; break;  // only TS may change (§6.11)
        case 2: vcpu.virtual_cr2 = reg; break;
        case 3:
            // Page-table switches go through mmuext_op; reloading the current base is allowed.
            if ((reg & ~std::uint64_t{0xfff}) != vcpu.kernel_root)
                return Emulation::InjectGp;
            arch::write_cr3_flush_global(vcpu.kernel_root);  // the guest's user pages are global here
            break;
        case 4: vcpu.virtual_cr4 = reg & guest_cr4_settable(); break;
        default: return Emulation::InjectGp;
        }
    }
    frame.rip += length;
    return Emulation::Done;
}

// Port I/O is allowed when the virtual IOPL covers the guest's privilege (kernel = 1, user = 3).
// No device is passed through: reads return all ones and writes are dropped (§6.11).
Emulation emulate_port_io(Vcpu& vcpu, arch::TrapFrame& frame, const std::uint8_t* code, unsigned prefix_length,
                          bool operand16) {
    const unsigned privilege = vcpu.kernel_mode ? 1 : 3;
    if (vcpu.virtual_iopl < privilege)
        return Emulation::NotHandled;
    const std::uint8_t opcode = code[prefix_length];
    unsigned length = prefix_length + 1;
    if (opcode == 0xe4 || opcode == 0xe5 || opcode == 0xe6 || opcode == 0xe7)
        ++length;  // imm8 port
    const bool read = opcode == 0xe4 || opcode == 0xe5 || opcode == 0xec || opcode == 0xed;
    const bool byte = opcode == 0xe4 || opcode == 0xe6 || opcode == 0xec || opcode == 0xee;
    if (read) {
        if (byte)
            frame.rax |= 0xff;
        else if (operand16)
            frame.rax |= 0xffff;
        else
            frame.rax = 0xffffffff;  // a 32-bit result zero-extends
    }
    frame.rip += length;
    return Emulation::Done;
}

// CPUID 0xD limited to the components guests may use: sub-leaf 0 lists them with the sizes
// for the guest's own XCR0 (EBX) and for all of them (ECX); sub-leaf 1 offers none of the
// optional instructions (XSAVEOPT, XSAVEC, XGETBV 1, XSAVES: plain XSAVE is enough); each
// offered component's sub-leaf is the CPU's.
void xstate_leaf(const Vcpu& vcpu, std::uint32_t subleaf, std::uint32_t out[4]) {
    const arch::XstatePolicy& xstate = arch::xstate_policy();
    const std::uint32_t raw[4] = {out[0], out[1], out[2], out[3]};
    out[0] = out[1] = out[2] = out[3] = 0;
    if (!xstate.enabled)
        return;
    if (subleaf == 0) {
        out[0] = static_cast<std::uint32_t>(xstate.allowed);
        out[1] = arch::xstate_size(vcpu.xcr0);
        out[2] = xstate.area_size;
    } else if (subleaf >= 2 && subleaf < 63 && (xstate.allowed & (std::uint64_t{1} << subleaf))) {
        out[0] = raw[0], out[1] = raw[1], out[2] = raw[2];
    }
}

}  // namespace

void guest_cpuid(const Vcpu& vcpu, std::uint32_t leaf, std::uint32_t subleaf, std::uint32_t out[4]) {
    if (leaf >= XEN_CPUID_BASE && leaf < XEN_CPUID_BASE + 0x100) {
        // §6.11: the Xen leaves; Linux detects the platform with them.
        out[0] = out[1] = out[2] = out[3] = 0;
        switch (leaf - XEN_CPUID_BASE) {
        case 0:
            out[0] = XEN_CPUID_BASE + 5;
            out[1] = 0x566e6558;  // "XenV"
            out[2] = 0x65584d4d;  // "MMXe"
            out[3] = 0x4d4d566e;  // "nVMM"
            break;
        case 1: out[0] = xen::XEN_VERSION_4_17; break;
        case 2:
            out[0] = 1;               // hypercall pages
            out[1] = XEN_CPUID_BASE;  // MSR base
            out[2] = 1;               // MMU_PT_UPDATE_PRESERVE_AD
            break;
        case 3:
            if (subleaf == 0)
                out[2] = static_cast<std::uint32_t>(arch::tsc_hz() / 1000);  // guest TSC kHz
            break;
        case 5:
            if (subleaf == 0)
                out[1] = arch::cpuid(0x80000008).eax & 0xff;  // machine address width
            break;
        default: break;
        }
        return;
    }
    const arch::CpuidResult r = arch::cpuid(leaf, subleaf);
    out[0] = r.eax, out[1] = r.ebx, out[2] = r.ecx, out[3] = r.edx;
    const arch::XstatePolicy& xstate = arch::xstate_policy();
    const bool avx = xstate.allowed & arch::xfeature::AVX;
    if (leaf == 1) {
        out[1] &= 0x00ffffff;                                  // no APIC id for PV
        out[2] &= ~((1u << 3) | (1u << 5) | (1u << 21) | (1u << 24) | (1u << 27));  // MONITOR VMX x2APIC
                                                               // TSC-deadline OSXSAVE
        if (!xstate.enabled)
            out[2] &= ~(1u << 26);                             // XSAVE
        if (!avx)
            out[2] &= ~((1u << 12) | (1u << 28) | (1u << 29));  // FMA AVX F16C: need AVX state
        // §6.11: OSXSAVE follows the guest's virtual CR4, except that the guest kernel's
        // enlightened CPUID (this path, in kernel mode) sees it whenever XSAVE is offered, as
        // Xen's does: Linux PV decides to use XSAVE from XSAVE + OSXSAVE before it has set
        // CR4.OSXSAVE itself.
        if ((vcpu.virtual_cr4 & arch::cr4::OSXSAVE) || (xstate.enabled && vcpu.kernel_mode))
            out[2] |= 1u << 27;
        out[2] |= 1u << 31;                                    // running on a hypervisor
        // No superpages for PV guests (pv-abi-core.md §7.4: PS is refused in L2/L3 entries),
        // and no VME/DE: hide PSE and PSE36 so the guest builds its mappings from 4 KiB pages.
        out[3] &= ~((1u << 1) | (1u << 2) | (1u << 3) | (1u << 17));
        // Machine checks, thermal and debug-store machinery belong to the hypervisor: a guest
        // that believed in them would read MSRs it cannot have (MCE, MCA, DS, ACPI, TM, PBE).
        out[3] &= ~((1u << 7) | (1u << 14) | (1u << 21) | (1u << 22) | (1u << 29) | (1u << 31));
        // Likewise DTES64, DS-CPL, SMX, EST, TM2, xTPR, PDCM and PCID.
        out[2] &= ~((1u << 2) | (1u << 4) | (1u << 6) | (1u << 7) | (1u << 8) | (1u << 14) | (1u << 15) | (1u << 17));
    } else if (leaf == 6) {
        out[0] = out[1] = out[2] = out[3] = 0;                 // no power/thermal management
    } else if (leaf == 0x80000001) {
        out[3] &= ~(1u << 26);                                 // no 1 GiB pages either
    } else if (leaf == 7 && subleaf == 0) {
        out[1] &= ~((1u << 7) | (1u << 10) | (1u << 20));     // SMEP INVPCID SMAP: ring-0 features
        // FSGSBASE: the hypervisor runs without CR4.FSGSBASE and the guest cannot set it (its
        // CR4 write keeps only TSD/DE/PGE/OSXSAVE): a guest believing the bit would #UD on
        // rdfsbase (Linux 6.1 does in current_save_fsgs under -cpu max).
        out[1] &= ~(1u << 0);
        // Features whose state components are not offered: MPX, AVX-512 (every flavour),
        // PKU/OSPKE, AMX; AVX2 without AVX.
        out[1] &= ~((1u << 14) | (1u << 16) | (1u << 17) | (1u << 21) | (1u << 26) | (1u << 27) | (1u << 28) |
                    (1u << 30) | (1u << 31) | (avx ? 0 : 1u << 5));
        out[2] &= ~((1u << 1) | (1u << 3) | (1u << 4) | (1u << 6) | (1u << 11) | (1u << 12) | (1u << 14));
        out[3] &= ~((1u << 2) | (1u << 3) | (1u << 8) | (1u << 22) | (1u << 23) | (1u << 24) | (1u << 25));
    } else if (leaf == 0xd) {
        xstate_leaf(vcpu, subleaf, out);
    }
}

Emulation emulate_invalid_opcode(Vcpu& vcpu, arch::TrapFrame& frame) {
    static constexpr std::uint8_t FORCED_CPUID[7] = {0x0f, 0x0b, 'x', 'e', 'n', 0x0f, 0xa2};
    std::uint8_t code[7];
    if (copy_from_guest(code, frame.rip, sizeof(code)).is_error())
        return Emulation::NotHandled;
    for (unsigned i = 0; i < sizeof(code); ++i) {
        if (code[i] != FORCED_CPUID[i])
            return Emulation::NotHandled;
    }
    std::uint32_t out[4];
    guest_cpuid(vcpu, static_cast<std::uint32_t>(frame.rax), static_cast<std::uint32_t>(frame.rcx), out);
    frame.rax = out[0], frame.rbx = out[1], frame.rcx = out[2], frame.rdx = out[3];
    frame.rip += sizeof(FORCED_CPUID);
    return Emulation::Done;
}

Emulation emulate_privileged(Vcpu& vcpu, arch::TrapFrame& frame) {
    std::uint8_t code[16] = {};
    // Read what is readable of the next 16 bytes (the instruction may end near a page edge).
    unsigned available = 16;
    while (available && copy_from_guest(code, frame.rip, available).is_error())
        --available;
    if (!available)
        return Emulation::NotHandled;

    unsigned i = 0;
    bool operand16 = false;
    std::uint8_t rex = 0;
    while (i < available && (code[i] == 0x66 || code[i] == 0xf3 || code[i] == 0xf2)) {
        operand16 |= code[i] == 0x66;
        ++i;
    }
    if (i < available && (code[i] & 0xf0) == 0x40)
        rex = code[i++];
    if (i >= available)
        return Emulation::NotHandled;

    const std::uint8_t op = code[i];
    if (op == 0xe4 || op == 0xe5 || op == 0xe6 || op == 0xe7 || op == 0xec || op == 0xed || op == 0xee || op == 0xef)
        return emulate_port_io(vcpu, frame, code, i, operand16);
    if (op == 0xfa || op == 0xfb) {
        // cli/sti are ignored when the virtual IOPL permits, else #GP (§6.10).
        if (vcpu.virtual_iopl < (vcpu.kernel_mode ? 1u : 3u))
            return Emulation::NotHandled;
        frame.rip += i + 1;
        return Emulation::Done;
    }
    if (!vcpu.kernel_mode)
        return Emulation::NotHandled;  // privileged instructions only from guest kernel mode
    if (op != 0x0f || i + 1 >= available)
        return Emulation::NotHandled;
    const std::uint8_t op2 = code[i + 1];
    switch (op2) {
    case 0x32: {  // rdmsr
        std::uint64_t value;
        if (!read_msr(vcpu, static_cast<std::uint32_t>(frame.rcx), value))
            return Emulation::InjectGp;
        frame.rax = value & 0xffffffff;
        frame.rdx = value >> 32;
        frame.rip += i + 2;
        return Emulation::Done;
    }
    case 0x30: {  // wrmsr
        const std::uint64_t value = (frame.rdx << 32) | (frame.rax & 0xffffffff);
        if (!write_msr(vcpu, static_cast<std::uint32_t>(frame.rcx), value))
            return Emulation::InjectGp;
        frame.rip += i + 2;
        return Emulation::Done;
    }
    case 0x20:
    case 0x22:
        if (i + 2 >= available)
            return Emulation::NotHandled;
        return emulate_control_register(vcpu, frame, op2 == 0x22, code[i + 2], rex, i + 3);
    case 0x06:  // clts
        vcpu.virtual_ts = false;
        arch::write_cr0(arch::read_cr0() & ~arch::cr0::TS);
        frame.rip += i + 2;
        return Emulation::Done;
    case 0x01:  // group 7: only xsetbv (0f 01 d1) is emulated
        if (i + 2 >= available || code[i + 2] != 0xd1)
            return Emulation::NotHandled;
        return emulate_xsetbv(vcpu, frame, i + 3);
    case 0x09:  // wbinvd: no device memory to flush for a domain without I/O
        frame.rip += i + 2;
        return Emulation::Done;
    default: return Emulation::NotHandled;
    }
}

}  // namespace xenolith
