// Test helper: a client of the engine that frames requests and parses what comes back.
#pragma once

#include <cstring>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "engine/engine.hpp"

namespace xs::test {

struct Msg {
    uint32_t type = 0;
    uint32_t req_id = 0;
    uint32_t tx_id = 0;
    std::string payload;
    bool is_error() const { return type == static_cast<uint32_t>(MsgType::error); }
    // The error name without its NUL, or "" for a success reply.
    std::string err() const { return is_error() ? payload.substr(0, payload.size() - 1) : ""; }
};

// Join strings, each followed by a NUL (the request payload form, pv-abi-devices §5.1).
inline std::string args(std::initializer_list<std::string_view> parts) {
    std::string out;
    for (auto p : parts) {
        out.append(p);
        out.push_back('\0');
    }
    return out;
}

class Client {
public:
    Client(Engine& e, ConnConfig cfg = {}) : m_e(e), m_id(e.add_connection(cfg)) {}
    ConnId id() const { return m_id; }

    // Send one request and return its reply; watch events seen meanwhile are kept.
    Msg call(MsgType type, std::string_view payload, uint32_t tx = 0) {
        MsgHeader h{static_cast<uint32_t>(type), ++m_req, tx, static_cast<uint32_t>(payload.size())};
        m_e.handle(m_id, h, payload);
        pump();
        for (auto it = m_replies.begin(); it != m_replies.end(); ++it)
            if (it->req_id == m_req) {
                Msg m = *it;
                m_replies.erase(it);
                return m;
            }
        return Msg{0xdead, 0, 0, "<no reply>"};
    }

    // Move everything the engine queued for us into replies/events.
    void pump() {
        OutQueue* q = m_e.output(m_id);
        if (!q) return;
        std::string_view buf(q->buf);
        buf.remove_prefix(q->off);
        size_t used = 0;
        while (buf.size() - used >= sizeof(MsgHeader)) {
            MsgHeader h;
            std::memcpy(&h, buf.data() + used, sizeof h);
            if (buf.size() - used - sizeof h < h.len) break;
            Msg m{h.type, h.req_id, h.tx_id, std::string(buf.substr(used + sizeof h, h.len))};
            used += sizeof h + h.len;
            if (h.type == static_cast<uint32_t>(MsgType::watch_event))
                m_events.push_back(std::move(m));
            else
                m_replies.push_back(std::move(m));
        }
        q->consume(used);
    }

    // Convenience wrappers returning "" on success or the error name.
    std::string write(std::string_view path, std::string_view value, uint32_t tx = 0) {
        std::string p(path);
        p.push_back('\0');
        p.append(value);
        return call(MsgType::write, p, tx).err();
    }
    std::string mkdir(std::string_view path, uint32_t tx = 0) { return call(MsgType::mkdir, args({path}), tx).err(); }
    std::string rm(std::string_view path, uint32_t tx = 0) { return call(MsgType::rm, args({path}), tx).err(); }
    // Value, or "!ERRNAME" on error.
    std::string read(std::string_view path, uint32_t tx = 0) {
        Msg m = call(MsgType::read, args({path}), tx);
        return m.is_error() ? "!" + m.err() : m.payload;
    }
    std::string dir(std::string_view path, uint32_t tx = 0) {
        Msg m = call(MsgType::directory, args({path}), tx);
        if (m.is_error()) return "!" + m.err();
        std::string out;
        for (char c : m.payload) out.push_back(c == '\0' ? ',' : c);
        return out;
    }
    std::string perms(std::string_view path) {
        Msg m = call(MsgType::get_perms, args({path}));
        if (m.is_error()) return "!" + m.err();
        std::string out;
        for (char c : m.payload) out.push_back(c == '\0' ? ',' : c);
        return out;
    }
    std::string set_perms(std::initializer_list<std::string_view> a, uint32_t tx = 0) {
        return call(MsgType::set_perms, args(a), tx).err();
    }
    std::string watch(std::string_view path, std::string_view token) {
        return call(MsgType::watch, args({path, token})).err();
    }
    uint32_t tx_start() {
        Msg m = call(MsgType::transaction_start, args({""}));
        return m.is_error() ? 0 : static_cast<uint32_t>(std::stoul(m.payload));
    }
    std::string tx_end(uint32_t tx, bool commit) {
        return call(MsgType::transaction_end, args({commit ? "T" : "F"}), tx).err();
    }
    // Events as "path|token", oldest first; clears them.
    std::vector<std::string> events() {
        pump();
        std::vector<std::string> out;
        for (auto& m : m_events) {
            std::string s = m.payload;
            auto nul = s.find('\0');
            out.push_back(s.substr(0, nul) + "|" + s.substr(nul + 1, s.size() - nul - 2));
        }
        m_events.clear();
        return out;
    }

private:
    Engine& m_e;
    ConnId m_id;
    uint32_t m_req = 0;
    std::deque<Msg> m_replies;
    std::deque<Msg> m_events;
};

}  // namespace xs::test
