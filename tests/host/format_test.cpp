// Tests for format_to, FixedBuffer and fmt_size.
#include <gtest/gtest.h>


#include <climits>
#include <cstdint>

#include "lib/format.hpp"
#include "lib/result.hpp"
#include "test_support.hpp"

namespace xenolith {
namespace {

using test::fmt;

TEST(Format, PlainTextAndEscapes) {
    EXPECT_EQ(fmt("hello"), "hello");
    EXPECT_EQ(fmt(""), "");
    EXPECT_EQ(fmt("{{}}"), "{}");
    EXPECT_EQ(fmt("a{{b{}c}}d", 1), "a{b1c}d");
}

TEST(Format, Integers) {
    EXPECT_EQ(fmt("{}", 0), "0");
    EXPECT_EQ(fmt("{}", 42), "42");
    EXPECT_EQ(fmt("{}", -42), "-42");
    EXPECT_EQ(fmt("{}", INT64_MIN), "-9223372036854775808");
    EXPECT_EQ(fmt("{}", UINT64_MAX), "18446744073709551615");
    EXPECT_EQ(fmt("{}", static_cast<std::uint8_t>(200)), "200");
    EXPECT_EQ(fmt("{}", static_cast<std::int8_t>(-5)), "-5");
    EXPECT_EQ(fmt("{}", static_cast<short>(-300)), "-300");
    EXPECT_EQ(fmt("{} {} {}", 1u, 2l, 3ull), "1 2 3");
}

TEST(Format, RadixSpecs) {
    EXPECT_EQ(fmt("{:x}", 255), "ff");
    EXPECT_EQ(fmt("{:X}", 255), "FF");
    EXPECT_EQ(fmt("{:#x}", 255), "0xff");
    EXPECT_EQ(fmt("{:#X}", 255), "0XFF");
    EXPECT_EQ(fmt("{:d}", 255), "255");
    EXPECT_EQ(fmt("{:b}", 5), "101");
    EXPECT_EQ(fmt("{:#b}", 5), "0b101");
    EXPECT_EQ(fmt("{:o}", 8), "10");
    EXPECT_EQ(fmt("{:x}", 0), "0");
    EXPECT_EQ(fmt("{:x}", UINT64_MAX), "ffffffffffffffff");
    EXPECT_EQ(fmt("{:x}", -255), "-ff");
    EXPECT_EQ(fmt("{:c}", 65), "A");
}

TEST(Format, WidthAndAlignment) {
    EXPECT_EQ(fmt("{:016x}", 0xdeadbeefULL), "00000000deadbeef");
    EXPECT_EQ(fmt("{:#018x}", 0x1000), "0x0000000000001000");
    EXPECT_EQ(fmt("{:05}", -42), "-0042");
    EXPECT_EQ(fmt("{:>8}", 42), "      42");
    EXPECT_EQ(fmt("{:8}", 42), "      42");     // numbers default to the right
    EXPECT_EQ(fmt("{:<8}|", 42), "42      |");
    EXPECT_EQ(fmt("{:^6}|", 42), "  42  |");
    EXPECT_EQ(fmt("{:<12}|", "abc"), "abc         |");
    EXPECT_EQ(fmt("{:6}|", "abc"), "abc   |");    // strings default to the left
    EXPECT_EQ(fmt("{:>6}", "abc"), "   abc");
    EXPECT_EQ(fmt("{:2}", "abcdef"), "abcdef");  // width never truncates
    EXPECT_EQ(fmt("{:<06}|", 7), "7     |");     // explicit alignment wins over zero fill
}

TEST(Format, CharsBoolsStrings) {
    EXPECT_EQ(fmt("{}", 'x'), "x");
    EXPECT_EQ(fmt("{:d}", 'A'), "65");
    EXPECT_EQ(fmt("{:#x}", 'A'), "0x41");
    EXPECT_EQ(fmt("{} {}", true, false), "true false");
    EXPECT_EQ(fmt("{:d}", true), "1");
    const char* cstr = "c-string";
    EXPECT_EQ(fmt("{}", cstr), "c-string");
    const char* null_str = nullptr;
    EXPECT_EQ(fmt("{}", null_str), "(null)");
    EXPECT_EQ(fmt("{}", std::string_view("view")), "view");
    EXPECT_EQ(fmt("[{}]", std::string_view("ab\0cd", 5)), std::string("[ab\0cd]", 7));
    // A fixed name field without a terminator must not be overrun.
    const char name[4] = {'A', 'P', 'I', 'C'};
    EXPECT_EQ(fmt("{}!", name), "APIC!");
    const char padded[8] = "HPET";
    EXPECT_EQ(fmt("{}!", padded), "HPET!");
}

TEST(Format, Pointers) {
    int x = 0;
    auto* p = reinterpret_cast<int*>(0x1234abcd);
    EXPECT_EQ(fmt("{}", p), "0x1234abcd");
    EXPECT_EQ(fmt("{:p}", static_cast<const void*>(p)), "0x1234abcd");
    EXPECT_EQ(fmt("{}", static_cast<void*>(nullptr)), "0x0");
    EXPECT_EQ(fmt("{}", nullptr), "0x0");
    EXPECT_EQ(fmt("{:018}", p), "0x000000001234abcd");
    auto* bytes = reinterpret_cast<const unsigned char*>(0xff);
    EXPECT_EQ(fmt("{}", bytes), "0xff");  // only char pointers are strings
    (void)x;
}

enum class Color : std::uint8_t { Red = 3 };
TEST(Format, EnumsPrintUnderlyingValue) {
    EXPECT_EQ(fmt("{}", Color::Red), "3");
    EXPECT_EQ(fmt("{}", xen::Errno::EINVAL), "22");
}

TEST(Format, MalformedSpecsAreVisible) {
    EXPECT_EQ(fmt("{:q}", 1), "{?}");
    EXPECT_EQ(fmt("{:xx}", 1), "{?}");
    EXPECT_EQ(fmt("{0}", 1), "{?}");
    EXPECT_EQ(fmt("{:99999}", 1), "{?}");
    EXPECT_EQ(fmt("{:x}", "str"), "{?}");
    EXPECT_EQ(fmt("{:s}", 5), "{?}");
    EXPECT_EQ(fmt("a } b"), "a {?} b");
    EXPECT_EQ(fmt("open {", 1), "open {?}");
    EXPECT_EQ(fmt("open {:x", 1), "open {?}");
    EXPECT_EQ(fmt("{:x {}", 1, 2), "{?}1");  // an unclosed field consumes nothing
    // A bad field still consumes its argument, so later fields stay aligned.
    EXPECT_EQ(fmt("{:q} {}", 1, 2), "{?} 2");
}

TEST(Format, TooFewAndTooManyArguments) {
    EXPECT_EQ(fmt("{} {} {}", 1, 2), "1 2 {?}");
    EXPECT_EQ(fmt("{}"), "{?}");
    EXPECT_EQ(fmt("{}", 1, 2, 3), "1");
}

TEST(FixedBuffer, TruncatesSafely) {
    FixedBuffer<8> buf;
    EXPECT_EQ(buf.capacity(), 7u);
    format_to(buf, "{}", "abc");
    EXPECT_EQ(buf.view(), "abc");
    EXPECT_FALSE(buf.truncated());
    format_to(buf, "{:08x}", 0xabcdU);
    EXPECT_EQ(buf.view(), "abc0000");
    EXPECT_TRUE(buf.truncated());
    EXPECT_STREQ(buf.c_str(), "abc0000");
    buf.clear();
    EXPECT_EQ(buf.view(), "");
    EXPECT_FALSE(buf.truncated());
    FixedBuffer<1> tiny;
    format_to(tiny, "x");
    EXPECT_EQ(tiny.view(), "");
    EXPECT_TRUE(tiny.truncated());
}

TEST(FixedBuffer, FormatFixedHelper) {
    auto b = format_fixed<32>("cpu{} apic {:#x}", 3, 0x10);
    EXPECT_EQ(b.view(), "cpu3 apic 0x10");
}

TEST(FmtSize, BinaryUnits) {
    EXPECT_EQ(fmt("{}", fmt_size(0)), "0 B");
    EXPECT_EQ(fmt("{}", fmt_size(512)), "512 B");
    EXPECT_EQ(fmt("{}", fmt_size(1023)), "1023 B");
    EXPECT_EQ(fmt("{}", fmt_size(4096)), "4 KiB");
    EXPECT_EQ(fmt("{}", fmt_size(1536)), "1.5 KiB");
    EXPECT_EQ(fmt("{}", fmt_size(512ULL << 20)), "512 MiB");
    EXPECT_EQ(fmt("{}", fmt_size(3ULL << 29)), "1.5 GiB");
    EXPECT_EQ(fmt("{}", fmt_size((1ULL << 30) - 1)), "1023.9 MiB");  // truncates, never rounds up
    EXPECT_EQ(fmt("{}", fmt_size(UINT64_MAX)), "15.9 EiB");
    EXPECT_EQ(fmt("[{:>8}]", fmt_size(4096)), "[   4 KiB]");
    EXPECT_EQ(fmt("{:x}", fmt_size(1)), "{?}");
}

}  // namespace
}  // namespace xenolith
