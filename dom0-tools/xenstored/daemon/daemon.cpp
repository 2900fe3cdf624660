// The xenstored event loop and the Xen side of domain introduction.
#include "daemon.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

namespace xs {

namespace {
// epoll user data: small tags for the fixed fds, fds themselves for sockets.
constexpr uint64_t kTagSignal = 1ull << 40;
constexpr uint64_t kTagEvtchn = 2ull << 40;
constexpr uint64_t kTagListener = 3ull << 40;
constexpr uint64_t kTagMask = 0xffull << 40;
}  // namespace

Daemon::Daemon(const Options& opts) : m_opts(opts), m_engine(opts.quotas) {
    m_engine.set_log([this](std::string_view msg) { log(std::string(msg)); });
}

Daemon::~Daemon() {
    for (auto& l : m_listeners) {
        ::close(l.fd);
        ::unlink(l.path.c_str());
    }
    m_sockets.clear();
    for (auto& [port, r] : m_rings) {
        if (m_evtchn) m_evtchn->unbind(port);
        if (!r.own_page && m_mapper) m_mapper->unmap(r.page);
    }
    if (m_trace) std::fclose(m_trace);
    if (m_epoll >= 0) ::close(m_epoll);
    if (m_signal_fd >= 0) ::close(m_signal_fd);
}

void Daemon::log(const std::string& msg) {
    if (m_opts.verbose) std::fprintf(stderr, "xenstored: %s\n", msg.c_str());
    if (m_trace) std::fprintf(m_trace, "LOG %s\n", msg.c_str());
}

void Daemon::watch_fd(int fd, uint32_t events, bool add) {
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 = static_cast<uint64_t>(fd);
    ::epoll_ctl(m_epoll, add ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, fd, &ev);
}

// -T: one line per message, payload NULs shown as spaces.
void Daemon::trace(ConnId id, bool in, const MsgHeader& h, std::string_view payload) {
    std::string text(payload.substr(0, 256));
    for (char& ch : text)
        if (ch == '\0') ch = ' ';
        else if (static_cast<unsigned char>(ch) < 32 || static_cast<unsigned char>(ch) > 126) ch = '.';
    std::fprintf(m_trace, "%s %u %s (req %u tx %u len %u) %s\n", in ? "IN " : "OUT", id,
                 std::string(msg_type_name(h.type)).c_str(), h.req_id, h.tx_id, h.len, text.c_str());
    std::fflush(m_trace);
}

void Daemon::open_signal_fd() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigprocmask(SIG_BLOCK, &set, nullptr);
    if (m_signal_fd >= 0) {
        ::epoll_ctl(m_epoll, EPOLL_CTL_DEL, m_signal_fd, nullptr);
        ::close(m_signal_fd);
    }
    m_signal_fd = ::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = kTagSignal;
    ::epoll_ctl(m_epoll, EPOLL_CTL_ADD, m_signal_fd, &ev);
}

void Daemon::after_fork() { open_signal_fd(); }

