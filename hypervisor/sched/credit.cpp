// The credit scheduler and the per-CPU run loop.
#include "arch/x86_64/apic.hpp"
#include "arch/x86_64/cr.hpp"
#include "arch/x86_64/guest_context.hpp"
#include "arch/x86_64/traps.hpp"
#include "arch/x86_64/tsc.hpp"
#include "core/console.hpp"
#include "core/cpu.hpp"
#include "core/irq_lock.hpp"
#include "core/panic.hpp"
#include "domain/domain.hpp"
#include "lib/string.hpp"
#include "pv/descriptors.hpp"
#include "pv/events.hpp"
#include "pv/runstate.hpp"
#include "pv/time.hpp"
#include "sched/scheduler.hpp"

extern "C" [[noreturn]] void enter_guest_frame(xenolith::arch::TrapFrame* frame);
extern "C" [[noreturn]] void reset_stack_and_call(void* stack_pointer, void (*function)());

namespace xenolith {

namespace {

constexpr std::uint8_t RESCHEDULE_VECTOR = 0xf2;
// An IPI whose only job is to make a CPU leave its guest and pass the exit path, where pending
// events are delivered.
constexpr std::uint8_t EVENT_CHECK_VECTOR = 0xf3;
// Credit is kept within one period either way, as Xen's credit1 does, so a vCPU that slept
// cannot hoard time and one that ran long is not starved for ever.
constexpr std::int64_t CREDIT_LIMIT = static_cast<std::int64_t>(ACCOUNTING_PERIOD_NS);

Timer g_accounting_timer;

arch::TrapFrame* frame_area(Cpu& cpu) {
    return reinterpret_cast<arch::TrapFrame*>(stack_top_of(cpu.stack_block)) - 1;
}

bool eligible(const Vcpu& vcpu) {
    return vcpu.state.load() == VcpuState::Runnable && !vcpu.paused.load() &&
           vcpu.domain->state.load() == DomainState::Running;
}

// Charge the running vCPU for the time since it was last charged.
void charge(Vcpu& vcpu) {
    const std::uint64_t now = arch::system_time_ns();
    const std::uint64_t ran = now - vcpu.ran_since_ns;
    vcpu.ran_since_ns = now;
    vcpu.cpu_time_ns += ran;
    vcpu.credit -= static_cast<std::int64_t>(ran);
    if (vcpu.credit < -CREDIT_LIMIT)
        vcpu.credit = -CREDIT_LIMIT;
}

// Only the caller that flips on_run_queue from false to true may enqueue: a wake-up on one CPU
// and a vCPU leaving another must never put it on two queues.
bool claim_enqueue(Vcpu& vcpu) {
    bool expected = false;
    return vcpu.on_run_queue.compare_exchange(expected, true);
}

void enqueue_locked(Cpu& cpu, Vcpu& vcpu) {
    Vcpu** link = &cpu.run_queue;
    while (*link)
        link = &(*link)->run_queue_next;
    *link = &vcpu;
    vcpu.run_queue_next = nullptr;
    vcpu.processor = cpu.index;
    ++cpu.run_queue_length;
}

void remove_locked(Cpu& cpu, Vcpu& vcpu) {
    for (Vcpu** link = &cpu.run_queue; *link; link = &(*link)->run_queue_next) {
        if (*link == &vcpu) {
            *link = vcpu.run_queue_next;
            vcpu.run_queue_next = nullptr;
            vcpu.on_run_queue.store(false);
            --cpu.run_queue_length;
            return;
        }
    }
}

// The best vCPU of a queue: the first with credit left, else the first.
Vcpu* take_best_locked(Cpu& cpu) {
    Vcpu* best = nullptr;
    for (Vcpu* v = cpu.run_queue; v; v = v->run_queue_next) {
        if (!eligible(*v))
            continue;
        if (!best || (best->credit <= 0 && v->credit > 0))
            best = v;
        if (best->credit > 0)
            break;
    }
    if (best)
        remove_locked(cpu, *best);
    return best;
}

// Does a vCPU waiting on this CPU have more credit than `credit`?
bool richer_waiter_locked(Cpu& cpu, std::int64_t credit) {
    for (Vcpu* v = cpu.run_queue; v; v = v->run_queue_next) {
        if (eligible(*v) && v->credit > credit)
            return true;
    }
    return false;
}

Vcpu* pick_next(Cpu& cpu) {
    {
        IrqLockGuard guard(cpu.run_queue_lock);
        if (Vcpu* v = take_best_locked(cpu))
            return v;
    }
    // Load balancing: an idle CPU takes work queued on the busiest other CPU.
    Cpu* busiest = nullptr;
    for (unsigned i = 0; i < cpus_present(); ++i) {
        Cpu& other = cpu_by_index(i);
        if (&other != &cpu && other.online.load() && other.run_queue_length &&
            (!busiest || other.run_queue_length > busiest->run_queue_length))
            busiest = &other;
    }
    if (busiest && busiest->run_queue_lock.try_lock()) {
        Vcpu* v = take_best_locked(*busiest);
        busiest->run_queue_lock.unlock();
        return v;
    }
    return nullptr;
}

void kick_cpu(Cpu& cpu) {
    if (&cpu == &this_cpu())
        cpu.need_reschedule = true;
    else
        arch::local_apic().send_fixed_ipi(cpu.apic_id, RESCHEDULE_VECTOR);
}

void reschedule_interrupt(arch::TrapFrame&) { this_cpu().need_reschedule = true; }

void slice_expired(Timer&) { this_cpu().need_reschedule = true; }

// Every period: hand out credit to the domains that want CPU time, by weight (and cap).
void account(Timer& timer) {
    std::uint64_t total_weight = 0;
    for (unsigned id = 0; id < MAX_DOMAINS; ++id) {
        Domain* d = find_domain(static_cast<std::uint16_t>(id));
        if (d && d->state.load() == DomainState::Running)
            total_weight += d->weight;
    }
    const std::uint64_t pool = ACCOUNTING_PERIOD_NS * cpus_online();
    for (unsigned id = 0; total_weight && id < MAX_DOMAINS; ++id) {
        Domain* d = find_domain(static_cast<std::uint16_t>(id));
        if (!d || d->state.load() != DomainState::Running || d->vcpu_count == 0)
            continue;
        std::uint64_t share = pool * d->weight / total_weight;
        if (d->cap)
            share = share < ACCOUNTING_PERIOD_NS * d->cap / 100 ? share : ACCOUNTING_PERIOD_NS * d->cap / 100;
        unsigned active = 0;
        for (unsigned i = 0; i < d->vcpu_count; ++i)
            active += eligible(*d->vcpus[i]);
        for (unsigned i = 0; active && i < d->vcpu_count; ++i) {
            Vcpu& v = *d->vcpus[i];
            if (!eligible(v))
                continue;
            v.credit += static_cast<std::int64_t>(share / active);
            if (v.credit > CREDIT_LIMIT)
                v.credit = CREDIT_LIMIT;
        }
    }
    timer_set(timer, timer.deadline_ns + ACCOUNTING_PERIOD_NS);
}

[[noreturn]] void schedule_loop();

[[noreturn]] void switch_to(Cpu& cpu, Vcpu& vcpu) {
    // A full barrier before this CPU loads the vCPU's tables: flush_all_tlbs either sees it
    // running here or made its update before the load (which flushes everything).
    __atomic_store_n(&cpu.current, &vcpu, __ATOMIC_SEQ_CST);
    vcpu.running.store(true);
    vcpu.processor = cpu.index;
    vcpu.ran_since_ns = arch::system_time_ns();
    arch::load_guest_context(vcpu);
    load_guest_gdt(cpu, &vcpu);
    change_runstate(vcpu, xen::RUNSTATE_running);
    publish_runstate(vcpu);
    update_vcpu_time(vcpu);
    timer_set(cpu.slice_timer, vcpu.ran_since_ns + SLICE_NS);
    arch::TrapFrame* frame = frame_area(cpu);
    memcpy(frame, &vcpu.regs, sizeof(*frame));
    deliver_pending_events(vcpu, *frame);
    enter_guest_frame(frame);
}

// Put the current vCPU away (saving its registers; back on a run queue if it is still
// runnable) and go back to the run loop.
[[noreturn]] void switch_away(Cpu& cpu) {
    Vcpu* vcpu = cpu.current;
    if (vcpu) {
        charge(*vcpu);
        memcpy(&vcpu->regs, frame_area(cpu), sizeof(vcpu->regs));
        arch::save_guest_context(*vcpu);
        const VcpuState state = vcpu->state.load();
        change_runstate(*vcpu, state == VcpuState::Blocked ? xen::RUNSTATE_blocked
                               : state == VcpuState::Down  ? xen::RUNSTATE_offline
                                                           : xen::RUNSTATE_runnable);
        publish_runstate(*vcpu);  // its page tables are still the live ones
        cpu.current = nullptr;
        vcpu->running.store(false);
        // Requeue if it is still (or again) runnable: a wake-up that came while it was still
        // running found `running` set and left the enqueueing to us (see wake_vcpu).
        if (eligible(*vcpu) && claim_enqueue(*vcpu)) {
            IrqLockGuard guard(cpu.run_queue_lock);
            enqueue_locked(cpu, *vcpu);
        }
        arch::load_idle_context();
        // A domain that shut down is freed once its last vCPU is off the CPUs.
        if (vcpu->domain->state.load() == DomainState::ShutDown)
            reap_domain_if_idle(*vcpu->domain);
    }
    timer_cancel(cpu.slice_timer);
    reset_stack_and_call(frame_area(cpu), schedule_loop);
}

}  // namespace

void scheduler_init_this_cpu() {
    Cpu& cpu = this_cpu();
    cpu.slice_timer.callback = slice_expired;
    if (cpu.index == 0) {
        arch::set_interrupt_handler(RESCHEDULE_VECTOR, reschedule_interrupt);
        arch::set_interrupt_handler(EVENT_CHECK_VECTOR, [](arch::TrapFrame&) {});
        g_accounting_timer.callback = account;
        timer_set(g_accounting_timer, arch::system_time_ns() + ACCOUNTING_PERIOD_NS);
    }
}

Vcpu* current_vcpu() { return this_cpu().current; }
arch::TrapFrame* current_guest_frame() { return frame_area(this_cpu()); }

void run_loop() {
    // The top of the stack is where guest frames live (frame_area); the loop runs below it.
    reset_stack_and_call(frame_area(this_cpu()), schedule_loop);
}

namespace {

void schedule_loop() {
    Cpu& cpu = this_cpu();
    for (;;) {
        arch::cli();
        cpu.need_reschedule = false;
        if (Vcpu* next = pick_next(cpu))
            switch_to(cpu, *next);
        const std::uint64_t idle_from = arch::system_time_ns();
        arch::sti_hlt();
        cpu.idle_ns += arch::system_time_ns() - idle_from;
    }
}

}  // namespace

void wake_vcpu(Vcpu& vcpu) {
    if (!eligible(vcpu) || vcpu.running.load() || vcpu.on_run_queue.load())
        return;
    // Prefer the CPU it last ran on if that one is idle, else any idle CPU, else its last CPU.
    Cpu* target = &cpu_by_index(vcpu.processor);
    if (target->current) {
        for (unsigned i = 0; i < cpus_present(); ++i) {
            Cpu& other = cpu_by_index(i);
            if (other.online.load() && !other.current && !other.run_queue_length) {
                target = &other;
                break;
            }
        }
    }
    if (!claim_enqueue(vcpu))
        return;
    if (vcpu.runstate != xen::RUNSTATE_runnable)
        change_runstate(vcpu, xen::RUNSTATE_runnable);  // woken: waiting for a CPU from now
    {
        IrqLockGuard guard(target->run_queue_lock);
        enqueue_locked(*target, vcpu);
    }
    if (!target->current || (vcpu.credit > 0 && target->current->credit <= 0))
        kick_cpu(*target);
}

void kick_vcpu(Vcpu& vcpu) {
    Cpu& cpu = cpu_by_index(vcpu.processor);
    if (&cpu != &this_cpu())
        arch::local_apic().send_fixed_ipi(cpu.apic_id, EVENT_CHECK_VECTOR);
}

void deschedule_vcpu(Vcpu& vcpu) {
    Cpu& cpu = cpu_by_index(vcpu.processor);
    {
        IrqLockGuard guard(cpu.run_queue_lock);
        if (vcpu.on_run_queue.load())
            remove_locked(cpu, vcpu);
    }
    if (vcpu.running.load() && cpu.current == &vcpu)
        kick_cpu(cpu);
}

void maybe_reschedule() {
    Cpu& cpu = this_cpu();
    Vcpu* vcpu = cpu.current;
    if (vcpu && !eligible(*vcpu)) {
        switch_away(cpu);
    }
    if (!cpu.need_reschedule)
        return;
    cpu.need_reschedule = false;
    if (!vcpu)
        return;
    charge(*vcpu);
    const bool yielding = vcpu->yield_requested;
    vcpu->yield_requested = false;
    bool give_way = false;
    {
        IrqLockGuard guard(cpu.run_queue_lock);
        // At the end of a slice the CPU goes to a waiter with more credit than the running
        // vCPU, which otherwise keeps it; a yield gives way to any waiter. (Handing slices out
        // round-robin, as before, made weights meaningless for CPU-bound domains: credit only
        // ordered the queue, and a queue of one has no order. Comparing with the waiters'
        // credit rather than testing credit > 0 keeps the 2:1 of weights 512:256 whatever the
        // phase between the slice and accounting timers.)
        if (cpu.run_queue_length > 0)
            give_way = yielding || richer_waiter_locked(cpu, vcpu->credit);
    }
    if (give_way)
        switch_away(cpu);
    timer_set(cpu.slice_timer, arch::system_time_ns() + SLICE_NS);
}

void yield_current() { switch_away(this_cpu()); }

void block_current() {
    // The caller has marked the vCPU Blocked (and re-checked for events); a wake-up may already
    // have made it Runnable again, which switch_away honours.
    switch_away(this_cpu());
}

void leave_current() { switch_away(this_cpu()); }

}  // namespace xenolith
