// logdirty: the privileged controller (domain 0). Drives domctl shadow_op on the writer domU
// (dom0-devices.md §5.3.14): the errors of the envelope and of each operation, then enable,
// read-and-clear rounds while the writer writes, and checks that every page the writer reports
// having written appears in some round, and that a page nobody touched drops out once cleared.
// Command line: writer=<domid> writer_pages=<its memory in pages>.
#include "logdirty_protocol.hpp"
#include "mm_util.hpp"

namespace {

using namespace mmt;

constexpr std::uint64_t MAX_BITS = 1u << 16;
std::uint8_t g_bitmap[MAX_BITS / 8 + 16];  // + guard bytes after what a round may write

struct Round {
    long rc;
    std::uint64_t pages;
    std::uint32_t dirty_count;
};

Round run(std::uint16_t domain, std::uint32_t which, std::uint64_t pages, bool with_bitmap = true) {
    for (auto& b : g_bitmap)
        b = 0;
    xen::xen_domctl op = ldt::shadow_op(domain, which);
    op.u.shadow_op.dirty_bitmap = with_bitmap ? xt::handle(g_bitmap) : 0;
    op.u.shadow_op.pages = pages;
    const long rc = ldt::domctl(op);
    return {rc, op.u.shadow_op.pages, op.u.shadow_op.stats.dirty_count};
}

bool bit(std::uint64_t pfn) { return pfn < MAX_BITS && (g_bitmap[pfn / 8] >> (pfn % 8) & 1); }

std::uint64_t count_bits(std::uint64_t pages) {
    std::uint64_t n = 0;
    for (std::uint64_t pfn = 0; pfn < pages; ++pfn)
        n += bit(pfn);
    return n;
}

// The writer's reports: role -> PFN (0 = not found).
void collect_reports(std::uint64_t (&pfn_of)[ldt::ROLES]) {
    const long max_ram = xt::memory_op(xen::XENMEM_maximum_ram_page, nullptr);
    for (long mfn = 0; mfn < max_ram; ++mfn) {
        const std::uint64_t v = xt::m2p(static_cast<std::uint64_t>(mfn));
        if ((v & ldt::REPORT_MASK) != ldt::REPORT)
            continue;
        const std::uint64_t role = v >> 32 & 0xFFFF;
        if (role > 0 && role < ldt::ROLES)
            pfn_of[role] = v & 0xFFFF'FFFF;
    }
}

void check_errors_before_enable(std::uint16_t writer) {
    // §5.1: interface version first (-EACCES), then the target (-ESRCH).
    xen::xen_domctl op = ldt::shadow_op(writer, xen::XEN_DOMCTL_SHADOW_OP_CLEAN);
    op.interface_version = xen::XEN_DOMCTL_INTERFACE_VERSION + 1;
    CHECK_ERRNO(ldt::domctl(op), xen::Errno::EACCES);
    op = ldt::shadow_op(77, xen::XEN_DOMCTL_SHADOW_OP_ENABLE_LOGDIRTY);
    CHECK_ERRNO(ldt::domctl(op), xen::Errno::ESRCH);
    op = ldt::shadow_op(xen::DOMID_SELF, xen::XEN_DOMCTL_SHADOW_OP_ENABLE_LOGDIRTY);
    CHECK_ERRNO(ldt::domctl(op), xen::Errno::ESRCH);  // domctl takes no DOMID_SELF
    // §5.3.14: not on the caller itself.
    op = ldt::shadow_op(0, xen::XEN_DOMCTL_SHADOW_OP_ENABLE_LOGDIRTY);
    CHECK_ERRNO(ldt::domctl(op), xen::Errno::EINVAL);
    // Read-and-clear needs log-dirty mode.
    CHECK_ERRNO(run(writer, xen::XEN_DOMCTL_SHADOW_OP_CLEAN, 64).rc, xen::Errno::EINVAL);
    CHECK_ERRNO(run(writer, xen::XEN_DOMCTL_SHADOW_OP_PEEK, 64).rc, xen::Errno::EINVAL);
    // A bad envelope address.
    CHECK_ERRNO(xt::hypercall(xen::HYPERVISOR_domctl, 0x10), xen::Errno::EFAULT);
    // Other domctls are not implemented (§5.2 getdomaininfo).
    op = ldt::shadow_op(writer, 0);
    op.cmd = xen::XEN_DOMCTL_getdomaininfo;
    CHECK_ERRNO(ldt::domctl(op), xen::Errno::ENOSYS);
    // OFF when off changes nothing.
    op = ldt::shadow_op(writer, xen::XEN_DOMCTL_SHADOW_OP_OFF);
    CHECK_EQ(ldt::domctl(op), 0);
}

}  // namespace

