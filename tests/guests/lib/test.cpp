// Failure recording and the single verdict line of the test kernels.
#include "xt/test.hpp"

extern "C" const char xt_test_name[];  // generated per guest by add_test_guest()

namespace xt {
namespace {

unsigned g_failures = 0;

const char* basename(const char* path) {
    const char* base = path;
    for (const char* p = path; *p != '\0'; ++p) {
        if (*p == '/') base = p + 1;
    }
    return base;
}

}  // namespace

const char* test_name() { return xt_test_name; }
unsigned failures() { return g_failures; }

void check_failed(const char* file, int line, const char* expression) {
    ++g_failures;
    print("  CHECK failed at {}:{}: {}\n", basename(file), line, expression);
}

void check_eq_failed(const char* file, int line, const char* lhs_text, const char* rhs_text, const FormatArg& lhs,
                     const FormatArg& rhs) {
    ++g_failures;
    const FormatArg args[] = {basename(file), line, lhs_text, rhs_text, lhs, lhs, rhs, rhs};
    vprint("  CHECK_EQ failed at {}:{}: {} == {} ({} / {:#x} vs {} / {:#x})\n", args, 8);
}

void check_errno(long rc, long expected, const char* call_text, const char* file, int line) {
    if (rc != expected) {
        ++g_failures;
        print("  CHECK_ERRNO failed at {}:{}: {} returned {}, expected {}\n", basename(file), line, call_text, rc,
              expected);
    }
}

[[noreturn]] void finish() {
    // Exactly one verdict line (the runner greps for it), then shutdown (§5.24).
    if (g_failures == 0) {
        print("XENOLITH-TEST {}: PASS\n", test_name());
        sched_shutdown(xen::SHUTDOWN_poweroff);
    } else {
        print("XENOLITH-TEST {}: FAIL ({} failures)\n", test_name(), g_failures);
        sched_shutdown(xen::SHUTDOWN_crash);
    }
    // Shutdown returned: nothing sensible is left to do but stay quiet.
    for (;;) {
        sched_shutdown(xen::SHUTDOWN_crash);
        sched_yield();
    }
}

[[noreturn]] void skip(const char* why) {
    if (g_failures != 0) {
        finish();
    }
    print("XENOLITH-TEST {}: SKIP ({})\n", test_name(), why);
    sched_shutdown(xen::SHUTDOWN_poweroff);
    for (;;) {
        sched_yield();
    }
}

xen::shared_info& require_shared_info() {
    if (xen::shared_info* si = shared_info()) {
        return *si;
    }
    if (shared_info_error() == xen::negated(xen::Errno::ENOSYS)) {
        skip("shared_info cannot be mapped: update_va_mapping is not implemented");
    }
    print("  mapping shared_info failed: update_va_mapping returned {}\n", shared_info_error());
    check_failed(__FILE__, __LINE__, "shared_info mapped");
    finish();
}

}  // namespace xt
