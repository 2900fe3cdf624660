// Boot glue of the test kernels: start_info, shared_info mapping, P2M/M2P helpers, events.
#include "xt/guest.hpp"

#include "xt/hypercall.hpp"
#include "xt/test.hpp"

namespace xt {
namespace {

const xen::start_info* g_start_info = nullptr;
xen::shared_info* g_shared_info = nullptr;
bool g_shared_info_tried = false;
long g_shared_info_error = 0;

// A page of our image whose mapping is replaced by the shared_info frame.
alignas(4096) unsigned char g_shared_info_page[4096];

// PTE bits for a present, writable, accessed, dirty mapping (architectural x86 bits; the
// hypervisor adds what it enforces, §7.4).
constexpr std::uint64_t PTE_DATA = 0x1 | 0x2 | 0x4 | 0x20 | 0x40;

}  // namespace

const xen::start_info* start_info() { return g_start_info; }

std::uint64_t p2m(std::uint64_t pfn) {
    return reinterpret_cast<const std::uint64_t*>(g_start_info->mfn_list)[pfn];
}

std::uint64_t va_to_maddr(std::uint64_t va) {
    return (p2m(va_to_pfn(va)) << xen::XEN_PAGE_SHIFT) | (va & (xen::XEN_PAGE_SIZE - 1));
}

xen::shared_info* shared_info() {
    if (!g_shared_info_tried && g_start_info != nullptr) {
        g_shared_info_tried = true;
        // §3.1: start_info.shared_info is a machine address; §5.10: map it over our page.
        const std::uint64_t va = reinterpret_cast<std::uint64_t>(g_shared_info_page);
        const std::uint64_t pte = (g_start_info->shared_info & ~(xen::XEN_PAGE_SIZE - 1)) | PTE_DATA;
        g_shared_info_error = update_va_mapping(va, pte, xen::UVMF_INVLPG);
        if (g_shared_info_error == 0) {
            g_shared_info = reinterpret_cast<xen::shared_info*>(g_shared_info_page);
        }
    }
    return g_shared_info;
}

long shared_info_error() {
    shared_info();
    return g_shared_info_error;
}

std::uint64_t system_time_ns() {
    if (const xen::vcpu_info* v = vcpu0_info()) {
        // §8.1: retry while the hypervisor updates the record (odd version, or it changed).
        const volatile xen::vcpu_time_info& t = v->time;
        for (;;) {
            const std::uint32_t version = t.version;
            __atomic_thread_fence(__ATOMIC_ACQUIRE);
            std::uint32_t lo, hi;
            asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
            const std::uint64_t delta = ((std::uint64_t{hi} << 32) | lo) - t.tsc_timestamp;
            const std::int8_t shift = t.tsc_shift;
            const std::uint64_t shifted = shift >= 0 ? delta << shift : delta >> -shift;
            const std::uint64_t ns =
                t.system_time + static_cast<std::uint64_t>((static_cast<unsigned __int128>(shifted) *
                                                            t.tsc_to_system_mul) >> 32);
            __atomic_thread_fence(__ATOMIC_ACQUIRE);
            if ((version & 1) == 0 && version == t.version) {
                return ns;
            }
        }
    }
    xen::vcpu_runstate_info info{};
    if (vcpu_op(xen::VCPUOP_get_runstate_info, 0, &info) != 0) {
        return 0;
    }
    return info.state_entry_time;
}

xen::vcpu_info* vcpu0_info() {
    xen::shared_info* si = shared_info();
    return si != nullptr ? &si->vcpu_info[0] : nullptr;
}

void events_disable() {
    if (xen::vcpu_info* v = vcpu0_info()) {
        reinterpret_cast<volatile std::uint8_t&>(v->evtchn_upcall_mask) = 1;
        __atomic_signal_fence(__ATOMIC_SEQ_CST);
    }
}

void events_enable() {
    if (xen::vcpu_info* v = vcpu0_info()) {
        __atomic_signal_fence(__ATOMIC_SEQ_CST);
        reinterpret_cast<volatile std::uint8_t&>(v->evtchn_upcall_mask) = 0;
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        // §6.10: a pending upcall is delivered on the way out of any hypercall.
        if (reinterpret_cast<volatile std::uint8_t&>(v->evtchn_upcall_pending) != 0) {
            xen_version(xen::XENVER_version);
        }
    }
}

}  // namespace xt

extern "C" {
using InitFunction = void (*)();
extern InitFunction __init_array_start[];
extern InitFunction __init_array_end[];

// Called from head.S with the start_info pointer the builder put in rsi (§2.7).
[[noreturn]] void xt_start(const xen::start_info* si) {
    xt::g_start_info = si;
    for (InitFunction* f = __init_array_start; f != __init_array_end; ++f) {
        (*f)();
    }
    guest_main(si);
    xt::finish();
}
}
