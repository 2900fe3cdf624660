// bench-null-hypercall: cycles of the cheapest hypercall round trip, xen_version(XENVER_version),
// entered by an inline `syscall` (Linux 6.1's way, pv-abi-core.md §4.3) and through the
// hypercall page (§4.1); plus SCHEDOP_yield with nothing else to run (the scheduler's entry
// and exit without a switch).
//
// The syscall loop is instruction for instruction the loop of the native baseline
// (native/native_syscall.S), so the ratio of the two is the hypervisor's share.
#include "bench.hpp"
#include "xt/test.hpp"

namespace {

// `iters` round trips of xen_version(XENVER_version) through `syscall`, saving rcx/r11 around
// it like Linux's xen_hypercall_pv (§4.3). The hypervisor may clobber every argument register.
void loop_syscall(std::uint64_t iters) {
    asm volatile(
        "1:\n\t"
        "mov %[nr], %%eax\n\t"
        "xor %%edi, %%edi\n\t"  // XENVER_version
        "push %%rcx\n\t"
        "push %%r11\n\t"
        "syscall\n\t"
        "pop %%r11\n\t"
        "pop %%rcx\n\t"
        "dec %[n]\n\t"
        "jnz 1b"
        : [n] "+b"(iters)
        : [nr] "i"(xen::HYPERVISOR_xen_version)
        : "rax", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "memory", "cc");
}

// The same through the stub at hypercall_page + 32 * nr, which loads eax and keeps rcx/r11.
void loop_page(std::uint64_t iters) {
    register std::uint64_t stub asm("r12") =
        reinterpret_cast<std::uint64_t>(hypercall_page) + xen::HYPERVISOR_xen_version * xen::HYPERCALL_STUB_SIZE;
    asm volatile(
        "1:\n\t"
        "xor %%edi, %%edi\n\t"
        "call *%[stub]\n\t"
        "dec %[n]\n\t"
        "jnz 1b"
        : [n] "+b"(iters)
        : [stub] "r"(stub)
        : "rax", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "memory", "cc");
}

void loop_yield(std::uint64_t iters) {
    for (std::uint64_t i = 0; i < iters; ++i) xt::sched_yield();
}

void measure(const char* name, void (*loop)(std::uint64_t), std::uint64_t iters, unsigned batches) {
    bench::Batches b{name, iters, 1};
    loop(iters / 10);  // warm-up: caches, TLB, QEMU's translated blocks
    for (unsigned i = 0; i < batches; ++i) {
        const std::uint64_t start = bench::tsc();
        loop(iters);
        b.add(bench::tsc() - start);
    }
    b.report();
}

}  // namespace

void guest_main(const xen::start_info*) {
    const std::uint64_t iters = bench::cmdline_number("iters", 20000);
    const unsigned batches = static_cast<unsigned>(bench::cmdline_number("batches", 11));
    CHECK(xt::xen_version(xen::XENVER_version) > 0);
    CHECK(xt::has_hypercall_page());
    measure("hypercall_syscall", loop_syscall, iters, batches);
    if (xt::has_hypercall_page()) measure("hypercall_page", loop_page, iters, batches);
    measure("yield_alone", loop_yield, iters / 4, batches);
}
