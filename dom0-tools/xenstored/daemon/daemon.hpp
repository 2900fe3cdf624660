// The daemon: one epoll loop over the listening sockets, client sockets and the event
// channel device, feeding the engine and flushing its output.
#pragma once

#include <cstdio>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "../engine/engine.hpp"
#include "../transport/ring.hpp"
#include "../transport/socket.hpp"
#include "../transport/xen.hpp"
#include "options.hpp"

namespace xs {

class Daemon final : public DomainHooks {
public:
    explicit Daemon(const Options& opts);
    ~Daemon() override;

    // Create sockets and (unless -D) attach to Xen. False with a message on failure.
    bool setup(std::string& err);
    // In the child after fork(): a signalfd only wakes epoll for the process that
    // registered it, so make a new one.
    void after_fork();
    // Serve until SIGTERM/SIGINT. Returns the exit status.
    int run();

    Result<std::optional<ConnId>> attach(Engine& engine, uint32_t domid, int64_t gfn,
                                         uint32_t port, bool reintroduce) override;
    void detach(uint32_t domid, ConnId conn) override;

private:
    struct Listener {
        int fd;
        ConnConfig cfg;
        std::string path;
    };
    struct Ring {
        uint32_t domid;
        uint32_t local_port;
        RingInterface* page;
        bool own_page;  // dom0's ring comes from xsd_kva, not the mapper
        std::unique_ptr<RingConnection> conn;
    };

    void log(const std::string& msg);
    void accept_clients(const Listener& l);
    void drop(ConnId id);
    void service_events();
    void check_domains();
    void flush();
    void trace(ConnId id, bool in, const MsgHeader& h, std::string_view payload);
    void watch_fd(int fd, uint32_t events, bool add);
    void open_signal_fd();

    Options m_opts;
    Engine m_engine;
    int m_epoll = -1;
    int m_signal_fd = -1;
    std::vector<Listener> m_listeners;
    std::unordered_map<int, std::unique_ptr<SocketConnection>> m_sockets;  // by fd
    std::unordered_map<ConnId, Connection*> m_by_id;
    std::unordered_map<uint32_t, Ring> m_rings;  // by local event channel port
    std::unique_ptr<EvtchnDevice> m_evtchn;
    std::unique_ptr<GuestPageMapper> m_mapper;
    std::unique_ptr<DomainInfo> m_dominfo;
    int64_t m_virq_port = -1;
    FILE* m_trace = nullptr;
    std::vector<ConnId> m_ready;
};

}  // namespace xs
