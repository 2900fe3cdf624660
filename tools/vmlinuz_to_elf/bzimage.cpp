// Reading a Linux bzImage on the host: header checks, payload extraction, xz via liblzma, ELF check.
#include "bzimage.hpp"

#include <lzma.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>

namespace xenolith::tools {
namespace {

std::uint16_t read_u16(Bytes bytes, std::size_t offset) {
    return static_cast<std::uint16_t>(bytes[offset] | (bytes[offset + 1] << 8));
}

std::uint32_t read_u32(Bytes bytes, std::size_t offset) {
    return static_cast<std::uint32_t>(bytes[offset]) | (static_cast<std::uint32_t>(bytes[offset + 1]) << 8) |
           (static_cast<std::uint32_t>(bytes[offset + 2]) << 16) |
           (static_cast<std::uint32_t>(bytes[offset + 3]) << 24);
}

std::string hex(std::uint64_t value) {
    char text[32];
    std::snprintf(text, sizeof text, "0x%llx", static_cast<unsigned long long>(value));
    return text;
}

bool starts_with(Bytes bytes, std::initializer_list<std::uint8_t> magic) {
    return bytes.size() >= magic.size() && std::equal(magic.begin(), magic.end(), bytes.begin());
}

std::string lzma_message(lzma_ret ret) {
    switch (ret) {
    case LZMA_MEM_ERROR:
        return "out of memory";
    case LZMA_MEMLIMIT_ERROR:
        return "the stream needs more memory than the decoder's limit";
    case LZMA_FORMAT_ERROR:
        return "not an xz stream (bad stream header)";
    case LZMA_OPTIONS_ERROR:
        return "unsupported xz options (filter or check type)";
    case LZMA_DATA_ERROR:
        return "corrupt xz data";
    case LZMA_BUF_ERROR:
        return "the xz stream is truncated (input ended before the end of the stream)";
    case LZMA_PROG_ERROR:
        return "liblzma reported a programming error";
    default:
        return "liblzma error " + std::to_string(static_cast<int>(ret));
    }
}

}  // namespace

const char* compression_name(Compression compression) {
    switch (compression) {
    case Compression::Xz: return "xz";
    case Compression::Gzip: return "gzip";
    case Compression::Bzip2: return "bzip2";
    case Compression::Lzma: return "lzma";
    case Compression::Lzo: return "lzo";
    case Compression::Lz4: return "lz4";
    case Compression::Zstd: return "zstd";
    case Compression::Unknown: break;
    }
    return "unknown";
}

Compression identify_compression(Bytes payload) {
    // The magic numbers of the formats Linux's arch/x86/boot/compressed accepts.
    if (starts_with(payload, {0xfd, '7', 'z', 'X', 'Z', 0x00})) return Compression::Xz;
    if (starts_with(payload, {0x1f, 0x8b})) return Compression::Gzip;
    if (starts_with(payload, {'B', 'Z', 'h'})) return Compression::Bzip2;
    if (starts_with(payload, {0x5d, 0x00, 0x00})) return Compression::Lzma;
    if (starts_with(payload, {0x89, 'L', 'Z', 'O'})) return Compression::Lzo;
    if (starts_with(payload, {0x02, 0x21, 0x4c, 0x18})) return Compression::Lz4;
    if (starts_with(payload, {0x28, 0xb5, 0x2f, 0xfd})) return Compression::Zstd;
    return Compression::Unknown;
}

bool looks_like_elf(Bytes image) { return starts_with(image, {0x7f, 'E', 'L', 'F'}); }

Result<BzImageHeader> parse_bzimage_header(Bytes image) {
    using namespace boot_header;
    if (looks_like_elf(image)) {
        return Error{"this is already an ELF file, not a bzImage: give it to the hypervisor as it is"};
    }
    if (image.size() < end) {
        return Error{"truncated: " + std::to_string(image.size()) + " bytes, but a bzImage boot header needs at least " +
                     hex(end)};
    }
    if (read_u16(image, boot_flag) != 0xaa55) {
        return Error{"not a bzImage: no boot-sector signature 0xaa55 at offset 0x1fe (found " +
                     hex(read_u16(image, boot_flag)) + ")"};
    }
    if (std::memcmp(image.data() + header_magic, "HdrS", 4) != 0) {
        return Error{"not a bzImage: no \"HdrS\" setup-header magic at offset 0x202"};
    }
    BzImageHeader header;
    header.version = read_u16(image, version);
    if (header.version < min_version) {
        return Error{"boot protocol " + std::to_string(header.version >> 8) + "." +
                     std::to_string(header.version & 0xff) +
                     " is too old: payload_offset/payload_length need protocol 2.08 or later"};
    }
    header.setup_sects = image[setup_sects] == 0 ? 4u : image[setup_sects];
    header.payload_offset = read_u32(image, payload_offset);
    header.payload_length = read_u32(image, payload_length);
    if (header.payload_length == 0) {
        return Error{"the boot header gives an empty payload (payload_length 0)"};
    }
    const std::uint64_t payload_end = std::uint64_t{header.payload_start()} + header.payload_length;
    if (payload_end > image.size()) {
        return Error{"truncated: the payload ends at " + hex(payload_end) + " (setup_sects " +
                     std::to_string(header.setup_sects) + ", payload_offset " + hex(header.payload_offset) +
                     ", payload_length " + hex(header.payload_length) + ") but the file has only " +
                     hex(image.size()) + " bytes"};
    }
    return header;
}

Bytes payload_of(Bytes image, const BzImageHeader& header) {
    return image.subspan(header.payload_start(), header.payload_length);
}

Result<std::vector<std::uint8_t>> decompress_xz(Bytes payload, std::size_t max_output) {
    lzma_stream stream = LZMA_STREAM_INIT;
    // No LZMA_CONCATENATED: the stream is followed by Linux's 4-byte size, not by another stream.
    lzma_ret ret = lzma_stream_decoder(&stream, std::uint64_t{1} << 30, 0);
    if (ret != LZMA_OK) {
        return Error{"xz: cannot start the decoder: " + lzma_message(ret)};
    }
    std::vector<std::uint8_t> output(std::min<std::size_t>(max_output, std::max<std::size_t>(payload.size() * 4, 4096)));
    stream.next_in = payload.data();
    stream.avail_in = payload.size();
    stream.next_out = output.data();
    stream.avail_out = output.size();
    for (;;) {
        ret = lzma_code(&stream, LZMA_FINISH);
        if (ret == LZMA_STREAM_END) break;
        if (ret != LZMA_OK) {
            const std::uint64_t at = stream.total_in;
            lzma_end(&stream);
            return Error{"xz: " + lzma_message(ret) + " (at compressed byte " + std::to_string(at) + " of " +
                         std::to_string(payload.size()) + ")"};
        }
        if (stream.avail_out == 0) {
            if (output.size() >= max_output) {
                lzma_end(&stream);
                return Error{"xz: the decompressed kernel is larger than the limit of " + std::to_string(max_output) +
                             " bytes"};
            }
            const std::size_t used = output.size();
            output.resize(std::min(max_output, used * 2));
            stream.next_out = output.data() + used;
            stream.avail_out = output.size() - used;
        }
    }
    const std::size_t produced = static_cast<std::size_t>(stream.total_out);
    const std::size_t consumed = static_cast<std::size_t>(stream.total_in);
    lzma_end(&stream);
    output.resize(produced);
    const std::size_t trailing = payload.size() - consumed;
    if (trailing == 4) {
        const std::uint32_t recorded = read_u32(payload, consumed);
        if (recorded != produced) {
            return Error{"xz: decompressed " + std::to_string(produced) +
                         " bytes but the size recorded after the stream is " + std::to_string(recorded)};
        }
    }
    return output;
}

Result<bool> check_elf64_x86_64_executable(Bytes elf) {
    if (elf.size() < 64) {
        return Error{"the decompressed payload is " + std::to_string(elf.size()) + " bytes: too small for an ELF64 header"};
    }
    if (!looks_like_elf(elf)) {
        return Error{"the decompressed payload is not an ELF file (no \\x7fELF magic)"};
    }
    if (elf[4] != 2) return Error{"the decompressed ELF is not ELFCLASS64 (EI_CLASS " + std::to_string(elf[4]) + ")"};
    if (elf[5] != 1) return Error{"the decompressed ELF is not little-endian (EI_DATA " + std::to_string(elf[5]) + ")"};
    const std::uint16_t type = read_u16(elf, 16);
    const std::uint16_t machine = read_u16(elf, 18);
    if (type != 2) return Error{"the decompressed ELF is not an executable (e_type " + std::to_string(type) + ", want 2)"};
    if (machine != 62) {
        return Error{"the decompressed ELF is not x86-64 (e_machine " + std::to_string(machine) + ", want 62)"};
    }
    return true;
}

Result<std::vector<std::uint8_t>> bzimage_to_elf(Bytes image, std::size_t max_output) {
    auto header = parse_bzimage_header(image);
    if (!header.ok()) return header.error();
    const Bytes payload = payload_of(image, header.value());
    const Compression compression = identify_compression(payload);
    if (compression != Compression::Xz) {
        std::array<char, 64> magic{};
        const std::size_t shown = std::min<std::size_t>(payload.size(), 6);
        for (std::size_t i = 0; i < shown; ++i) {
            std::snprintf(magic.data() + i * 3, 4, "%02x ", payload[i]);
        }
        return Error{std::string("unsupported compression: the payload is ") +
                     (compression == Compression::Unknown ? "in an unknown format" : compression_name(compression)) +
                     " (starts with " + std::string(magic.data(), shown ? shown * 3 - 1 : 0) +
                     "); only xz (Debian's choice) is supported"};
    }
    auto elf = decompress_xz(payload, max_output);
    if (!elf.ok()) return elf.error();
    auto checked = check_elf64_x86_64_executable(elf.value());
    if (!checked.ok()) return checked.error();
    return std::move(elf.value());
}

}  // namespace xenolith::tools
