// A tiny ELF64 writer for tests: headers, PT_LOAD/PT_NOTE segments, SHT_NOTE sections, Xen notes.
// Include it after <gtest/gtest.h> and other standard headers (see xen_elf_test.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "domain/xen_elf.hpp"
#include "lib/diagnostics.hpp"

namespace xenolith::test {

using Bytes = std::vector<std::byte>;

inline void put_le(Bytes& out, std::size_t offset, std::uint64_t value, std::size_t size) {
    if (out.size() < offset + size)
        out.resize(offset + size);
    for (std::size_t i = 0; i < size; ++i)
        out[offset + i] = static_cast<std::byte>((value >> (8 * i)) & 0xff);
}

inline std::uint64_t get_le(const Bytes& in, std::size_t offset, std::size_t size) {
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < size; ++i)
        v |= std::uint64_t{static_cast<std::uint8_t>(in[offset + i])} << (8 * i);
    return v;
}

// A sequence of ELF note records (namesz, descsz, type, name, desc; 4-byte padding).
class NoteList {
public:
    NoteList& raw(std::string_view name_with_nul, std::uint32_t type, const Bytes& desc) {
        std::size_t at = m_bytes.size();
        put_le(m_bytes, at, name_with_nul.size(), 4);
        put_le(m_bytes, at + 4, desc.size(), 4);
        put_le(m_bytes, at + 8, type, 4);
        for (char c : name_with_nul)
            m_bytes.push_back(static_cast<std::byte>(c));
        pad();
        m_bytes.insert(m_bytes.end(), desc.begin(), desc.end());
        pad();
        return *this;
    }
    NoteList& number(XenNote type, std::uint64_t value, std::size_t size = 8) {
        Bytes desc;
        put_le(desc, 0, value, size);
        return raw(std::string_view("Xen\0", 4), static_cast<std::uint32_t>(type), desc);
    }
    // A string note; `nul` false writes the text without a terminator (like Debian's FEATURES).
    NoteList& string(XenNote type, std::string_view text, bool nul = true) {
        Bytes desc;
        for (char c : text)
            desc.push_back(static_cast<std::byte>(c));
        if (nul)
            desc.push_back(std::byte{0});
        return raw(std::string_view("Xen\0", 4), static_cast<std::uint32_t>(type), desc);
    }
    const Bytes& bytes() const { return m_bytes; }
    Bytes& bytes() { return m_bytes; }

private:
    void pad() {
        while (m_bytes.size() % 4)
            m_bytes.push_back(std::byte{0});
    }
    Bytes m_bytes;
};

struct TestSegment {
    std::uint32_t type = 1;  // PT_LOAD
    std::uint32_t flags = 7;
    std::uint64_t vaddr = 0;
    std::uint64_t paddr = 0;
    Bytes data;
    std::uint64_t mem_size = 0;
    std::uint64_t forced_offset = ~std::uint64_t{0};  // place the data at this file offset instead
};

// Builds a complete image. Offsets of the pieces are kept so tests can corrupt them afterwards.
class ElfBuilder {
public:
    std::uint64_t entry = 0;
    std::uint16_t machine = 62;
    std::uint16_t type = 2;
    std::uint8_t elf_class = 2;
    std::uint8_t data_encoding = 1;
    std::vector<TestSegment> segments;
    std::vector<Bytes> note_sections;

    ElfBuilder& load(std::uint64_t paddr, std::uint64_t vaddr, Bytes data, std::uint64_t mem_size,
                     std::uint32_t flags = 7) {
        TestSegment s;
        s.paddr = paddr;
        s.vaddr = vaddr;
        s.data = std::move(data);
        s.mem_size = mem_size;
        s.flags = flags;
        segments.push_back(std::move(s));
        return *this;
    }
    ElfBuilder& notes(const NoteList& list) {
        TestSegment s;
        s.type = 4;  // PT_NOTE
        s.flags = 4;
        s.data = list.bytes();
        s.mem_size = list.bytes().size();
        segments.push_back(std::move(s));
        return *this;
    }
    ElfBuilder& note_section(const NoteList& list) {
        note_sections.push_back(list.bytes());
        return *this;
    }

    static constexpr std::size_t phdr_offset(std::size_t i) { return 64 + i * 56; }
    std::size_t shdr_offset(std::size_t i) const { return m_shoff + i * 64; }
    std::size_t data_offset(std::size_t segment) const { return m_data_offsets[segment]; }

