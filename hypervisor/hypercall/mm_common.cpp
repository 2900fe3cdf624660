// Foreign-domain resolution for mmu_update, mmuext_op and update_va_mapping_otherdomain.
#include "hypercall/mm_common.hpp"

#include "xen/types.hpp"

namespace xenolith {

Result<UpdateContext> resolve_foreign_domains(const Domain& caller, std::uint32_t foreigndom) {
    const std::uint16_t data = foreigndom & 0xffff;
    const std::uint32_t pt_plus_one = foreigndom >> 16;
    UpdateContext ctx{caller.id, caller.id};
    if (pt_plus_one) {
        const std::uint32_t pt_owner = pt_plus_one - 1;
        if (pt_owner != caller.id) {
            if (!caller.privileged)
                return Error{Errno::EPERM};
            if (!find_domain(static_cast<std::uint16_t>(pt_owner)))
                return Error{Errno::ESRCH};
        }
        ctx.pt_owner = static_cast<DomainId>(pt_owner);
    }
    if (data == xen::DOMID_SELF) {
        ctx.data_owner = ctx.pt_owner;
    } else if (data == caller.id) {
        return Error{Errno::ESRCH};  // §5.3: naming oneself numerically is an error
    } else {
        if (!caller.privileged)
            return Error{Errno::EPERM};
        if (data >= xen::DOMID_FIRST_RESERVED || !find_domain(data))
            return Error{Errno::ESRCH};
        ctx.data_owner = data;
    }
    return ctx;
}

}  // namespace xenolith
