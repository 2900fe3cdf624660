// xen_version (17): version, strings and the feature bitmap (pv-abi-core.md §5.13).
#include "arch/x86_64/layout.h"
#include "core/options.hpp"
#include "domain/domain.hpp"
#include "hypercall/hypercall.hpp"
#include "lib/string.hpp"
#include "pv/guest_memory.hpp"
#include "xen/arch_x86_64.hpp"
#include "xen/features.hpp"
#include "xen/version.hpp"

namespace xenolith {

namespace {

constexpr char EXTRAVERSION[] = ".0-xenolith";
constexpr char CAPABILITIES[] = "xen-3.0-x86_64";
constexpr char CHANGESET[] = "xenolith";

// Copy a NUL-terminated string into a fixed-size guest buffer, NUL padded.
std::int64_t copy_string(std::uint64_t destination, const char* text, std::size_t size) {
    char buffer[1024] = {};
    const std::size_t length = strlen(text) < size - 1 ? strlen(text) : size - 1;
    memcpy(buffer, text, length);
    return to_return(copy_to_guest(destination, buffer, size));
}

// The *2 variants: a xen_varbuf header with the buffer size, then the bytes (not truncated).
std::int64_t copy_varbuf(std::uint64_t destination, const char* text) {
    const auto length = static_cast<std::uint32_t>(strlen(text));
    if (!destination)
        return length;
    auto header = GuestPtr<xen::xen_varbuf>(destination).read();
    if (!header)
        return xen::negated(header.error());
    if (header->len < length)
        return xen::negated(Errno::ENOBUFS);
    if (auto copied = copy_to_guest(destination + sizeof(xen::xen_varbuf), text, length); !copied)
        return xen::negated(copied.error());
    return length;
}

}  // namespace

std::int64_t do_xen_version(HypercallContext& c) {
    const std::uint64_t command = c.arg(0) & 0xffffffff;
    const std::uint64_t argument = c.arg(1);
    Domain& domain = *c.vcpu.domain;
    switch (command) {
    case xen::XENVER_version: return xen::XEN_VERSION_4_17;
    case xen::XENVER_extraversion: return copy_string(argument, EXTRAVERSION, xen::XEN_EXTRAVERSION_LEN);
    case xen::XENVER_compile_info: {
        xen::xen_compile_info info{};
        memcpy(info.compiler, "gcc " __VERSION__, sizeof("gcc " __VERSION__) < 63 ? sizeof("gcc " __VERSION__) : 63);
        memcpy(info.compile_by, "xenolith", 8);
        memcpy(info.compile_domain, "xenolith", 8);
        memcpy(info.compile_date, __DATE__, sizeof(__DATE__));
        return to_return(GuestPtr<xen::xen_compile_info>(argument).write(info));
    }
    case xen::XENVER_capabilities: return copy_string(argument, CAPABILITIES, xen::XEN_CAPABILITIES_INFO_LEN);
    case xen::XENVER_changeset: return copy_string(argument, CHANGESET, xen::XEN_CHANGESET_INFO_LEN);
    case xen::XENVER_platform_parameters:
        return to_return(GuestPtr<xen::xen_platform_parameters>(argument).write({xen::HYPERVISOR_VIRT_START}));
    case xen::XENVER_get_features: {
        auto info = GuestPtr<xen::xen_feature_info>(argument).read();
        if (!info)
            return xen::negated(info.error());
        if (info->submap_idx >= xen::XENFEAT_NR_SUBMAPS)
            return xen::negated(Errno::EINVAL);
        info->submap = xen::XENFEAT_PV64_DOMU_SUBMAP0;
        if (domain.privileged)
            info->submap |= xen::xenfeat_bit(xen::XENFEAT_dom0);
        return to_return(GuestPtr<xen::xen_feature_info>(argument).write(*info));
    }
    case xen::XENVER_pagesize: return 4096;
    case xen::XENVER_guest_handle: {
        std::uint8_t handle[xen::XEN_GUEST_HANDLE_LEN] = {};
        handle[0] = static_cast<std::uint8_t>(domain.id);
        handle[1] = static_cast<std::uint8_t>(domain.id >> 8);
        return to_return(copy_to_guest(argument, handle, sizeof(handle)));
    }
    case xen::XENVER_commandline: return copy_string(argument, hypervisor_command_line(), xen::XEN_COMMANDLINE_LEN);
    case xen::XENVER_build_id: return xen::negated(Errno::ENODATA);
    case xen::XENVER_extraversion2: return copy_varbuf(argument, EXTRAVERSION);
    case xen::XENVER_capabilities2: return copy_varbuf(argument, CAPABILITIES);
    case xen::XENVER_changeset2: return copy_varbuf(argument, CHANGESET);
    case xen::XENVER_commandline2: return copy_varbuf(argument, hypervisor_command_line());
    default: return xen::negated(Errno::ENOSYS);
    }
}

}  // namespace xenolith
