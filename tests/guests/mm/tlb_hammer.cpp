// tlb-hammer: TLB coherency across vCPUs (pv-abi-core.md §5.10, §7.8). vCPU 0 remaps one page
// over and over with update_va_mapping(UVMF_INVLPG | UVMF_ALL) and unpins/repins a table;
// the other vCPUs keep reading through the mapping and must never see a frame that was
// unmapped before the update that replaced it returned.
//
// The check: four frames F[g % 4] take turns. Before update g the writer stores the tag g into
// F[g % 4] (through a fixed alias mapping), maps the page at W, and only after the hypercall
// returns publishes g. A reader loads the published g1, reads the tag v at W, loads g2. With
// coherent TLBs the mapping it used was installed by some update m with g1 <= m <= g2 + 1, and
// F[m % 4] held m (or m + 4, written only after g2 >= m + 3), so g1 <= v <= g2 + 1. A stale
// translation left over from an update before g1 shows an older tag: v < g1.
#include "mm_util.hpp"
#include "xen/vcpu.hpp"
#include "xt/traps.hpp"

namespace {

using namespace mmt;
using xen::Errno;

constexpr unsigned MAX_VCPUS = 4;
constexpr unsigned STACK_BYTES = 16384;

alignas(16) std::uint8_t g_stacks[MAX_VCPUS][STACK_BYTES];
std::uint64_t g_published = 0;  // the last update that returned
bool g_stop = false;
struct Reader {
    std::uint64_t reads;
    std::uint64_t stale;
    std::uint64_t ahead;
    std::uint64_t first_bad_g1, first_bad_v;
    bool done;
} g_readers[MAX_VCPUS];
xen::vcpu_guest_context g_context;

std::uint64_t load(const std::uint64_t& x) { return __atomic_load_n(&x, __ATOMIC_ACQUIRE); }

[[noreturn]] void reader_main(unsigned id) {
    Reader& me = g_readers[id];
    const volatile std::uint64_t* w = window_ptr(0);
    while (!__atomic_load_n(&g_stop, __ATOMIC_ACQUIRE)) {
        const std::uint64_t g1 = load(g_published);
        const std::uint64_t v = *w;
        const std::uint64_t g2 = load(g_published);
        if (g1 == 0) {
            continue;
        }
        ++me.reads;
        if (v < g1 || v > g2 + 1) {
            if (me.stale + me.ahead == 0) {
                me.first_bad_g1 = g1, me.first_bad_v = v;
            }
            (v < g1 ? me.stale : me.ahead) += 1;
        }
    }
    __atomic_store_n(&me.done, true, __ATOMIC_RELEASE);
    xt::vcpu_op(xen::VCPUOP_down, id);
    for (;;) {
        xt::sched_yield();
    }
}

// Entered by VCPUOP_initialise with rdi = vCPU id, on its own stack.
extern "C" [[noreturn]] void tlb_reader_entry(std::uint64_t id) { reader_main(static_cast<unsigned>(id)); }

bool start_vcpu(unsigned id) {
    xen::shared_info* si = xt::shared_info();
    if (si) {
        si->vcpu_info[id].evtchn_upcall_mask = 1;  // no events: the readers only read
    }
    g_context = {};
    g_context.flags = xen::VGCF_in_kernel;
    g_context.user_regs.rip = reinterpret_cast<std::uint64_t>(&tlb_reader_entry);
    g_context.user_regs.rsp = reinterpret_cast<std::uint64_t>(&g_stacks[id][STACK_BYTES]) - 8;
    g_context.user_regs.rdi = id;
    g_context.user_regs.rflags = 0x1000;
    g_context.kernel_sp = g_context.user_regs.rsp;
    g_context.event_callback_eip = xt::event_callback_address();
    g_context.failsafe_callback_eip = xt::failsafe_callback_address();
    g_context.ctrlreg[3] = boot_l4_mfn() << 12;
    const long init = xt::vcpu_op(xen::VCPUOP_initialise, id, &g_context);
    const long up = init == 0 ? xt::vcpu_op(xen::VCPUOP_up, id) : init;
    if (up != 0) {
        xt::print("  vCPU {}: initialise {} up {}\n", id, init, up);
    }
    return up == 0;
}

}  // namespace

