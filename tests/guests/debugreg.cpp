// debugreg: hardware breakpoints set with set_debugreg (pv-abi-core.md §5.8) fire in the guest
// that armed them and nowhere else. An execution breakpoint and a data-write breakpoint in our
// kernel code reach our #DB handler (§6.6) at the right rip, with B0/B1 in the DR6 that
// get_debugreg(6) returns; the hypervisor writing a watched address for us (a hypercall's
// output) does not crash it and is not reported to us (Xen ignores watchpoints hit within
// itself); I/O breakpoints are refused. Run as two domains on one pCPU from the same image:
// `role=arm` (domain 1) keeps both breakpoints armed on shared addresses while `role=plain`
// (domain 2) runs the same code at the same addresses, yielding in turn: plain must never see a
// #DB. An interdomain event channel orders them: arm offers the port only once armed, and stays
// armed until plain signals on it that its rounds are done.
#include "xt/cpu.hpp"
#include "xt/peer.hpp"
#include "xt/test.hpp"
#include "xt/traps.hpp"

extern "C" void probe_exec();
extern "C" const char probe_exec_at[];
extern "C" void probe_write();
extern "C" const char probe_write_resume[];
extern "C" std::uint64_t probe_read();
extern "C" std::uint64_t g_watched;

asm(R"(
    .pushsection .text, "ax", @progbits
    .globl probe_exec, probe_exec_at, probe_write, probe_write_resume, probe_read
probe_exec:
    nop
probe_exec_at:
    nop
    ret
probe_write:
    movq $0x1234, g_watched(%rip)
probe_write_resume:
    ret
probe_read:
    mov g_watched(%rip), %rax
    ret
    .popsection
    .pushsection .data
    .balign 8
    .globl g_watched
g_watched:
    .quad 0
    .popsection
)");

