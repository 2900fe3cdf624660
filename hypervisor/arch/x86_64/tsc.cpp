// TSC calibration and the system clock.
#include "arch/x86_64/tsc.hpp"

#include "arch/x86_64/cpu_features.hpp"
#include "arch/x86_64/cr.hpp"
#include "arch/x86_64/legacy_timers.hpp"

namespace xenolith::arch {

namespace {

constexpr std::uint64_t NS_PER_SECOND = 1'000'000'000;
constexpr std::uint64_t CALIBRATION_MS = 50;

std::uint64_t g_tsc_origin = 0;
std::uint64_t g_tsc_hz = 0;
TscScale g_scale;

Result<std::uint64_t> calibrate_with_cpuid() {
    const CpuFeatures& f = cpu_features();
    if (!f.tsc_crystal_ratio_den || !f.tsc_crystal_ratio_num)
        return Error{Errno::ENODEV};
    if (f.crystal_hz)
        return std::uint64_t{f.crystal_hz} * f.tsc_crystal_ratio_num / f.tsc_crystal_ratio_den;
    // Leaf 0x15 gives the ratio but not the crystal: leaf 0x16's base frequency is the TSC's
    // nominal frequency on the CPUs that do this (Intel SDM, CPUID leaf 0x16).
    if (f.base_mhz)
        return std::uint64_t{f.base_mhz} * 1'000'000;
    return Error{Errno::ENODEV};
}

Result<std::uint64_t> calibrate_with_hpet(std::uintptr_t hpet_virt) {
    if (!hpet_virt)
        return Error{Errno::ENODEV};
    Hpet hpet;
    hpet.set_base(hpet_virt);
    const std::uint64_t period_fs = hpet.period_fs();
    // A valid HPET period is non-zero and at most 100 ns (HPET specification).
    if (period_fs == 0 || period_fs > 100'000'000)
        return Error{Errno::ENODEV};
    hpet.enable();
    const std::uint64_t ticks = CALIBRATION_MS * 1'000'000'000'000ull / period_fs;
    const std::uint64_t start_count = hpet.counter();
    const std::uint64_t start_tsc = rdtsc();
    std::uint64_t now_count;
    std::uint64_t spins = 0;
    while ((now_count = hpet.counter()) - start_count < ticks) {
        if (++spins > 2'000'000'000ull)
            return Error{Errno::ETIMEDOUT};  // a counter that does not count
    }
    const std::uint64_t tsc_delta = rdtsc() - start_tsc;
    const std::uint64_t elapsed_us = (now_count - start_count) * period_fs / 1'000'000'000ull;
    if (elapsed_us == 0)
        return Error{Errno::ERANGE};
    return tsc_delta * 1'000'000 / elapsed_us;
}

std::uint64_t calibrate_with_pit() {
    const auto ticks = static_cast<std::uint16_t>(PIT_HZ * CALIBRATION_MS / 1000);
    const std::uint64_t start_tsc = rdtsc();
    pit_wait_ticks(ticks);
    const std::uint64_t tsc_delta = rdtsc() - start_tsc;
    return tsc_delta * PIT_HZ / ticks;
}

}  // namespace

TscScale scale_for_frequency(std::uint64_t hz) {
    // Find shift and a 32-bit fraction with NS_PER_SECOND / hz = (mul / 2^32) * 2^shift, keeping
    // mul in [2^31, 2^32) for precision.
    std::uint64_t dividend = NS_PER_SECOND;
    std::uint64_t divisor = hz;
    int shift = 0;
    while (dividend >= divisor) {
        divisor <<= 1;
        ++shift;
    }
    while (dividend * 2 < divisor) {
        dividend <<= 1;
        --shift;
    }
    TscScale scale;
    scale.mul = static_cast<std::uint32_t>((static_cast<unsigned __int128>(dividend) << 32) / divisor);
    scale.shift = static_cast<std::int8_t>(shift);
    return scale;
}

std::string_view calibration_source_name(CalibrationSource source) {
    switch (source) {
    case CalibrationSource::Cpuid: return "CPUID leaf 0x15";
    case CalibrationSource::Hpet: return "HPET";
    case CalibrationSource::Pit: return "PIT channel 2";
    case CalibrationSource::Auto: break;
    }
    return "auto";
}

Result<TscCalibration> calibrate_tsc(CalibrationSource forced, std::uintptr_t hpet_virt) {
    if (forced == CalibrationSource::Cpuid || forced == CalibrationSource::Auto) {
        if (auto hz = calibrate_with_cpuid())
            return TscCalibration{*hz, CalibrationSource::Cpuid};
        if (forced == CalibrationSource::Cpuid)
            return Error{Errno::ENODEV};
    }
    if (forced == CalibrationSource::Hpet || forced == CalibrationSource::Auto) {
        if (auto hz = calibrate_with_hpet(hpet_virt))
            return TscCalibration{*hz, CalibrationSource::Hpet};
        if (forced == CalibrationSource::Hpet)
            return Error{Errno::ENODEV};
    }
    return TscCalibration{calibrate_with_pit(), CalibrationSource::Pit};
}

void set_system_clock(std::uint64_t hz) {
    g_tsc_hz = hz;
    g_scale = scale_for_frequency(hz);
    g_tsc_origin = rdtsc();
}

std::uint64_t system_time_ns() { return system_time_at_tsc(rdtsc()); }
std::uint64_t system_time_at_tsc(std::uint64_t tsc) { return g_scale.to_ns(tsc - g_tsc_origin); }
std::uint64_t tsc_hz() { return g_tsc_hz; }

std::uint64_t ns_to_tsc(std::uint64_t ns) {
    return static_cast<std::uint64_t>(static_cast<unsigned __int128>(ns) * g_tsc_hz / NS_PER_SECOND);
}

}  // namespace xenolith::arch