    Bytes build() {
        Bytes out(64, std::byte{0});
        const char ident[] = {'\x7f', 'E', 'L', 'F'};
        for (int i = 0; i < 4; ++i)
            out[static_cast<std::size_t>(i)] = static_cast<std::byte>(ident[i]);
        out[4] = static_cast<std::byte>(elf_class);
        out[5] = static_cast<std::byte>(data_encoding);
        out[6] = std::byte{1};
        put_le(out, 16, type, 2);
        put_le(out, 18, machine, 2);
        put_le(out, 20, 1, 4);
        put_le(out, 24, entry, 8);
        put_le(out, 32, segments.empty() ? 0 : 64, 8);
        put_le(out, 52, 64, 2);
        put_le(out, 54, 56, 2);
        put_le(out, 56, segments.size(), 2);
        put_le(out, 58, 64, 2);
        out.resize(64 + 56 * segments.size());
        m_data_offsets.clear();
        for (std::size_t i = 0; i < segments.size(); ++i) {
            const TestSegment& s = segments[i];
            align(out, 16);
            std::size_t at = s.forced_offset != ~std::uint64_t{0} ? s.forced_offset : out.size();
            m_data_offsets.push_back(at);
            if (s.forced_offset == ~std::uint64_t{0})
                out.insert(out.end(), s.data.begin(), s.data.end());
            std::size_t ph = phdr_offset(i);
            put_le(out, ph, s.type, 4);
            put_le(out, ph + 4, s.flags, 4);
            put_le(out, ph + 8, at, 8);
            put_le(out, ph + 16, s.vaddr, 8);
            put_le(out, ph + 24, s.paddr, 8);
            put_le(out, ph + 32, s.data.size(), 8);
            put_le(out, ph + 40, s.mem_size, 8);
            put_le(out, ph + 48, 16, 8);
        }
        if (!note_sections.empty()) {
            std::vector<std::size_t> offsets;
            for (const Bytes& sec : note_sections) {
                align(out, 4);
                offsets.push_back(out.size());
                out.insert(out.end(), sec.begin(), sec.end());
            }
            align(out, 8);
            m_shoff = out.size();
            // Section 0 is the null section, as in every real ELF file.
            std::size_t count = note_sections.size() + 1;
            out.resize(m_shoff + 64 * count);
            for (std::size_t i = 0; i < note_sections.size(); ++i) {
                std::size_t sh = shdr_offset(i + 1);
                put_le(out, sh + 4, 7, 4);  // SHT_NOTE
                put_le(out, sh + 24, offsets[i], 8);
                put_le(out, sh + 32, note_sections[i].size(), 8);
                put_le(out, sh + 48, 4, 8);
            }
            put_le(out, 40, m_shoff, 8);
            put_le(out, 60, count, 2);
        }
        return out;
    }

private:
    static void align(Bytes& out, std::size_t a) {
        while (out.size() % a)
            out.push_back(std::byte{0});
    }
    std::vector<std::size_t> m_data_offsets;
    std::size_t m_shoff = 0;
};

class CollectingDiagnostics final : public Diagnostics {
public:
    void report(std::string_view message) override { messages.emplace_back(message); }
    bool any_contains(std::string_view needle) const {
        for (const auto& m : messages)
            if (m.find(needle) != std::string::npos)
                return true;
        return false;
    }
    std::string all() const {
        std::string out;
        for (const auto& m : messages)
            out += m + "\n";
        return out;
    }
    std::vector<std::string> messages;
};

inline Bytes pattern(std::size_t n, std::uint8_t seed) {
    Bytes b(n);
    for (std::size_t i = 0; i < n; ++i)
        b[i] = static_cast<std::byte>(static_cast<std::uint8_t>(seed + i * 7));
    return b;
}

// Notes like the Debian 6.1 kernel's (pv-abi-core.md §1.4), with the given ENTRY.
inline NoteList debian_notes(std::uint64_t entry) {
    NoteList n;
    n.string(XenNote::GuestOs, "linux")
        .string(XenNote::GuestVersion, "2.6")
        .string(XenNote::XenVersion, "xen-3.0")
        .number(XenNote::VirtBase, 0xffffffff80000000)
        .number(XenNote::InitP2m, 0x0000008000000000)
        .number(XenNote::Entry, entry)
        .string(XenNote::Features, "!writable_page_tables|pae_pgdir_above_4gb", false)
        .number(XenNote::SupportedFeatures, 0x8801, 4)
        .string(XenNote::PaeMode, "yes")
        .string(XenNote::Loader, "generic");
    Bytes l1;
    put_le(l1, 0, 1, 8);
    put_le(l1, 8, 1, 8);
    n.raw(std::string_view("Xen\0", 4), 13, l1)
        .number(XenNote::SuspendCancel, 1, 4)
        .number(XenNote::ModStartPfn, 1, 4)
        .number(XenNote::HvStartLow, 0xffff800000000000)
        .number(XenNote::PaddrOffset, 0)
        .number(XenNote::Phys32Entry, 0x1000850);
    return n;
}

// A Debian-like image: the four PT_LOAD segments of §1.4 (small file parts, full memory sizes).
inline ElfBuilder debian_like_builder() {
    ElfBuilder b;
    b.entry = 0x1000000;  // physical native entry, unused by PV
    b.load(0x1000000, 0xffffffff81000000, pattern(0x3000, 1), 0x18ea9f0, 5)
        .load(0x2a00000, 0xffffffff82a00000, pattern(0x2000, 2), 0x644000, 6)
        .load(0x3044000, 0, pattern(0x1000, 3), 0x35000, 6)
        .load(0x3079000, 0xffffffff83079000, pattern(0x1800, 4), 0x1987000, 7)
        .notes(debian_notes(0xffffffff830791c0));
    return b;
}

// An XTF-like image: VIRT_BASE 0, linked at 1 MiB, with a hypercall page (§1.5).
inline ElfBuilder xtf_like_builder() {
    NoteList n;
    n.string(XenNote::GuestOs, "XTF")
        .string(XenNote::GuestVersion, "0")
        .string(XenNote::Loader, "generic")
        .number(XenNote::HypercallPage, 0x101000)
        .string(XenNote::XenVersion, "xen-3.0")
        .string(XenNote::Features, "!writable_page_tables|pae_pgdir_above_4gb")
        .string(XenNote::PaeMode, "yes");
    ElfBuilder b;
    b.entry = 0x100000;
    b.load(0x100000, 0x100000, pattern(0x5000, 9), 0x9000, 7).notes(n);
    return b;
}

}  // namespace xenolith::test
