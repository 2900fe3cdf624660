// xsave: a vCPU's extended FPU state is its own (pv-abi-core.md §6.11 CPUID and xsetbv).
// Two of these domains share one pCPU, each with its own values in XMM0-15, the YMM upper
// halves (where AVX is offered), MXCSR and the x87 control word, and yield to each other many
// times (an event channel between them makes sure each saw the other run often enough): every
// register must come back as it left it. Before that, the CPUID the guest kernel
// sees must describe what the hypervisor really switches (leaf 1 XSAVE/OSXSAVE, leaf 0xD),
// and xsetbv must be emulated with the architectural checks: #UD until the guest sets
// CR4.OSXSAVE, #GP(0) for a bad index or value, and the guest lives on.
//
// Command line: `seed=N` (distinct per domain) and `expect=xsave|avx|none`: what the runner
// knows the CPU model offers (QEMU -cpu max: avx; the default qemu64: none). A guest that
// finds less than expected fails rather than skips.
#include "xt/cpu.hpp"
#include "xt/peer.hpp"
#include "xt/test.hpp"
#include "xt/traps.hpp"

extern "C" void xt_load_xmm(const void* file);
extern "C" void xt_store_xmm(void* file);
extern "C" void xt_load_ymm(const void* file);
extern "C" void xt_store_ymm(void* file);

// The register files live in assembly so that no compiled code touches vector registers (the
// test kernels are built with -mgeneral-regs-only): whatever is in them across a yield is what
// the hypervisor restored.
asm(R"(
    .pushsection .text, "ax", @progbits
    .globl xt_load_xmm, xt_store_xmm, xt_load_ymm, xt_store_ymm
.macro REGISTER_FILE load, store, move, reg
\load:
    .irp r,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
    \move \r*32(%rdi), %\reg\r
    .endr
    ldmxcsr 512(%rdi)
    fldcw 516(%rdi)
    ret
\store:
    .irp r,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
    \move %\reg\r, \r*32(%rdi)
    .endr
    stmxcsr 512(%rdi)
    fnstcw 516(%rdi)
    ret
.endm
    REGISTER_FILE xt_load_xmm, xt_store_xmm, movdqu, xmm
    REGISTER_FILE xt_load_ymm, xt_store_ymm, vmovdqu, ymm
    .popsection
)");

