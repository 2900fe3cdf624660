// The one connection abstraction every transport implements: bytes in, messages to the
// engine, the engine's output back out.
#pragma once

#include "../engine/codec.hpp"
#include "../engine/engine.hpp"

namespace xs {

class Connection {
public:
    explicit Connection(ConnId id) : m_id(id) {}
    virtual ~Connection() = default;
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    ConnId id() const { return m_id; }
    // Take in whatever the peer sent and run complete requests. False: drop the connection.
    virtual bool receive(Engine& engine) = 0;
    // Push pending output. False: drop the connection.
    virtual bool send(Engine& engine) = 0;
    virtual const char* kind() const = 0;
    // The socket behind this connection, or -1 for rings (no RTTI in this code base).
    virtual int socket_fd() const { return -1; }

protected:
    // Run every complete message in `in`; false on a protocol violation (§5.1 oversize).
    bool feed(Engine& engine, InputBuffer& in) {
        MsgHeader hdr;
        std::string_view payload;
        for (;;) {
            switch (in.peek(hdr, payload)) {
            case InputBuffer::Status::need_more: return true;
            case InputBuffer::Status::too_big: return false;
            case InputBuffer::Status::complete:
                engine.handle(m_id, hdr, payload);
                in.pop(hdr);
                if (!engine.has_connection(m_id)) return false;
                break;
            }
        }
    }

    ConnId m_id;
};

}  // namespace xs
