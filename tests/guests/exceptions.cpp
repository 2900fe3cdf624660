// exceptions: every exception a PV guest kernel can raise is bounced to its handler with the
// frame of pv-abi-core.md §6.4 (vector, error code, rip, cs with RPL cleared for kernel mode,
// saved upcall mask, rflags.IF = !mask, rsp, ss), CR2 in vcpu_info for #PF with U/S = 0 in
// kernel mode (§6.6), software interrupts per the trap-table DPL (§6.5), and #NM per §5.7.
// (The user-mode half of the U/S rule needs user page tables and is not covered here; #SS and
// #XM are not either: QEMU TCG raises #GP for a non-canonical stack access and no #XM at all.)
#include "xen/arch_x86_64.hpp"
#include "xt/cpu.hpp"
#include "xt/test.hpp"
#include "xt/traps.hpp"

namespace {

// Each probe is an assembly routine with labels at the faulting instruction (`_at`) and
// where execution must resume (`_resume`), so the frame can be compared exactly.
#define PROBE_DECL(name)                 \
    extern "C" void probe_##name();      \
    extern "C" const char name##_at[];   \
    extern "C" const char name##_resume[];
PROBE_DECL(divide)
PROBE_DECL(ud2)
PROBE_DECL(int3)
PROBE_DECL(int3_long)
PROBE_DECL(into)
PROBE_DECL(hlt)
PROBE_DECL(noncanonical)
PROBE_DECL(bad_selector)
PROBE_DECL(int_denied)
PROBE_DECL(int_allowed)
PROBE_DECL(int80)
PROBE_DECL(pf_read)
PROBE_DECL(pf_write)
PROBE_DECL(pf_write_ro)
PROBE_DECL(single_step)
PROBE_DECL(fpu_nm)

asm(R"(
    .pushsection .text, "ax", @progbits
.macro PROBE name
    .globl probe_\name, \name\()_at, \name\()_resume
probe_\name:
.endm
    PROBE divide
    xor %edx, %edx
    xor %ecx, %ecx
    mov $1, %eax
divide_at:
    div %ecx
divide_resume:
    ret
    PROBE ud2
ud2_at:
    ud2
ud2_resume:
    ret
    PROBE int3
int3_at:
    int3
int3_resume:
    ret
    PROBE int3_long
int3_long_at:
    int $3
int3_long_resume:
    ret
    PROBE into
into_at:
    .byte 0xce                  /* into: invalid in 64-bit mode, #UD */
into_resume:
    ret
    PROBE hlt
hlt_at:
    hlt
hlt_resume:
    ret
    PROBE noncanonical
    movabs $0x0000800000000000, %rax
noncanonical_at:
    mov (%rax), %rax
noncanonical_resume:
    ret
    PROBE bad_selector
    mov $0xfff8, %eax
bad_selector_at:
    mov %eax, %ds
bad_selector_resume:
    ret
    PROBE int_denied
int_denied_at:
    int $0x40
int_denied_resume:
    ret
    PROBE int_allowed
int_allowed_at:
    int $0x41
int_allowed_resume:
    ret
    PROBE int80
int80_at:
    int $0x80
int80_resume:
    ret
    PROBE pf_read
    mov $0x1000, %eax
pf_read_at:
    mov (%rax), %rax
pf_read_resume:
    ret
    PROBE pf_write
    mov $0x2008, %eax
pf_write_at:
    movq $1, (%rax)
pf_write_resume:
    ret
    PROBE pf_write_ro          /* rdi: a read-only page of ours */
pf_write_ro_at:
    movq $1, (%rdi)
pf_write_ro_resume:
    ret
    PROBE single_step
    pushf
    orq $0x100, (%rsp)
    popf                        /* TF: #DB after the next instruction */
single_step_at:
    nop
single_step_resume:
    ret
    PROBE fpu_nm
fpu_nm_at:
    fninit
fpu_nm_resume:
    ret

    /* A stub of our own for vector 0x41 (the framework covers 0-31 and 0x80): count, record
       the frame, return with HYPERVISOR_iret. Interrupted code is our probe, which keeps
       nothing in rax. */
    .globl exc_int41_stub
exc_int41_stub:
    pop %rcx
    pop %r11
    incq g_int41_count(%rip)
    mov 0(%rsp), %rax
    mov %rax, g_int41_frame+0(%rip)
    mov 8(%rsp), %rax
    mov %rax, g_int41_frame+8(%rip)
    push $0
    push %rcx
    push %r11
    push %rax
    mov $23, %eax
    syscall
    ud2
    .popsection
)");

extern "C" void exc_int41_stub();
extern "C" {
std::uint64_t g_int41_count = 0;
std::uint64_t g_int41_frame[2] = {};  // rip, cs
}

struct Seen {
    unsigned count = 0;
    xt::TrapFrame frame{};
    std::uint64_t cr2 = 0;
    std::uint64_t resume = 0;  // where the handler sends execution
};
Seen g_seen[256];
unsigned g_expected = ~0u;  // the vector the current probe raises; any other is a failure

bool record(xt::TrapFrame& f) {
    if (f.vector != g_expected) {
        return false;  // the framework reports it and ends the test
    }
    Seen& s = g_seen[f.vector & 0xff];
    ++s.count;
    s.frame = f;
    s.cr2 = f.cr2;
    if (s.resume != 0) {
        f.rip = s.resume;
    }
    if (f.vector == 1) {
        f.rflags &= ~std::uint64_t{0x100};  // stop single-stepping
    }
    return true;
}

std::uint64_t addr(const char* label) { return reinterpret_cast<std::uint64_t>(label); }

// Run `probe`, expecting exactly one `vector` whose frame says it came from `at`, in guest
// kernel mode, with the given error code; execution continues at `resume`.
template <class Probe>
void expect_trap(const char* what, unsigned vector, Probe probe, std::uint64_t rip, std::uint64_t resume,
                 bool has_error, std::uint64_t error = 0) {
    Seen& s = g_seen[vector];
    s.count = 0;
    s.resume = resume;
    g_expected = vector;
    std::uint64_t rsp_before;
    asm volatile("mov %%rsp, %0" : "=r"(rsp_before));
    probe();
    g_expected = ~0u;
    const unsigned failures_before = xt::failures();
    CHECK_EQ(s.count, 1u);
    const xt::TrapFrame& f = s.frame;
    CHECK_EQ(f.vector, static_cast<std::uint64_t>(vector));
    CHECK_EQ(f.rip, rip);
    CHECK_EQ(f.error_code, has_error ? error : 0);
    // §6.4: cs with RPL cleared (interrupted in kernel mode), the saved upcall mask in bits
    // 39:32, nothing else; ss as it was; rflags.IF = !mask, IOPL 0; the interrupted rsp lies
    // just below ours (the probe's return address, maybe a saved register).
    CHECK_EQ(f.cs & 0xffff, static_cast<std::uint64_t>(xen::FLAT_KERNEL_CS & ~3));
    CHECK_EQ(f.cs >> 40, 0u);
    CHECK_EQ(f.ss, static_cast<std::uint64_t>(xen::FLAT_KERNEL_SS));
    const std::uint8_t mask = f.saved_upcall_mask();
    CHECK_EQ((f.rflags >> 9) & 1, mask ? 0u : 1u);
    CHECK_EQ(f.rflags & 0x3000, 0u);
    CHECK(f.rsp < rsp_before && f.rsp >= rsp_before - 64);
    if (xt::failures() != failures_before) {
        xt::print("  ... in {} (vector {})\n", what, vector);
    }
}

void probe_with(void (*fn)(void*), void* arg) { fn(arg); }

}  // namespace

