// The test API of the test kernels: checks that record failures, and the single verdict line.
#pragma once

#include <cstdint>

#include "xen/errno.hpp"
#include "xt/console.hpp"
#include "xt/guest.hpp"
#include "xt/hypercall.hpp"

namespace xt {

const char* test_name();
unsigned failures();

void check_failed(const char* file, int line, const char* expression);
void check_eq_failed(const char* file, int line, const char* lhs_text, const char* rhs_text, const FormatArg& lhs,
                     const FormatArg& rhs);
// rc must be exactly the negated errno.
void check_errno(long rc, long expected, const char* call_text, const char* file, int line);
inline void check_errno(long rc, xen::Errno expected, const char* call_text, const char* file, int line) {
    check_errno(rc, xen::negated(expected), call_text, file, line);
}

template <class A, class B>
inline void check_eq(const A& a, const B& b, const char* a_text, const char* b_text, const char* file, int line) {
    if (!(a == b)) {
        check_eq_failed(file, line, a_text, b_text, FormatArg(a), FormatArg(b));
    }
}

// Prints "XENOLITH-TEST <name>: PASS" or "... FAIL (<n> failures)" and shuts the domain down
// with SHUTDOWN_poweroff or SHUTDOWN_crash (§5.24). Never returns.
[[noreturn]] void finish();

// Prints "XENOLITH-TEST <name>: SKIP (<why>)" and powers the domain off: the hypervisor lacks
// something the test needs (the runner reports the scenario as skipped, never as passed).
// Failures already recorded win: they are reported as FAIL instead.
[[noreturn]] void skip(const char* why);

// The shared_info page, or a SKIP verdict when the hypervisor does not implement the call that
// maps it (update_va_mapping -ENOSYS); any other refusal is a test failure.
xen::shared_info& require_shared_info();

}  // namespace xt

// Macros so that failures carry file:line and the source text.
#define CHECK(cond) ((cond) ? static_cast<void>(0) : ::xt::check_failed(__FILE__, __LINE__, #cond))
#define CHECK_EQ(a, b) ::xt::check_eq((a), (b), #a, #b, __FILE__, __LINE__)
// CHECK_ERRNO(call, xen::Errno::EINVAL) or CHECK_ERRNO(call, -22): the call must return -errno.
#define CHECK_ERRNO(call, expected) ::xt::check_errno((call), (expected), #call, __FILE__, __LINE__)
