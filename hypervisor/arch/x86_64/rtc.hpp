// The CMOS real-time clock: read once at boot for the wall clock (pv-abi-core.md §8.2).
#pragma once

#include <cstdint>

namespace xenolith::arch {

// Seconds since 1970-01-01 00:00 UTC as the RTC shows them (the RTC is assumed to hold UTC,
// as QEMU's does by default).
std::uint64_t read_rtc_epoch_seconds();

}  // namespace xenolith::arch
