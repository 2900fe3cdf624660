// Host tests of the bzImage reader on synthetic images: a boot header plus an xz stream made here.
#include "bzimage.hpp"

#include <gtest/gtest.h>
#include <lzma.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

using namespace xenolith::tools;

namespace {

using ByteVector = std::vector<std::uint8_t>;

void put_u16(ByteVector& bytes, std::size_t offset, std::uint16_t value) {
    bytes[offset] = static_cast<std::uint8_t>(value);
    bytes[offset + 1] = static_cast<std::uint8_t>(value >> 8);
}

void put_u32(ByteVector& bytes, std::size_t offset, std::uint32_t value) {
    for (int i = 0; i < 4; ++i) bytes[offset + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(value >> (8 * i));
}

// A minimal ELF64 header plus some body; machine/class/type are parameters so tests can break them.
ByteVector make_elf(std::size_t size = 200000, std::uint16_t machine = 62, std::uint8_t elf_class = 2,
                    std::uint16_t type = 2) {
    ByteVector elf(size);
    std::mt19937 random(42);
    // Half compressible, half random, so the stream has real LZMA2 chunks of both kinds.
    for (std::size_t i = 64; i < size; ++i) elf[i] = i < size / 2 ? static_cast<std::uint8_t>(i / 97) : static_cast<std::uint8_t>(random());
    const std::uint8_t ident[] = {0x7f, 'E', 'L', 'F', elf_class, 1, 1};
    std::memcpy(elf.data(), ident, sizeof ident);
    put_u16(elf, 16, type);
    put_u16(elf, 18, machine);
    return elf;
}

// Compresses like Linux's build does (x86 BCJ + LZMA2, CRC32) and appends the u32 size Linux appends.
ByteVector xz_payload(const ByteVector& data, bool append_size = true) {
    lzma_options_lzma options;
    EXPECT_FALSE(lzma_lzma_preset(&options, 6));
    lzma_filter filters[] = {{LZMA_FILTER_X86, nullptr}, {LZMA_FILTER_LZMA2, &options}, {LZMA_VLI_UNKNOWN, nullptr}};
    ByteVector out(lzma_stream_buffer_bound(data.size()) + 4);
    std::size_t position = 0;
    EXPECT_EQ(lzma_stream_buffer_encode(filters, LZMA_CHECK_CRC32, nullptr, data.data(), data.size(), out.data(),
                                        &position, out.size()),
              LZMA_OK);
    out.resize(position);
    if (append_size) {
        out.resize(position + 4);
        put_u32(out, position, static_cast<std::uint32_t>(data.size()));
    }
    return out;
}

struct ImageOptions {
    std::uint8_t setup_sects = 27;
    std::uint16_t version = 0x020f;
    std::uint32_t payload_offset = 0x2cc;
};

ByteVector make_bzimage(const ByteVector& payload, ImageOptions options = {}) {
    const std::size_t sects = options.setup_sects == 0 ? 4 : options.setup_sects;
    const std::size_t start = (sects + 1) * 512 + options.payload_offset;
    ByteVector image(start + payload.size() + 100, 0xcc);
    image[boot_header::setup_sects] = options.setup_sects;
    put_u16(image, boot_header::boot_flag, 0xaa55);
    std::memcpy(image.data() + boot_header::header_magic, "HdrS", 4);
    put_u16(image, boot_header::version, options.version);
    put_u32(image, boot_header::payload_offset, options.payload_offset);
    put_u32(image, boot_header::payload_length, static_cast<std::uint32_t>(payload.size()));
    std::memcpy(image.data() + start, payload.data(), payload.size());
    return image;
}

void expect_error(const Result<ByteVector>& result, const std::string& fragment) {
    ASSERT_FALSE(result.ok());
    EXPECT_NE(result.error().message.find(fragment), std::string::npos) << result.error().message;
}

}  // namespace

TEST(BzImage, ExtractsTheElfByteForByte) {
    const ByteVector elf = make_elf();
    const ByteVector image = make_bzimage(xz_payload(elf));
    auto header = parse_bzimage_header(image);
    ASSERT_TRUE(header.ok()) << header.error().message;
    EXPECT_EQ(header.value().setup_sects, 27u);
    EXPECT_EQ(header.value().payload_start(), 28u * 512 + 0x2cc);
    EXPECT_EQ(identify_compression(payload_of(image, header.value())), Compression::Xz);
    auto result = bzimage_to_elf(image);
    ASSERT_TRUE(result.ok()) << result.error().message;
    EXPECT_EQ(result.value(), elf);
}

TEST(BzImage, ZeroSetupSectsMeansFour) {
    const ByteVector elf = make_elf(5000);
    const ByteVector image = make_bzimage(xz_payload(elf), {.setup_sects = 0});
    auto header = parse_bzimage_header(image);
    ASSERT_TRUE(header.ok());
    EXPECT_EQ(header.value().setup_sects, 4u);
    auto result = bzimage_to_elf(image);
    ASSERT_TRUE(result.ok()) << result.error().message;
    EXPECT_EQ(result.value(), elf);
}

TEST(BzImage, WithoutLinuxSizeTrailerStillWorks) {
    const ByteVector elf = make_elf(5000);
    auto result = bzimage_to_elf(make_bzimage(xz_payload(elf, false)));
    ASSERT_TRUE(result.ok()) << result.error().message;
    EXPECT_EQ(result.value(), elf);
}

TEST(BzImage, RejectsAnElf) { expect_error(bzimage_to_elf(make_elf(5000)), "already an ELF"); }

TEST(BzImage, RejectsAShortFile) {
    ByteVector image = make_bzimage(xz_payload(make_elf(5000)));
    image.resize(0x240);
    expect_error(bzimage_to_elf(image), "truncated");
}

TEST(BzImage, RejectsMissingBootFlag) {
    ByteVector image = make_bzimage(xz_payload(make_elf(5000)));
    image[boot_header::boot_flag] = 0;
    expect_error(bzimage_to_elf(image), "0xaa55");
}

TEST(BzImage, RejectsMissingHdrS) {
    ByteVector image = make_bzimage(xz_payload(make_elf(5000)));
    image[boot_header::header_magic + 1] = 'x';
    expect_error(bzimage_to_elf(image), "HdrS");
}

TEST(BzImage, RejectsOldProtocol) {
    expect_error(bzimage_to_elf(make_bzimage(xz_payload(make_elf(5000)), {.version = 0x0207})),
                 "protocol 2.7 is too old");
}

TEST(BzImage, RejectsPayloadPastTheEnd) {
    ByteVector image = make_bzimage(xz_payload(make_elf(5000)));
    image.resize(image.size() - 200);
    expect_error(bzimage_to_elf(image), "truncated: the payload ends at");
}

TEST(BzImage, RejectsEmptyPayload) {
    ByteVector image = make_bzimage(xz_payload(make_elf(5000)));
    put_u32(image, boot_header::payload_length, 0);
    expect_error(bzimage_to_elf(image), "payload_length 0");
}

TEST(BzImage, NamesOtherCompressions) {
    expect_error(bzimage_to_elf(make_bzimage({0x1f, 0x8b, 8, 0, 0, 0, 0, 0})), "unsupported compression: the payload is gzip");
    expect_error(bzimage_to_elf(make_bzimage({0x28, 0xb5, 0x2f, 0xfd, 1, 2})), "payload is zstd");
    expect_error(bzimage_to_elf(make_bzimage({'B', 'Z', 'h', '9'})), "payload is bzip2");
    expect_error(bzimage_to_elf(make_bzimage({0x5d, 0, 0, 0x80})), "payload is lzma");
    expect_error(bzimage_to_elf(make_bzimage({0x02, 0x21, 0x4c, 0x18})), "payload is lz4");
    expect_error(bzimage_to_elf(make_bzimage({0x89, 'L', 'Z', 'O'})), "payload is lzo");
    expect_error(bzimage_to_elf(make_bzimage({1, 2, 3, 4, 5, 6, 7})), "unknown format (starts with 01 02 03 04 05 06)");
}

TEST(BzImage, ReportsCorruptXz) {
    ByteVector payload = xz_payload(make_elf());
    payload[payload.size() / 2] ^= 0x55;
    expect_error(bzimage_to_elf(make_bzimage(payload)), "xz: corrupt xz data");
}

TEST(BzImage, ReportsTruncatedXz) {
    ByteVector payload = xz_payload(make_elf());
    payload.resize(payload.size() / 2);
    expect_error(bzimage_to_elf(make_bzimage(payload)), "xz stream is truncated");
}

TEST(BzImage, ChecksTheRecordedSize) {
    ByteVector payload = xz_payload(make_elf(5000));
    put_u32(payload, payload.size() - 4, 4999);
    expect_error(bzimage_to_elf(make_bzimage(payload)), "size recorded after the stream is 4999");
}

TEST(BzImage, EnforcesTheOutputLimit) {
    expect_error(bzimage_to_elf(make_bzimage(xz_payload(make_elf(100000))), 65536), "larger than the limit");
}

TEST(BzImage, RequiresAnElf64X8664Executable) {
    ByteVector not_elf(5000, 7);
    expect_error(bzimage_to_elf(make_bzimage(xz_payload(not_elf))), "not an ELF file");
    expect_error(bzimage_to_elf(make_bzimage(xz_payload(ByteVector(10, 0x7f)))), "too small");
    expect_error(bzimage_to_elf(make_bzimage(xz_payload(make_elf(5000, 3)))), "not x86-64 (e_machine 3");
    expect_error(bzimage_to_elf(make_bzimage(xz_payload(make_elf(5000, 62, 1)))), "not ELFCLASS64");
    expect_error(bzimage_to_elf(make_bzimage(xz_payload(make_elf(5000, 62, 2, 3)))), "not an executable (e_type 3");
}

// Invariant over random damage: the reader never crashes (ASan/UBSan watch), and whatever it
// accepts is exactly the original ELF (xz's CRC32 and the size trailer catch the rest).
TEST(BzImage, RandomDamageNeverYieldsAWrongElf) {
    const ByteVector elf = make_elf(20000);
    const ByteVector pristine = make_bzimage(xz_payload(elf));
    std::mt19937 random(1234);
    int accepted = 0;
    for (int round = 0; round < 600; ++round) {
        ByteVector image = pristine;
        switch (round % 3) {
        case 0:  // flip a byte anywhere
            image[random() % image.size()] ^= static_cast<std::uint8_t>(1 + random() % 255);
            break;
        case 1:  // cut the file
            image.resize(random() % image.size());
            break;
        default:  // flip a byte in the header fields
            image[boot_header::setup_sects + random() % (boot_header::end - boot_header::setup_sects)] ^=
                static_cast<std::uint8_t>(1 + random() % 255);
            break;
        }
        auto result = bzimage_to_elf(image);
        if (result.ok()) {
            ++accepted;
            EXPECT_EQ(result.value(), elf) << "round " << round;
        } else {
            EXPECT_FALSE(result.error().message.empty());
        }
    }
    EXPECT_GT(accepted, 0);  // damage to unused setup bytes is harmless and must stay accepted
}
