// Tests for Result<T>, Error and the TRY macro.
#include <gtest/gtest.h>

#include "lib/result.hpp"

namespace xenolith {
namespace {

Result<int> half(int x) {
    if (x % 2 != 0)
        return Error{Errno::EINVAL};
    return x / 2;
}

Result<int> quarter(int x) {
    int h = TRY(half(x));
    int q = TRY(half(h));
    return q;
}

int g_side_effects = 0;
Result<void> step(bool fail) {
    ++g_side_effects;
    if (fail)
        return Errno::ENOMEM;
    return ok();
}

Result<void> two_steps(bool fail_first, bool fail_second) {
    TRY(step(fail_first));
    TRY(step(fail_second));
    return ok();
}

struct Counted {
    static inline int live = 0;
    int value;
    explicit Counted(int v) : value(v) { ++live; }
    Counted(const Counted& o) : value(o.value) { ++live; }
    Counted(Counted&& o) noexcept : value(o.value) { ++live; }
    ~Counted() { --live; }
};

TEST(Result, ValueAndError) {
    Result<int> good = 7;
    ASSERT_TRUE(good.is_ok());
    EXPECT_FALSE(good.is_error());
    EXPECT_TRUE(static_cast<bool>(good));
    EXPECT_EQ(*good, 7);
    EXPECT_EQ(good.value_or(3), 7);

    Result<int> bad = Error{Errno::ENOENT};
    ASSERT_TRUE(bad.is_error());
    EXPECT_EQ(bad.error(), Errno::ENOENT);
    EXPECT_EQ(bad.value_or(3), 3);
}

TEST(Result, TryPropagatesFirstError) {
    EXPECT_EQ(*quarter(12), 3);
    auto r = quarter(6);  // 6/2 = 3 is odd, so the second TRY fails
    ASSERT_TRUE(r.is_error());
    EXPECT_EQ(r.error(), Errno::EINVAL);
    EXPECT_EQ(quarter(5).error(), Errno::EINVAL);
}

TEST(Result, TryVoidStopsAtFailure) {
    g_side_effects = 0;
    EXPECT_TRUE(two_steps(false, false).is_ok());
    EXPECT_EQ(g_side_effects, 2);
    g_side_effects = 0;
    auto r = two_steps(true, false);
    EXPECT_EQ(r.error(), Errno::ENOMEM);
    EXPECT_EQ(g_side_effects, 1);
}

TEST(Result, CopiesAndDestroysNonTrivialValues) {
    Counted::live = 0;
    {
        Result<Counted> a = Counted(5);
        Result<Counted> b = a;
        EXPECT_EQ(b->value, 5);
        Result<Counted> c = Errno::EIO;
        c = a;
        EXPECT_EQ(c->value, 5);
        b = Result<Counted>(Errno::EBUSY);
        EXPECT_EQ(b.error(), Errno::EBUSY);
        EXPECT_EQ(Counted::live, 2);
    }
    EXPECT_EQ(Counted::live, 0);
}

TEST(Result, NegatedErrno) {
    EXPECT_EQ(xen::negated(Errno::ENOSYS), -38);
    EXPECT_EQ(xen::negated(Errno::EINVAL), -22);
}

}  // namespace
}  // namespace xenolith
