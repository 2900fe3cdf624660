// The hypervisor command line as typed options (parsed once on the boot CPU).
#pragma once

#include <cstdint>
#include <string_view>

#include "arch/x86_64/tsc.hpp"
#include "core/console.hpp"

namespace xenolith {

enum class ConsoleTarget : std::uint8_t { Com1, None };
enum class CrashTest : std::uint8_t { None, PageFault, InvalidOpcode, GeneralProtection, Assert, ApPageFault };

struct Options {
    ConsoleTarget console = ConsoleTarget::Com1;
    LogLevel loglvl = LogLevel::Info;
    bool test_exit = false;                  // end QEMU through isa-debug-exit when done/panicking
    std::uint32_t tick_demo_seconds = 0;     // show timer interrupts on every CPU for N seconds
    std::uint32_t maxcpus = 0xffffffff;      // start at most this many CPUs
    arch::CalibrationSource tsc_calibrate = arch::CalibrationSource::Auto;
    CrashTest crash = CrashTest::None;       // deliberately fault after bring-up (tests)
    std::uint64_t dom0_mem = 128ull << 20;   // domain 0's memory
    std::uint32_t dom0_vcpus = 1;            // domain 0's vCPUs
    std::uint32_t mm_audit = 0;              // audit the memory invariants every N memory hypercalls (0 off)
    bool help = false;
};

const Options& options();
const char* crash_test_name(CrashTest which);
// The command line as given (for XENVER_commandline).
const char* hypervisor_command_line();

// Parse the command line (kept in static storage by the caller), reporting every problem on
// the console. Returns the number of problems.
std::size_t parse_options(std::string_view command_line);

// Print the option table (for `help` on the command line).
void print_options_help();

}  // namespace xenolith