bool Daemon::setup(std::string& err) {
    if (!m_opts.trace_file.empty()) {
        m_trace = std::fopen(m_opts.trace_file.c_str(), "a");
        if (!m_trace) return err = "cannot open trace file " + m_opts.trace_file, false;
        m_engine.set_trace([this](ConnId id, bool in, const MsgHeader& h, std::string_view p) {
            trace(id, in, h, p);
        });
    }
    m_epoll = ::epoll_create1(EPOLL_CLOEXEC);
    std::signal(SIGPIPE, SIG_IGN);
    open_signal_fd();

    ::mkdir(m_opts.rundir.c_str(), 0755);
    struct Want {
        std::string path;
        unsigned mode;
        ConnConfig cfg;
    };
    std::vector<Want> wants = {
        {m_opts.socket_path, 0600, ConnConfig{0, true, true}},
        {m_opts.rundir + "/socket_ro", 0660, ConnConfig{0, true, false}},
    };
    for (const auto& [domid, path] : m_opts.domain_sockets)
        wants.push_back({path, 0600, ConnConfig{domid, false, true}});
    for (const Want& w : wants) {
        int fd = listen_unix(w.path, w.mode);
        if (fd < 0) return err = "cannot listen on " + w.path + ": " + std::strerror(errno), false;
        m_listeners.push_back(Listener{fd, w.cfg, w.path});
        epoll_event lev{};
        lev.events = EPOLLIN;
        lev.data.u64 = kTagListener | (m_listeners.size() - 1);
        ::epoll_ctl(m_epoll, EPOLL_CTL_ADD, fd, &lev);
    }

    if (m_opts.no_domain_init) {
        log("no domain init: serving sockets only");
        return true;
    }
    std::string why;
    m_evtchn = EvtchnDevice::open(why);
    if (!m_evtchn) {
        // On a build host there is no Xen: keep serving the sockets, INTRODUCE keeps books only.
        log("no event channel device (" + why + "); introduced domains get no ring");
        return true;
    }
    m_mapper = std::make_unique<GuestPageMapper>();
    m_dominfo = std::make_unique<DomainInfo>();
    m_engine.set_hooks(this);
    epoll_event eev{};
    eev.events = EPOLLIN;
    eev.data.u64 = kTagEvtchn;
    ::epoll_ctl(m_epoll, EPOLL_CTL_ADD, m_evtchn->fd(), &eev);
    m_virq_port = m_evtchn->bind_virq(kVirqDomExc);
    if (m_virq_port < 0) log(std::string("cannot bind VIRQ_DOM_EXC: ") + std::strerror(errno));

    // Dom0's own ring (dom0-devices §4.4): bind its port and kick the kernel's xenbus.
    uint32_t port = 0;
    RingInterface* page = map_dom0_ring(port, why);
    if (!page) {
        log("dom0 ring unavailable: " + why);
        return true;
    }
    int64_t local = m_evtchn->bind_interdomain(0, port);
    if (local < 0) {
        log(std::string("cannot bind dom0 xenstore port: ") + std::strerror(errno));
        return true;
    }
    ConnId id = m_engine.add_connection(ConnConfig{0, true, true});
    auto lp = static_cast<uint32_t>(local);
    auto rc = std::make_unique<RingConnection>(id, page, [this, lp] { m_evtchn->notify(lp); });
    m_by_id[id] = rc.get();
    m_rings.emplace(lp, Ring{0, lp, page, true, std::move(rc)});
    m_evtchn->notify(lp);
    return true;
}

Result<std::optional<ConnId>> Daemon::attach(Engine& engine, uint32_t domid, int64_t gfn,
                                             uint32_t port, bool reintroduce) {
    if (reintroduce) {
        for (auto it = m_rings.begin(); it != m_rings.end(); ++it) {
            if (it->second.domid != domid || it->second.own_page) continue;
            int64_t local = m_evtchn->bind_interdomain(domid, port);
            if (local < 0) return Errno::inval;
            Ring r = std::move(it->second);
            m_evtchn->unbind(it->first);
            m_rings.erase(it);
            r.local_port = static_cast<uint32_t>(local);
            ConnId id = r.conn->id();
            auto lp = r.local_port;
            r.conn = std::make_unique<RingConnection>(id, r.page, [this, lp] { m_evtchn->notify(lp); });
            m_by_id[id] = r.conn.get();
            m_rings.emplace(lp, std::move(r));
            m_evtchn->notify(lp);
            return std::optional<ConnId>(id);
        }
    }
    std::string why;
    RingInterface* page = m_mapper->map(domid, gfn, why);
    if (!page) {
        log("cannot map the store page of domain " + std::to_string(domid) + ": " + why);
        return Errno::inval;
    }
    int64_t local = m_evtchn->bind_interdomain(domid, port);
    if (local < 0) {
        log("cannot bind event channel of domain " + std::to_string(domid) + ": " + std::strerror(errno));
        m_mapper->unmap(page);
        return Errno::inval;
    }
    ConnId id = engine.add_connection(ConnConfig{domid, false, true});
    auto lp = static_cast<uint32_t>(local);
    auto rc = std::make_unique<RingConnection>(id, page, [this, lp] { m_evtchn->notify(lp); });
    m_by_id[id] = rc.get();
    m_rings.emplace(lp, Ring{domid, lp, page, false, std::move(rc)});
    m_evtchn->notify(lp);
    return std::optional<ConnId>(id);
}