namespace {

constexpr unsigned INTERLEAVED = 200;  // rounds in which the other domain must have run
constexpr std::uint64_t DEADLINE_NS = 30'000'000'000ull;
constexpr std::uint64_t X87 = 1, SSE = 2, AVX = 4;
constexpr std::uint64_t CR4_OSXSAVE = 1u << 18;
constexpr unsigned VECTOR_UD = 6, VECTOR_GP = 13;

// 16 registers of 32 bytes (an XMM register uses the low 16), then MXCSR and FCW.
struct RegisterFile {
    std::uint8_t bytes[16][32];
    std::uint32_t mxcsr;
    std::uint16_t fcw;
    std::uint8_t pad[10];
};
static_assert(sizeof(RegisterFile) == 528);

RegisterFile g_expected, g_seen;

volatile std::uint64_t g_trap_vector;

bool skip_xsetbv(xt::TrapFrame& f) {
    g_trap_vector = f.vector;
    f.rip += 3;  // xsetbv is 0f 01 d1
    return true;
}

// The vector xsetbv raised (0: it was accepted).
std::uint64_t try_xsetbv(std::uint32_t index, std::uint64_t value) {
    g_trap_vector = 0;
    asm volatile("xsetbv" ::"c"(index), "a"(static_cast<std::uint32_t>(value)),
                 "d"(static_cast<std::uint32_t>(value >> 32))
                 : "memory");
    return g_trap_vector;
}

std::uint64_t xgetbv0() {
    std::uint32_t lo, hi;
    asm volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return (std::uint64_t{hi} << 32) | lo;
}

void write_cr4(std::uint64_t value) { asm volatile("mov %0, %%cr4" ::"r"(value) : "memory"); }

const char* option(const char* cmdline, const char* key) {
    for (const char* p = cmdline; *p != '\0'; ++p) {
        const char* k = key;
        const char* q = p;
        while (*k != '\0' && *q == *k) {
            ++k, ++q;
        }
        if (*k == '\0' && *q == '=' && (p == cmdline || p[-1] == ' ')) {
            return q + 1;
        }
    }
    return "";
}

bool starts_with(const char* text, const char* prefix) {
    while (*prefix != '\0') {
        if (*text++ != *prefix++) {
            return false;
        }
    }
    return *text == '\0' || *text == ' ';
}

// CPUID and xsetbv as the guest kernel sees them; returns the XCR0 it ends with.
std::uint64_t check_interface(bool xsave, bool avx) {
    const xt::CpuidResult leaf1 = xt::xen_cpuid(1);
    const xt::CpuidResult top = xt::xen_cpuid(0xd, 0);
    if (!xsave) {
        CHECK_EQ(leaf1.ecx & (3u << 26), 0u);  // neither XSAVE nor OSXSAVE
        CHECK_EQ(top.eax | top.ebx | top.ecx | top.edx, 0u);
        // Without XSAVE the instruction does not exist: #UD, reflected to us.
        CHECK_EQ(try_xsetbv(0, X87 | SSE), VECTOR_UD);
        return 0;
    }
    CHECK((leaf1.ecx >> 26) & 1);  // XSAVE
    // §6.11: the enlightened CPUID in kernel mode shows OSXSAVE although CR4.OSXSAVE is clear.
    CHECK((leaf1.ecx >> 27) & 1);
    CHECK_EQ(static_cast<bool>((leaf1.ecx >> 28) & 1), avx);
    CHECK_EQ(xt::read_cr4() & CR4_OSXSAVE, 0u);
    // Leaf 0xD: only x87, SSE and AVX; sizes in the standard format (SDM Vol. 1 13.4: legacy
    // region 512 bytes, header 64, the AVX upper halves 256 bytes at offset 576).
    CHECK_EQ(top.eax, static_cast<std::uint32_t>(avx ? X87 | SSE | AVX : X87 | SSE));
    CHECK_EQ(top.edx, 0u);
    CHECK_EQ(top.ebx, 576u);  // for XCR0 = x87 | SSE, the reset value
    CHECK_EQ(top.ecx, avx ? 832u : 576u);
    CHECK_EQ(xt::xen_cpuid(0xd, 1).eax & (1u << 3), 0u);  // no XSAVES (supervisor state)
    if (avx) {
        const xt::CpuidResult ymm = xt::xen_cpuid(0xd, 2);
        CHECK_EQ(ymm.eax, 256u);
        CHECK_EQ(ymm.ebx, 576u);
    }
    for (unsigned component = 3; component < 10; ++component) {  // MPX, AVX-512, PT, PKRU
        const xt::CpuidResult none = xt::xen_cpuid(0xd, component);
        CHECK_EQ(none.eax | none.ebx | none.ecx | none.edx, 0u);
    }
    CHECK_EQ(xgetbv0(), X87 | SSE);

    // Until the guest sets its CR4.OSXSAVE, xsetbv is #UD for it.
    CHECK_EQ(try_xsetbv(0, X87 | SSE), VECTOR_UD);
    write_cr4(xt::read_cr4() | CR4_OSXSAVE);
    CHECK(xt::read_cr4() & CR4_OSXSAVE);
    CHECK((xt::xen_cpuid(1).ecx >> 27) & 1);

    // Refused values: #GP(0) to us, XCR0 unchanged.
    struct Bad {
        std::uint32_t index;
        std::uint64_t value;
    };
    const Bad bad[] = {
        {1, X87 | SSE},                   // only XCR0 exists
        {0, 0},                           // x87 must be on
        {0, SSE},                         // likewise
        {0, X87 | AVX},                   // AVX needs SSE
        {0, X87 | SSE | (1u << 9)},       // PKRU: not offered
        {0, X87 | SSE | AVX | (0xe0)},    // AVX-512: not offered
        {0, X87 | SSE | (1ull << 62)},    // reserved
        {0x80000000u, X87 | SSE},
    };
    for (const Bad& b : bad) {
        CHECK_EQ(try_xsetbv(b.index, b.value), VECTOR_GP);
        CHECK_EQ(xgetbv0(), X87 | SSE);
    }
    if (!avx) {
        CHECK_EQ(try_xsetbv(0, X87 | SSE | AVX), VECTOR_GP);
    }
    // Accepted values take effect at once (xgetbv reads the real XCR0) and leaf 0xD follows.
    CHECK_EQ(try_xsetbv(0, X87), 0u);
    CHECK_EQ(xgetbv0(), X87);
    const std::uint64_t xcr0 = avx ? X87 | SSE | AVX : X87 | SSE;
    CHECK_EQ(try_xsetbv(0, xcr0), 0u);
    CHECK_EQ(xgetbv0(), xcr0);
    CHECK_EQ(xt::xen_cpuid(0xd, 0).ebx, avx ? 832u : 576u);
    return xcr0;
}

// Load our values, then yield until the other domain has run in between at least
// INTERLEAVED times (say so on the channel) and it has said the same; every register must be
// unchanged after every yield.
void check_registers_survive(unsigned seed, bool avx, xen::evtchn_port_t port) {
    for (unsigned r = 0; r < 16; ++r) {
        for (unsigned i = 0; i < 32; ++i) {
            g_expected.bytes[r][i] = static_cast<std::uint8_t>(seed * 0x35 + r * 0x11 + i * 3 + (i >= 16 ? 0x80 : 0));
        }
    }
    g_expected.mxcsr = 0x1f80 | ((seed & 3) << 13);                             // rounding control
    g_expected.fcw = static_cast<std::uint16_t>(0x037f | ((seed & 3) << 10));  // rounding control
    auto load = avx ? xt_load_ymm : xt_load_xmm;
    auto store = avx ? xt_store_ymm : xt_store_xmm;
    const unsigned width = avx ? 32 : 16;

    const std::uint64_t deadline = xt::system_time_ns() + DEADLINE_NS;
    unsigned rounds = 0, interleaved = 0, bad_rounds = 0;
    bool told = false;
    load(&g_expected);
    while (xt::system_time_ns() < deadline && !(told && xt::port_pending(port))) {
        interleaved += xt::yield_to_peer();
        ++rounds;
        store(&g_seen);
        bool same = g_seen.mxcsr == g_expected.mxcsr && g_seen.fcw == g_expected.fcw;
        for (unsigned r = 0; r < 16 && same; ++r) {
            for (unsigned i = 0; i < width; ++i) {
                if (g_seen.bytes[r][i] != g_expected.bytes[r][i]) {
                    xt::print("xsave: round {}: register {} byte {} is {:#x}, expected {:#x}\n", rounds, r, i,
                              g_seen.bytes[r][i], g_expected.bytes[r][i]);
                    same = false;
                    break;
                }
            }
        }
        if (!same) {
            ++bad_rounds;
            load(&g_expected);
        }
        if (!told && interleaved >= INTERLEAVED) {
            CHECK_EQ(xt::evtchn_send(port), 0);
            told = true;
        }
    }
    CHECK(told);
    CHECK(xt::port_pending(port));
    CHECK_EQ(bad_rounds, 0u);
    xt::print("xsave: {} rounds, {} interleaved with the other domain\n", rounds, interleaved);
}

}  // namespace

