// A fake physical memory for host tests: a few byte segments at chosen physical addresses.
#pragma once

#include <cstdint>
#include <cstring>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "lib/phys_reader.hpp"

namespace xenolith::test {

class FakeMemory final : public PhysReader {
public:
    // Map `size` zeroed bytes at `base` (segments must not overlap).
    std::vector<std::uint8_t>& add(std::uint64_t base, std::size_t size) {
        auto& seg = m_segments[base];
        seg.assign(size, 0);
        return seg;
    }
    void add_bytes(std::uint64_t base, const std::vector<std::uint8_t>& bytes) { m_segments[base] = bytes; }
    void add_string(std::uint64_t base, const std::string& s) {
        std::vector<std::uint8_t> bytes(s.begin(), s.end());
        bytes.push_back(0);
        m_segments[base] = bytes;
    }
    // Write into an existing segment.
    void write(std::uint64_t phys, const void* data, std::size_t len) {
        auto* seg = find(phys, len);
        ASSERT_SEGMENT(seg);
        std::memcpy(seg->second.data() + (phys - seg->first), data, len);
    }
    std::span<const std::byte> map(std::uint64_t phys, std::size_t len) const override {
        ++map_calls;
        auto* seg = find(phys, len);
        if (!seg)
            return {};
        return {reinterpret_cast<const std::byte*>(seg->second.data()) + (phys - seg->first), len};
    }
    mutable std::size_t map_calls = 0;

private:
    static void ASSERT_SEGMENT(const void* seg) {
        if (!seg)
            __builtin_trap();
    }
    using Segment = std::pair<const std::uint64_t, std::vector<std::uint8_t>>;
    Segment* find(std::uint64_t phys, std::size_t len) const {
        auto it = m_segments.upper_bound(phys);
        if (it == m_segments.begin())
            return nullptr;
        --it;
        const std::uint64_t off = phys - it->first;
        if (off > it->second.size() || it->second.size() - off < len)
            return nullptr;
        return const_cast<Segment*>(&*it);
    }
    std::map<std::uint64_t, std::vector<std::uint8_t>> m_segments;
};

// Little-endian byte-vector builder for firmware structures.
struct Bytes {
    std::vector<std::uint8_t> data;
    Bytes& u8(std::uint64_t v) { return put(v, 1); }
    Bytes& u16(std::uint64_t v) { return put(v, 2); }
    Bytes& u32(std::uint64_t v) { return put(v, 4); }
    Bytes& u64(std::uint64_t v) { return put(v, 8); }
    Bytes& str(const std::string& s, bool nul = true) {
        data.insert(data.end(), s.begin(), s.end());
        if (nul)
            data.push_back(0);
        return *this;
    }
    Bytes& raw(const std::vector<std::uint8_t>& b) {
        data.insert(data.end(), b.begin(), b.end());
        return *this;
    }
    Bytes& pad_to(std::size_t alignment) {
        while (data.size() % alignment)
            data.push_back(0);
        return *this;
    }
    Bytes& put(std::uint64_t v, int n) {
        for (int i = 0; i < n; ++i)
            data.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
        return *this;
    }
    void patch32(std::size_t off, std::uint32_t v) {
        for (int i = 0; i < 4; ++i)
            data[off + i] = static_cast<std::uint8_t>(v >> (8 * i));
    }
    std::size_t size() const { return data.size(); }
};

}  // namespace xenolith::test
