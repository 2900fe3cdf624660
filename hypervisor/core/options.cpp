// The option table.
#include "core/options.hpp"

#include "boot/cmdline.hpp"

namespace xenolith {

namespace {

Options g_options;

constexpr EnumChoice CONSOLE_CHOICES[] = {{"com1", ConsoleTarget::Com1}, {"none", ConsoleTarget::None}};
constexpr EnumChoice LOG_LEVEL_CHOICES[] = {
    {"none", LogLevel::None}, {"error", LogLevel::Error}, {"warning", LogLevel::Warning},
    {"info", LogLevel::Info}, {"debug", LogLevel::Debug}, {"all", LogLevel::All},
};
constexpr EnumChoice CALIBRATION_CHOICES[] = {
    {"auto", arch::CalibrationSource::Auto},
    {"cpuid", arch::CalibrationSource::Cpuid},
    {"hpet", arch::CalibrationSource::Hpet},
    {"pit", arch::CalibrationSource::Pit},
};
constexpr EnumChoice CRASH_CHOICES[] = {
    {"none", CrashTest::None},         {"page_fault", CrashTest::PageFault},
    {"invalid_opcode", CrashTest::InvalidOpcode}, {"general_protection", CrashTest::GeneralProtection},
    {"assert", CrashTest::Assert},     {"ap_page_fault", CrashTest::ApPageFault},
};

const OptionSpec OPTION_TABLE[] = {
    choice("console", g_options.console, CONSOLE_CHOICES, "where the hypervisor console goes"),
    choice("loglvl", g_options.loglvl, LOG_LEVEL_CHOICES, "console log level"),
    flag("test_exit", g_options.test_exit, "end QEMU through isa-debug-exit (port 0xf4) when done or on panic"),
    number("tick_demo", g_options.tick_demo_seconds, "show timer interrupts on every CPU for this many seconds"),
    number("maxcpus", g_options.maxcpus, "start at most this many CPUs"),
    choice("tsc_calibrate", g_options.tsc_calibrate, CALIBRATION_CHOICES, "reference clock for the TSC"),
    choice("crash", g_options.crash, CRASH_CHOICES, "deliberately fault after bring-up (tests the panic path)"),
    number("dom0_mem", g_options.dom0_mem, "domain 0's memory (K/M/G suffix)"),
    number("dom0_vcpus", g_options.dom0_vcpus, "domain 0's virtual CPUs"),
    number("mm_audit", g_options.mm_audit, "check the memory invariants every N memory hypercalls (0: off; slow)"),
    flag("help", g_options.help, "list these options"),
};

class ConsoleDiagnostics final : public Diagnostics {
public:
    void report(std::string_view message) override { log_warning("command line: {}", message); }
};

}  // namespace

const Options& options() { return g_options; }

const char* crash_test_name(CrashTest which) {
    for (const EnumChoice& c : CRASH_CHOICES) {
        if (c.value == static_cast<std::uint64_t>(which))
            return c.word.data();  // the words are string literals: NUL-terminated
    }
    return "?";
}

const char* g_command_line = "";

const char* hypervisor_command_line() { return g_command_line; }

std::size_t parse_options(std::string_view command_line) {
    g_command_line = command_line.data();
    ConsoleDiagnostics diag;
    return parse_command_line(strip_image_path(command_line), OPTION_TABLE, diag);
}

void print_options_help() {
    console::Sink sink;
    format_to(sink, "(hv) hypervisor options:\n");
    print_option_help(sink, OPTION_TABLE);
}

}  // namespace xenolith
