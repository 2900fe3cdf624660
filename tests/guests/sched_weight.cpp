// sched-weight: a CPU-bound domain that measures how much CPU it got over a fixed window of
// system time (pv-abi-core.md §8.1, §8.4). Two of these run on one pCPU with weights 256 and
// 512; each prints its figures and the runner judges the pair (guest_tests.py
// check_sched_weight): the credit scheduler must give them CPU time in about a 1:2 ratio.
// The guest itself checks that its own figures make sense.
#include "xen/vcpu.hpp"
#include "xt/test.hpp"

namespace {

// The window, in system time since the hypervisor booted: the same for both domains, late
// enough that both are running before it opens.
constexpr std::uint64_t WINDOW_START = 3'000'000'000ull;
constexpr std::uint64_t WINDOW_END = 6'000'000'000ull;

std::uint64_t running_ns() {
    xen::vcpu_runstate_info info{};
    CHECK_EQ(xt::vcpu_op(xen::VCPUOP_get_runstate_info, 0, &info), 0);
    return info.time[xen::RUNSTATE_running];
}

unsigned weight_of(const char* cmdline) {
    // Our command line says which weight the runner gave us (it cannot be asked for).
    for (const char* p = cmdline; *p != '\0'; ++p) {
        if (p[0] == 'w' && p[1] == '=') {
            unsigned w = 0;
            for (p += 2; *p >= '0' && *p <= '9'; ++p) {
                w = w * 10 + static_cast<unsigned>(*p - '0');
            }
            return w;
        }
    }
    return 0;
}

}  // namespace

void guest_main(const xen::start_info* si) {
    const unsigned weight = weight_of(reinterpret_cast<const char*>(si->cmd_line));
    const std::uint64_t booted = xt::system_time_ns();
    CHECK(booted < WINDOW_START);  // else the window is not common to both domains
    while (xt::system_time_ns() < WINDOW_START) {
    }
    const std::uint64_t ran_before = running_ns();
    std::uint64_t iterations = 0;
    // Spin, looking at the clock every so often; each look is cheap (pvclock, no hypercall).
    for (;;) {
        for (int i = 0; i < 1000; ++i) {
            asm volatile("" ::: "memory");
        }
        ++iterations;
        if (xt::system_time_ns() >= WINDOW_END) {
            break;
        }
    }
    const std::uint64_t ran = running_ns() - ran_before;
    const std::uint64_t window = WINDOW_END - WINDOW_START;
    // Our running time cannot exceed the window by more than a scheduler slice of accounting
    // lag (30 ms), and a CPU-bound domain must have had some of it.
    CHECK(ran > 0);
    CHECK(ran <= window + 100'000'000ull);
    CHECK(iterations > 0);
    xt::print("sched-weight: weight {} window {} ns ran {} ns iterations {}\n", weight, window, ran, iterations);
}
