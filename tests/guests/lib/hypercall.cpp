// Hypercall mode selection (syscall vs hypercall page) for calls and for HYPERVISOR_iret.
#include "xt/hypercall.hpp"

// Read by traps.S: return from traps through the page's iret stub (§4.1) instead of the inline
// sequence (§4.3).
extern "C" {
std::uint8_t xt_iret_via_page = 0;
std::uint64_t xt_iret_stub_address = 0;
}

namespace xt {

namespace detail {
HypercallMode g_mode = HypercallMode::Syscall;
}

bool has_hypercall_page() { return hypercall_page != nullptr; }

bool set_hypercall_mode(HypercallMode mode) {
    if (mode == HypercallMode::Page && !has_hypercall_page()) {
        return false;
    }
    detail::g_mode = mode;
    if (mode == HypercallMode::Page) {
        xt_iret_stub_address =
            reinterpret_cast<std::uint64_t>(hypercall_page) + xen::HYPERVISOR_iret * xen::HYPERCALL_STUB_SIZE;
        xt_iret_via_page = 1;
    } else {
        xt_iret_via_page = 0;
    }
    return true;
}

HypercallMode hypercall_mode() { return detail::g_mode; }

}  // namespace xt
