// Software timers: each CPU keeps a deadline-ordered queue of Timers and programs its one-shot
// hardware timer for the earliest one.
#pragma once

#include <cstdint>

namespace xenolith {

struct Timer;
using TimerCallback = void (*)(Timer& timer);

struct Timer {
    std::uint64_t deadline_ns = 0;
    TimerCallback callback = nullptr;
    void* context = nullptr;
    Timer* next = nullptr;
    bool queued = false;
    unsigned cpu = 0;  // whose queue holds it while queued
};

// A singly linked list ordered by deadline (ties keep insertion order). Pure logic: the caller
// owns the Timers and keeps interrupts off while touching its own CPU's queue.
class TimerQueue {
public:
    void insert(Timer& timer) {
        Timer** link = &m_head;
        while (*link && (*link)->deadline_ns <= timer.deadline_ns)
            link = &(*link)->next;
        timer.next = *link;
        *link = &timer;
        timer.queued = true;
    }

    bool remove(Timer& timer) {
        for (Timer** link = &m_head; *link; link = &(*link)->next) {
            if (*link == &timer) {
                *link = timer.next;
                timer.next = nullptr;
                timer.queued = false;
                return true;
            }
        }
        return false;
    }

    // The first timer due at `now_ns`, unlinked; nullptr if none is due.
    Timer* pop_expired(std::uint64_t now_ns) {
        if (!m_head || m_head->deadline_ns > now_ns)
            return nullptr;
        Timer* timer = m_head;
        m_head = timer->next;
        timer->next = nullptr;
        timer->queued = false;
        return timer;
    }

    bool empty() const { return m_head == nullptr; }
    std::uint64_t earliest_deadline() const { return m_head ? m_head->deadline_ns : UINT64_MAX; }

private:
    Timer* m_head = nullptr;
};

// Start timer services on the calling CPU (after its LAPIC is enabled).
void timer_init_this_cpu();

// Arm `timer` on the calling CPU to fire at `deadline_ns` (system time); re-arming moves it
// (from any CPU's queue). Cancelling works from any CPU.
void timer_set(Timer& timer, std::uint64_t deadline_ns);
void timer_cancel(Timer& timer);

// Called from the timer interrupt: run every expired timer and reprogram the hardware.
void timer_interrupt();

}  // namespace xenolith
