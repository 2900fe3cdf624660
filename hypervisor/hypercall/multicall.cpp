// multicall (13): a batch of hypercalls in one entry (pv-abi-core.md §4.6). Each entry runs
// through the normal dispatch with its own arguments; its result is written back to the entry.
#include "domain/domain.hpp"
#include "hypercall/hypercall.hpp"
#include "pv/guest_memory.hpp"
#include "xen/hypercall.hpp"

namespace xenolith {

namespace {
constexpr std::uint64_t MAX_ENTRIES = 512;  // bounds the time one call holds the CPU
}

std::int64_t do_multicall(HypercallContext& c) {
    const std::uint64_t list = c.arg(0);
    const std::uint64_t count = c.arg(1) & 0xffffffff;
    if (count > MAX_ENTRIES)
        return xen::negated(Errno::EINVAL);
    arch::TrapFrame& frame = c.frame;
    const arch::TrapFrame saved = frame;
    for (std::uint64_t i = 0; i < count; ++i) {
        const std::uint64_t address = list + i * sizeof(xen::multicall_entry);
        auto entry = GuestPtr<xen::multicall_entry>(address).read();
        if (!entry)
            return xen::negated(entry.error());
        // Nested multicalls and iret make no sense inside a batch.
        std::int64_t result;
        if (entry->op == xen::HYPERVISOR_multicall || entry->op == xen::HYPERVISOR_iret) {
            result = xen::negated(Errno::EINVAL);
        } else {
            frame.rdi = entry->args[0];
            frame.rsi = entry->args[1];
            frame.rdx = entry->args[2];
            frame.r10 = entry->args[3];
            frame.r8 = entry->args[4];
            result = dispatch_hypercall(c.vcpu, frame, entry->op, false, nullptr);
        }
        if (auto written = copy_to_guest(address + 8, &result, sizeof(result)); !written)
            return xen::negated(written.error());
    }
    // The argument registers are clobbered by the ABI anyway; restore the rest.
    frame.rdi = saved.rdi;
    frame.rsi = saved.rsi;
    frame.rdx = saved.rdx;
    frame.r10 = saved.r10;
    frame.r8 = saved.r8;
    return 0;
}

}  // namespace xenolith
