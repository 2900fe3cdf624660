// set_trap_table (0), set_callbacks (4), callback_op (30), nmi_op (28): where the guest wants
// exceptions, events and system calls delivered (pv-abi-core.md §5.2, §5.6, §5.23).
#include "domain/domain.hpp"
#include "hypercall/hypercall.hpp"
#include "pv/guest_memory.hpp"
#include "xen/arch_x86_64.hpp"
#include "xen/callback.hpp"
#include "xen/nmi.hpp"
#include "xen/trap.hpp"

namespace xenolith {

namespace {

bool canonical(std::uint64_t address) {
    return address < 0x0000800000000000ull || address >= 0xffff800000000000ull;
}

constexpr unsigned NMI_VECTOR = 2;
constexpr unsigned MAX_TRAP_ENTRIES = 256;  // the virtual IDT has 256 slots

Result<void> register_callback(Vcpu& vcpu, std::uint16_t type, std::uint16_t flags, std::uint64_t address) {
    if (!canonical(address))
        return Error{Errno::EINVAL};
    const bool masks = flags & xen::CALLBACKF_mask_events;
    GuestCallbacks& cb = vcpu.callbacks;
    switch (type) {
    case xen::CALLBACKTYPE_event: cb.event = address; break;
    case xen::CALLBACKTYPE_failsafe:
        cb.failsafe = address;
        cb.failsafe_masks_events = masks;
        break;
    case xen::CALLBACKTYPE_syscall:
        cb.syscall = address;
        cb.syscall_masks_events = masks;
        break;
    case xen::CALLBACKTYPE_syscall32:
        cb.syscall32 = address;
        cb.syscall32_masks_events = masks;
        break;
    case xen::CALLBACKTYPE_sysenter:
        cb.sysenter = address;
        cb.sysenter_masks_events = masks;
        break;
    case xen::CALLBACKTYPE_nmi:
        // Stored as the trap-table entry for vector 2, events masked (§5.6).
        vcpu.traps[NMI_VECTOR] = {address, xen::FLAT_KERNEL_CS, xen::TI_SET_IF};
        break;
    default: return Error{Errno::ENOSYS};
    }
    return ok();
}

}  // namespace

std::int64_t do_set_trap_table(HypercallContext& c) {
    Vcpu& vcpu = c.vcpu;
    const std::uint64_t table = c.arg(0);
    if (!table) {
        // A NULL table clears the whole virtual IDT.
        for (GuestTrap& trap : vcpu.traps)
            trap = GuestTrap{};
        return 0;
    }
    // Decode everything first: a bad entry leaves the table as it was.
    GuestTrap updated[MAX_TRAP_ENTRIES];
    bool touched[MAX_TRAP_ENTRIES] = {};
    for (unsigned i = 0; i < MAX_TRAP_ENTRIES; ++i) {
        auto entry = GuestPtr<xen::trap_info>(table + i * sizeof(xen::trap_info)).read();
        if (!entry)
            return xen::negated(entry.error());
        if (entry->address == 0)
            break;  // terminator
        if (!canonical(entry->address))
            return xen::negated(Errno::EINVAL);
        updated[entry->vector] = {entry->address, static_cast<std::uint16_t>(entry->cs | 3), entry->flags};
        touched[entry->vector] = true;
    }
    for (unsigned v = 0; v < MAX_TRAP_ENTRIES; ++v) {
        if (touched[v])
            vcpu.traps[v] = updated[v];
    }
    return 0;
}

std::int64_t do_set_callbacks(HypercallContext& c) {
    const std::uint64_t event = c.arg(0), failsafe = c.arg(1), syscall = c.arg(2);
    if (!canonical(event) || !canonical(failsafe) || !canonical(syscall))
        return xen::negated(Errno::EINVAL);
    Vcpu& vcpu = c.vcpu;
    (void)register_callback(vcpu, xen::CALLBACKTYPE_event, 0, event);
    (void)register_callback(vcpu, xen::CALLBACKTYPE_failsafe, 0, failsafe);
    (void)register_callback(vcpu, xen::CALLBACKTYPE_syscall, 0, syscall);
    return 0;
}

std::int64_t do_callback_op(HypercallContext& c) {
    const std::uint64_t command = c.arg(0) & 0xffffffff;
    if (command == xen::CALLBACKOP_register) {
        auto request = GuestPtr<xen::callback_register>(c.arg(1)).read();
        if (!request)
            return xen::negated(request.error());
        return to_return(register_callback(c.vcpu, request->type, request->flags, request->address));
    }
    if (command == xen::CALLBACKOP_unregister) {
        auto request = GuestPtr<xen::callback_unregister>(c.arg(1)).read();
        if (!request)
            return xen::negated(request.error());
        // §5.6: only the NMI callback can be unregistered.
        if (request->type != xen::CALLBACKTYPE_nmi)
            return xen::negated(Errno::EINVAL);
        c.vcpu.traps[NMI_VECTOR] = GuestTrap{};
        return 0;
    }
    return xen::negated(Errno::ENOSYS);
}

std::int64_t do_nmi_op(HypercallContext& c) {
    const std::uint64_t command = c.arg(0) & 0xffffffff;
    if (command == xen::XENNMI_register_callback) {
        auto request = GuestPtr<xen::xennmi_callback>(c.arg(1)).read();
        if (!request)
            return xen::negated(request.error());
        return to_return(register_callback(c.vcpu, xen::CALLBACKTYPE_nmi, 0, request->handler_address));
    }
    if (command == xen::XENNMI_unregister_callback) {
        c.vcpu.traps[NMI_VECTOR] = GuestTrap{};
        return 0;
    }
    return xen::negated(Errno::ENOSYS);
}

}  // namespace xenolith
