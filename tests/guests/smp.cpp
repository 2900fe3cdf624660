// smp: a 4-vCPU guest brings up its other vCPUs (pv-abi-core.md §5.19, §9.1): VCPUOP_initialise
// with a context of its own (the hypervisor accepts, for now, only the kernel page-table base
// already in use - ctrlreg[3] == the emulated CR3 - no user base and no guest GDT), VCPUOP_up;
// each vCPU runs, says who it is and bumps a shared counter; is_up follows; VCPUOP_down takes
// them down, and a later VCPUOP_up resumes each where it stopped. Bad contexts are refused.
#include <cstddef>

#include "xen/arch_x86_64.hpp"
#include "xen/vcpu.hpp"
#include "xt/cpu.hpp"
#include "xt/test.hpp"
#include "xt/traps.hpp"

extern "C" void smp_ap_entry();
extern "C" [[noreturn]] void smp_ap_main(std::uint64_t id);
asm(R"(
    .pushsection .text, "ax", @progbits
    .globl smp_ap_entry
smp_ap_entry:                   /* rsp: our stack top (16-byte aligned); rdi: vCPU id */
    call smp_ap_main
    ud2
    .popsection
)");

namespace {

constexpr unsigned MAX_VCPUS = 4;
constexpr std::uint64_t SECOND = 1'000'000'000ull;

alignas(16) unsigned char g_stacks[MAX_VCPUS][16384];
xen::vcpu_guest_context g_context;

unsigned g_started = 0;         // vCPUs that reached smp_ap_main
unsigned g_resumed = 0;         // vCPUs that came back from VCPUOP_down
std::uint64_t g_seen_id[MAX_VCPUS];
std::uint64_t g_seen_cr3[MAX_VCPUS];

void build_context(unsigned id) {
    xen::vcpu_guest_context& c = g_context;
    c = xen::vcpu_guest_context{};
    c.flags = xen::VGCF_in_kernel;
    c.user_regs.rip = reinterpret_cast<std::uint64_t>(&smp_ap_entry);
    c.user_regs.rsp = reinterpret_cast<std::uint64_t>(g_stacks[id] + sizeof(g_stacks[id]));
    c.user_regs.rdi = id;
    c.user_regs.cs = xen::FLAT_KERNEL_CS;
    c.user_regs.ss = xen::FLAT_KERNEL_SS;
    c.kernel_ss = xen::FLAT_KERNEL_SS;
    c.kernel_sp = c.user_regs.rsp;
    c.ctrlreg[3] = xt::read_cr3();
    c.gs_base_kernel = 0x1000 * (id + 1);  // observable from the new vCPU (rdmsr GS_BASE)
    for (unsigned v = 0; v < 32; ++v) {
        c.trap_ctxt[v] = xen::trap_info{static_cast<std::uint8_t>(v), static_cast<std::uint8_t>(xen::TI_SET_IF),
                                        xen::FLAT_KERNEL_CS, 0, xt::trap_stub_address(v)};
    }
}

long initialise(unsigned id) { return xt::vcpu_op(xen::VCPUOP_initialise, id, &g_context); }

}  // namespace

extern "C" [[noreturn]] void smp_ap_main(std::uint64_t id) {
    g_seen_id[id] = id;
    g_seen_cr3[id] = xt::read_cr3();
    if (xt::rdmsr(xt::msr::GS_BASE) != 0x1000 * (id + 1)) {
        g_seen_id[id] = ~0ull;  // reported by vCPU 0
    }
    __atomic_fetch_add(&g_started, 1, __ATOMIC_SEQ_CST);
    // §5.19: downing oneself is synchronous; an up later resumes right here.
    xt::vcpu_op(xen::VCPUOP_down, static_cast<std::uint32_t>(id));
    __atomic_fetch_add(&g_resumed, 1, __ATOMIC_SEQ_CST);
    xt::vcpu_op(xen::VCPUOP_down, static_cast<std::uint32_t>(id));
    for (;;) {
        // A downed vCPU never runs again; if it did, count it as a failure.
        __atomic_fetch_add(&g_resumed, 100, __ATOMIC_SEQ_CST);
        xt::sched_yield();
    }
}

