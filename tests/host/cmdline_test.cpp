// Tests for the typed command-line parser.
#include <gtest/gtest.h>


#include <cstdint>
#include <string>

#include "boot/cmdline.hpp"
#include "test_support.hpp"

namespace xenolith {
namespace {

enum class LogLevel : std::uint8_t { Error = 1, Warning = 2, Info = 3, Debug = 4 };

constexpr EnumChoice kLogLevels[] = {
    {"error", LogLevel::Error}, {"warning", LogLevel::Warning}, {"info", LogLevel::Info}, {"debug", LogLevel::Debug}};
constexpr EnumChoice kConsoles[] = {{"com1", 1u}, {"com2", 2u}, {"vga", 10u}};

struct Options {
    bool noreboot = false;
    bool smp = true;
    std::uint64_t dom0_mem = 0;
    std::uint32_t max_cpus = 0;
    std::uint8_t small = 0;
    LogLevel loglvl = LogLevel::Info;
    unsigned console = 0;
    std::string_view dom0_args = "unset";
};
Options g;

// The table is constexpr: storage addresses of globals are constant expressions.
constexpr OptionSpec kTable[] = {
    flag("noreboot", g.noreboot, "stay halted after a panic"),
    flag("smp", g.smp, "start application processors"),
    number("dom0_mem", g.dom0_mem, "dom0 memory in bytes"),
    number("max_cpus", g.max_cpus, "limit the number of CPUs"),
    number("small", g.small, "an 8-bit value"),
    choice("loglvl", g.loglvl, kLogLevels, "console log level"),
    choice("console", g.console, kConsoles, "console device"),
    text("dom0_args", g.dom0_args, "dom0 kernel command line"),
};

class CmdlineTest : public ::testing::Test {
protected:
    void SetUp() override { g = Options{}; }
    std::size_t parse(std::string_view line) { return parse_command_line(line, kTable, diag); }
    test::CollectingDiagnostics diag;
};

TEST_F(CmdlineTest, EmptyAndWhitespaceOnly) {
    EXPECT_EQ(parse(""), 0u);
    EXPECT_EQ(parse(" \t\n  "), 0u);
    EXPECT_TRUE(diag.messages.empty());
    EXPECT_TRUE(g.smp);
}

TEST_F(CmdlineTest, BooleanForms) {
    EXPECT_EQ(parse("noreboot no-smp"), 0u) << diag.all();
    EXPECT_TRUE(g.noreboot);
    EXPECT_FALSE(g.smp);
    const char* truthy[] = {"on", "yes", "true", "1"};
    const char* falsy[] = {"off", "no", "false", "0"};
    for (const char* w : truthy) {
        g.noreboot = false;
        EXPECT_EQ(parse(std::string("noreboot=") + w), 0u);
        EXPECT_TRUE(g.noreboot) << w;
    }
    for (const char* w : falsy) {
        g.noreboot = true;
        EXPECT_EQ(parse(std::string("noreboot=") + w), 0u);
        EXPECT_FALSE(g.noreboot) << w;
    }
}

TEST_F(CmdlineTest, BadBooleans) {
    g.noreboot = true;
    EXPECT_EQ(parse("noreboot=maybe no-smp=1 no-dom0_mem"), 3u);
    EXPECT_TRUE(g.noreboot);  // unchanged by a bad value
    EXPECT_TRUE(g.smp);
    EXPECT_TRUE(diag.any_contains("option 'noreboot': expected on|off|yes|no|true|false|1|0, got 'maybe'")) << diag.all();
    EXPECT_TRUE(diag.any_contains("'no-smp' takes no value")) << diag.all();
    EXPECT_TRUE(diag.any_contains("'dom0_mem' is not a boolean")) << diag.all();
}

TEST_F(CmdlineTest, UnsignedNumbersAndSuffixes) {
    EXPECT_EQ(parse("dom0_mem=4096"), 0u);
    EXPECT_EQ(g.dom0_mem, 4096u);
    EXPECT_EQ(parse("dom0_mem=0x1F000"), 0u);
    EXPECT_EQ(g.dom0_mem, 0x1F000u);
    EXPECT_EQ(parse("dom0_mem=512M"), 0u);
    EXPECT_EQ(g.dom0_mem, 512ULL << 20);
    EXPECT_EQ(parse("dom0_mem=2g"), 0u);
    EXPECT_EQ(g.dom0_mem, 2ULL << 30);
    EXPECT_EQ(parse("dom0_mem=16k"), 0u);
    EXPECT_EQ(g.dom0_mem, 16ULL << 10);
    EXPECT_EQ(parse("dom0_mem=0x10M"), 0u);
    EXPECT_EQ(g.dom0_mem, 16ULL << 20);
    EXPECT_EQ(parse("dom0_mem=1T"), 0u);
    EXPECT_EQ(g.dom0_mem, 1ULL << 40);
    EXPECT_EQ(parse("dom0_mem=18446744073709551615"), 0u);
    EXPECT_EQ(g.dom0_mem, UINT64_MAX);
    EXPECT_EQ(parse("max_cpus=4294967295 small=255"), 0u);
    EXPECT_EQ(g.max_cpus, 4294967295u);
    EXPECT_EQ(g.small, 255u);
}

TEST_F(CmdlineTest, NumberErrorsAndOverflow) {
    g.dom0_mem = 77;
    EXPECT_EQ(parse("dom0_mem=18446744073709551616"), 1u);  // 2^64
    EXPECT_EQ(parse("dom0_mem=0x10000000000000000"), 1u);
    EXPECT_EQ(parse("dom0_mem=16777216T"), 1u);             // 2^24 * 2^40 = 2^64
    EXPECT_EQ(parse("dom0_mem=12x dom0_mem=0x dom0_mem=M dom0_mem=-1 dom0_mem= dom0_mem"), 6u);
    EXPECT_EQ(g.dom0_mem, 77u);
    EXPECT_TRUE(diag.any_contains("option 'dom0_mem': expected an unsigned number")) << diag.all();
    EXPECT_TRUE(diag.any_contains("got '12x'")) << diag.all();
    EXPECT_TRUE(diag.any_contains("option 'dom0_mem': needs a number")) << diag.all();
    diag.messages.clear();
    EXPECT_EQ(parse("max_cpus=4294967296 small=256 small=1K"), 3u);
    EXPECT_EQ(g.max_cpus, 0u);
    EXPECT_EQ(g.small, 0u);
    EXPECT_TRUE(diag.any_contains("option 'small': value '256' is too large (at most 255)")) << diag.all();
}

TEST_F(CmdlineTest, Enumerations) {
    EXPECT_EQ(parse("loglvl=debug console=vga"), 0u);
    EXPECT_EQ(g.loglvl, LogLevel::Debug);
    EXPECT_EQ(g.console, 10u);
    EXPECT_EQ(parse("loglvl=verbose console"), 2u);
    EXPECT_EQ(g.loglvl, LogLevel::Debug);
    EXPECT_TRUE(diag.any_contains("option 'loglvl': expected one of error|warning|info|debug, got 'verbose'"))
        << diag.all();
    EXPECT_TRUE(diag.any_contains("option 'console': expected one of com1|com2|vga, got ''")) << diag.all();
}

TEST_F(CmdlineTest, StringsAndQuoting) {
    const std::string line = "dom0_args=\"console=hvc0 root=/dev/ram0\" noreboot";
    EXPECT_EQ(parse(line), 0u) << diag.all();
    EXPECT_EQ(g.dom0_args, "console=hvc0 root=/dev/ram0");
    EXPECT_TRUE(g.noreboot);
    // The stored view points into the caller's line, not into a temporary.
    EXPECT_GE(g.dom0_args.data(), line.data());
    EXPECT_LE(g.dom0_args.data() + g.dom0_args.size(), line.data() + line.size());
    EXPECT_EQ(parse("dom0_args=plain"), 0u);
    EXPECT_EQ(g.dom0_args, "plain");
    EXPECT_EQ(parse("dom0_args= dom0_args=\"\""), 0u);
    EXPECT_EQ(g.dom0_args, "");
    EXPECT_EQ(parse("dom0_args"), 1u);
    EXPECT_TRUE(diag.any_contains("option 'dom0_args': needs a value"));
}

TEST_F(CmdlineTest, QuotingErrors) {
    g.dom0_args = "kept";
    EXPECT_EQ(parse("dom0_args=\"unterminated value"), 1u);
    EXPECT_TRUE(diag.any_contains("unterminated quote")) << diag.all();
    EXPECT_EQ(parse("\"dom0_args\"=x"), 1u);
    EXPECT_TRUE(diag.any_contains("misplaced quote")) << diag.all();
    EXPECT_EQ(parse("dom0_args=a\"b\""), 1u);
    EXPECT_EQ(parse("dom0_args=\"a\"b\""), 1u);
    EXPECT_EQ(g.dom0_args, "kept");
    // An unterminated quote swallows the rest of the line: later words are not misparsed.
    EXPECT_EQ(parse("noreboot dom0_args=\"x noreboot=maybe"), 1u);
    EXPECT_TRUE(g.noreboot);
}

TEST_F(CmdlineTest, UnknownOptionsAreReportedAndParsingContinues) {
    EXPECT_EQ(parse("foo noreboot bar=1 =x no-bar loglvl=error"), 4u);
    EXPECT_TRUE(g.noreboot);
    EXPECT_EQ(g.loglvl, LogLevel::Error);
    EXPECT_TRUE(diag.any_contains("unknown option 'foo'")) << diag.all();
    EXPECT_TRUE(diag.any_contains("unknown option 'bar'")) << diag.all();
    EXPECT_TRUE(diag.any_contains("unknown option 'no-bar'")) << diag.all();
    EXPECT_TRUE(diag.any_contains("missing option name in '=x'")) << diag.all();
    EXPECT_EQ(diag.count(), 4u);
}

TEST_F(CmdlineTest, LastValueWins) {
    EXPECT_EQ(parse("max_cpus=2 max_cpus=8 noreboot no-noreboot"), 0u);
    EXPECT_EQ(g.max_cpus, 8u);
    EXPECT_FALSE(g.noreboot);
}

TEST(Cmdline, ParseUnsignedDirect) {
    std::uint64_t v = 0;
    EXPECT_TRUE(parse_unsigned("0", v));
    EXPECT_EQ(v, 0u);
    EXPECT_TRUE(parse_unsigned("0xffffffffffffffff", v));
    EXPECT_EQ(v, UINT64_MAX);
    EXPECT_TRUE(parse_unsigned("0XAbC", v));
    EXPECT_EQ(v, 0xabcu);
    EXPECT_TRUE(parse_unsigned("17179869183G", v));  // (2^34 - 1) << 30 fits
    EXPECT_EQ(v, ((1ULL << 34) - 1) << 30);
    EXPECT_FALSE(parse_unsigned("17179869184G", v));
    EXPECT_FALSE(parse_unsigned("", v));
    EXPECT_FALSE(parse_unsigned("K", v));
    EXPECT_FALSE(parse_unsigned("1KK", v));
    EXPECT_FALSE(parse_unsigned("0xg", v));
    EXPECT_FALSE(parse_unsigned(" 1", v));
}

TEST(Cmdline, StripImagePath) {
    EXPECT_EQ(strip_image_path("/boot/xenolith.elf console=com1"), " console=com1");
    EXPECT_EQ(strip_image_path("  /xenolith"), "");
    EXPECT_EQ(strip_image_path("noreboot dom0_mem=1G"), "noreboot dom0_mem=1G");
    EXPECT_EQ(strip_image_path("dom0_args=/dev/ram0 x"), "dom0_args=/dev/ram0 x");
    EXPECT_EQ(strip_image_path(""), "");
}

TEST(Cmdline, HelpListsEveryOption) {
    test::StringSink sink;
    print_option_help(sink, kTable);
    EXPECT_NE(sink.text.find("  noreboot[=on|off]  stay halted after a panic\n"), std::string::npos) << sink.text;
    EXPECT_NE(sink.text.find("  loglvl=error|warning|info|debug  console log level\n"), std::string::npos)
        << sink.text;
    EXPECT_NE(sink.text.find("  dom0_mem=<n>[K|M|G|T]"), std::string::npos) << sink.text;
    EXPECT_NE(sink.text.find("  dom0_args=<text>"), std::string::npos) << sink.text;
}

}  // namespace
}  // namespace xenolith
