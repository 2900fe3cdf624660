// Unix-socket transport.
#include "socket.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

namespace xs {

SocketConnection::~SocketConnection() {
    if (m_fd >= 0) ::close(m_fd);
}

bool SocketConnection::receive(Engine& engine) {
    for (int round = 0; round < 4; ++round) {
        constexpr size_t chunk = 64 * 1024;
        char* dst = m_in.prepare(chunk);
        ssize_t n = ::recv(m_fd, dst, chunk, MSG_DONTWAIT);
        if (n < 0) {
            return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
        }
        m_in.commit(static_cast<size_t>(n));
        if (n == 0) return false;  // peer closed
        if (!feed(engine, m_in)) return false;
        if (static_cast<size_t>(n) < chunk) break;
    }
    return true;
}

bool SocketConnection::send(Engine& engine) {
    OutQueue* q = engine.output(m_id);
    if (!q) return false;
    while (q->pending() > 0) {
        ssize_t n = ::send(m_fd, q->buf.data() + q->off, q->pending(), MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                m_blocked = true;
                return true;
            }
            return false;
        }
        q->consume(static_cast<size_t>(n));
    }
    m_blocked = false;
    return true;
}

int listen_unix(const std::string& path, unsigned mode) {
    sockaddr_un addr{};
    const std::string tmp = path + ".new";
    if (tmp.size() >= sizeof addr.sun_path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return -1;
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, tmp.c_str(), tmp.size() + 1);
    ::unlink(tmp.c_str());
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::chmod(tmp.c_str(), mode) != 0 || ::listen(fd, 128) != 0 ||
        ::rename(tmp.c_str(), path.c_str()) != 0) {
        int saved = errno;
        ::close(fd);
        ::unlink(tmp.c_str());
        errno = saved;
        return -1;
    }
    return fd;
}

}  // namespace xs
