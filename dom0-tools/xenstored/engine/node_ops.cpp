// Node requests: READ, WRITE, MKDIR, RM, DIRECTORY, DIRECTORY_PART, GET_PERMS, SET_PERMS
// (pv-abi-devices §5.2, §5.3, §5.6), each either directly on the tree or inside a transaction.
#include <algorithm>

#include "engine_internal.hpp"
#include "path.hpp"

namespace xs {

// Payload holding exactly one NUL-terminated string (the form of most requests, §5.1).
static Result<std::string_view> one_arg(std::string_view payload) {
    if (payload.empty() || payload.back() != '\0') return Errno::inval;
    std::string_view s = payload.substr(0, payload.size() - 1);
    if (s.find('\0') != std::string_view::npos) return Errno::inval;
    return s;
}

static size_t node_size(const Node& n) {
    return n.value.size() + n.children.size() + 8 * n.perms.size();
}

const Node* Engine::view_find(Transaction* tx, std::string_view path) {
    if (!tx) return m_tree.find(path);
    if (auto it = tx->nodes.find(path); it != tx->nodes.end())
        return it->second.deleted ? nullptr : &it->second.node;
    const Node* n = m_tree.find(path);
    if (tx->observed.find(path) == tx->observed.end())
        tx->observed.emplace(std::string(path), n ? n->generation : 0);
    return n;
}

Result<void> Engine::nearest_ancestor_allows(Conn& c, Transaction* tx, std::string_view path,
                                             uint8_t want, std::string& ancestor) {
    std::string_view p = path;
    const Node* n = nullptr;
    while (p != "/") {
        p = parent_of(p);
        if ((n = view_find(tx, p))) break;
    }
    if (!n) n = view_find(tx, "/");
    want &= kPermRead | kPermWrite;
    if ((access_for(c.caller, n->perms) & want) != want) return Errno::acces;
    ancestor.assign(p);
    return ok();
}

// §5.6: a missing node is ENOENT only if the caller has the asked-for access to its nearest
// existing ancestor; otherwise EACCES, so that existence does not leak.
Result<const Node*> Engine::find_checked(Conn& c, Transaction* tx, std::string_view path,
                                         uint8_t want) {
    if (const Node* n = view_find(tx, path)) {
        if ((access_for(c.caller, n->perms) & want) != want) return Errno::acces;
        return n;
    }
    std::string ancestor;
    XS_TRY(nearest_ancestor_allows(c, tx, path, want, ancestor));
    return Errno::noent;
}

Node& Engine::view_modify(Transaction* tx, std::string_view path) {
    if (!tx) return *m_tree.find(path);
    auto it = tx->nodes.find(path);
    if (it == tx->nodes.end()) {
        // The copy is taken now, so this is the state the commit must find unchanged; a
        // parent first touched here (RM of its child) must be recorded too.
        const Node& current = *m_tree.find(path);
        tx->observed.try_emplace(std::string(path), current.generation);
        it = tx->nodes.emplace(std::string(path), TxNode{current, false}).first;
    }
    return it->second.node;
}

Result<void> Engine::check_node_size(Conn& c, const Node& n, size_t extra) {
    if (!c.caller.privileged && node_size(n) + extra > m_quotas.node_size) return Errno::nospc;
    return ok();
}

Result<void> Engine::tx_note_touch(Transaction& tx, Conn& c) {
    if (!c.caller.privileged && tx.observed.size() >= m_quotas.transaction_nodes)
        return Errno::nospc;
    return ok();
}

void Engine::note_change(Transaction* tx, std::string path, const PermList& perms, bool removal) {
    if (tx)
        tx->changes.push_back(Change{std::move(path), perms, removal});
    else
        fire(path, perms, removal);
}

// Create `path` and any missing parents below the existing `ancestor` (§5.6: new nodes
// inherit their parent's permissions; an unprivileged creator becomes the owner).
Result<void> Engine::create_path(Conn& c, Transaction* tx, const std::string& path,
                                 const std::string& ancestor, std::string_view value) {
    std::vector<std::string_view> levels;
    for (std::string_view p = path; p != ancestor; p = parent_of(p)) levels.push_back(p);
    std::reverse(levels.begin(), levels.end());

    const Node* anc = view_find(tx, ancestor);
    PermList perms = anc->perms;
    if (!c.caller.privileged) {
        perms[0].domid = c.caller.domid;
        long have = static_cast<long>(m_tree.owned_count(c.caller.domid));
        if (tx) have += tx->owner_delta[c.caller.domid];
        if (have + static_cast<long>(levels.size()) > static_cast<long>(m_quotas.nodes))
            return Errno::nospc;
        XS_TRY(check_node_size(c, *anc, base_name(levels[0]).size() + 1));
        if (value.size() + 8 * perms.size() > m_quotas.node_size) return Errno::nospc;
    }
    for (size_t i = 0; i < levels.size(); ++i) {
        Node n;
        n.perms = perms;
        if (i + 1 == levels.size()) n.value.assign(value);
        if (!tx) {
            m_tree.create(levels[i], std::move(n));
            continue;
        }
        Node& parent = view_modify(tx, parent_of(levels[i]));
        parent.children.append(base_name(levels[i]));
        parent.children.push_back('\0');
        tx->observed.try_emplace(std::string(levels[i]), 0);
        tx->nodes[std::string(levels[i])] = TxNode{std::move(n), false};
        tx->owner_delta[perms[0].domid] += 1;
    }
    return ok();
}

void Engine::remove_subtree(Transaction* tx, const std::string& path) {
    if (!tx) {
        m_tree.remove(path);
        return;
    }
    std::vector<std::string> stack{path};
    while (!stack.empty()) {
        std::string p = std::move(stack.back());
        stack.pop_back();
        const Node* n = view_find(tx, p);
        if (!n) continue;
        for_each_child(n->children, [&](std::string_view ch) { stack.push_back(child_path(p, ch)); });
        tx->owner_delta[n->owner()] -= 1;
        tx->nodes[p] = TxNode{Node{}, true};
    }
    // Another connection may have removed the parent since this transaction copied the
    // node: the view is then stale and the commit will fail with EAGAIN anyway.
    if (!view_find(tx, parent_of(path))) return;
    Node& parent = view_modify(tx, parent_of(path));
    Tree::unlink_child(parent.children, base_name(path));
}

Result<void> Engine::op_read(Request& r) {
    XS_TRY_ASSIGN(arg, one_arg(r.payload));
    XS_TRY_ASSIGN(path, resolve_path(arg, r.conn.caller.domid, false));
    if (r.tx) XS_TRY(tx_note_touch(*r.tx, r.conn));
    XS_TRY_ASSIGN(node, find_checked(r.conn, r.tx, path, kPermRead));
    reply(r.conn, r.hdr, MsgType::read, node->value);
    return ok();
}

Result<void> Engine::op_write(Request& r) {
    size_t nul = r.payload.find('\0');
    if (nul == std::string_view::npos) return Errno::inval;
    std::string_view value = r.payload.substr(nul + 1);
    XS_TRY_ASSIGN(path, resolve_path(r.payload.substr(0, nul), r.conn.caller.domid, false));
    if (r.tx) XS_TRY(tx_note_touch(*r.tx, r.conn));
    if (const Node* n = view_find(r.tx, path)) {
        if (!(access_for(r.conn.caller, n->perms) & kPermWrite)) return Errno::acces;
        if (!r.conn.caller.privileged &&
            node_size(*n) - n->value.size() + value.size() > m_quotas.node_size)
            return Errno::nospc;
        Node& m = view_modify(r.tx, path);
        m.value.assign(value);
        if (!r.tx) m_tree.touch(m);
        note_change(r.tx, path, m.perms, false);
    } else {
        std::string ancestor;
        XS_TRY(nearest_ancestor_allows(r.conn, r.tx, path, kPermWrite, ancestor));
        XS_TRY(create_path(r.conn, r.tx, path, ancestor, value));
        note_change(r.tx, path, view_find(r.tx, path)->perms, false);
    }
    reply_ok(r.conn, r.hdr);
    return ok();
}

Result<void> Engine::op_mkdir(Request& r) {
    XS_TRY_ASSIGN(arg, one_arg(r.payload));
    XS_TRY_ASSIGN(path, resolve_path(arg, r.conn.caller.domid, false));
    if (r.tx) XS_TRY(tx_note_touch(*r.tx, r.conn));
    if (const Node* n = view_find(r.tx, path)) {
        // §5.2: MKDIR of an existing node is a no-op, but still needs write access.
        if (!(access_for(r.conn.caller, n->perms) & kPermWrite)) return Errno::acces;
    } else {
        std::string ancestor;
        XS_TRY(nearest_ancestor_allows(r.conn, r.tx, path, kPermWrite, ancestor));
        XS_TRY(create_path(r.conn, r.tx, path, ancestor, {}));
        note_change(r.tx, path, view_find(r.tx, path)->perms, false);
    }
    reply_ok(r.conn, r.hdr);
    return ok();
}

Result<void> Engine::op_rm(Request& r) {
    XS_TRY_ASSIGN(arg, one_arg(r.payload));
    XS_TRY_ASSIGN(path, resolve_path(arg, r.conn.caller.domid, false));
    if (path == "/") return Errno::inval;
    if (r.tx) XS_TRY(tx_note_touch(*r.tx, r.conn));
    if (const Node* n = view_find(r.tx, path)) {
        if (!(access_for(r.conn.caller, n->perms) & kPermWrite)) return Errno::acces;
        PermList perms = n->perms;
        remove_subtree(r.tx, path);
        note_change(r.tx, path, perms, true);
    } else {
        // §5.2: removing an absent node is fine if its parent exists, ENOENT otherwise.
        std::string ancestor;
        XS_TRY(nearest_ancestor_allows(r.conn, r.tx, path, kPermWrite, ancestor));
        if (ancestor != parent_of(path)) return Errno::noent;
    }
    reply_ok(r.conn, r.hdr);
    return ok();
}

Result<void> Engine::op_directory(Request& r) {
    XS_TRY_ASSIGN(arg, one_arg(r.payload));
    XS_TRY_ASSIGN(path, resolve_path(arg, r.conn.caller.domid, false));
    if (r.tx) XS_TRY(tx_note_touch(*r.tx, r.conn));
    XS_TRY_ASSIGN(node, find_checked(r.conn, r.tx, path, kPermRead));
    reply(r.conn, r.hdr, MsgType::directory, node->children);
    return ok();
}

// §5.2 DIRECTORY_PART: "<generation>\0" then whole child names from byte `offset` of the
// child list; the chunk that reaches the end carries an extra empty name.
Result<void> Engine::op_directory_part(Request& r) {
    std::string_view rest;
    auto args = split_args(r.payload, &rest);
    if (args.size() != 2 || !rest.empty()) return Errno::inval;
    unsigned long long off;
    if (!parse_uint(args[1], UINT32_MAX, off)) return Errno::inval;
    XS_TRY_ASSIGN(path, resolve_path(args[0], r.conn.caller.domid, false));
    if (r.tx) XS_TRY(tx_note_touch(*r.tx, r.conn));
    XS_TRY_ASSIGN(node, find_checked(r.conn, r.tx, path, kPermRead));
    std::string out = std::to_string(node->generation);
    out.push_back('\0');
    const std::string& ch = node->children;
    size_t pos = std::min<size_t>(off, ch.size());
    if (pos > 0 && pos < ch.size() && ch[pos - 1] != '\0') return Errno::inval;
    while (pos < ch.size()) {
        size_t end = ch.find('\0', pos) + 1;
        if (out.size() + (end - pos) + 1 > kPayloadMax) break;
        out.append(ch, pos, end - pos);
        pos = end;
    }
    if (pos == ch.size()) out.push_back('\0');
    reply(r.conn, r.hdr, MsgType::directory_part, out);
    return ok();
}

static std::string format_perms(const PermList& perms) {
    std::string out;
    for (const Perm& p : perms) {
        append_perm(out, p);
        out.push_back('\0');
    }
    return out;
}

Result<void> Engine::op_get_perms(Request& r) {
    XS_TRY_ASSIGN(arg, one_arg(r.payload));
    XS_TRY_ASSIGN(path, resolve_path(arg, r.conn.caller.domid, true));
    if (is_special(path)) {
        const PermList* sp = special_perms(path);
        if (!sp) return Errno::noent;
        if (!(access_for(r.conn.caller, *sp) & kPermRead)) return Errno::acces;
        reply(r.conn, r.hdr, MsgType::get_perms, format_perms(*sp));
        return ok();
    }
    if (r.tx) XS_TRY(tx_note_touch(*r.tx, r.conn));
    XS_TRY_ASSIGN(node, find_checked(r.conn, r.tx, path, kPermRead));
    reply(r.conn, r.hdr, MsgType::get_perms, format_perms(node->perms));
    return ok();
}

Result<void> Engine::op_set_perms(Request& r) {
    std::string_view rest;
    auto args = split_args(r.payload, &rest);
    if (args.size() < 2 || !rest.empty()) return Errno::inval;
    PermList perms;
    for (size_t i = 1; i < args.size(); ++i) {
        XS_TRY_ASSIGN(p, parse_perm(args[i]));
        perms.push_back(p);
    }
    XS_TRY_ASSIGN(path, resolve_path(args[0], r.conn.caller.domid, true));
    Caller& caller = r.conn.caller;
    if (!caller.privileged && perms.size() > m_quotas.permissions) return Errno::nospc;
    if (is_special(path)) {
        auto it = m_special.find(path);
        if (it == m_special.end()) return Errno::noent;
        if ((access_for(caller, it->second) & (kPermWrite | kPermOwner)) != (kPermWrite | kPermOwner))
            return Errno::acces;
        it->second = std::move(perms);
        reply_ok(r.conn, r.hdr);
        return ok();
    }
    if (r.tx) XS_TRY(tx_note_touch(*r.tx, r.conn));
    // §5.6: only the owner (or a privileged caller) may change permissions, and only a
    // privileged caller may hand the node to another owner.
    XS_TRY_ASSIGN(node, find_checked(r.conn, r.tx, path, kPermWrite | kPermOwner));
    if (!caller.privileged && perms[0].domid != node->owner()) return Errno::perm;
    if (!caller.privileged && node_size(*node) + 8 * perms.size() > m_quotas.node_size + 8 * node->perms.size())
        return Errno::nospc;
    if (r.tx) {
        Node& m = view_modify(r.tx, path);
        if (m.owner() != perms[0].domid) {
            r.tx->owner_delta[m.owner()] -= 1;
            r.tx->owner_delta[perms[0].domid] += 1;
        }
        m.perms = perms;
    } else {
        m_tree.set_perms(path, *m_tree.find(path), perms);
    }
    note_change(r.tx, path, perms, false);
    reply_ok(r.conn, r.hdr);
    return ok();
}

}  // namespace xs
