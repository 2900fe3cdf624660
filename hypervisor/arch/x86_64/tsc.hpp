// The TSC as the system clock: calibration against a reference, and TSC → ns scaling in the
// same (mul, shift) form Xen gives guests in vcpu_time_info (pv-abi-core.md §8).
#pragma once

#include <cstdint>
#include <string_view>

#include "lib/result.hpp"

namespace xenolith::arch {

// ns = ((tsc_delta shifted left by shift, or right if negative) * mul) >> 32
struct TscScale {
    std::uint32_t mul = 0;
    std::int8_t shift = 0;

    std::uint64_t to_ns(std::uint64_t tsc_delta) const {
        const std::uint64_t shifted = shift >= 0 ? tsc_delta << shift : tsc_delta >> -shift;
        return static_cast<std::uint64_t>((static_cast<unsigned __int128>(shifted) * mul) >> 32);
    }
};

// The scale that turns ticks of a clock running at `hz` into nanoseconds.
TscScale scale_for_frequency(std::uint64_t hz);

enum class CalibrationSource : std::uint8_t { Auto, Cpuid, Hpet, Pit };

struct TscCalibration {
    std::uint64_t tsc_hz = 0;
    CalibrationSource source = CalibrationSource::Auto;
};

std::string_view calibration_source_name(CalibrationSource source);

// Measure the TSC frequency: CPUID leaf 0x15 when it is fully specified, else the HPET (if its
// registers are mapped at hpet_virt), else PIT channel 2. `forced` picks one source.
Result<TscCalibration> calibrate_tsc(CalibrationSource forced, std::uintptr_t hpet_virt);

// The system clock: nanoseconds since set_system_time_origin() on the boot CPU.
void set_system_clock(std::uint64_t tsc_hz);
std::uint64_t system_time_ns();
// The system time a given TSC value stands for (what a guest computes from vcpu_time_info).
std::uint64_t system_time_at_tsc(std::uint64_t tsc);
std::uint64_t tsc_hz();
std::uint64_t ns_to_tsc(std::uint64_t ns);

}  // namespace xenolith::arch
