// Watches: WATCH, UNWATCH, RESET_WATCHES and event delivery (pv-abi-devices §5.5).
#include <algorithm>
#include <cstring>

#include "engine_internal.hpp"
#include "path.hpp"

namespace xs {

Result<void> Engine::op_watch(Request& r) {
    std::string_view rest;
    auto args = split_args(r.payload, &rest);
    if (args.size() < 2 || args.size() > 3 || !rest.empty()) return Errno::inval;
    int depth = -1;
    if (args.size() == 3) {
        unsigned long long d;
        if (!parse_uint(args[2], 0xffff, d)) return Errno::inval;
        depth = static_cast<int>(d);
    }
    Conn& c = r.conn;
    XS_TRY_ASSIGN(path, resolve_path(args[0], c.caller.domid, true));
    for (const auto& w : c.watches)
        if (w->path == path && w->token == args[1]) return Errno::exist;
    if (!c.caller.privileged && c.watches.size() >= m_quotas.watches) return Errno::nospc;

    auto w = std::make_unique<Watch>();
    w->conn = c.id;
    w->path = std::move(path);
    w->token.assign(args[1]);
    w->depth = depth;
    // §5.5: events for a relative watch are reported relative to the caller's home.
    if (args[0][0] != '/' && args[0][0] != '@') w->strip = domain_path(c.caller.domid).size() + 1;
    Watch* raw = w.get();
    c.watches.push_back(std::move(w));
    m_watch_index.emplace(raw->path, raw);
    reply_ok(c, r.hdr);
    // §5.5: one event fires straight away with the watched path itself.
    send_event(*raw, raw->path);
    return ok();
}

Result<void> Engine::op_unwatch(Request& r) {
    std::string_view rest;
    auto args = split_args(r.payload, &rest);
    if (args.size() != 2 || !rest.empty()) return Errno::inval;
    XS_TRY_ASSIGN(path, resolve_path(args[0], r.conn.caller.domid, true));
    for (const auto& w : r.conn.watches) {
        if (w->path == path && w->token == args[1]) {
            remove_watch(r.conn, w.get());
            reply_ok(r.conn, r.hdr);
            return ok();
        }
    }
    return Errno::noent;
}

Result<void> Engine::op_reset_watches(Request& r) {
    while (!r.conn.watches.empty()) remove_watch(r.conn, r.conn.watches.back().get());
    r.conn.txns.clear();
    reply_ok(r.conn, r.hdr);
    return ok();
}

void Engine::remove_watch(Conn& c, Watch* w) {
    auto [b, e] = m_watch_index.equal_range(w->path);
    for (auto it = b; it != e; ++it)
        if (it->second == w) {
            m_watch_index.erase(it);
            break;
        }
    auto it = std::find_if(c.watches.begin(), c.watches.end(),
                           [w](const auto& p) { return p.get() == w; });
    if (it != c.watches.end()) c.watches.erase(it);
}

void Engine::send_event(Watch& w, std::string_view path) {
    Conn* c = conn(w.conn);
    if (!c) return;
    if (!c->caller.privileged && c->out.pending() > m_quotas.output_bytes) {
        if (c->dropped_events++ == 0) log("dropping watch events for a connection that does not read");
        return;
    }
    if (w.strip && path.size() > w.strip) path.remove_prefix(w.strip);
    char hdr[sizeof(MsgHeader)];
    MsgHeader h{static_cast<uint32_t>(MsgType::watch_event), 0, 0,
                static_cast<uint32_t>(path.size() + w.token.size() + 2)};
    std::memcpy(hdr, &h, sizeof hdr);
    std::string& out = c->out.buf;
    size_t start = out.size();
    out.append(hdr, sizeof hdr);
    out.append(path);
    out.push_back('\0');
    out.append(w.token);
    out.push_back('\0');
    mark_ready(*c);
    if (m_trace) m_trace(c->id, false, h, std::string_view(out).substr(start + sizeof hdr));
}

// Deliver events for a change of `path` (§5.5): to watches on the path or any ancestor with
// the changed path, and, when a subtree went away, to watches inside it with their own path.
// A watcher only hears about nodes it may read.
void Engine::fire(std::string_view path, const PermList& perms, bool removal) {
    if (m_watch_index.empty()) return;
    const unsigned depth = path_depth(path);
    std::string_view p = path;
    for (;;) {
        auto [b, e] = m_watch_index.equal_range(p);
        for (auto it = b; it != e; ++it) {
            Watch& w = *it->second;
            if (w.depth >= 0 && depth - path_depth(p) > static_cast<unsigned>(w.depth)) continue;
            Conn* c = conn(w.conn);
            if (!c || !(access_for(c->caller, perms) & kPermRead)) continue;
            send_event(w, path);
        }
        if (p == "/") break;
        p = parent_of(p);
    }
    if (!removal) return;
    std::string prefix(path);
    if (prefix != "/") prefix.push_back('/');
    for (auto it = m_watch_index.lower_bound(prefix);
         it != m_watch_index.end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it) {
        Watch& w = *it->second;
        Conn* c = conn(w.conn);
        if (!c || !(access_for(c->caller, perms) & kPermRead)) continue;
        send_event(w, w.path);
    }
}

// @introduceDomain / @releaseDomain (§5.5): only privileged connections and domains granted
// read access on the special name hear them.
void Engine::fire_special(std::string_view name, uint32_t domid) {
    const PermList* perms = special_perms(name);
    if (!perms) return;
    const std::string with_id = std::string(name) + "/" + std::to_string(domid);
    for (std::string_view key : {std::string_view(name), std::string_view(with_id)}) {
        auto [b, e] = m_watch_index.equal_range(key);
        for (auto it = b; it != e; ++it) {
            Watch& w = *it->second;
            Conn* c = conn(w.conn);
            if (!c || !(access_for(c->caller, *perms) & kPermRead)) continue;
            send_event(w, (key == name && w.depth >= 1) ? std::string_view(with_id) : key);
        }
    }
}

}  // namespace xs
