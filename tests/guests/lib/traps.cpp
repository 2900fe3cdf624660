// Trap table, callbacks, trap dispatch and the 2-level event scan of the test kernels.
#include "xt/traps.hpp"

#include "xt/console.hpp"
#include "xt/guest.hpp"
#include "xt/hypercall.hpp"
#include "xt/test.hpp"

extern "C" {
extern const std::uint64_t xt_trap_stubs[32];
extern const std::uint64_t xt_trap_stub_128;
void xt_event_callback();
void xt_failsafe_callback();
}

namespace xt {
namespace {

TrapHandler g_handlers[256] = {};
EventHandler g_event_handler = nullptr;
std::uint64_t g_counts[258] = {};

constexpr unsigned kSoftwareVector = 0x80;

const char* vector_name(unsigned v) {
    static const char* const names[32] = {
        "#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "#MF-seg", "#TS",
        "#NP", "#SS", "#GP", "#PF", "#15",  "#MF", "#AC", "#MC", "#XM", "#VE",    "#CP",
        "#22", "#23", "#24", "#25", "#26",  "#27", "#HV", "#VC", "#SX", "#31"};
    if (v < 32) return names[v];
    if (v == VECTOR_EVENT) return "event";
    if (v == VECTOR_FAILSAFE) return "failsafe";
    return "int";
}

void report_unexpected(const TrapFrame& f) {
    print("unexpected {} (vector {:#x}) error {:#x} at rip {:#x} cs {:#x} rflags {:#x} rsp {:#x} ss {:#x} cr2 {:#x}\n",
          vector_name(static_cast<unsigned>(f.vector)), f.vector, f.error_code, f.rip, f.cs, f.rflags, f.rsp,
          f.ss, f.cr2);
}

// devices §1.6: clear the master flag first, then take the selector with an exchange, then
// handle pending & ~mask word by word, clearing each pending bit before its handler runs.
void scan_events() {
    xen::shared_info* si = shared_info();
    if (si == nullptr) {
        return;
    }
    xen::vcpu_info& v = si->vcpu_info[0];
    do {
        __atomic_store_n(&v.evtchn_upcall_pending, 0, __ATOMIC_SEQ_CST);
        std::uint64_t selector = __atomic_exchange_n(&v.evtchn_pending_sel, 0, __ATOMIC_SEQ_CST);
        while (selector != 0) {
            const unsigned word = static_cast<unsigned>(__builtin_ctzll(selector));
            selector &= selector - 1;
            std::uint64_t bits = __atomic_load_n(&si->evtchn_pending[word], __ATOMIC_SEQ_CST) &
                                 ~__atomic_load_n(&si->evtchn_mask[word], __ATOMIC_SEQ_CST);
            while (bits != 0) {
                const unsigned bit = static_cast<unsigned>(__builtin_ctzll(bits));
                bits &= bits - 1;
                __atomic_fetch_and(&si->evtchn_pending[word], ~(std::uint64_t{1} << bit), __ATOMIC_SEQ_CST);
                if (g_event_handler != nullptr) {
                    g_event_handler(static_cast<xen::evtchn_port_t>(word * 64 + bit));
                }
            }
        }
    } while (__atomic_load_n(&v.evtchn_upcall_pending, __ATOMIC_SEQ_CST) != 0);
}

}  // namespace

long install_traps() {
    // §5.2: one entry per vector, terminated by address 0. int3/into are exceptions whatever
    // their DPL (§6.5); DPL 3 lets INT 3 / INT 0x80 be used directly. TI_SET_IF keeps our
    // handlers free of nested event upcalls; HYPERVISOR_iret restores the mask.
    static xen::trap_info table[34];
    for (unsigned v = 0; v < 32; ++v) {
        const std::uint8_t dpl = (v == xen::TRAP_int3 || v == xen::TRAP_overflow) ? 3 : 0;
        table[v] = xen::trap_info{static_cast<std::uint8_t>(v), static_cast<std::uint8_t>(dpl | xen::TI_SET_IF),
                                  xen::FLAT_KERNEL_CS, 0, xt_trap_stubs[v]};
    }
    table[32] = xen::trap_info{kSoftwareVector, static_cast<std::uint8_t>(3 | xen::TI_SET_IF), xen::FLAT_KERNEL_CS,
                               0, xt_trap_stub_128};
    table[33] = xen::trap_info{};
    long rc = set_trap_table(table);
    if (rc != 0) {
        return rc;
    }
    // §5.6: event and failsafe callbacks through callback_op, events masked on entry.
    rc = register_callback(xen::CALLBACKTYPE_event, event_callback_address(), xen::CALLBACKF_mask_events);
    if (rc != 0) {
        return rc;
    }
    return register_callback(xen::CALLBACKTYPE_failsafe, failsafe_callback_address(), xen::CALLBACKF_mask_events);
}

void set_trap_handler(unsigned vector, TrapHandler handler) {
    if (vector < 256) {
        g_handlers[vector] = handler;
    }
}

void set_event_handler(EventHandler handler) { g_event_handler = handler; }

std::uint64_t trap_count(unsigned vector) { return vector < 258 ? g_counts[vector] : 0; }

std::uint64_t trap_stub_address(unsigned vector) {
    if (vector < 32) return xt_trap_stubs[vector];
    if (vector == kSoftwareVector) return xt_trap_stub_128;
    return 0;
}
std::uint64_t event_callback_address() { return reinterpret_cast<std::uint64_t>(&xt_event_callback); }
std::uint64_t failsafe_callback_address() { return reinterpret_cast<std::uint64_t>(&xt_failsafe_callback); }

}  // namespace xt

// Called by traps.S with the frame it built; returning resumes the (possibly edited) frame
// through HYPERVISOR_iret.
extern "C" void xt_trap_dispatch(xt::TrapFrame* frame) {
    const unsigned vector = static_cast<unsigned>(frame->vector);
    if (vector < 258) {
        ++xt::g_counts[vector];
    }
    if (vector == xt::VECTOR_EVENT) {
        xt::scan_events();
        return;
    }
    if (vector == xt::VECTOR_FAILSAFE) {
        xt::report_unexpected(*frame);
        xt::check_failed(__FILE__, __LINE__, "failsafe callback entered");
        xt::finish();
    }
    if (vector == xen::TRAP_page_fault) {
        // §6.6: the faulting address is in vcpu_info.arch.cr2, not in the frame.
        const xen::vcpu_info* v = xt::vcpu0_info();
        frame->cr2 = v != nullptr ? __atomic_load_n(&v->arch.cr2, __ATOMIC_SEQ_CST) : 0;
    }
    if (vector < 256 && xt::g_handlers[vector] != nullptr && xt::g_handlers[vector](*frame)) {
        return;
    }
    xt::report_unexpected(*frame);
    xt::check_failed(__FILE__, __LINE__, "unexpected trap");
    xt::finish();
}
