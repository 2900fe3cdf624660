// selftest-traps: the framework's own trap path. Installs the trap table, raises #UD (ud2) and
// #BP (int3), and checks the handler saw the right vector, rip and frame (pv-abi-core.md §6.4,
// §6.6), then that execution resumed through HYPERVISOR_iret (§6.9) with registers intact.
#include "xt/test.hpp"
#include "xt/traps.hpp"

// Fixed instruction addresses to compare the frames against.
extern "C" {
void xt_do_ud2();
void xt_do_int3();
extern const char xt_ud2_site[];
extern const char xt_int3_resume[];
}
asm(R"(
    .section .text, "ax", @progbits
    .globl xt_do_ud2, xt_ud2_site
    .type xt_do_ud2, @function
xt_do_ud2:
xt_ud2_site:
    ud2
    ret
    .size xt_do_ud2, . - xt_do_ud2
    .globl xt_do_int3, xt_int3_resume
    .type xt_do_int3, @function
xt_do_int3:
    int3
xt_int3_resume:
    ret
    .size xt_do_int3, . - xt_do_int3
    .previous
)");

namespace {

struct Seen {
    unsigned count;
    std::uint64_t vector;
    std::uint64_t rip;
    std::uint64_t cs;
    std::uint64_t ss;
    std::uint64_t error_code;
    std::uint64_t rsp;
};
Seen g_ud;
Seen g_bp;

void record(Seen& s, const xt::TrapFrame& f) {
    ++s.count;
    s.vector = f.vector;
    s.rip = f.rip;
    s.cs = f.cs;
    s.ss = f.ss;
    s.error_code = f.error_code;
    s.rsp = f.rsp;
}

bool on_ud(xt::TrapFrame& f) {
    record(g_ud, f);
    f.rip += 2;  // #UD is a fault: skip the 2-byte ud2 ourselves
    return true;
}

bool on_bp(xt::TrapFrame& f) {
    record(g_bp, f);  // #BP is a trap: rip already points after int3
    return true;
}

void check_kernel_frame(const Seen& s) {
    // §6.4: interrupted in guest kernel mode, so cs has RPL 0 (0xe030 for FLAT_KERNEL_CS) and
    // ss is the flat kernel stack selector; the interrupted rsp is on our stack.
    CHECK_EQ(s.cs & 0xffff, static_cast<std::uint64_t>(xen::FLAT_KERNEL_CS & ~3));
    CHECK_EQ(s.ss & 0xffff, static_cast<std::uint64_t>(xen::FLAT_KERNEL_SS));
    CHECK_EQ(s.error_code, 0u);
    CHECK(s.rsp >= xt::VIRT_BASE);
}

void run_traps(const char* mode) {
    xt::print("traps through {}\n", mode);
    g_ud = Seen{};
    g_bp = Seen{};

    // A value in a callee-saved register across the trap must survive the iret.
    std::uint64_t canary = 0x0123456789abcdefull;
    asm volatile("" : "+r"(canary));
    xt_do_ud2();
    asm volatile("" : "+r"(canary));
    CHECK_EQ(canary, 0x0123456789abcdefull);
    CHECK_EQ(g_ud.count, 1u);
    CHECK_EQ(g_ud.vector, static_cast<std::uint64_t>(xen::TRAP_invalid_op));
    CHECK_EQ(g_ud.rip, reinterpret_cast<std::uint64_t>(xt_ud2_site));
    check_kernel_frame(g_ud);

    xt_do_int3();
    CHECK_EQ(g_bp.count, 1u);
    CHECK_EQ(g_bp.vector, static_cast<std::uint64_t>(xen::TRAP_int3));
    CHECK_EQ(g_bp.rip, reinterpret_cast<std::uint64_t>(xt_int3_resume));
    check_kernel_frame(g_bp);
}

}  // namespace

void guest_main(const xen::start_info*) {
    CHECK_EQ(xt::install_traps(), 0);
    xt::set_trap_handler(xen::TRAP_invalid_op, on_ud);
    xt::set_trap_handler(xen::TRAP_int3, on_bp);

    run_traps("syscall (inline HYPERVISOR_iret)");
    if (xt::set_hypercall_mode(xt::HypercallMode::Page)) {
        run_traps("the hypercall page");
        xt::set_hypercall_mode(xt::HypercallMode::Syscall);
    } else {
        CHECK(!"selftest-traps is linked with a hypercall page");
    }
    CHECK_EQ(xt::trap_count(xen::TRAP_invalid_op), 2u);
    CHECK_EQ(xt::trap_count(xen::TRAP_int3), 2u);
}
