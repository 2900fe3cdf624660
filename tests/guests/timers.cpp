// timers: VIRQ_TIMER from the single-shot timer (VCPUOP_set_singleshot_timer and set_timer_op)
// and the periodic timer arrives after - never before - its deadline and within a generous
// bound, in order; a stopped timer stays quiet; SCHEDOP_block wakes on the timer, and the time
// spent blocked shows in the run-state area (pv-abi-core.md §5.11, §5.19, §5.24, §8.3). Only ordering and loose bounds are checked: CI
// machines under TCG are slow and noisy.
#include "xen/event_channel.hpp"
#include "xen/vcpu.hpp"
#include "xt/test.hpp"
#include "xt/traps.hpp"

namespace {

constexpr std::uint64_t MS = 1'000'000;
// A timer may be late by this much and still pass: QEMU TCG on a loaded CI machine can stall
// a vCPU for a long time; what must never happen is an early or a missing event.
constexpr std::uint64_t LATE_BOUND = 2'000 * MS;

xen::evtchn_port_t g_timer_port = 0;
volatile unsigned g_fired = 0;
std::uint64_t g_fired_at[64];
unsigned g_other_events = 0;

void on_event(xen::evtchn_port_t port) {
    if (port != g_timer_port) {
        ++g_other_events;
        return;
    }
    const unsigned n = g_fired;
    if (n < 64) {
        g_fired_at[n] = xt::system_time_ns();
    }
    g_fired = n + 1;
}

// Block (events enabled by SCHEDOP_block itself, §5.24) until `count` timer events arrived or
// the bound passed; returns whether they did.
bool wait_for_events(unsigned count, std::uint64_t until) {
    while (g_fired < count) {
        if (xt::system_time_ns() > until) {
            return false;
        }
        xt::events_disable();
        if (g_fired < count) {
            CHECK_EQ(xt::sched_block(), 0);  // returns with events enabled; the upcall runs
        }
        xt::events_enable();
    }
    xt::events_disable();
    return true;
}

void expect_one_shot(const char* what, long (*arm)(std::uint64_t), std::uint64_t delay) {
    g_fired = 0;
    const std::uint64_t deadline = xt::system_time_ns() + delay;
    CHECK_EQ(arm(deadline), 0);
    const bool fired = wait_for_events(1, deadline + LATE_BOUND);
    CHECK(fired);
    if (fired) {
        CHECK(g_fired_at[0] >= deadline);
        CHECK(g_fired_at[0] <= deadline + LATE_BOUND);
        xt::print("timers: {} fired {} us after its deadline\n", what, (g_fired_at[0] - deadline) / 1000);
    }
    // A single shot fires once.
    const std::uint64_t quiet_until = xt::system_time_ns() + 50 * MS;
    xt::events_enable();
    while (xt::system_time_ns() < quiet_until) {
        xt::sched_yield();
    }
    xt::events_disable();
    CHECK_EQ(g_fired, 1u);
}

long arm_vcpuop(std::uint64_t deadline) {
    xen::vcpu_set_singleshot_timer t{deadline, 0, 0};
    return xt::vcpu_op(xen::VCPUOP_set_singleshot_timer, 0, &t);
}
long arm_timer_op(std::uint64_t deadline) { return xt::set_timer_op(deadline); }

// Run-state accounting (§5.19): the registered area is kept current at every schedule change.
xen::vcpu_runstate_info g_runstate;

std::uint64_t runstate_total(const xen::vcpu_runstate_info& info) {
    std::uint64_t total = 0;
    for (std::uint64_t t : info.time) {
        total += t;
    }
    return total;
}

// Read while running: the area says running; its times cover the vCPU's life up to the entry
// into that state (so they add up to less than it); blocking for the timers above was counted
// as blocked time; get_runstate_info counts on up to now.
void check_runstate() {
    const xen::vcpu_runstate_info seen = g_runstate;
    const std::uint64_t now = xt::system_time_ns();
    CHECK_EQ(seen.state, xen::RUNSTATE_running);
    CHECK(seen.state_entry_time <= now);
    CHECK(runstate_total(seen) <= seen.state_entry_time);
    CHECK(seen.time[xen::RUNSTATE_running] > 0);
    CHECK(seen.time[xen::RUNSTATE_blocked] > 0);
    xen::vcpu_runstate_info asked{};
    CHECK_EQ(xt::vcpu_op(xen::VCPUOP_get_runstate_info, 0, &asked), 0);
    CHECK(asked.time[xen::RUNSTATE_blocked] >= seen.time[xen::RUNSTATE_blocked]);
    CHECK(asked.time[xen::RUNSTATE_running] > seen.time[xen::RUNSTATE_running]);
    CHECK(runstate_total(asked) <= xt::system_time_ns());
    xt::print("timers: run state times: running {} us, runnable {} us, blocked {} us\n",
              seen.time[xen::RUNSTATE_running] / 1000, seen.time[xen::RUNSTATE_runnable] / 1000,
              seen.time[xen::RUNSTATE_blocked] / 1000);
}

}  // namespace

