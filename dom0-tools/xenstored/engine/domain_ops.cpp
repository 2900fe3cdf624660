// Domain life cycle (INTRODUCE, RELEASE, RESUME, SET_TARGET, ...), CONTROL and quota requests
// (pv-abi-devices §5.2, §5.8).
#include <algorithm>
#include <cstdlib>

#include "engine_internal.hpp"
#include "path.hpp"

namespace xs {

static Result<uint32_t> parse_domid(std::string_view s) {
    unsigned long long v;
    if (!parse_uint(s, kDomidFirstReserved - 1, v)) return Errno::inval;
    return static_cast<uint32_t>(v);
}

static Result<std::vector<std::string_view>> exact_args(std::string_view payload, size_t n) {
    std::string_view rest;
    auto args = split_args(payload, &rest);
    if (args.size() != n || !rest.empty()) return Errno::inval;
    return args;
}

bool Engine::domain_introduced(uint32_t domid) const {
    return domid == 0 || m_domains.count(domid) != 0;
}

std::vector<uint32_t> Engine::introduced_domains() const {
    std::vector<uint32_t> out;
    for (const auto& [domid, d] : m_domains) out.push_back(domid);
    return out;
}

const PermList* Engine::special_perms(std::string_view name) const {
    auto it = m_special.find(name);
    return it == m_special.end() ? nullptr : &it->second;
}

Result<void> Engine::op_introduce(Request& r) {
    if (!r.conn.caller.privileged) return Errno::acces;
    XS_TRY_ASSIGN(args, exact_args(r.payload, 3));
    XS_TRY_ASSIGN(domid, parse_domid(args[0]));
    // §5.8: the ring frame arrives as a signed decimal number.
    std::string gfn_text(args[1]);
    char* end = nullptr;
    errno = 0;
    long long gfn = std::strtoll(gfn_text.c_str(), &end, 10);
    if (gfn_text.empty() || *end || errno) return Errno::inval;
    unsigned long long port;
    if (!parse_uint(args[2], UINT32_MAX, port)) return Errno::inval;
    if (domid == r.conn.caller.domid) return Errno::inval;

    auto it = m_domains.find(domid);
    const bool again = it != m_domains.end();
    std::optional<ConnId> cid;
    if (m_hooks) {
        XS_TRY_ASSIGN(attached, m_hooks->attach(*this, domid, gfn, static_cast<uint32_t>(port), again));
        cid = attached;
    }
    if (again) {
        // §5.8: a second INTRODUCE only re-binds the event channel (after a resume).
        it->second->port = static_cast<uint32_t>(port);
        if (cid) it->second->conn = cid;
        reply_ok(r.conn, r.hdr);
        return ok();
    }
    auto d = std::make_unique<Domain>();
    d->domid = domid;
    d->gfn = gfn;
    d->port = static_cast<uint32_t>(port);
    d->conn = cid;
    if (auto f = m_features.find(domid); f != m_features.end()) d->features = f->second;
    m_domains.emplace(domid, std::move(d));
    reply_ok(r.conn, r.hdr);
    fire_special("@introduceDomain", domid);
    return ok();
}

void Engine::release_domain(uint32_t domid) {
    auto it = m_domains.find(domid);
    if (it == m_domains.end()) return;
    std::optional<ConnId> cid = it->second->conn;
    m_domains.erase(it);
    m_features.erase(domid);
    if (cid) {
        remove_connection(*cid);
        if (m_hooks) m_hooks->detach(domid, *cid);
    }
    for (auto& [id, c] : m_conns)
        if (c->caller.target == static_cast<int64_t>(domid)) c->caller.target = -1;
    // §5.6: nodes the domain owned go with it, so a later domain reusing the id inherits
    // nothing. Shallow paths first: removing a parent takes its children along.
    auto owned = m_tree.owned_paths(domid);
    std::sort(owned.begin(), owned.end(),
              [](const std::string& a, const std::string& b) { return a.size() < b.size(); });
    for (const std::string& p : owned) {
        const Node* n = m_tree.find(p);
        if (!n || n->owner() != domid) continue;
        PermList perms = n->perms;
        if (p == "/") {
            // The root stays; it falls back to domain 0.
            perms[0].domid = 0;
            m_tree.set_perms(p, *m_tree.find(p), perms);
            continue;
        }
        m_tree.remove(p);
        fire(p, perms, true);
    }
    fire_special("@releaseDomain", domid);
}

void Engine::domain_gone(uint32_t domid) { release_domain(domid); }

Result<void> Engine::op_release(Request& r) {
    if (!r.conn.caller.privileged) return Errno::acces;
    XS_TRY_ASSIGN(args, exact_args(r.payload, 1));
    XS_TRY_ASSIGN(domid, parse_domid(args[0]));
    if (domid == 0 || domid == r.conn.caller.domid) return Errno::inval;
    if (!m_domains.count(domid)) return Errno::noent;
    reply_ok(r.conn, r.hdr);
    release_domain(domid);
    return ok();
}

Result<void> Engine::op_get_domain_path(Request& r) {
    XS_TRY_ASSIGN(args, exact_args(r.payload, 1));
    XS_TRY_ASSIGN(domid, parse_domid(args[0]));
    std::string out = domain_path(domid);
    out.push_back('\0');
    reply(r.conn, r.hdr, MsgType::get_domain_path, out);
    return ok();
}

Result<void> Engine::op_is_domain_introduced(Request& r) {
    XS_TRY_ASSIGN(args, exact_args(r.payload, 1));
    XS_TRY_ASSIGN(domid, parse_domid(args[0]));
    reply(r.conn, r.hdr, MsgType::is_domain_introduced, {domain_introduced(domid) ? "T" : "F", 2});
    return ok();
}

Result<void> Engine::op_resume(Request& r) {
    if (!r.conn.caller.privileged) return Errno::acces;
    XS_TRY_ASSIGN(args, exact_args(r.payload, 1));
    XS_TRY_ASSIGN(domid, parse_domid(args[0]));
    if (!m_domains.count(domid)) return Errno::noent;
    reply_ok(r.conn, r.hdr);
    return ok();
}

Result<void> Engine::op_set_target(Request& r) {
    if (!r.conn.caller.privileged) return Errno::acces;
    XS_TRY_ASSIGN(args, exact_args(r.payload, 2));
    XS_TRY_ASSIGN(domid, parse_domid(args[0]));
    XS_TRY_ASSIGN(target, parse_domid(args[1]));
    auto it = m_domains.find(domid);
    if (it == m_domains.end() || !domain_introduced(target)) return Errno::noent;
    it->second->target = target;
    if (it->second->conn)
        if (Conn* c = conn(*it->second->conn)) c->caller.target = target;
    reply_ok(r.conn, r.hdr);
    return ok();
}

uint32_t* Engine::quota_by_name(std::string_view name) {
    if (name == "nodes") return &m_quotas.nodes;
    if (name == "watches") return &m_quotas.watches;
    if (name == "transactions") return &m_quotas.transactions;
    if (name == "transaction-nodes") return &m_quotas.transaction_nodes;
    if (name == "permissions") return &m_quotas.permissions;
    if (name == "node-size") return &m_quotas.node_size;
    if (name == "output-bytes") return &m_quotas.output_bytes;
    return nullptr;
}

static const char* const kQuotaNames[] = {"nodes", "watches", "transactions", "transaction-nodes",
                                          "permissions", "node-size", "output-bytes"};

// XS_CONTROL (§5.2: implementation-defined). Privileged only.
Result<void> Engine::op_control(Request& r) {
    if (!r.conn.caller.privileged) return Errno::acces;
    std::string_view rest;
    auto args = split_args(r.payload, &rest);
    if (args.empty() || !rest.empty()) return Errno::inval;
    std::string out;
    if (args[0] == "check") {
        std::string why;
        out = check(why) ? "OK" : "FAILED: " + why;
    } else if (args[0] == "print") {
        for (size_t i = 1; i < args.size(); ++i) log(args[i]);
        out = "OK";
    } else if (args[0] == "quota") {
        for (const char* name : kQuotaNames)
            out += std::string(name) + " " + std::to_string(*quota_by_name(name)) + "\n";
    } else if (args[0] == "stats") {
        out = "nodes " + std::to_string(m_tree.size()) + "\nwatches " +
              std::to_string(m_watch_index.size()) + "\ntransactions " +
              std::to_string(transaction_count()) + "\nconnections " +
              std::to_string(m_conns.size()) + "\ndomains " + std::to_string(m_domains.size()) +
              "\n";
    } else if (args[0] == "help") {
        out = "check\nprint <text>\nquota\nstats\nhelp\n";
    } else {
        return Errno::inval;
    }
    out.push_back('\0');
    reply(r.conn, r.hdr, MsgType::control, out);
    return ok();
}

Result<void> Engine::op_get_feature(Request& r) {
    auto args = split_args(r.payload);
    uint32_t value = kFeatureReconnection | kFeatureError;
    if (!args.empty() && !args[0].empty()) {
        XS_TRY_ASSIGN(domid, parse_domid(args[0]));
        if (!r.conn.caller.privileged) return Errno::acces;
        auto it = m_domains.find(domid);
        if (it != m_domains.end()) value = it->second->features;
        else if (auto f = m_features.find(domid); f != m_features.end()) value = f->second;
    }
    std::string out = std::to_string(value);
    out.push_back('\0');
    reply(r.conn, r.hdr, MsgType::get_feature, out);
    return ok();
}

Result<void> Engine::op_set_feature(Request& r) {
    if (!r.conn.caller.privileged) return Errno::acces;
    XS_TRY_ASSIGN(args, exact_args(r.payload, 2));
    XS_TRY_ASSIGN(domid, parse_domid(args[0]));
    unsigned long long v;
    if (!parse_uint(args[1], UINT32_MAX, v)) return Errno::inval;
    // §5.2: features are fixed once the domain has been introduced.
    if (m_domains.count(domid)) return Errno::busy;
    m_features[domid] = static_cast<uint32_t>(v);
    reply_ok(r.conn, r.hdr);
    return ok();
}

// Quotas are global in this implementation; a domain id argument is accepted and ignored.
Result<void> Engine::op_get_quota(Request& r) {
    if (!r.conn.caller.privileged) return Errno::acces;
    std::string_view rest;
    auto args = split_args(r.payload, &rest);
    if (!rest.empty() || args.size() > 2) return Errno::inval;
    std::string out;
    if (args.empty() || (args.size() == 1 && args[0].empty())) {
        for (const char* name : kQuotaNames) out += std::string(name) + " ";
        if (!out.empty()) out.pop_back();
    } else {
        uint32_t* q = quota_by_name(args.back());
        if (!q) return Errno::inval;
        out = std::to_string(*q);
    }
    out.push_back('\0');
    reply(r.conn, r.hdr, MsgType::get_quota, out);
    return ok();
}

Result<void> Engine::op_set_quota(Request& r) {
    if (!r.conn.caller.privileged) return Errno::acces;
    std::string_view rest;
    auto args = split_args(r.payload, &rest);
    if (!rest.empty() || args.size() < 2 || args.size() > 3) return Errno::inval;
    uint32_t* q = quota_by_name(args[args.size() - 2]);
    unsigned long long v;
    if (!q || !parse_uint(args.back(), UINT32_MAX, v)) return Errno::inval;
    *q = static_cast<uint32_t>(v);
    reply_ok(r.conn, r.hdr);
    return ok();
}

}  // namespace xs
