// Benchmark client for xenstored: request rates with concurrent clients, and the cost of
// introducing domains with the ~40 nodes a toolstack writes for each (pv-abi-devices §5.9).
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <sys/socket.h>
#include <sys/un.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include "engine/engine.hpp"
#include "engine/wire.hpp"

using namespace xs;
using Clock = std::chrono::steady_clock;

namespace {

class Client {
public:
    explicit Client(const std::string& path) {
        m_fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_un a{};
        a.sun_family = AF_UNIX;
        std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
        if (::connect(m_fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
            std::perror("connect");
            std::exit(1);
        }
    }
    ~Client() { ::close(m_fd); }

    // Send a request and wait for its reply; watch events are discarded. Returns the reply
    // type (16 = error) and fills `out`.
    uint32_t call(MsgType t, const std::string& payload, uint32_t tx = 0, std::string* out = nullptr) {
        MsgHeader h{static_cast<uint32_t>(t), ++m_req, tx, static_cast<uint32_t>(payload.size())};
        std::string msg(reinterpret_cast<const char*>(&h), sizeof h);
        msg += payload;
        write_all(msg);
        for (;;) {
            MsgHeader r;
            read_all(&r, sizeof r);
            std::string p(r.len, '\0');
            read_all(p.data(), r.len);
            if (r.type == static_cast<uint32_t>(MsgType::watch_event)) continue;
            if (r.req_id != m_req) continue;
            if (out) *out = std::move(p);
            return r.type;
        }
    }
    // Read and discard whatever arrives (for watchers), until the socket closes.
    void drain() {
        char buf[65536];
        while (::read(m_fd, buf, sizeof buf) > 0) {
        }
    }
    void shutdown() { ::shutdown(m_fd, SHUT_RDWR); }

private:
    void write_all(const std::string& s) {
        size_t off = 0;
        while (off < s.size()) {
            ssize_t n = ::write(m_fd, s.data() + off, s.size() - off);
            if (n <= 0) { std::perror("write"); std::exit(1); }
            off += static_cast<size_t>(n);
        }
    }
    void read_all(void* p, size_t n) {
        auto* c = static_cast<char*>(p);
        while (n) {
            ssize_t k = ::read(m_fd, c, n);
            if (k <= 0) { std::fprintf(stderr, "daemon closed the connection\n"); std::exit(1); }
            c += k;
            n -= static_cast<size_t>(k);
        }
    }
    int m_fd;
    uint32_t m_req = 0;
};

// The same client over an in-process engine: measures the store's own work, no sockets.
class EngineClient {
public:
    explicit EngineClient(Engine& e, ConnConfig cfg = {}) : m_e(e), m_id(e.add_connection(cfg)) {}
    uint32_t call(MsgType t, const std::string& payload, uint32_t tx = 0, std::string* out = nullptr) {
        MsgHeader h{static_cast<uint32_t>(t), ++m_req, tx, static_cast<uint32_t>(payload.size())};
        m_e.handle(m_id, h, payload);
        OutQueue* q = m_e.output(m_id);
        uint32_t type = 0;
        while (q->pending() >= sizeof(MsgHeader)) {
            MsgHeader r;
            std::memcpy(&r, q->buf.data() + q->off, sizeof r);
            if (r.req_id == m_req && r.type != static_cast<uint32_t>(MsgType::watch_event)) {
                type = r.type;
                if (out) out->assign(q->buf, q->off + sizeof r, r.len);
            }
            q->consume(sizeof r + r.len);
        }
        return type;
    }
    // Discard queued events, as a watcher reading its socket would.
    void drain() {
        OutQueue* q = m_e.output(m_id);
        q->consume(q->pending());
    }

private:
    Engine& m_e;
    ConnId m_id;
    uint32_t m_req = 0;
};

std::string z(const std::string& s) { return s + '\0'; }
std::string wr(const std::string& path, const std::string& v) { return path + '\0' + v; }

bool ok(uint32_t type) { return type != static_cast<uint32_t>(MsgType::error); }

// ops: N clients hammering one kind of request for `seconds`.
int bench_ops(const std::string& sock, const std::string& op, int clients, double seconds) {
    {
        Client setup(sock);
        for (int i = 0; i < 20; ++i) setup.call(MsgType::write, wr("/bench/dir/entry-" + std::to_string(i), "x"));
        for (int c = 0; c < clients; ++c) setup.call(MsgType::write, wr("/bench/c" + std::to_string(c) + "/k", "v"));
    }
    std::atomic<bool> stop{false};
    std::atomic<uint64_t> total{0}, conflicts{0};
    std::vector<std::thread> threads;
    for (int c = 0; c < clients; ++c) {
        threads.emplace_back([&, c] {
            Client cl(sock);
            const std::string mine = "/bench/c" + std::to_string(c) + "/k";
            uint64_t n = 0, again = 0;
            while (!stop.load(std::memory_order_relaxed)) {
                if (op == "null") {  // baseline: a request that touches no node
                    cl.call(MsgType::get_domain_path, z("1"));
                } else if (op == "read") {
                    cl.call(MsgType::read, z(mine));
                } else if (op == "write") {
                    cl.call(MsgType::write, wr(mine, std::to_string(n)));
                } else if (op == "directory") {
                    cl.call(MsgType::directory, z("/bench/dir"));
                } else {  // txn: read-modify-write of three nodes, committed
                    std::string id;
                    cl.call(MsgType::transaction_start, z(""), 0, &id);
                    uint32_t tx = static_cast<uint32_t>(std::stoul(id));
                    cl.call(MsgType::read, z(mine), tx);
                    cl.call(MsgType::write, wr(mine, std::to_string(n)), tx);
                    cl.call(MsgType::write, wr(mine + "-a", "1"), tx);
                    if (!ok(cl.call(MsgType::transaction_end, z("T"), tx))) ++again;
                }
                ++n;
            }
            total += n;
            conflicts += again;
        });
    }
    auto t0 = Clock::now();
    std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
    stop = true;
    for (auto& t : threads) t.join();
    double dt = std::chrono::duration<double>(Clock::now() - t0).count();
    std::printf("RESULT ops op=%s clients=%d count=%llu seconds=%.3f rate=%.0f conflicts=%llu\n", op.c_str(),
                clients, static_cast<unsigned long long>(total.load()), dt, static_cast<double>(total) / dt,
                static_cast<unsigned long long>(conflicts.load()));
    return 0;
}

// The toolstack's part of creating one domain: one transaction with the tree of §5.9
// (about 40 nodes and their permissions), then XS_INTRODUCE.
template <typename C>
int create_domain(C& ts, unsigned d) {
    const std::string D = std::to_string(d);
    const std::string home = "/local/domain/" + D;
    const std::string vm = "/vm/00000000-0000-0000-0000-" + std::string(12 - D.size(), '0') + D;
    const std::string be = "/local/domain/0/backend/vbd/" + D + "/51712";
    for (int attempt = 0; attempt < 100; ++attempt) {
        std::string id;
        ts.call(MsgType::transaction_start, z(""), 0, &id);
        uint32_t tx = static_cast<uint32_t>(std::stoul(id));
        auto w = [&](const std::string& p, const std::string& v) { ts.call(MsgType::write, wr(p, v), tx); };
        auto perms = [&](const std::string& p, std::initializer_list<std::string> list) {
            std::string payload = z(p);
            for (auto& e : list) payload += z(e);
            ts.call(MsgType::set_perms, payload, tx);
        };
        w(vm + "/uuid", vm.substr(4));
        w(vm + "/name", "guest" + D);
        w(vm + "/start_time", "1700000000.00");
        ts.call(MsgType::mkdir, z(home), tx);
        perms(home, {"n0", "r" + D});
        w(home + "/vm", vm);
        w(home + "/name", "guest" + D);
        w(home + "/domid", D);
        w(home + "/cpu/0/availability", "online");
        w(home + "/cpu/1/availability", "online");
        w(home + "/memory/static-max", "262144");
        w(home + "/memory/target", "262144");
        w(home + "/memory/videoram", "-1");
        w(home + "/store/port", "1");
        w(home + "/store/ring-ref", "123456");
        w(home + "/console/port", "2");
        w(home + "/console/ring-ref", "123457");
        w(home + "/console/type", "xenconsoled");
        w(home + "/console/output", "pty");
        w(home + "/control/shutdown", "");
        w(home + "/control/feature-poweroff", "");
        w(home + "/control/feature-reboot", "");
        w(home + "/control/feature-suspend", "");
        w(home + "/control/sysrq", "");
        w(home + "/control/platform-feature-multiprocessor-suspend", "1");
        w(home + "/control/platform-feature-xs_reset_watches", "1");
        for (const char* k : {"/control/shutdown", "/control/feature-poweroff", "/control/feature-reboot",
                              "/control/feature-suspend", "/control/sysrq"})
            perms(home + k, {"n" + D});
        w(home + "/device/suspend/event-channel", "");
        perms(home + "/device/suspend/event-channel", {"n" + D});
        for (const char* k : {"/data", "/drivers", "/feature", "/attr", "/error"}) {
            ts.call(MsgType::mkdir, z(home + k), tx);
            perms(home + k, {"n" + D});
        }
        const std::string fe = home + "/device/vbd/51712";
        w(fe + "/backend", be);
        w(fe + "/backend-id", "0");
        w(fe + "/state", "1");
        w(fe + "/virtual-device", "51712");
        w(fe + "/device-type", "disk");
        perms(fe, {"n" + D, "r0"});
        w(be + "/frontend", fe);
        w(be + "/frontend-id", D);
        w(be + "/online", "1");
        w(be + "/state", "1");
        w(be + "/params", "/images/guest" + D + ".img");
        w(be + "/type", "file");
        w(be + "/mode", "w");
        w(be + "/dev", "xvda");
        w(be + "/removable", "0");
        w(be + "/bootable", "1");
        perms(be, {"n0", "r" + D});
        if (ok(ts.call(MsgType::transaction_end, z("T"), tx))) {
            std::string intro = z(D) + z("123456") + z("1");
            if (!ok(ts.call(MsgType::introduce, intro))) {
                std::fprintf(stderr, "INTRODUCE %u failed\n", d);
                return 1;
            }
            return 0;
        }
    }
    std::fprintf(stderr, "domain %u: transaction kept conflicting\n", d);
    return 1;
}

int bench_domains(const std::string& sock, unsigned count) {
    // Watchers as in a real dom0: a backend watching its tree, a toolstack on
    // @introduceDomain, a console daemon on /local/domain.
    std::vector<std::unique_ptr<Client>> watchers;
    std::vector<std::thread> readers;
    const char* watches[][2] = {{"/local/domain/0/backend/vbd", "blkback"},
                                {"@introduceDomain", "toolstack"},
                                {"/local/domain", "console"}};
    for (auto& w : watches) {
        watchers.push_back(std::make_unique<Client>(sock));
        watchers.back()->call(MsgType::watch, z(w[0]) + z(w[1]));
    }
    for (auto& w : watchers) readers.emplace_back([c = w.get()] { c->drain(); });
    Client ts(sock);
    ts.call(MsgType::write, wr("/local/domain/0/name", "Domain-0"));
    std::vector<double> per;
    auto t0 = Clock::now();
    for (unsigned d = 1; d <= count; ++d) {
        auto a = Clock::now();
        if (create_domain(ts, d)) return 1;
        per.push_back(std::chrono::duration<double>(Clock::now() - a).count());
    }
    double total = std::chrono::duration<double>(Clock::now() - t0).count();
    size_t tenth = std::max<size_t>(1, per.size() / 10);
    double first = 0, last = 0;
    for (size_t i = 0; i < tenth; ++i) {
        first += per[i];
        last += per[per.size() - 1 - i];
    }
    std::printf("RESULT domains count=%u seconds=%.4f per_domain_us=%.1f first10pct_us=%.1f last10pct_us=%.1f\n",
                count, total, total / count * 1e6, first / tenth * 1e6, last / tenth * 1e6);
    for (auto& w : watchers) w->shutdown();
    for (auto& r : readers) r.join();
    return 0;
}

}  // namespace

// engine-domains: the same domain sequence straight into the engine (no I/O), with the same
// three watchers, so the per-domain cost of the store itself can be seen against N.
int bench_engine_domains(unsigned count) {
    Engine engine;
    std::vector<std::unique_ptr<EngineClient>> watchers;
    for (const char* w : {"/local/domain/0/backend/vbd", "@introduceDomain", "/local/domain"}) {
        watchers.push_back(std::make_unique<EngineClient>(engine));
        watchers.back()->call(MsgType::watch, z(w) + z("t"));
    }
    EngineClient ts(engine);
    std::vector<double> per;
    std::vector<ConnId> ready;
    auto t0 = Clock::now();
    for (unsigned d = 1; d <= count; ++d) {
        auto a = Clock::now();
        if (create_domain(ts, d)) return 1;
        for (auto& w : watchers) w->drain();
        ready.clear();
        engine.take_ready(ready);
        per.push_back(std::chrono::duration<double>(Clock::now() - a).count());
    }
    double total = std::chrono::duration<double>(Clock::now() - t0).count();
    size_t tenth = std::max<size_t>(1, per.size() / 10);
    double first = 0, last = 0;
    for (size_t i = 0; i < tenth; ++i) {
        first += per[i];
        last += per[per.size() - 1 - i];
    }
    std::printf("RESULT engine-domains count=%u seconds=%.4f per_domain_us=%.1f first10pct_us=%.1f last10pct_us=%.1f nodes=%zu\n",
                count, total, total / count * 1e6, first / tenth * 1e6, last / tenth * 1e6, engine.tree().size());
    return 0;
}

int main(int argc, char** argv) {
    if (argc == 3 && std::string(argv[1]) == "engine-domains")
        return bench_engine_domains(static_cast<unsigned>(std::atoi(argv[2])));
    if (argc < 3) {
        std::fprintf(stderr, "usage: xenstored_bench SOCKET ops OP CLIENTS SECONDS | SOCKET domains N\n");
        return 2;
    }
    std::string sock = argv[1], mode = argv[2];
    if (mode == "ops" && argc == 6) return bench_ops(sock, argv[3], std::atoi(argv[4]), std::atof(argv[5]));
    if (mode == "domains" && argc == 4) return bench_domains(sock, static_cast<unsigned>(std::atoi(argv[3])));
    std::fprintf(stderr, "bad arguments\n");
    return 2;
}
