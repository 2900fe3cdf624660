// Incremental framing of the byte stream a transport receives into whole messages.
#pragma once

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "wire.hpp"

namespace xs {

class InputBuffer {
public:
    enum class Status { complete, need_more, too_big };

    void append(const char* data, size_t n) {
        if (n == 0) return;
        std::memcpy(prepare(n), data, n);
        commit(n);
    }
    // Room for a transport to read straight into (not zero-filled: this runs per receive);
    // call commit(n) afterwards with the bytes actually stored.
    char* prepare(size_t n) {
        if (m_start > 0) {
            std::memmove(m_data.get(), m_data.get() + m_start, m_end - m_start);
            m_end -= m_start;
            m_start = 0;
        }
        if (m_cap < m_end + n) {
            size_t cap = std::max(m_end + n, m_cap * 2);
            std::unique_ptr<char[]> grown(new char[cap]);
            if (m_end) std::memcpy(grown.get(), m_data.get(), m_end);
            m_data = std::move(grown);
            m_cap = cap;
        }
        return m_data.get() + m_end;
    }
    void commit(size_t n) { m_end += n; }

    // Look at the next message. On `complete`, `hdr` and `payload` stay valid until pop().
    // §5.1: a header announcing more than kPayloadMax is a protocol error.
    Status peek(MsgHeader& hdr, std::string_view& payload) const {
        if (m_end - m_start < sizeof(MsgHeader)) return Status::need_more;
        std::memcpy(&hdr, m_data.get() + m_start, sizeof hdr);
        if (hdr.len > kPayloadMax) return Status::too_big;
        if (m_end - m_start - sizeof hdr < hdr.len) return Status::need_more;
        payload = std::string_view(m_data.get() + m_start + sizeof hdr, hdr.len);
        return Status::complete;
    }
    void pop(const MsgHeader& hdr) {
        m_start += sizeof hdr + hdr.len;
        if (m_start == m_end) m_start = m_end = 0;
    }
    size_t buffered() const { return m_end - m_start; }
    void clear() { m_start = m_end = 0; }

private:
    std::unique_ptr<char[]> m_data;
    size_t m_cap = 0;
    size_t m_start = 0;
    size_t m_end = 0;
};

}  // namespace xs
