// crash-victim: a guest that breaks the PV ABI on purpose, so the hypervisor must crash it -
// and only it (pv-abi-core.md §5.2: an exception with no handler crashes the domain; §6.4: a
// bounce frame that cannot be written crashes the domain). Its command line picks the violation:
//   mode=no-handler  #UD with an empty trap table
//   mode=bad-stack   a #UD with a handler, but rsp pointing at unmapped memory
// It prints no verdict: the runner checks the hypervisor's crash report instead. Reaching the
// end of guest_main would be a failure, reported as such.
#include "xt/test.hpp"
#include "xt/traps.hpp"

namespace {

bool has_mode(const char* cmdline, const char* mode) {
    for (const char* p = cmdline; *p != '\0'; ++p) {
        const char* a = p;
        const char* b = mode;
        while (*b != '\0' && *a == *b) {
            ++a;
            ++b;
        }
        if (*b == '\0') {
            return true;
        }
    }
    return false;
}

}  // namespace

void guest_main(const xen::start_info* si) {
    const char* cmdline = reinterpret_cast<const char*>(si->cmd_line);
    xt::print("crash-victim: '{}'\n", cmdline);
    // A few hypercalls for the crash report's trail.
    xt::xen_version(xen::XENVER_version);
    if (has_mode(cmdline, "mode=no-handler")) {
        CHECK_EQ(xt::set_trap_table(nullptr), 0);
        asm volatile("ud2");
    } else if (has_mode(cmdline, "mode=bad-stack")) {
        CHECK_EQ(xt::install_traps(), 0);
        asm volatile("mov $0x1000, %%rsp; ud2" ::: "memory");
    } else {
        CHECK(!"crash-victim needs mode=no-handler or mode=bad-stack");
    }
    CHECK(!"the hypervisor let an ABI violation pass");
}