void guest_main(const xen::start_info* si) {
    const char* cmdline = reinterpret_cast<const char*>(si->cmd_line);
    const char* seed_text = option(cmdline, "seed");
    const unsigned seed = *seed_text >= '0' && *seed_text <= '9' ? static_cast<unsigned>(*seed_text - '0') : 0;
    const char* expect = option(cmdline, "expect");
    const bool want_xsave = starts_with(expect, "xsave") || starts_with(expect, "avx");
    const bool want_avx = starts_with(expect, "avx");
    CHECK(seed != 0);
    CHECK(want_xsave || starts_with(expect, "none"));

    CHECK_EQ(xt::install_traps(), 0);
    xt::set_trap_handler(VECTOR_UD, skip_xsetbv);
    xt::set_trap_handler(VECTOR_GP, skip_xsetbv);
    check_interface(want_xsave, want_avx);
    // Domain 1 (seed 1) offers the channel, domain 2 binds it.
    xt::require_shared_info();
    const xen::evtchn_port_t port = xt::connect_peer(seed == 1, seed == 1 ? 2 : 1, xt::system_time_ns() + DEADLINE_NS);
    CHECK(port != 0);
    xt::print("xsave: seed {}, {} registers\n", seed, want_avx ? "YMM" : "XMM");
    check_registers_survive(seed, want_avx, port);
}
