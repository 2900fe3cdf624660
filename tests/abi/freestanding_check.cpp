// Compiles every guest-abi header with the hypervisor's and test guests' freestanding flags.
#include "xen/arch_x86_64.hpp"
#include "xen/callback.hpp"
#include "xen/console.hpp"
#include "xen/elfnote.hpp"
#include "xen/errno.hpp"
#include "xen/event_channel.hpp"
#include "xen/features.hpp"
#include "xen/grant_table.hpp"
#include "xen/hypercall.hpp"
#include "xen/memory.hpp"
#include "xen/mm.hpp"
#include "xen/nmi.hpp"
#include "xen/physdev.hpp"
#include "xen/sched.hpp"
#include "xen/shared_info.hpp"
#include "xen/start_info.hpp"
#include "xen/trap.hpp"
#include "xen/types.hpp"
#include "xen/vcpu.hpp"
#include "xen/version.hpp"
#include "xen/xen.hpp"
#include "xen/xenstore.hpp"

static_assert(!__STDC_HOSTED__, "this translation unit must be built freestanding");

// Something to emit, so the object is not empty.
extern "C" std::size_t xenolith_abi_freestanding_check() { return sizeof(xen::vcpu_guest_context); }
