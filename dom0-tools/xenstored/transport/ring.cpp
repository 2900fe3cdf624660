// Shared-page ring transport (pv-abi-devices §5.7).
#include "ring.hpp"

#include <algorithm>
#include <atomic>
#include <cstring>

namespace xs {

// The indices live in memory another domain writes concurrently: access them atomically,
// with acquire/release ordering around the data copies (§5.7 barrier rules).
static uint32_t load_acquire(uint32_t& v) {
    return std::atomic_ref<uint32_t>(v).load(std::memory_order_acquire);
}
static void store_release(uint32_t& v, uint32_t x) {
    std::atomic_ref<uint32_t>(v).store(x, std::memory_order_release);
}

void RingEndpoint::advertise(uint32_t features) {
    std::atomic_ref<uint32_t>(m_page->server_features).fetch_or(features, std::memory_order_release);
}

void RingEndpoint::set_error(uint32_t code) { store_release(m_page->error, code); }

bool RingEndpoint::reconnect_requested() const {
    return load_acquire(m_page->connection) == kReconnect;
}

void RingEndpoint::reset() {
    store_release(m_page->req_cons, 0);
    store_release(m_page->req_prod, 0);
    store_release(m_page->rsp_cons, 0);
    store_release(m_page->rsp_prod, 0);
    store_release(m_page->error, kRingErrorNone);
    store_release(m_page->connection, kConnected);
}

bool RingEndpoint::pull(InputBuffer& in, bool& consumed) {
    const uint32_t cons = load_acquire(m_page->req_cons);
    const uint32_t prod = load_acquire(m_page->req_prod);
    const uint32_t avail = prod - cons;  // modulo 2^32 (§5.7)
    if (avail > kRingSize) {
        set_error(kRingErrorRingIdx);
        return false;
    }
    if (avail == 0) return true;
    char* dst = in.prepare(avail);
    const uint32_t start = cons & (kRingSize - 1);
    const uint32_t first = std::min(avail, kRingSize - start);
    std::memcpy(dst, m_page->req + start, first);
    std::memcpy(dst + first, m_page->req, avail - first);
    in.commit(avail);
    // The copy must complete before the guest may reuse the space.
    std::atomic_thread_fence(std::memory_order_seq_cst);
    store_release(m_page->req_cons, prod);
    consumed = true;
    return true;
}

bool RingEndpoint::push(OutQueue& out, bool& produced) {
    if (out.pending() == 0) return true;
    const uint32_t cons = load_acquire(m_page->rsp_cons);
    const uint32_t prod = load_acquire(m_page->rsp_prod);
    const uint32_t used = prod - cons;
    if (used > kRingSize) {
        set_error(kRingErrorRingIdx);
        return false;
    }
    const uint32_t n = static_cast<uint32_t>(std::min<size_t>(kRingSize - used, out.pending()));
    if (n == 0) return true;
    const char* src = out.buf.data() + out.off;
    const uint32_t start = prod & (kRingSize - 1);
    const uint32_t first = std::min(n, kRingSize - start);
    std::memcpy(m_page->rsp + start, src, first);
    std::memcpy(m_page->rsp, src + first, n - first);
    // Data before index (§5.7 producer rule).
    store_release(m_page->rsp_prod, prod + n);
    out.consume(n);
    produced = true;
    return true;
}

RingConnection::RingConnection(ConnId id, RingInterface* page, std::function<void()> notify)
    : Connection(id), m_ring(page), m_notify(std::move(notify)) {
    m_ring.advertise(kFeatureReconnection | kFeatureError);
    if (m_ring.reconnect_requested()) m_ring.reset();
}

bool RingConnection::receive(Engine& engine) {
    if (m_ring.reconnect_requested()) {
        // §5.7: drop partial packets and queued output, and the connection's watches and
        // transactions.
        m_in.clear();
        engine.reset_connection(m_id);
        m_ring.reset();
        if (m_notify) m_notify();
        return true;
    }
    bool consumed = false;
    // Drain until the guest stops producing: a request larger than the ring arrives in
    // several pieces, each freeing space for the next.
    for (;;) {
        bool got = false;
        if (!m_ring.pull(m_in, got)) return false;
        if (!got) break;
        consumed = true;
        if (!feed(engine, m_in)) {
            m_ring.set_error(kRingErrorProto);
            return false;
        }
        if (m_notify) m_notify();
    }
    (void)consumed;
    return true;
}

bool RingConnection::send(Engine& engine) {
    OutQueue* q = engine.output(m_id);
    if (!q) return false;
    bool produced = false;
    if (!m_ring.push(*q, produced)) return false;
    // §5.7: always signal after writing replies.
    if (produced && m_notify) m_notify();
    return true;
}

}  // namespace xs