void guest_main(const xen::start_info*) {
    init();
    now_ns();
    const auto writer = static_cast<std::uint16_t>(cmdline_number("writer", 1));
    const std::uint64_t writer_pages = cmdline_number("writer_pages", 4096);
    const std::uint64_t timeout_ns = cmdline_number("timeout", 60) * 1'000'000'000ull;
    CHECK(writer_pages <= MAX_BITS);

    check_errors_before_enable(writer);
    CHECK(wait_for_marker(ldt::WRITER_READY, timeout_ns));

    xen::xen_domctl op = ldt::shadow_op(writer, xen::XEN_DOMCTL_SHADOW_OP_ENABLE_LOGDIRTY);
    CHECK_EQ(ldt::domctl(op), 0);
    CHECK_ERRNO(ldt::domctl(op), xen::Errno::EINVAL);  // §5.3.14: already in log-dirty mode
    op = ldt::shadow_op(writer, xen::XEN_DOMCTL_SHADOW_OP_ENABLE, xen::XEN_DOMCTL_SHADOW_ENABLE_LOG_DIRTY);
    CHECK_ERRNO(ldt::domctl(op), xen::Errno::EINVAL);
    op = ldt::shadow_op(writer, xen::XEN_DOMCTL_SHADOW_OP_CLEAN, 2);  // only LOGDIRTY_FINAL allowed
    CHECK_ERRNO(ldt::domctl(op), xen::Errno::EINVAL);

    // The first round after enabling reports every page; OUT pages is the domain's size.
    const Round first = run(writer, xen::XEN_DOMCTL_SHADOW_OP_PEEK, MAX_BITS);
    CHECK_EQ(first.rc, 0);
    CHECK_EQ(first.pages, writer_pages);
    CHECK_EQ(count_bits(writer_pages), writer_pages);
    CHECK(first.dirty_count >= writer_pages);
    const Round round0 = run(writer, xen::XEN_DOMCTL_SHADOW_OP_CLEAN, MAX_BITS);
    CHECK_EQ(round0.rc, 0);
    CHECK_EQ(count_bits(writer_pages), writer_pages);
    // A short buffer: only ceil(pages / 8) bytes are written, OUT pages = IN pages.
    const Round short_round = run(writer, xen::XEN_DOMCTL_SHADOW_OP_PEEK, 20);
    CHECK_EQ(short_round.rc, 0);
    CHECK_EQ(short_round.pages, 20u);
    for (unsigned i = 3; i < 16; ++i)
        CHECK_EQ(g_bitmap[i], 0u);
    // Without a bitmap the round still answers (counts only).
    const Round counts = run(writer, xen::XEN_DOMCTL_SHADOW_OP_PEEK, MAX_BITS, false);
    CHECK_EQ(counts.rc, 0);
    CHECK_EQ(counts.pages, writer_pages);

    // The writer is waiting and touches nothing: its spare frames (never mapped) drop out.
    const Round quiet = run(writer, xen::XEN_DOMCTL_SHADOW_OP_CLEAN, MAX_BITS);
    CHECK_EQ(quiet.rc, 0);
    const std::uint64_t quiet_count = count_bits(writer_pages);
    xt::print("logdirty: first round {} pages, quiet round {} pages\n", writer_pages, quiet_count);
    CHECK(quiet_count < writer_pages);
    CHECK(!bit(writer_pages - 1 - 4));  // the UNTOUCHED spare (logdirty_writer.cpp)

    set_marker(ldt::CONTROLLER_ENABLED);
    CHECK(wait_for_marker(ldt::WRITER_WROTE, timeout_ns));
    std::uint64_t pfn_of[ldt::ROLES] = {};
    collect_reports(pfn_of);

    // PEEK keeps the bits: everything it shows is in the CLEAN after it.
    bool peeked[ldt::ROLES] = {};
    CHECK_EQ(run(writer, xen::XEN_DOMCTL_SHADOW_OP_PEEK, MAX_BITS).rc, 0);
    for (unsigned role = 1; role < ldt::ROLES; ++role)
        peeked[role] = bit(pfn_of[role]);
    CHECK_EQ(run(writer, xen::XEN_DOMCTL_SHADOW_OP_CLEAN, MAX_BITS).rc, 0);
    for (unsigned role = 1; role < ldt::ROLES; ++role) {
        CHECK(pfn_of[role] != 0 && pfn_of[role] < writer_pages);
        const bool seen = bit(pfn_of[role]);
        xt::print("logdirty: role {} pfn {:#x}: peek {} clean {}\n", role, pfn_of[role], peeked[role], seen);
        if (peeked[role])
            CHECK(seen);
        if (role == ldt::UNTOUCHED)
            CHECK(!seen);
        else
            CHECK(seen);  // every write the writer made is in this round
    }
    // Still mapped writable: reported again (writes through it cannot be seen); the page the
    // hypervisor wrote and that is unmapped now is not.
    CHECK_EQ(run(writer, xen::XEN_DOMCTL_SHADOW_OP_CLEAN, MAX_BITS).rc, 0);
    CHECK(bit(pfn_of[ldt::STILL_MAPPED]));
    CHECK(!bit(pfn_of[ldt::HYPERVISOR_PT_WRITE]));

    op = ldt::shadow_op(writer, xen::XEN_DOMCTL_SHADOW_OP_OFF);
    CHECK_EQ(ldt::domctl(op), 0);
    CHECK_ERRNO(run(writer, xen::XEN_DOMCTL_SHADOW_OP_CLEAN, MAX_BITS).rc, xen::Errno::EINVAL);
    // Allocation queries (§5.3.14, deprecated): no shadow pool exists.
    op = ldt::shadow_op(writer, xen::XEN_DOMCTL_SHADOW_OP_GET_ALLOCATION);
    op.u.shadow_op.mb = 99;
    CHECK_EQ(ldt::domctl(op), 0);
    CHECK_EQ(op.u.shadow_op.mb, 0u);
    // Enable again works after OFF.
    op = ldt::shadow_op(writer, xen::XEN_DOMCTL_SHADOW_OP_ENABLE, xen::XEN_DOMCTL_SHADOW_ENABLE_LOG_DIRTY);
    CHECK_EQ(ldt::domctl(op), 0);
    op = ldt::shadow_op(writer, xen::XEN_DOMCTL_SHADOW_OP_OFF);
    CHECK_EQ(ldt::domctl(op), 0);
    set_marker(ldt::CONTROLLER_CHECKED);
    CHECK(wait_for_marker(ldt::WRITER_DONE, timeout_ns));
}
