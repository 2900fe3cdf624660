// Transactions: TRANSACTION_START / TRANSACTION_END and optimistic commit (pv-abi-devices §5.4).
#include "engine_internal.hpp"

namespace xs {

Result<void> Engine::op_transaction_start(Request& r) {
    // Transactions do not nest.
    if (r.hdr.tx_id != 0) return Errno::busy;
    if (!r.conn.caller.privileged && r.conn.txns.size() >= m_quotas.transactions)
        return Errno::nospc;
    uint32_t id;
    do {
        id = m_next_tx++;
    } while (id == 0 || r.conn.txns.count(id));
    auto tx = std::make_unique<Transaction>();
    tx->id = id;
    r.conn.txns.emplace(id, std::move(tx));
    std::string out = std::to_string(id);
    out.push_back('\0');
    reply(r.conn, r.hdr, MsgType::transaction_start, out);
    return ok();
}

Result<void> Engine::op_transaction_end(Request& r) {
    if (!r.tx) return Errno::noent;
    std::string_view arg = r.payload;
    if (!arg.empty() && arg.back() == '\0') arg.remove_suffix(1);
    if (arg != "T" && arg != "F") return Errno::inval;
    Result<void> res = ok();
    if (arg == "T") res = commit(*r.tx);
    drop_transaction(r.conn, r.hdr.tx_id);
    if (!res) return res;
    reply_ok(r.conn, r.hdr);
    return ok();
}

void Engine::drop_transaction(Conn& c, uint32_t id) { c.txns.erase(id); }

Result<void> Engine::commit(Transaction& tx) {
    // Conflict: something this transaction looked at changed since it looked (§5.4).
    for (const auto& [path, gen] : tx.observed) {
        const Node* n = m_tree.find(path);
        if ((n ? n->generation : 0) != gen) return Errno::again;
    }
    for (auto& [path, tn] : tx.nodes) {
        if (tn.deleted)
            m_tree.commit_erase(path);
        else
            m_tree.commit_put(path, std::move(tn.node));
    }
    // Watches fire only on a successful commit.
    for (const Change& ch : tx.changes) fire(ch.path, ch.perms, ch.removal);
    return ok();
}

}  // namespace xs
