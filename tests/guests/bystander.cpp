// bystander: the well-behaved neighbour of the crash-isolation scenario. It keeps running
// (hypercalls, yields, its own traps) for a second of system time while other domains crash
// beside it, then checks that its own state is intact and passes.
#include "xt/test.hpp"
#include "xt/traps.hpp"

namespace {
unsigned g_breakpoints = 0;
bool on_int3(xt::TrapFrame&) {
    ++g_breakpoints;
    return true;
}
}  // namespace

void guest_main(const xen::start_info*) {
    CHECK_EQ(xt::install_traps(), 0);
    xt::set_trap_handler(xen::TRAP_int3, on_int3);
    const std::uint64_t start = xt::system_time_ns();
    CHECK(start > 0);
    unsigned rounds = 0;
    while (xt::system_time_ns() < start + 1'000'000'000ull) {
        CHECK_EQ(xt::xen_version(xen::XENVER_pagesize), 4096);
        asm volatile("int3");
        CHECK_EQ(xt::sched_yield(), 0);
        ++rounds;
    }
    CHECK_EQ(g_breakpoints, rounds);
    CHECK(rounds > 0);
    xt::print("bystander: outlived the crashes ({} rounds)\n", rounds);
}
