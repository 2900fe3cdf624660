// CMOS RTC access (ports 0x70/0x71), waiting out updates and decoding BCD.
#include "arch/x86_64/rtc.hpp"

#include "arch/x86_64/io.hpp"

namespace xenolith::arch {

namespace {

std::uint8_t cmos(std::uint8_t reg) {
    outb(0x70, reg);
    return inb(0x71);
}

struct RtcTime {
    std::uint32_t second, minute, hour, day, month, year;
    bool operator==(const RtcTime&) const = default;
};

RtcTime read_once() {
    // Register A bit 7: an update is in progress; values read then may be torn.
    for (int spins = 0; spins < 1000000 && (cmos(0x0a) & 0x80); ++spins)
        __builtin_ia32_pause();
    return {cmos(0x00), cmos(0x02), cmos(0x04), cmos(0x07), cmos(0x08), cmos(0x09)};
}

std::uint32_t from_bcd(std::uint32_t v) { return (v & 0x0f) + (v >> 4) * 10; }

// Days from 1970-01-01 to the given civil date (proleptic Gregorian).
std::uint64_t days_since_epoch(std::uint32_t year, std::uint32_t month, std::uint32_t day) {
    const std::uint32_t y = month <= 2 ? year - 1 : year;
    const std::uint32_t era = y / 400;
    const std::uint32_t year_of_era = y - era * 400;
    const std::uint32_t shifted_month = month > 2 ? month - 3 : month + 9;
    const std::uint32_t day_of_year = (153 * shifted_month + 2) / 5 + day - 1;
    const std::uint32_t day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    return std::uint64_t{era} * 146097 + day_of_era - 719468;
}

}  // namespace

std::uint64_t read_rtc_epoch_seconds() {
    RtcTime t = read_once();
    for (RtcTime again = read_once(); !(again == t); again = read_once())
        t = again;
    const std::uint8_t status_b = cmos(0x0b);
    const bool binary = status_b & 0x04;
    const bool hours_24 = status_b & 0x02;
    bool pm = false;
    if (!hours_24) {
        pm = t.hour & 0x80;
        t.hour &= 0x7f;
    }
    if (!binary) {
        t.second = from_bcd(t.second);
        t.minute = from_bcd(t.minute);
        t.hour = from_bcd(t.hour);
        t.day = from_bcd(t.day);
        t.month = from_bcd(t.month);
        t.year = from_bcd(t.year);
    }
    if (!hours_24)
        t.hour = (t.hour % 12) + (pm ? 12 : 0);
    const std::uint32_t year = 2000 + t.year;  // the century register is optional; assume 20xx
    return days_since_epoch(year, t.month, t.day) * 86400 + t.hour * 3600 + t.minute * 60 + t.second;
}

}  // namespace xenolith::arch
