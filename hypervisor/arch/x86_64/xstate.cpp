// The XSAVE policy for guests and the FPU image helpers.
#include "arch/x86_64/xstate.hpp"

#include "arch/x86_64/cpu_features.hpp"
#include "arch/x86_64/cpuid.hpp"
#include "lib/string.hpp"

namespace xenolith::arch {

namespace {
XstatePolicy g_policy;

constexpr unsigned XSTATE_LEAF = 0xd;
constexpr unsigned FCW_OFFSET = 0, MXCSR_OFFSET = 24;
constexpr std::uint16_t FCW_RESET = 0x37f;
constexpr std::uint32_t MXCSR_RESET = 0x1f80;
}  // namespace

const XstatePolicy& xstate_policy() { return g_policy; }

std::uint32_t xstate_size(std::uint64_t xcr0) {
    // x87 and SSE live in the legacy region; every other component's place comes from its
    // CPUID 0xD sub-leaf (EAX size, EBX offset in the standard format).
    std::uint32_t size = XSAVE_LEGACY_SIZE + XSAVE_HEADER_SIZE;
    for (unsigned component = 2; component < 63; ++component) {
        if (!(xcr0 & (std::uint64_t{1} << component)))
            continue;
        const CpuidResult r = cpuid(XSTATE_LEAF, component);
        if (r.ebx + r.eax > size)
            size = r.ebx + r.eax;
    }
    return size;
}

void xstate_init_policy() {
    if (!cpu_features().xsave || cpu_features().max_leaf < XSTATE_LEAF)
        return;
    const CpuidResult top = cpuid(XSTATE_LEAF, 0);
    const std::uint64_t supported = top.eax | (std::uint64_t{top.edx} << 32);
    const std::uint64_t wanted = xfeature::X87 | xfeature::SSE | xfeature::AVX;
    std::uint64_t allowed = supported & wanted;
    // AVX is only usable with the CPUID bit that says so (leaf 1 ECX bit 28).
    if (!(cpuid(1).ecx & (1u << 28)))
        allowed &= ~xfeature::AVX;
    if ((allowed & XCR0_RESET) != XCR0_RESET)
        return;  // an XSAVE without x87/SSE state: not a CPU this hypervisor knows
    if (xstate_size(allowed) > FPU_AREA_SIZE)
        allowed &= ~xfeature::AVX;
    g_policy.allowed = allowed;
    g_policy.area_size = xstate_size(allowed);
    g_policy.enabled = true;
}

void xstate_init_this_cpu() {
    if (g_policy.enabled)
        xsetbv(0, g_policy.allowed);
}

void fpu_area_reset(std::uint8_t* area) {
    memset(area, 0, FPU_AREA_SIZE);
    memcpy(area + FCW_OFFSET, &FCW_RESET, sizeof(FCW_RESET));
    memcpy(area + MXCSR_OFFSET, &MXCSR_RESET, sizeof(MXCSR_RESET));
}

}  // namespace xenolith::arch
