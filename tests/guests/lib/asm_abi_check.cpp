// The numbers asm_abi.h gives the assembly files must be guest-abi's numbers.
#include "asm_abi.h"

#include "xen/xen.hpp"
#include "xt/guest.hpp"
#include "xt/traps.hpp"

static_assert(XT_ELFNOTE_ENTRY == xen::XEN_ELFNOTE_ENTRY);
static_assert(XT_ELFNOTE_HYPERCALL_PAGE == xen::XEN_ELFNOTE_HYPERCALL_PAGE);
static_assert(XT_ELFNOTE_VIRT_BASE == xen::XEN_ELFNOTE_VIRT_BASE);
static_assert(XT_ELFNOTE_PADDR_OFFSET == xen::XEN_ELFNOTE_PADDR_OFFSET);
static_assert(XT_ELFNOTE_XEN_VERSION == xen::XEN_ELFNOTE_XEN_VERSION);
static_assert(XT_ELFNOTE_GUEST_OS == xen::XEN_ELFNOTE_GUEST_OS);
static_assert(XT_ELFNOTE_LOADER == xen::XEN_ELFNOTE_LOADER);
static_assert(XT_ELFNOTE_FEATURES == xen::XEN_ELFNOTE_FEATURES);
static_assert(XT_HYPERVISOR_iret == xen::HYPERVISOR_iret);
static_assert(XT_HYPERCALL_STUB_SIZE == xen::HYPERCALL_STUB_SIZE);
static_assert(XT_VIRT_BASE == xt::VIRT_BASE);
static_assert(XT_VECTOR_EVENT == xt::VECTOR_EVENT);
static_assert(XT_VECTOR_FAILSAFE == xt::VECTOR_FAILSAFE);
static_assert(XT_TRAPFRAME_SIZE == sizeof(xt::TrapFrame));
