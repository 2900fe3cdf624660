// The domain table, creation, shutdown and crash reports.
#include "domain/domain.hpp"

#include "arch/x86_64/paging.hpp"
#include "arch/x86_64/tsc.hpp"
#include "core/console.hpp"
#include "core/irq_lock.hpp"
#include "core/options.hpp"
#include "core/panic.hpp"
#include "core/smp.hpp"
#include "event/event_channel.hpp"
#include "lib/string.hpp"
#include "mm/domain_memory.hpp"
#include "mm/log_dirty.hpp"
#include "mm/page_allocator.hpp"
#include "mm/page_ref.hpp"
#include "mm/pv_mm.hpp"
#include "pv/guest_console.hpp"
#include "pv/time.hpp"
#include "sched/scheduler.hpp"

namespace xenolith {

namespace {

SpinLock g_table_lock;
Domain* g_domains[MAX_DOMAINS];

TypedSlab<Domain>& domain_cache() {
    static TypedSlab<Domain> cache("domain", slab_page_provider());
    return cache;
}
TypedSlab<Vcpu>& vcpu_cache() {
    static TypedSlab<Vcpu> cache("vcpu", slab_page_provider());
    return cache;
}

const char* shutdown_reason_name(std::uint32_t reason) {
    static constexpr const char* NAMES[] = {"poweroff", "reboot", "suspend", "crash", "watchdog", "soft_reset"};
    return reason < 6 ? NAMES[reason] : "unknown";
}

}  // namespace

Result<Domain*> create_domain(std::uint16_t id, const char* name, bool privileged, unsigned vcpus) {
    if (id >= MAX_DOMAINS || vcpus == 0 || vcpus > MAX_VCPUS_PER_DOMAIN)
        return Error{Errno::EINVAL};
    {
        LockGuard guard(g_table_lock);
        if (g_domains[id])
            return Error{Errno::EEXIST};
    }
    Domain* domain = TRY(domain_cache().create());
    domain->id = id;
    const std::size_t length = strlen(name) < sizeof(domain->name) - 1 ? strlen(name) : sizeof(domain->name) - 1;
    memcpy(domain->name, name, length);
    domain->privileged = privileged;

    auto shared = allocate_zeroed_frame();
    if (!shared) {
        (void)domain_cache().destroy(domain);
        return Error{shared.error()};
    }
    domain->shared_info_phys = *shared;
    // The guest maps shared_info by machine address, so it is owned by the domain; the
    // hypervisor keeps a writable type reference on it so it can never become a page table
    // the hypervisor would then scribble on (its event bits).
    {
        MmLockGuard guard;
        const std::uint64_t mfn = *shared >> 12;
        if (page_refs().assign_to_domain(mfn, id).is_error() ||
            page_refs().get_page_and_type(mfn, id, PageType::Writable).is_error())
            panic("cannot give domain {} its shared_info frame", id);
    }
    domain->shared_info = static_cast<xen::shared_info*>(arch::phys_to_virt(*shared));
    // Events start masked on every vCPU (pv-abi-core.md §2.7).
    for (xen::vcpu_info& info : domain->shared_info->vcpu_info)
        info.evtchn_upcall_mask = 1;

    for (unsigned i = 0; i < vcpus; ++i) {
        auto vcpu = vcpu_cache().create();
        if (!vcpu) {
            for (unsigned j = 0; j < i; ++j)
                (void)vcpu_cache().destroy(domain->vcpus[j]);
            free_frames(domain->shared_info_phys, 0);
            (void)domain_cache().destroy(domain);
            return Error{vcpu.error()};
        }
        (*vcpu)->domain = domain;
        (*vcpu)->id = i;
        (*vcpu)->runstate_entry_ns = arch::system_time_ns();  // offline from creation on
        (*vcpu)->vcpu_info = &domain->shared_info->vcpu_info[i];
        domain->vcpus[i] = *vcpu;
    }
    domain->vcpu_count = vcpus;

    LockGuard guard(g_table_lock);
    g_domains[id] = domain;
    return domain;
}

Domain* find_domain(std::uint16_t id) {
    LockGuard guard(g_table_lock);
    return id < MAX_DOMAINS ? g_domains[id] : nullptr;
}

unsigned domain_count_alive() {
    LockGuard guard(g_table_lock);
    unsigned count = 0;
    for (Domain* d : g_domains)
        count += d != nullptr;
    return count;
}

void destroy_domain(Domain& domain) {
    domain.state.store(DomainState::Dying);
    detach_guest_console(domain);
    // A timer callback may be running on another CPU right now (and re-arm its timer): cancel,
    // wait until every CPU has left its interrupt handlers (a cross-call is served only outside
    // them), and cancel again. After that no callback can touch this domain's vCPUs.
    auto stop_timers = [&domain] {
        for (unsigned i = 0; i < domain.vcpu_count; ++i) {
            stop_vcpu_timers(*domain.vcpus[i]);
            timer_cancel(domain.vcpus[i]->poll_timer);
        }
    };
    stop_timers();
    cross_call_all([](void*) {}, nullptr);
    stop_timers();
    release_event_channels(domain);
    log_dirty_domain_destroyed(domain);
    relinquish_domain_memory(domain);
    release_domain_memory(domain);
    {
        LockGuard guard(g_table_lock);
        g_domains[domain.id] = nullptr;
    }
    {
        MmLockGuard guard;
        const std::uint64_t mfn = domain.shared_info_phys >> 12;
        page_refs().put_page_and_type(mfn);
        (void)page_refs().release(mfn, domain.id);
    }
    free_frames(domain.shared_info_phys, 0);
    for (unsigned i = 0; i < domain.vcpu_count; ++i)
        (void)vcpu_cache().destroy(domain.vcpus[i]);
    (void)domain_cache().destroy(&domain);
}

void reap_domain_if_idle(Domain& domain) {
    for (unsigned i = 0; i < domain.vcpu_count; ++i) {
        if (domain.vcpus[i]->running.load() || domain.vcpus[i]->on_run_queue.load())
            return;
    }
    bool expected = false;
    if (!domain.reaped.compare_exchange(expected, true))
        return;
    const std::uint16_t id = domain.id;
    const std::uint32_t reason = domain.shutdown_reason;
    destroy_domain(domain);
    domain_destroyed(id, reason);
}

void shutdown_domain(Domain& domain, std::uint32_t reason) {
    {
        IrqLockGuard guard(domain.lock);
        const DomainState state = domain.state.load();
        if (state == DomainState::ShutDown || state == DomainState::Dying)
            return;
        domain.shutdown_reason = domain.shutdown_code_set && reason != 3 /* crash */ ? domain.shutdown_code : reason;
        domain.state.store(DomainState::ShutDown);
    }
    log_info("domain {} ({}) shut down: {}", domain.id, domain.name, shutdown_reason_name(domain.shutdown_reason));
    for (unsigned i = 0; i < domain.vcpu_count; ++i)
        deschedule_vcpu(*domain.vcpus[i]);
    // Freed once no CPU runs it any more: now, or when its last vCPU leaves a CPU.
    reap_domain_if_idle(domain);
}

namespace {
bool g_any_failure = false;
}

void domain_destroyed(std::uint16_t id, std::uint32_t reason) {
    g_any_failure |= reason != 0;
    log_info("domain {} destroyed; {} domain{} left", id, domain_count_alive(), domain_count_alive() == 1 ? "" : "s");
    if (domain_count_alive() == 0) {
        log_info("all domains have shut down{}", g_any_failure ? " (at least one not by powering off)" : "");
        if (options().test_exit)
            shutdown_machine(g_any_failure ? ExitStatus::Failure : ExitStatus::Success);
    }
}

void record_hypercall(Vcpu& vcpu, const arch::TrapFrame& frame) {
    HypercallRecord& record = vcpu.trail[vcpu.trail_next++ % HYPERCALL_TRAIL];
    record = {true, frame.rax, {frame.rdi, frame.rsi, frame.rdx, frame.r10, frame.r8}, -static_cast<std::int64_t>(Errno::ENOSYS)};
}

void crash_domain(Vcpu& vcpu, std::string_view why) {
    Domain& domain = *vcpu.domain;
    const arch::TrapFrame& f = vcpu.running.load() ? *current_guest_frame() : vcpu.regs;
    log_error("domain {} ({}) vCPU {} crashed: {}", domain.id, domain.name, vcpu.id, why);
    log_error("  rip {:016x} cs {:04x} rflags {:016x} rsp {:016x} ss {:04x} ({} mode)", f.rip, f.cs, f.rflags, f.rsp,
              f.ss, vcpu.kernel_mode ? "kernel" : "user");
    log_error("  rax {:016x} rbx {:016x} rcx {:016x} rdx {:016x}", f.rax, f.rbx, f.rcx, f.rdx);
    log_error("  rsi {:016x} rdi {:016x} rbp {:016x} r8  {:016x}", f.rsi, f.rdi, f.rbp, f.r8);
    log_error("  r9  {:016x} r10 {:016x} r11 {:016x} r12 {:016x}", f.r9, f.r10, f.r11, f.r12);
    log_error("  r13 {:016x} r14 {:016x} r15 {:016x} cr2 {:016x}", f.r13, f.r14, f.r15, vcpu.virtual_cr2);
    log_error("  last hypercalls (oldest first):");
    for (unsigned i = 0; i < HYPERCALL_TRAIL; ++i) {
        const HypercallRecord& r = vcpu.trail[(vcpu.trail_next + i) % HYPERCALL_TRAIL];
        if (!r.used)
            continue;
        log_error("    #{} ({:#x}, {:#x}, {:#x}, {:#x}, {:#x}) = {}", r.number, r.args[0], r.args[1], r.args[2],
                  r.args[3], r.args[4], r.result);
    }
    shutdown_domain(domain, 3 /* SHUTDOWN_crash */);
}

}  // namespace xenolith