void guest_main(const xen::start_info* si) {
    CHECK_EQ(xt::install_traps(), 0);
    for (unsigned v = 0; v < 32; ++v) {
        xt::set_trap_handler(v, record);
    }
    xt::set_trap_handler(0x80, record);
    xen::vcpu_info* info = xt::vcpu0_info();
    if (info == nullptr) {
        xt::require_shared_info();  // SKIP if mapping is not implemented, else FAIL
    }

    // An extra trap-table entry: vector 0x41 callable from guest kernel mode (DPL 1).
    xen::trap_info extra[2] = {{0x41, 1, xen::FLAT_KERNEL_CS, 0, reinterpret_cast<std::uint64_t>(&exc_int41_stub)},
                               {}};
    CHECK_EQ(xt::set_trap_table(extra), 0);

    for (int round = 0; round < 2; ++round) {
        // Round 0 with events masked (as at boot), round 1 with them enabled: the saved mask
        // and rflags.IF in each frame must follow.
        if (round == 1) {
            xt::events_enable();
        }
        const std::uint8_t mask = __atomic_load_n(&info->evtchn_upcall_mask, __ATOMIC_SEQ_CST);
        CHECK_EQ(mask, round == 0 ? 1 : 0);
        xt::print("exceptions: round {} (upcall mask {})\n", round, mask);

        expect_trap("divide error", 0, probe_divide, addr(divide_at), addr(divide_resume), false);
        CHECK_EQ(g_seen[0].frame.saved_upcall_mask(), mask);
        expect_trap("ud2", 6, probe_ud2, addr(ud2_at), addr(ud2_resume), false);
        expect_trap("int3", 3, probe_int3, addr(int3_resume), 0, false);
        expect_trap("int $3", 3, probe_int3_long, addr(int3_long_resume), 0, false);
        expect_trap("into", 6, probe_into, addr(into_at), addr(into_resume), false);
        // §6.6: privileged and protection faults are #GP with their error code.
        expect_trap("hlt", 13, probe_hlt, addr(hlt_at), addr(hlt_resume), true, 0);
        expect_trap("non-canonical access", 13, probe_noncanonical, addr(noncanonical_at),
                    addr(noncanonical_resume), true, 0);
        expect_trap("bad selector", 13, probe_bad_selector, addr(bad_selector_at), addr(bad_selector_resume), true,
                    0xfff8);
        // §6.5: INT n without permission is #GP((n << 3) | 2) at the instruction.
        expect_trap("int $0x40", 13, probe_int_denied, addr(int_denied_at), addr(int_denied_resume), true,
                    (0x40 << 3) | 2);
        // ... and with DPL >= 1 it reaches vector n, returning after the instruction.
        const std::uint64_t before = g_int41_count;
        probe_int_allowed();
        CHECK_EQ(g_int41_count, before + 1);
        CHECK_EQ(g_int41_frame[0], addr(int_allowed_resume));
        CHECK_EQ(g_int41_frame[1] & 0xffff, static_cast<std::uint64_t>(xen::FLAT_KERNEL_CS & ~3));
        expect_trap("int $0x80", 0x80, probe_int80, addr(int80_resume), 0, false);

        // §6.6: #PF with CR2 in vcpu_info and U/S = 0 for kernel mode; P, W/R, I/D as the CPU
        // reported them.
        expect_trap("#PF read", 14, probe_pf_read, addr(pf_read_at), addr(pf_read_resume), true, 0);
        CHECK_EQ(g_seen[14].cr2, 0x1000u);
        CHECK_EQ(xt::read_cr2(), 0x1000u);  // the emulated mov from cr2 agrees
        expect_trap("#PF write", 14, probe_pf_write, addr(pf_write_at), addr(pf_write_resume), true, 2);
        CHECK_EQ(g_seen[14].cr2, 0x2008u);
        const std::uint64_t ro = si->pt_base + 8 * 300;  // our L4, mapped read-only (§2.2)
        expect_trap("#PF write to a read-only page", 14, [&] { probe_with(reinterpret_cast<void (*)(void*)>(
                                                                       &probe_pf_write_ro), reinterpret_cast<void*>(ro)); },
                    addr(pf_write_ro_at), addr(pf_write_ro_resume), true, 3);
        CHECK_EQ(g_seen[14].cr2, ro);
        {
            // Execute from an unmapped page: I/D set (NX is on), rip = cr2 = the target; the
            // handler returns to our caller by popping the return address the call pushed.
            Seen& s = g_seen[14];
            s.count = 0;
            s.resume = 0;
            g_expected = 14;
            const std::uint64_t target = 0x3000;
            xt::set_trap_handler(14, [](xt::TrapFrame& f) {
                record(f);
                f.rip = *reinterpret_cast<std::uint64_t*>(f.rsp);
                f.rsp += 8;
                return true;
            });
            asm volatile("call *%0" ::"r"(target) : "memory", "rax", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10",
                         "r11");
            xt::set_trap_handler(14, record);
            g_expected = ~0u;
            CHECK_EQ(s.count, 1u);
            CHECK_EQ(s.frame.rip, target);
            CHECK_EQ(s.cr2, target);
            CHECK_EQ(s.frame.error_code, 0x10u);
        }

        // #DB from single-stepping: a trap, reported after the stepped instruction.
        expect_trap("single step", 1, probe_single_step, addr(single_step_resume), 0, false);
        // #NM after fpu_taskswitch(1) (§5.7): the handler sees it once, TS is then clear.
        CHECK_EQ(xt::fpu_taskswitch(1), 0);
        expect_trap("#NM", 7, probe_fpu_nm, addr(fpu_nm_at), 0, false);
        CHECK_EQ(xt::read_cr0() & 8, 0u);
        xt::events_disable();
    }

    // §6.5: `int $0x80` with no handler in the trap table is #GP((0x80 << 3) | 2) at the
    // instruction. Rebuild the table without vector 0x80.
    CHECK_EQ(xt::set_trap_table(nullptr), 0);
    static xen::trap_info table[33];
    for (unsigned v = 0; v < 32; ++v) {
        table[v] = xen::trap_info{static_cast<std::uint8_t>(v), static_cast<std::uint8_t>(xen::TI_SET_IF),
                                  xen::FLAT_KERNEL_CS, 0, xt::trap_stub_address(v)};
    }
    table[32] = xen::trap_info{};
    CHECK_EQ(xt::set_trap_table(table), 0);
    expect_trap("int $0x80 without a handler", 13, probe_int80, addr(int80_at), addr(int80_resume), true,
                (0x80 << 3) | 2);
    // int3 with a DPL-0 entry is still delivered as #BP (§6.5).
    expect_trap("int3 with DPL 0", 3, probe_int3, addr(int3_resume), 0, false);
    // A trap-table entry for 0x41 was cleared with the table: now it is denied.
    expect_trap("int $0x41 after the table was cleared", 13, probe_int_allowed, addr(int_allowed_at),
                addr(int_allowed_resume), true, (0x41 << 3) | 2);
    CHECK_EQ(xt::install_traps(), 0);
}
