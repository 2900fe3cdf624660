// Unix-socket transport: the listening sockets under the run directory and one connection
// per accepted client (how libxenstore and the toolstack talk to the daemon).
#pragma once

#include <string>

#include "connection.hpp"

namespace xs {

class SocketConnection final : public Connection {
public:
    SocketConnection(ConnId id, int fd) : Connection(id), m_fd(fd) {}
    ~SocketConnection() override;

    int fd() const { return m_fd; }
    bool receive(Engine& engine) override;
    bool send(Engine& engine) override;
    const char* kind() const override { return "socket"; }
    int socket_fd() const override { return m_fd; }
    // Output is waiting because the peer is not reading fast enough.
    bool blocked() const { return m_blocked; }

private:
    int m_fd;
    bool m_blocked = false;
    InputBuffer m_in;
};

// Create a listening Unix socket at `path` (bound under a temporary name and renamed into
// place, so that a client that sees the file can connect). Returns the fd or -1 (errno set).
int listen_unix(const std::string& path, unsigned mode);

}  // namespace xs