void guest_main(const xen::start_info*) {
    CHECK_EQ(xt::install_traps(), 0);
    xt::require_shared_info();
    xt::set_event_handler(on_event);
    xen::evtchn_bind_virq bind{xen::VIRQ_TIMER, 0, 0};
    CHECK_EQ(xt::event_channel_op(xen::EVTCHNOP_bind_virq, &bind), 0);
    g_timer_port = bind.port;
    // No default periodic timer for this test: stop it if there is one (Linux does the same).
    CHECK_EQ(xt::vcpu_op(xen::VCPUOP_stop_periodic_timer, 0), 0);

    xen::vcpu_register_runstate_memory_area runstate{xt::handle(&g_runstate)};
    CHECK_EQ(xt::vcpu_op(xen::VCPUOP_register_runstate_memory_area, 0, &runstate), 0);

    // System time moves forward.
    const std::uint64_t t0 = xt::system_time_ns();
    xt::sched_yield();
    CHECK(xt::system_time_ns() >= t0);

    expect_one_shot("VCPUOP_set_singleshot_timer(+20 ms)", arm_vcpuop, 20 * MS);
    expect_one_shot("set_timer_op(+30 ms)", arm_timer_op, 30 * MS);
    expect_one_shot("VCPUOP_set_singleshot_timer(+1 ms)", arm_vcpuop, 1 * MS);
    check_runstate();

    // A deadline in the past fires at once (§5.11, §8.3).
    g_fired = 0;
    const std::uint64_t past_armed = xt::system_time_ns();
    CHECK_EQ(arm_vcpuop(past_armed > MS ? past_armed - MS : 1), 0);
    CHECK(wait_for_events(1, past_armed + LATE_BOUND));

    // Re-arming replaces the deadline: only the later one fires, once.
    g_fired = 0;
    std::uint64_t now = xt::system_time_ns();
    CHECK_EQ(arm_vcpuop(now + 10 * MS), 0);
    CHECK_EQ(arm_vcpuop(now + 60 * MS), 0);
    CHECK(wait_for_events(1, now + 60 * MS + LATE_BOUND));
    CHECK(g_fired_at[0] >= now + 60 * MS);

    // A stopped single-shot timer stays quiet; so does set_timer_op(0).
    g_fired = 0;
    now = xt::system_time_ns();
    CHECK_EQ(arm_vcpuop(now + 20 * MS), 0);
    CHECK_EQ(xt::vcpu_op(xen::VCPUOP_stop_singleshot_timer, 0), 0);
    CHECK_EQ(arm_timer_op(now + 30 * MS), 0);
    CHECK_EQ(xt::set_timer_op(0), 0);
    xt::events_enable();
    while (xt::system_time_ns() < now + 100 * MS) {
        xt::sched_yield();
    }
    xt::events_disable();
    CHECK_EQ(g_fired, 0u);

    // Periodic timer, 10 ms: events keep coming, the k-th no earlier than start + k * period.
    g_fired = 0;
    const std::uint64_t period = 10 * MS;
    const std::uint64_t start = xt::system_time_ns();
    xen::vcpu_set_periodic_timer periodic{period};
    CHECK_EQ(xt::vcpu_op(xen::VCPUOP_set_periodic_timer, 0, &periodic), 0);
    const bool ticked = wait_for_events(5, start + 5 * period + 5 * LATE_BOUND);
    CHECK_EQ(xt::vcpu_op(xen::VCPUOP_stop_periodic_timer, 0), 0);
    CHECK(ticked);
    if (ticked) {
        for (unsigned k = 0; k < 5; ++k) {
            CHECK(g_fired_at[k] >= start + (k + 1) * period);
            if (k > 0) {
                CHECK(g_fired_at[k] >= g_fired_at[k - 1]);
            }
        }
        xt::print("timers: 5 periodic ticks of 10 ms took {} ms\n", (g_fired_at[4] - start) / MS);
    }
    // After stopping, at most one tick already in flight arrives.
    const unsigned after_stop = g_fired;
    now = xt::system_time_ns();
    xt::events_enable();
    while (xt::system_time_ns() < now + 100 * MS) {
        xt::sched_yield();
    }
    xt::events_disable();
    CHECK(g_fired <= after_stop + 1);

    // SCHEDOP_block with nothing but a timer to wake it: it returns after the deadline.
    g_fired = 0;
    const std::uint64_t deadline = xt::system_time_ns() + 40 * MS;
    CHECK_EQ(arm_vcpuop(deadline), 0);
    xt::events_disable();
    CHECK_EQ(xt::sched_block(), 0);
    const std::uint64_t woke = xt::system_time_ns();
    xt::events_disable();
    CHECK(woke >= deadline);
    CHECK_EQ(g_fired, 1u);
    CHECK_EQ(g_other_events, 0u);
}
