// Boot self-checks, the tick demo and crash tests.
#include "core/selftest.hpp"

#include "arch/x86_64/apic.hpp"
#include "arch/x86_64/cr.hpp"
#include "arch/x86_64/paging.hpp"
#include "arch/x86_64/tsc.hpp"
#include "core/console.hpp"
#include "core/cpu.hpp"
#include "core/panic.hpp"
#include "core/smp.hpp"
#include "core/timer.hpp"
#include "mm/kernel_space.hpp"
#include "mm/page_allocator.hpp"

namespace xenolith {

namespace {

constexpr std::uint64_t TICK_PERIOD_NS = 100'000'000;  // 10 Hz per CPU

struct CrossCallProbe {
    std::uint32_t seen_apic_id[MAX_CPUS];
    bool reached[MAX_CPUS];
};

void record_cross_call(void* argument) {
    auto* probe = static_cast<CrossCallProbe*>(argument);
    const Cpu& cpu = this_cpu();
    probe->reached[cpu.index] = true;
    probe->seen_apic_id[cpu.index] = arch::local_apic().id();
}

bool check_cross_calls() {
    static CrossCallProbe probe;
    cross_call_all(record_cross_call, &probe);
    bool good = true;
    unsigned reached = 0;
    for (unsigned i = 0; i < cpus_present(); ++i) {
        const Cpu& cpu = cpu_by_index(i);
        if (!cpu.online.load())
            continue;
        if (!probe.reached[i] || probe.seen_apic_id[i] != cpu.apic_id) {
            log_error("selftest: cross-call to CPU {} ran on APIC {} instead of {}", i, probe.seen_apic_id[i],
                      cpu.apic_id);
            good = false;
        } else {
            ++reached;
        }
    }
    if (good)
        log_info("selftest: cross-call reached all {} CPUs and ran on each", reached);
    return good;
}

bool check_wx() {
    const arch::WxReport report = arch::audit_wx(idle_page_table_root);
    if (report.writable_executable) {
        log_error("selftest: {} mappings are writable and executable (first at {:#x})", report.writable_executable,
                  report.first_offender);
        return false;
    }
    log_info("selftest: W^X holds: {} mappings audited, none writable and executable", report.leaf_mappings);
    return true;
}

class LogDiagnostics final : public Diagnostics {
public:
    void report(std::string_view message) override { log_error("selftest: {}", message); }
};

// A slab cache round trip: many objects, all distinct and aligned, all returned afterwards.
bool check_slab() {
    struct Probe {
        std::uint64_t words[5];
    };
    static TypedSlab<Probe> cache("selftest", slab_page_provider());
    constexpr unsigned COUNT = 300;
    static Probe* objects[COUNT];
    for (unsigned i = 0; i < COUNT; ++i) {
        auto object = cache.create();
        if (!object) {
            log_error("selftest: slab allocation {} failed", i);
            return false;
        }
        objects[i] = *object;
        objects[i]->words[0] = i;
    }
    bool good = true;
    for (unsigned i = 0; i < COUNT; ++i) {
        good &= objects[i]->words[0] == i && reinterpret_cast<std::uintptr_t>(objects[i]) % alignof(Probe) == 0;
        good &= cache.destroy(objects[i]).is_ok();
    }
    cache.cache().trim();
    LogDiagnostics diag;
    good &= cache.cache().check_invariants(diag) && cache.cache().stats().pages == 0;
    if (good)
        log_info("selftest: slab cache round trip of {} objects left no pages behind", COUNT);
    else
        log_error("selftest: slab cache round trip failed");
    return good;
}

bool check_allocator() {
    // Allocate blocks of several orders, check they are distinct and writable, free them, and
    // verify the buddy invariants and the free count.
    const PageAllocatorStats before = page_allocator_stats();
    std::uint64_t blocks[8];
    for (unsigned order = 0; order < 8; ++order) {
        auto block = allocate_frames(order);
        if (!block) {
            log_error("selftest: allocating an order-{} block failed", order);
            return false;
        }
        blocks[order] = *block;
        *static_cast<volatile std::uint64_t*>(arch::phys_to_virt(*block)) = order;
    }
    for (unsigned order = 0; order < 8; ++order) {
        if (*static_cast<volatile std::uint64_t*>(arch::phys_to_virt(blocks[order])) != order) {
            log_error("selftest: order-{} block at {:#x} overlaps another", order, blocks[order]);
            return false;
        }
        free_frames(blocks[order], order);
    }
    const PageAllocatorStats after = page_allocator_stats();
    if (after.free_frames != before.free_frames || !check_page_allocator()) {
        log_error("selftest: page allocator lost frames ({} free before, {} after)", before.free_frames,
                  after.free_frames);
        return false;
    }
    log_info("selftest: page allocator invariants hold ({} frames free)", after.free_frames);
    return check_slab();
}

void tick(Timer& timer) {
    ++this_cpu().demo_ticks;
    timer_set(timer, timer.deadline_ns + TICK_PERIOD_NS);
}

Timer g_tick_timers[MAX_CPUS];

void start_ticking(void*) {
    Timer& timer = g_tick_timers[this_cpu().index];
    timer.callback = tick;
    timer_set(timer, arch::system_time_ns() + TICK_PERIOD_NS);
}

void stop_ticking(void*) { timer_cancel(g_tick_timers[this_cpu().index]); }

[[gnu::noinline]] void fault_by_page_fault(void*) {
    // Slot 257 of the hypervisor range is never mapped (layout.h).
    *reinterpret_cast<volatile std::uint64_t*>(0xffff808000000000ull) = 0xdead;
}

[[gnu::noinline]] void fault_by_general_protection() {
    // A non-canonical address raises #GP, not #PF.
    *reinterpret_cast<volatile std::uint64_t*>(0x8000000000000000ull) = 0xdead;
}

}  // namespace

bool run_boot_self_checks() {
    bool good = check_cross_calls();
    good = check_wx() && good;
    good = check_allocator() && good;
    return good;
}

bool run_tick_demo(std::uint32_t seconds) {
    log_info("tick demo: every CPU takes a {} ms timer for {} s", TICK_PERIOD_NS / 1'000'000, seconds);
    cross_call_all(start_ticking, nullptr);
    const std::uint64_t start = arch::system_time_ns();
    for (std::uint32_t s = 1; s <= seconds; ++s) {
        while (arch::system_time_ns() < start + s * 1'000'000'000ull)
            arch::sti_hlt();
        FixedBuffer<console::LINE_CAPACITY> line;
        for (unsigned i = 0; i < cpus_present(); ++i)
            format_to(line, " cpu{}={}", i, cpu_by_index(i).demo_ticks);
        log_info("tick {}s:{}", s, line.view());
    }
    cross_call_all(stop_ticking, nullptr);

    bool good = true;
    for (unsigned i = 0; i < cpus_present(); ++i) {
        const Cpu& cpu = cpu_by_index(i);
        if (cpu.online.load() && cpu.demo_ticks == 0) {
            log_error("tick demo: CPU {} took no timer interrupts", i);
            good = false;
        }
    }
    if (good)
        log_info("tick demo: timer interrupts on all {} CPUs", cpus_online());
    return good;
}

// Not inlined, so the backtrace of a crash test always names it.
[[gnu::noinline]] void run_crash_test(CrashTest which) {
    log_info("crash test: {}", crash_test_name(which));
    switch (which) {
    case CrashTest::PageFault: fault_by_page_fault(nullptr); break;
    case CrashTest::InvalidOpcode: __builtin_trap();
    case CrashTest::GeneralProtection: fault_by_general_protection(); break;
    case CrashTest::Assert: ASSERT(cpus_online() == 0); break;
    case CrashTest::ApPageFault:
        if (cpus_online() < 2)
            panic("crash test ap_page_fault needs a second CPU");
        cross_call(1, fault_by_page_fault, nullptr);
        break;
    case CrashTest::None: break;
    }
    panic("crash test {} did not crash", crash_test_name(which));
}

}  // namespace xenolith