void guest_main(const xen::start_info*) {
    CHECK_EQ(xt::install_traps(), 0);
    unsigned count = 0;
    while (count < 32 && xt::vcpu_op(xen::VCPUOP_is_up, count) >= 0) {
        ++count;
    }
    xt::print("smp: {} vCPUs\n", count);
    CHECK(count >= 2 && count <= MAX_VCPUS);
    if (count < 2 || count > MAX_VCPUS) {
        xt::finish();
    }
    CHECK_ERRNO(xt::vcpu_op(xen::VCPUOP_is_up, count), xen::Errno::ENOENT);
    CHECK_EQ(xt::vcpu_op(xen::VCPUOP_is_up, 0), 1);
    for (unsigned id = 1; id < count; ++id) {
        CHECK_EQ(xt::vcpu_op(xen::VCPUOP_is_up, id), 0);
        CHECK_ERRNO(xt::vcpu_op(xen::VCPUOP_up, id), xen::Errno::EINVAL);  // not initialised
    }

    // Bad contexts change nothing.
    build_context(1);
    g_context.ctrlreg[3] ^= 0x1000;  // a page table that is not ours
    CHECK_ERRNO(initialise(1), xen::Errno::EINVAL);
    build_context(1);
    g_context.gdt_ents = 16;
    CHECK_ERRNO(initialise(1), xen::Errno::EINVAL);
    build_context(1);
    g_context.user_regs.rip = 0x0000800000000000ull;
    CHECK_ERRNO(initialise(1), xen::Errno::EINVAL);
    CHECK_ERRNO(xt::hypercall(xen::HYPERVISOR_vcpu_op, xen::VCPUOP_initialise, 1, 0), xen::Errno::EFAULT);
    CHECK_ERRNO(xt::hypercall(xen::HYPERVISOR_vcpu_op, xen::VCPUOP_initialise, 1, 0xffff800000000000ull),
                xen::Errno::EFAULT);
    CHECK_EQ(xt::vcpu_op(xen::VCPUOP_is_up, 1), 0);
    // Another vCPU's single-shot timer is not ours to set (§5.19).
    xen::vcpu_set_singleshot_timer shot{1, 0, 0};
    CHECK_ERRNO(xt::vcpu_op(xen::VCPUOP_set_singleshot_timer, 1, &shot), xen::Errno::EINVAL);

    // Bring them up.
    for (unsigned id = 1; id < count; ++id) {
        build_context(id);
        CHECK_EQ(initialise(id), 0);
        CHECK_ERRNO(initialise(id), xen::Errno::EEXIST);
        CHECK_EQ(xt::vcpu_op(xen::VCPUOP_is_up, id), 0);  // initialised, not yet up
        CHECK_EQ(xt::vcpu_op(xen::VCPUOP_up, id), 0);
    }
    std::uint64_t deadline = xt::system_time_ns() + 30 * SECOND;
    while (__atomic_load_n(&g_started, __ATOMIC_SEQ_CST) < count - 1 && xt::system_time_ns() < deadline) {
        xt::sched_yield();
    }
    CHECK_EQ(g_started, count - 1);
    for (unsigned id = 1; id < count; ++id) {
        CHECK_EQ(g_seen_id[id], static_cast<std::uint64_t>(id));
        CHECK_EQ(g_seen_cr3[id], xt::read_cr3());
    }
    // Each downs itself after starting: is_up falls back to 0.
    deadline = xt::system_time_ns() + 30 * SECOND;
    for (unsigned id = 1; id < count; ++id) {
        while (xt::vcpu_op(xen::VCPUOP_is_up, id) != 0 && xt::system_time_ns() < deadline) {
            xt::sched_yield();
        }
        CHECK_EQ(xt::vcpu_op(xen::VCPUOP_is_up, id), 0);
    }
    CHECK_EQ(g_resumed, 0u);

    // Up again: each resumes after its VCPUOP_down and downs itself once more.
    for (unsigned id = 1; id < count; ++id) {
        CHECK_EQ(xt::vcpu_op(xen::VCPUOP_up, id), 0);
    }
    deadline = xt::system_time_ns() + 30 * SECOND;
    while (__atomic_load_n(&g_resumed, __ATOMIC_SEQ_CST) < count - 1 && xt::system_time_ns() < deadline) {
        xt::sched_yield();
    }
    for (unsigned id = 1; id < count; ++id) {
        while (xt::vcpu_op(xen::VCPUOP_is_up, id) != 0 && xt::system_time_ns() < deadline) {
            xt::sched_yield();
        }
        CHECK_EQ(xt::vcpu_op(xen::VCPUOP_is_up, id), 0);
    }
    // Give a wrongly revived vCPU the chance to show itself.
    const std::uint64_t settle = xt::system_time_ns() + 100'000'000ull;
    while (xt::system_time_ns() < settle) {
        xt::sched_yield();
    }
    CHECK_EQ(g_resumed, count - 1);
    CHECK_EQ(g_started, count - 1);
    xt::print("smp: {} secondary vCPUs started, downed, resumed and downed again\n", count - 1);
}
