// Guest time (pv-abi-core.md §8): vcpu_time_info kept current with the TSC scaling the guest
// uses, the wall clock in shared_info, and the vCPU timers that raise VIRQ_TIMER.
#pragma once

#include <cstdint>

namespace xenolith {

struct Domain;
struct Vcpu;

// Read the RTC once (boot CPU) so wall-clock time can be given to guests.
void init_wallclock();

// Refresh the vCPU's vcpu_info.time with the version protocol (odd while writing).
void update_vcpu_time(Vcpu& vcpu);
// Write the wall clock (time of system-time zero) into the domain's shared_info.
void update_wallclock(Domain& domain);

// VCPUOP_set_singleshot_timer / set_timer_op (absolute system time; 0 = stop), and the
// periodic timer (period 0 = stop).
void set_singleshot_timer(Vcpu& vcpu, std::uint64_t deadline_ns);
void set_periodic_timer(Vcpu& vcpu, std::uint64_t period_ns);
void stop_vcpu_timers(Vcpu& vcpu);

}  // namespace xenolith
