// Reading a Linux bzImage on the host: its boot header, its compressed payload and the ELF inside.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace xenolith::tools {

// Every failure is a sentence for the user; the tool prefixes the file name.
struct Error {
    std::string message;
};

template <typename T>
class [[nodiscard]] Result {
public:
    Result(T value) : m_value(std::move(value)) {}
    Result(Error error) : m_value(std::move(error)) {}

    bool ok() const { return std::holds_alternative<T>(m_value); }
    const T& value() const { return std::get<T>(m_value); }
    T& value() { return std::get<T>(m_value); }
    const Error& error() const { return std::get<Error>(m_value); }

private:
    std::variant<T, Error> m_value;
};

using Bytes = std::span<const std::uint8_t>;

// The compression formats Linux can build into a bzImage, told apart by their magic bytes.
enum class Compression { Xz, Gzip, Bzip2, Lzma, Lzo, Lz4, Zstd, Unknown };

const char* compression_name(Compression compression);
Compression identify_compression(Bytes payload);

// Offsets in the real-mode header (Linux boot protocol, Documentation/x86/boot.rst; spec §1.2).
namespace boot_header {
inline constexpr std::size_t setup_sects = 0x1f1;
inline constexpr std::size_t boot_flag = 0x1fe;     // 0xaa55
inline constexpr std::size_t header_magic = 0x202;  // "HdrS"
inline constexpr std::size_t version = 0x206;
inline constexpr std::size_t payload_offset = 0x248;  // protocol 2.08+
inline constexpr std::size_t payload_length = 0x24c;  // protocol 2.08+
inline constexpr std::size_t end = 0x250;
inline constexpr std::uint16_t min_version = 0x0208;
}  // namespace boot_header

struct BzImageHeader {
    unsigned setup_sects = 0;  // as used: a 0 in the file means 4
    std::uint16_t version = 0;
    std::uint32_t payload_offset = 0;  // relative to the protected-mode code at (setup_sects+1)*512
    std::uint32_t payload_length = 0;

    std::size_t protected_mode_start() const { return (std::size_t{setup_sects} + 1) * 512; }
    std::size_t payload_start() const { return protected_mode_start() + payload_offset; }
};

bool looks_like_elf(Bytes image);

// Checks the boot-sector flag, "HdrS" and the protocol version, and that the payload lies in the file.
Result<BzImageHeader> parse_bzimage_header(Bytes image);

// The compressed payload inside the image (bounds already checked by parse_bzimage_header).
Bytes payload_of(Bytes image, const BzImageHeader& header);

// Decompresses one xz stream. Linux appends the uncompressed size (u32 LE) after the stream;
// when those 4 bytes are there the result's size is checked against them.
Result<std::vector<std::uint8_t>> decompress_xz(Bytes payload, std::size_t max_output);

// Checks that the bytes are an ELF64, little-endian, x86-64 executable.
Result<bool> check_elf64_x86_64_executable(Bytes elf);

// The whole conversion: header, payload, compression, xz, ELF check.
Result<std::vector<std::uint8_t>> bzimage_to_elf(Bytes image, std::size_t max_output = std::size_t{1} << 30);

}  // namespace xenolith::tools