void guest_main(const xen::start_info*) {
    init();
    const std::uint64_t updates = cmdline_number("updates", 2000);
    CHECK_EQ(xt::install_traps(), 0);
    now_ns();  // shared_info mapped
    unsigned vcpus = 1;
    while (vcpus < MAX_VCPUS && xt::vcpu_op(xen::VCPUOP_is_up, vcpus) >= 0) {
        ++vcpus;
    }
    if (vcpus < 2) {
        xt::skip("needs at least 2 vCPUs");
    }
    const std::uint64_t frames[4] = {spare_mfn(0), spare_mfn(1), spare_mfn(2), spare_mfn(3)};
    for (unsigned k = 0; k < 4; ++k) {
        CHECK_EQ(map_window(4 + k, frames[k], true), 0);  // the aliases
        window_ptr(4 + k)[0] = 0;
    }
    CHECK_EQ(map_window(0, frames[0], false), 0);
    // A table to unpin and repin while the readers run (its frames reused as data in between).
    const std::uint64_t table = spare_mfn(4);
    static const std::uint64_t empty[512] = {};
    CHECK_EQ(write_table(table, empty), 0);
    CHECK_EQ(pin(1, table), 0);

    unsigned started = 0;
    for (unsigned id = 1; id < vcpus; ++id) {
        started += start_vcpu(id);
    }
    CHECK_EQ(started, vcpus - 1);
    xt::print("tlb-hammer: {} readers, {} updates\n", started, updates);

    const std::uint64_t w = window(0);
    for (std::uint64_t g = 1; g <= updates; ++g) {
        const unsigned k = static_cast<unsigned>(g % 4);
        window_ptr(4 + k)[0] = g;
        const long rc = xt::update_va_mapping(w, (frames[k] << 12) | P | A, xen::UVMF_INVLPG | xen::UVMF_ALL);
        if (rc != 0) {
            CHECK_EQ(rc, 0);
            break;
        }
        CHECK_EQ(*window_ptr(0), g);
        __atomic_store_n(&g_published, g, __ATOMIC_RELEASE);
        if (g % 32 == 0) {
            // Unpin (the hypervisor flushes everywhere: the frame may be reused at once), use
            // it as data, then make it a table again.
            CHECK_EQ(unpin(table), 0);
            CHECK_EQ(map_window(8, table, true), 0);
            window_ptr(8)[0] = g;
            window_ptr(8)[0] = 0;
            CHECK_EQ(map_window(8, frames[0], false), 0);
            CHECK_EQ(pin(1, table), 0);
        }
        if (g % 8 == 0) {
            xt::sched_yield();  // on fewer pCPUs than vCPUs, let the readers run
        }
    }
    __atomic_store_n(&g_stop, true, __ATOMIC_RELEASE);
    const std::uint64_t start = now_ns();
    for (unsigned id = 1; id < vcpus; ++id) {
        while (!__atomic_load_n(&g_readers[id].done, __ATOMIC_ACQUIRE) && now_ns() - start < 30'000'000'000ull) {
            xt::sched_yield();
        }
        const Reader& r = g_readers[id];
        xt::print("tlb-hammer: vCPU {}: {} reads, {} stale, {} ahead (first bad: published {} saw {})\n", id, r.reads,
                  r.stale, r.ahead, r.first_bad_g1, r.first_bad_v);
        CHECK(r.done);
        CHECK(r.reads > 0);
        CHECK_EQ(r.stale, 0ull);
        CHECK_EQ(r.ahead, 0ull);
    }
    CHECK_EQ(unpin(table), 0);
}
