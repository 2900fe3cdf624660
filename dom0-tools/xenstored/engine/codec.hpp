// Incremental framing of the byte stream a transport receives into whole messages.
#pragma once

#include <cstring>
#include <string>
#include <string_view>

#include "wire.hpp"

namespace xs {

class InputBuffer {
public:
    enum class Status { complete, need_more, too_big };

    void append(const char* data, size_t n) { m_buf.append(data, n); }
    // Room for a transport to read straight into; call commit(n) afterwards.
    char* prepare(size_t n) {
        compact();
        m_used = m_buf.size();
        m_buf.resize(m_used + n);
        return m_buf.data() + m_used;
    }
    void commit(size_t n) { m_buf.resize(m_used + n); }

    // Look at the next message. On `complete`, `hdr` and `payload` stay valid until pop().
    // §5.1: a header announcing more than kPayloadMax is a protocol error.
    Status peek(MsgHeader& hdr, std::string_view& payload) const {
        if (m_buf.size() - m_start < sizeof(MsgHeader)) return Status::need_more;
        std::memcpy(&hdr, m_buf.data() + m_start, sizeof hdr);
        if (hdr.len > kPayloadMax) return Status::too_big;
        if (m_buf.size() - m_start - sizeof hdr < hdr.len) return Status::need_more;
        payload = std::string_view(m_buf).substr(m_start + sizeof hdr, hdr.len);
        return Status::complete;
    }
    void pop(const MsgHeader& hdr) { m_start += sizeof hdr + hdr.len; }
    size_t buffered() const { return m_buf.size() - m_start; }
    void clear() {
        m_buf.clear();
        m_start = 0;
    }

private:
    void compact() {
        if (m_start == 0) return;
        m_buf.erase(0, m_start);
        m_start = 0;
    }
    std::string m_buf;
    size_t m_start = 0;
    size_t m_used = 0;
};

}  // namespace xs