namespace {

constexpr unsigned VECTOR_DB = 1;
constexpr unsigned ROUNDS = 200;
constexpr std::uint64_t DR6_DEFAULT = 0xffff0ff0;
constexpr std::uint64_t DR7_DEFAULT = 0x400;
// DR7: L0 with R/W0 = execute, LEN0 = 1 byte; L1 with R/W1 = write, LEN1 = 8 bytes (10b).
constexpr std::uint64_t DR7_EXEC0 = 1u << 0;
constexpr std::uint64_t DR7_WRITE1 = (1u << 2) | (1u << 20) | (2u << 22);
constexpr std::uint64_t DR7_IO2 = (1u << 4) | (2u << 24);  // R/W2 = 10b: I/O
constexpr std::uint64_t CR4_DE = 1u << 3;
constexpr std::uint64_t RFLAGS_RF = 1u << 16;
constexpr std::uint16_t ARM_DOMID = 1, PLAIN_DOMID = 2;
constexpr std::uint64_t DEADLINE_NS = 30'000'000'000ull;

volatile unsigned g_hits;
volatile std::uint64_t g_hit_rip;

bool on_debug(xt::TrapFrame& f) {
    g_hits = g_hits + 1;
    g_hit_rip = f.rip;
    // An instruction breakpoint is a fault: resume with RF so it does not fire again at once.
    f.rflags |= RFLAGS_RF;
    return true;
}

void write_cr4(std::uint64_t value) { asm volatile("mov %0, %%cr4" ::"r"(value) : "memory"); }

bool is_arm(const char* cmdline) {
    for (const char* p = cmdline; *p != '\0'; ++p) {
        if (p[0] == 'r' && p[1] == 'o' && p[2] == 'l' && p[3] == 'e' && p[4] == '=') {
            return p[5] == 'a';
        }
    }
    return false;
}

std::uint64_t addr(const void* p) { return reinterpret_cast<std::uint64_t>(p); }

// One hit of `probe`, at `rip`, recorded in DR6 as B<n> (and nothing else new).
void expect_hit(void (*probe)(), std::uint64_t rip, unsigned n, const char* what) {
    CHECK_EQ(xt::set_debugreg(6, DR6_DEFAULT), 0);
    const unsigned before = g_hits;
    probe();
    const unsigned failures = xt::failures();
    CHECK_EQ(g_hits, before + 1);
    CHECK_EQ(g_hit_rip, rip);
    CHECK_EQ(static_cast<std::uint64_t>(xt::get_debugreg(6)), DR6_DEFAULT | (1u << n));
    if (xt::failures() != failures) {
        xt::print("  ... in {}\n", what);
    }
}

void check_refusals() {
    // §5.8: an I/O breakpoint needs the guest's CR4.DE (-EPERM without it); with it, this
    // hypervisor still refuses it (the guest's port I/O is emulated: -EOPNOTSUPP).
    CHECK_EQ(xt::read_cr4() & CR4_DE, 0u);
    CHECK_ERRNO(xt::set_debugreg(7, DR7_DEFAULT | DR7_IO2), xen::Errno::EPERM);
    write_cr4(xt::read_cr4() | CR4_DE);
    CHECK(xt::read_cr4() & CR4_DE);
    CHECK_ERRNO(xt::set_debugreg(7, DR7_DEFAULT | DR7_IO2), xen::Errno::EOPNOTSUPP);
    // With CR4.DE, DR4/DR5 no longer alias DR6/DR7.
    CHECK_ERRNO(xt::get_debugreg(4), xen::Errno::ENODEV);
    CHECK_ERRNO(xt::set_debugreg(5, DR7_DEFAULT), xen::Errno::ENODEV);
    write_cr4(xt::read_cr4() & ~CR4_DE);
    CHECK_EQ(static_cast<std::uint64_t>(xt::get_debugreg(5)), DR7_DEFAULT);
    CHECK_ERRNO(xt::set_debugreg(0, 0xffff830000000000ull), xen::Errno::EPERM);  // hypervisor range
    CHECK_ERRNO(xt::set_debugreg(7, DR7_DEFAULT | (1u << 13)), xen::Errno::EPERM);  // GD
}

void arm_domain() {
    check_refusals();
    CHECK_EQ(xt::set_debugreg(0, addr(probe_exec_at)), 0);
    CHECK_EQ(xt::set_debugreg(1, addr(&g_watched)), 0);
    CHECK_EQ(xt::set_debugreg(7, DR7_DEFAULT | DR7_EXEC0 | DR7_WRITE1), 0);
    CHECK_EQ(static_cast<std::uint64_t>(xt::get_debugreg(7)), DR7_DEFAULT | DR7_EXEC0 | DR7_WRITE1);

    expect_hit(probe_exec, addr(probe_exec_at), 0, "the execution breakpoint");
    expect_hit(probe_write, addr(probe_write_resume), 1, "the data-write breakpoint");
    CHECK_EQ(g_watched, 0x1234u);
    // A read does not match a write breakpoint.
    const unsigned before = g_hits;
    CHECK_EQ(probe_read(), 0x1234u);
    CHECK_EQ(g_hits, before);

    // The hypervisor writing the watched quadword (copy to guest in a hypercall) trips the
    // breakpoint in ring 0: it must carry on, and the hit is not ours.
    alignas(64) static xen::vcpu_runstate_info watched_info;
    CHECK_EQ(xt::set_debugreg(1, addr(&watched_info)), 0);
    CHECK_EQ(xt::set_debugreg(6, DR6_DEFAULT), 0);
    CHECK_EQ(xt::vcpu_op(xen::VCPUOP_get_runstate_info, 0, &watched_info), 0);
    CHECK(watched_info.state_entry_time != 0);
    CHECK_EQ(g_hits, before);
    CHECK_EQ(static_cast<std::uint64_t>(xt::get_debugreg(6)), DR6_DEFAULT);
    CHECK_EQ(xt::set_debugreg(1, addr(&g_watched)), 0);

    // Both breakpoints stay armed across vCPU switches: the other domain runs the same code in
    // between, and ours fire every time, until it says it is done.
    const std::uint64_t deadline = xt::system_time_ns() + DEADLINE_NS;
    const xen::evtchn_port_t port = xt::connect_peer(true, PLAIN_DOMID, deadline);
    CHECK(port != 0);
    const unsigned hits_before = g_hits;
    unsigned rounds = 0;
    while (port != 0 && !xt::port_pending(port) && xt::system_time_ns() < deadline) {
        probe_exec();
        probe_write();
        CHECK_EQ(xt::sched_yield(), 0);
        ++rounds;
    }
    CHECK(port != 0 && xt::port_pending(port));
    CHECK_EQ(g_hits, hits_before + 2 * rounds);
    xt::print("debugreg: armed for {} rounds while the other domain ran\n", rounds);
    CHECK_EQ(xt::set_debugreg(7, DR7_DEFAULT), 0);
    const unsigned disarmed = g_hits;
    probe_exec();
    probe_write();
    CHECK_EQ(g_hits, disarmed);
}

void plain_domain() {
    CHECK_EQ(static_cast<std::uint64_t>(xt::get_debugreg(7)), DR7_DEFAULT);
    // Arm's port exists once its breakpoints are armed.
    const xen::evtchn_port_t port = xt::connect_peer(false, ARM_DOMID, xt::system_time_ns() + DEADLINE_NS);
    CHECK(port != 0);
    unsigned interleaved = 0;
    for (unsigned round = 0; round < ROUNDS; ++round) {
        probe_exec();
        probe_write();
        interleaved += xt::yield_to_peer();  // the armed domain ran in between
    }
    CHECK_EQ(g_hits, 0u);
    CHECK_EQ(static_cast<std::uint64_t>(xt::get_debugreg(6)), DR6_DEFAULT);
    CHECK(interleaved >= ROUNDS / 2);  // the armed domain waits for us: it is always runnable
    xt::print("debugreg: {} of {} rounds interleaved with the armed domain\n", interleaved, ROUNDS);
    CHECK_EQ(xt::evtchn_send(port), 0);
}

}  // namespace

void guest_main(const xen::start_info* si) {
    CHECK_EQ(xt::install_traps(), 0);
    xt::require_shared_info();
    xt::set_trap_handler(VECTOR_DB, on_debug);
    if (is_arm(reinterpret_cast<const char*>(si->cmd_line))) {
        arm_domain();
    } else {
        plain_domain();
    }
}
