// The engine core: connections, framing of replies, request dispatch.
#include <algorithm>
#include <cstring>

#include "engine_internal.hpp"
#include "path.hpp"

namespace xs {

std::vector<std::string_view> split_args(std::string_view payload, std::string_view* rest) {
    std::vector<std::string_view> out;
    size_t pos = 0;
    while (pos < payload.size()) {
        size_t nul = payload.find('\0', pos);
        if (nul == std::string_view::npos) break;
        out.push_back(payload.substr(pos, nul - pos));
        pos = nul + 1;
    }
    if (rest) *rest = payload.substr(pos);
    return out;
}

Engine::Engine(Quotas quotas) : m_quotas(quotas) {
    m_special.emplace("@introduceDomain", PermList{Perm{0, kPermNone}});
    m_special.emplace("@releaseDomain", PermList{Perm{0, kPermNone}});
}

Engine::~Engine() = default;

ConnId Engine::add_connection(const ConnConfig& cfg) {
    auto c = std::make_unique<Conn>();
    c->id = m_next_conn++;
    c->cfg = cfg;
    c->caller = Caller{cfg.domid, cfg.privileged, cfg.can_write, -1};
    ConnId id = c->id;
    m_conns.emplace(id, std::move(c));
    return id;
}

Engine::Conn* Engine::conn(ConnId id) {
    auto it = m_conns.find(id);
    return it == m_conns.end() ? nullptr : it->second.get();
}

void Engine::remove_connection(ConnId id) {
    Conn* c = conn(id);
    if (!c) return;
    while (!c->watches.empty()) remove_watch(*c, c->watches.back().get());
    c->txns.clear();
    for (auto& [domid, d] : m_domains)
        if (d->conn == id) d->conn.reset();
    m_ready.erase(std::remove(m_ready.begin(), m_ready.end(), id), m_ready.end());
    m_conns.erase(id);
}

void Engine::reset_connection(ConnId id) {
    Conn* c = conn(id);
    if (!c) return;
    while (!c->watches.empty()) remove_watch(*c, c->watches.back().get());
    c->txns.clear();
    c->out = OutQueue{};
}

OutQueue* Engine::output(ConnId id) {
    Conn* c = conn(id);
    return c ? &c->out : nullptr;
}

void Engine::mark_ready(Conn& c) {
    if (!c.ready) {
        c.ready = true;
        m_ready.push_back(c.id);
    }
}

void Engine::take_ready(std::vector<ConnId>& out) {
    for (ConnId id : m_ready)
        if (Conn* c = conn(id)) {
            c->ready = false;
            out.push_back(id);
        }
    m_ready.clear();
}

size_t Engine::transaction_count() const {
    size_t n = 0;
    for (const auto& [id, c] : m_conns) n += c->txns.size();
    return n;
}

void Engine::queue(Conn& c, const MsgHeader& hdr, std::string_view payload) {
    char raw[sizeof(MsgHeader)];
    std::memcpy(raw, &hdr, sizeof raw);
    c.out.buf.append(raw, sizeof raw);
    c.out.buf.append(payload);
    mark_ready(c);
    if (m_trace) m_trace(c.id, false, hdr, payload);
}

void Engine::reply(Conn& c, const MsgHeader& req, MsgType type, std::string_view payload) {
    // pv-abi-devices §5.3: a reply that does not fit the payload limit is E2BIG.
    if (payload.size() > kPayloadMax) return reply_error(c, req, Errno::too_big);
    MsgHeader h{static_cast<uint32_t>(type), req.req_id, req.tx_id,
                static_cast<uint32_t>(payload.size())};
    queue(c, h, payload);
}

void Engine::reply_error(Conn& c, const MsgHeader& req, Errno e) {
    std::string_view name = errno_name(e);
    char buf[16];
    std::memcpy(buf, name.data(), name.size());
    buf[name.size()] = '\0';
    MsgHeader h{static_cast<uint32_t>(MsgType::error), req.req_id, req.tx_id,
                static_cast<uint32_t>(name.size() + 1)};
    queue(c, h, {buf, name.size() + 1});
}

// Requests that change the store: refused on read-only connections (socket_ro).
static bool is_write_type(MsgType t) {
    switch (t) {
    case MsgType::write:
    case MsgType::mkdir:
    case MsgType::rm:
    case MsgType::set_perms:
    case MsgType::introduce:
    case MsgType::release:
    case MsgType::resume:
    case MsgType::set_target:
    case MsgType::set_feature:
    case MsgType::set_quota:
    case MsgType::transaction_start:
    case MsgType::transaction_end:
        return true;
    default:
        return false;
    }
}

// Requests that run inside the transaction named by the header's tx_id.
static bool uses_transaction(MsgType t) {
    switch (t) {
    case MsgType::read:
    case MsgType::write:
    case MsgType::mkdir:
    case MsgType::rm:
    case MsgType::directory:
    case MsgType::directory_part:
    case MsgType::get_perms:
    case MsgType::set_perms:
    case MsgType::transaction_end:
        return true;
    default:
        return false;
    }
}

void Engine::handle(ConnId id, const MsgHeader& hdr, std::string_view payload) {
    Conn* c = conn(id);
    if (!c) return;
    if (m_trace) m_trace(id, true, hdr, payload);
    Transaction* tx = nullptr;
    const auto type = static_cast<MsgType>(hdr.type);
    if (hdr.tx_id != 0 && uses_transaction(type)) {
        auto it = c->txns.find(hdr.tx_id);
        if (it == c->txns.end()) return reply_error(*c, hdr, Errno::noent);
        tx = it->second.get();
    }
    Request r{*c, hdr, payload, tx};
    Result<void> res = dispatch(r);
    if (!res) {
        // The connection may have been removed by its own request (e.g. RELEASE of itself).
        if (Conn* still = conn(id)) reply_error(*still, hdr, res.error());
    }
}

Result<void> Engine::dispatch(Request& r) {
    const auto type = static_cast<MsgType>(r.hdr.type);
    if (!r.conn.cfg.can_write && is_write_type(type)) return Errno::rofs;
    switch (type) {
    case MsgType::control: return op_control(r);
    case MsgType::directory: return op_directory(r);
    case MsgType::read: return op_read(r);
    case MsgType::get_perms: return op_get_perms(r);
    case MsgType::watch: return op_watch(r);
    case MsgType::unwatch: return op_unwatch(r);
    case MsgType::transaction_start: return op_transaction_start(r);
    case MsgType::transaction_end: return op_transaction_end(r);
    case MsgType::introduce: return op_introduce(r);
    case MsgType::release: return op_release(r);
    case MsgType::get_domain_path: return op_get_domain_path(r);
    case MsgType::write: return op_write(r);
    case MsgType::mkdir: return op_mkdir(r);
    case MsgType::rm: return op_rm(r);
    case MsgType::set_perms: return op_set_perms(r);
    case MsgType::is_domain_introduced: return op_is_domain_introduced(r);
    case MsgType::resume: return op_resume(r);
    case MsgType::set_target: return op_set_target(r);
    case MsgType::reset_watches: return op_reset_watches(r);
    case MsgType::directory_part: return op_directory_part(r);
    case MsgType::get_feature: return op_get_feature(r);
    case MsgType::set_feature: return op_set_feature(r);
    case MsgType::get_quota: return op_get_quota(r);
    case MsgType::set_quota: return op_set_quota(r);
    default:
        // WATCH_EVENT, ERROR, the removed RESTRICT and unknown numbers (§5.2: ENOSYS).
        return Errno::nosys;
    }
}

bool Engine::check(std::string& why) const {
    if (!m_tree.check(why)) return false;
    size_t watches = 0;
    for (const auto& [id, c] : m_conns) {
        watches += c->watches.size();
        if (c->out.off > c->out.buf.size()) {
            why = "output queue offset beyond its buffer";
            return false;
        }
        for (const auto& [txid, tx] : c->txns)
            if (txid != tx->id || txid == 0) {
                why = "transaction id mismatch";
                return false;
            }
    }
    if (watches != m_watch_index.size()) {
        why = "watch index out of step with connections";
        return false;
    }
    for (const auto& [path, w] : m_watch_index) {
        if (path != w->path || !m_conns.count(w->conn)) {
            why = "stale watch index entry " + path;
            return false;
        }
    }
    for (const auto& [domid, d] : m_domains)
        if (d->conn && !m_conns.count(*d->conn)) {
            why = "domain bound to a dead connection";
            return false;
        }
    return true;
}

}  // namespace xs
