// The xenstore engine: connections, request dispatch, transactions, watches, domains and
// quotas. It performs no I/O: transports feed it whole messages and drain its output queues.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "perms.hpp"
#include "result.hpp"
#include "tree.hpp"
#include "wire.hpp"

namespace xs {

using ConnId = uint32_t;

// Per-domain limits (pv-abi-devices §5.3 gives the reference daemon's defaults). Privileged
// connections are not subject to them, as in the reference daemon.
struct Quotas {
    uint32_t nodes = 1000;            // nodes owned by one domain
    uint32_t watches = 128;           // watches per connection
    uint32_t transactions = 10;       // open transactions per connection
    uint32_t transaction_nodes = 1024;  // nodes touched by one transaction
    uint32_t permissions = 5;         // entries in one node's permission list
    uint32_t node_size = 2048;        // value + child names + permissions, in bytes
    // Unsent output an unprivileged connection may accumulate before watch events to it
    // are dropped (a guest that stops reading its ring must not eat dom0's memory).
    uint32_t output_bytes = 1 << 20;
};

struct ConnConfig {
    uint32_t domid = 0;
    bool privileged = true;
    bool can_write = true;
};

// Bytes waiting to be sent on a connection. Transports consume from `off`.
struct OutQueue {
    std::string buf;
    size_t off = 0;
    size_t pending() const { return buf.size() - off; }
    void consume(size_t n) {
        off += n;
        if (off == buf.size()) {
            buf.clear();
            off = 0;
        } else if (off > (1u << 16) && off * 2 > buf.size()) {
            buf.erase(0, off);
            off = 0;
        }
    }
};

class Engine;

// How the engine reaches guests: the daemon maps rings and binds event channels, tests use
// pages in ordinary memory. Without hooks, introduced domains are bookkeeping only.
class DomainHooks {
public:
    virtual ~DomainHooks() = default;
    // Attach (or, when `reintroduce`, re-attach) the ring of `domid`; returns the connection
    // created for it with Engine::add_connection, if any.
    virtual Result<std::optional<ConnId>> attach(Engine& engine, uint32_t domid, int64_t gfn,
                                                 uint32_t port, bool reintroduce) = 0;
    // The engine has forgotten `conn` (domain released); unmap and unbind.
    virtual void detach(uint32_t domid, ConnId conn) = 0;
};

using TraceFn = std::function<void(ConnId, bool incoming, const MsgHeader&, std::string_view)>;
using LogFn = std::function<void(std::string_view)>;

class Engine {
public:
    explicit Engine(Quotas quotas = {});
    ~Engine();
    Engine(const Engine&) = delete;
    Engine& operator=(const Engine&) = delete;

    ConnId add_connection(const ConnConfig& cfg);
    // Forget a connection: its transactions are aborted and its watches removed.
    void remove_connection(ConnId id);
    bool has_connection(ConnId id) const { return m_conns.count(id) != 0; }
    // Drop a connection's watches, transactions and queued output (ring reconnection, §5.7).
    void reset_connection(ConnId id);

    // Process one complete request (header.len == payload.size() <= kPayloadMax).
    void handle(ConnId id, const MsgHeader& hdr, std::string_view payload);

    OutQueue* output(ConnId id);
    // Connections that gained output since the last call (each listed once).
    void take_ready(std::vector<ConnId>& out);

    // A domain died or was destroyed (the daemon learns this from VIRQ_DOM_EXC): same effect
    // as XS_RELEASE.
    void domain_gone(uint32_t domid);
    bool domain_introduced(uint32_t domid) const;
    // A domain shut down or crashed but still exists: tell @releaseDomain watchers (§5.8).
    void domain_shutdown(uint32_t domid) { fire_special("@releaseDomain", domid); }
    std::vector<uint32_t> introduced_domains() const;

    void set_hooks(DomainHooks* hooks) { m_hooks = hooks; }
    void set_trace(TraceFn fn) { m_trace = std::move(fn); }
    void set_log(LogFn fn) { m_log = std::move(fn); }
    Quotas& quotas() { return m_quotas; }

    const Tree& tree() const { return m_tree; }
    // Structural check of the tree and of every index the engine keeps.
    bool check(std::string& why) const;
    size_t watch_count() const { return m_watch_index.size(); }
    size_t transaction_count() const;

private:
    struct Watch;
    struct Transaction;
    struct Conn;
    struct Domain;
    struct TxNode {
        Node node;
        bool deleted = false;
    };
    struct Change {
        std::string path;
        PermList perms;
        bool removal = false;
    };
    struct Request {
        Conn& conn;
        const MsgHeader& hdr;
        std::string_view payload;
        Transaction* tx;
    };