void Daemon::detach(uint32_t, ConnId conn) {
    m_by_id.erase(conn);
    for (auto it = m_rings.begin(); it != m_rings.end(); ++it) {
        if (it->second.conn->id() != conn) continue;
        m_evtchn->unbind(it->first);
        if (!it->second.own_page) m_mapper->unmap(it->second.page);
        m_rings.erase(it);
        return;
    }
}

void Daemon::accept_clients(const Listener& l) {
    for (;;) {
        int fd = ::accept4(l.fd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd < 0) return;
        ConnId id = m_engine.add_connection(l.cfg);
        auto sc = std::make_unique<SocketConnection>(id, fd);
        m_by_id[id] = sc.get();
        m_sockets[fd] = std::move(sc);
        watch_fd(fd, EPOLLIN, true);
    }
}

void Daemon::drop(ConnId id) {
    auto it = m_by_id.find(id);
    if (it == m_by_id.end()) return;
    Connection* c = it->second;
    m_by_id.erase(it);
    m_engine.remove_connection(id);
    if (int fd = c->socket_fd(); fd >= 0) {
        ::epoll_ctl(m_epoll, EPOLL_CTL_DEL, fd, nullptr);
        m_sockets.erase(fd);
    } else {
        // A guest that broke its ring: keep the domain, stop listening to it (the error
        // field tells the guest why).
        log("dropping a misbehaving ring connection");
        for (auto rit = m_rings.begin(); rit != m_rings.end(); ++rit)
            if (rit->second.conn.get() == c) {
                m_evtchn->unbind(rit->first);
                if (!rit->second.own_page) m_mapper->unmap(rit->second.page);
                m_rings.erase(rit);
                break;
            }
    }
}

void Daemon::check_domains() {
    if (!m_dominfo) return;
    for (uint32_t domid : m_engine.introduced_domains()) {
        switch (m_dominfo->query(domid)) {
        case DomainState::gone: m_engine.domain_gone(domid); break;
        case DomainState::shutdown: m_engine.domain_shutdown(domid); break;
        default: break;
        }
    }
}

void Daemon::service_events() {
    for (;;) {
        int64_t port = m_evtchn->next_pending();
        if (port < 0) return;
        auto p = static_cast<uint32_t>(port);
        if (port == m_virq_port) {
            check_domains();
        } else if (auto it = m_rings.find(p); it != m_rings.end()) {
            ConnId id = it->second.conn->id();
            if (!it->second.conn->service(m_engine)) drop(id);
        }
        m_evtchn->unmask(p);
    }
}

void Daemon::flush() {
    m_ready.clear();
    m_engine.take_ready(m_ready);
    for (ConnId id : m_ready) {
        auto it = m_by_id.find(id);
        if (it == m_by_id.end()) continue;
        Connection* c = it->second;
        if (!c->send(m_engine)) {
            drop(id);
            continue;
        }
        if (int fd = c->socket_fd(); fd >= 0)
            if (m_sockets[fd]->blocked()) watch_fd(fd, EPOLLIN | EPOLLOUT, false);
    }
}

int Daemon::run() {
    epoll_event events[64];
    for (;;) {
        int n = ::epoll_wait(m_epoll, events, 64, -1);
        if (n < 0) {
            if (errno == EINTR) continue;
            log(std::string("epoll_wait: ") + std::strerror(errno));
            return 1;
        }
        for (int i = 0; i < n; ++i) {
            uint64_t tag = events[i].data.u64;
            if ((tag & kTagMask) == kTagSignal) {
                log("terminating on signal");
                return 0;
            }
            if ((tag & kTagMask) == kTagEvtchn) {
                service_events();
                continue;
            }
            if ((tag & kTagMask) == kTagListener) {
                accept_clients(m_listeners[tag & 0xffff]);
                continue;
            }
            auto it = m_sockets.find(static_cast<int>(tag));
            if (it == m_sockets.end()) continue;
            SocketConnection* sc = it->second.get();
            ConnId id = sc->id();
            if (events[i].events & EPOLLOUT) {
                if (!sc->send(m_engine)) {
                    drop(id);
                    continue;
                }
                if (!sc->blocked()) watch_fd(sc->fd(), EPOLLIN, false);
            }
            if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
                // A client that does not read its replies is not served until it does.
                if (sc->blocked()) continue;
                if (!sc->receive(m_engine)) drop(id);
            }
        }
        flush();
    }
}

}  // namespace xs
