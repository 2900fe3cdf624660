// vcpu_time_info, wall clock and vCPU timers.
#include "pv/time.hpp"

#include "arch/x86_64/cr.hpp"
#include "arch/x86_64/rtc.hpp"
#include "arch/x86_64/tsc.hpp"
#include "domain/domain.hpp"
#include "event/event_channel.hpp"
#include "xen/shared_info.hpp"

namespace xenolith {

namespace {

// Wall-clock seconds and nanoseconds at system time 0.
std::uint64_t g_boot_wallclock_ns = 0;

template <typename T>
void store(T& field, T value) {
    __atomic_store_n(&field, value, __ATOMIC_RELAXED);
}

Vcpu& owner_of(Timer& timer) { return *static_cast<Vcpu*>(timer.context); }

void singleshot_fired(Timer& timer) { send_virq(owner_of(timer), xen::VIRQ_TIMER); }

void periodic_fired(Timer& timer) {
    Vcpu& vcpu = owner_of(timer);
    send_virq(vcpu, xen::VIRQ_TIMER);
    if (vcpu.periodic_period_ns)
        timer_set(timer, timer.deadline_ns + vcpu.periodic_period_ns);
}

}  // namespace

void init_wallclock() {
    const std::uint64_t now_ns = arch::system_time_ns();
    g_boot_wallclock_ns = arch::read_rtc_epoch_seconds() * 1'000'000'000ull - now_ns;
}

void update_vcpu_time(Vcpu& vcpu) {
    xen::vcpu_time_info& time = vcpu.vcpu_info->time;
    const arch::TscScale scale = arch::scale_for_frequency(arch::tsc_hz());
    // §8.1: version odd while the record changes, even when it is consistent.
    const std::uint32_t version = __atomic_load_n(&time.version, __ATOMIC_RELAXED);
    __atomic_store_n(&time.version, version | 1, __ATOMIC_SEQ_CST);
    const std::uint64_t tsc = arch::rdtsc();
    store(time.tsc_timestamp, tsc);
    store(time.system_time, arch::system_time_at_tsc(tsc));
    store(time.tsc_to_system_mul, scale.mul);
    store(time.tsc_shift, scale.shift);
    store(time.flags, std::uint8_t{0});
    __atomic_store_n(&time.version, (version | 1) + 1, __ATOMIC_SEQ_CST);
}

void update_wallclock(Domain& domain) {
    xen::shared_info& shared = *domain.shared_info;
    const std::uint32_t version = __atomic_load_n(&shared.wc_version, __ATOMIC_RELAXED);
    __atomic_store_n(&shared.wc_version, version | 1, __ATOMIC_SEQ_CST);
    const std::uint64_t seconds = g_boot_wallclock_ns / 1'000'000'000ull;
    store(shared.wc_sec, static_cast<std::uint32_t>(seconds));
    store(shared.wc_sec_hi, static_cast<std::uint32_t>(seconds >> 32));
    store(shared.wc_nsec, static_cast<std::uint32_t>(g_boot_wallclock_ns % 1'000'000'000ull));
    __atomic_store_n(&shared.wc_version, (version | 1) + 1, __ATOMIC_SEQ_CST);
}

void set_singleshot_timer(Vcpu& vcpu, std::uint64_t deadline_ns) {
    vcpu.singleshot_timer.context = &vcpu;
    vcpu.singleshot_timer.callback = singleshot_fired;
    if (deadline_ns == 0) {
        timer_cancel(vcpu.singleshot_timer);
        return;
    }
    timer_set(vcpu.singleshot_timer, deadline_ns);
}

void set_periodic_timer(Vcpu& vcpu, std::uint64_t period_ns) {
    vcpu.periodic_timer.context = &vcpu;
    vcpu.periodic_timer.callback = periodic_fired;
    vcpu.periodic_period_ns = period_ns;
    if (period_ns == 0) {
        timer_cancel(vcpu.periodic_timer);
        return;
    }
    timer_set(vcpu.periodic_timer, arch::system_time_ns() + period_ns);
}

void stop_vcpu_timers(Vcpu& vcpu) {
    timer_cancel(vcpu.singleshot_timer);
    vcpu.periodic_period_ns = 0;
    timer_cancel(vcpu.periodic_timer);
}

}  // namespace xenolith