    // Replies.
    void reply(Conn& c, const MsgHeader& hdr, MsgType type, std::string_view payload);
    void reply_ok(Conn& c, const MsgHeader& hdr) { reply(c, hdr, static_cast<MsgType>(hdr.type), {"OK", 3}); }
    void reply_error(Conn& c, const MsgHeader& hdr, Errno e);
    void queue(Conn& c, const MsgHeader& hdr, std::string_view payload);
    void log(std::string_view msg) {
        if (m_log) m_log(msg);
    }

    Result<void> dispatch(Request& r);

    // Node operations (node_ops.cpp).
    Result<void> op_read(Request& r);
    Result<void> op_write(Request& r);
    Result<void> op_mkdir(Request& r);
    Result<void> op_rm(Request& r);
    Result<void> op_directory(Request& r);
    Result<void> op_directory_part(Request& r);
    Result<void> op_get_perms(Request& r);
    Result<void> op_set_perms(Request& r);

    // Views through an optional transaction.
    const Node* view_find(Transaction* tx, std::string_view path);
    Result<const Node*> find_checked(Conn& c, Transaction* tx, std::string_view path,
                                     uint8_t want);
    Result<void> nearest_ancestor_allows(Conn& c, Transaction* tx, std::string_view path,
                                         uint8_t want, std::string& ancestor);
    Node& view_modify(Transaction* tx, std::string_view path);
    Result<void> create_path(Conn& c, Transaction* tx, const std::string& path,
                             const std::string& ancestor, std::string_view value);
    void remove_subtree(Transaction* tx, const std::string& path);
    Result<void> check_node_size(Conn& c, const Node& n, size_t extra);
    void note_change(Transaction* tx, std::string path, const PermList& perms, bool removal);

    // Transactions (txn_ops.cpp).
    Result<void> op_transaction_start(Request& r);
    Result<void> op_transaction_end(Request& r);
    Result<void> commit(Transaction& tx);
    Result<void> tx_note_touch(Transaction& tx, Conn& c);
    void drop_transaction(Conn& c, uint32_t id);

    // Watches (watch_ops.cpp).
    Result<void> op_watch(Request& r);
    Result<void> op_unwatch(Request& r);
    Result<void> op_reset_watches(Request& r);
    void remove_watch(Conn& c, Watch* w);
    void fire(std::string_view path, const PermList& perms, bool removal);
    void fire_special(std::string_view name, uint32_t domid);
    void send_event(Watch& w, std::string_view path);

    // Domains, control and quotas (domain_ops.cpp).
    Result<void> op_introduce(Request& r);
    Result<void> op_release(Request& r);
    Result<void> op_get_domain_path(Request& r);
    Result<void> op_is_domain_introduced(Request& r);
    Result<void> op_resume(Request& r);
    Result<void> op_set_target(Request& r);
    Result<void> op_control(Request& r);
    Result<void> op_get_feature(Request& r);
    Result<void> op_set_feature(Request& r);
    Result<void> op_get_quota(Request& r);
    Result<void> op_set_quota(Request& r);
    void release_domain(uint32_t domid);
    uint32_t* quota_by_name(std::string_view name);
    const PermList* special_perms(std::string_view name) const;

    Conn* conn(ConnId id);
    void mark_ready(Conn& c);

    Quotas m_quotas;
    Tree m_tree;
    std::unordered_map<ConnId, std::unique_ptr<Conn>> m_conns;
    ConnId m_next_conn = 1;
    uint32_t m_next_tx = 1;
    std::vector<ConnId> m_ready;
    // Watches by absolute (or special) path; ordered so a removed subtree finds the watches
    // below it with one range scan.
    std::multimap<std::string, Watch*, std::less<>> m_watch_index;
    std::unordered_map<uint32_t, std::unique_ptr<Domain>> m_domains;
    std::unordered_map<uint32_t, uint32_t> m_features;  // XS_SET_FEATURE, before INTRODUCE
    std::map<std::string, PermList, std::less<>> m_special;  // @introduceDomain, @releaseDomain
    DomainHooks* m_hooks = nullptr;
    TraceFn m_trace;
    LogFn m_log;
};

// Split a payload into NUL-terminated strings; `rest` receives bytes after the last NUL.
std::vector<std::string_view> split_args(std::string_view payload, std::string_view* rest = nullptr);

}  // namespace xs
