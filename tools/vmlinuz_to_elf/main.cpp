// vmlinuz_to_elf: turn a Linux bzImage (a Debian vmlinuz) into the ELF kernel the hypervisor loads.
#include "bzimage.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace {

int usage() {
    std::fprintf(stderr,
                 "usage: vmlinuz_to_elf VMLINUZ OUTPUT.elf\n"
                 "  Extracts the xz-compressed payload of a bzImage (boot protocol 2.08+),\n"
                 "  decompresses it and writes the ELF64 x86-64 kernel inside (spec pv-abi-core §1.2).\n");
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    using namespace xenolith::tools;
    if (argc != 3) return usage();
    const std::string input_path = argv[1];
    const std::string output_path = argv[2];

    std::ifstream input(input_path, std::ios::binary);
    if (!input) {
        std::fprintf(stderr, "vmlinuz_to_elf: %s: cannot open: %s\n", input_path.c_str(), std::strerror(errno));
        return 1;
    }
    const std::vector<std::uint8_t> image((std::istreambuf_iterator<char>(input)), std::istreambuf_iterator<char>());

    auto header = parse_bzimage_header(image);
    auto elf = bzimage_to_elf(image);
    if (!elf.ok()) {
        std::fprintf(stderr, "vmlinuz_to_elf: %s: %s\n", input_path.c_str(), elf.error().message.c_str());
        return 1;
    }

    // Write beside the target and rename, so that a failed write never leaves a half ELF behind.
    const std::string temporary = output_path + ".tmp";
    {
        std::ofstream output(temporary, std::ios::binary | std::ios::trunc);
        output.write(reinterpret_cast<const char*>(elf.value().data()), static_cast<std::streamsize>(elf.value().size()));
        if (!output.flush()) {
            std::fprintf(stderr, "vmlinuz_to_elf: %s: cannot write: %s\n", temporary.c_str(), std::strerror(errno));
            std::remove(temporary.c_str());
            return 1;
        }
    }
    if (std::rename(temporary.c_str(), output_path.c_str()) != 0) {
        std::fprintf(stderr, "vmlinuz_to_elf: %s: cannot rename to %s: %s\n", temporary.c_str(), output_path.c_str(),
                     std::strerror(errno));
        return 1;
    }
    const BzImageHeader& h = header.value();
    std::printf("vmlinuz_to_elf: %s: boot protocol %u.%02u, setup_sects %u, payload_offset 0x%x, payload_length 0x%x, xz\n"
                "vmlinuz_to_elf: wrote %s (%zu bytes, ELF64 x86-64 executable)\n",
                input_path.c_str(), h.version >> 8, h.version & 0xff, h.setup_sects, h.payload_offset,
                h.payload_length, output_path.c_str(), elf.value().size());
    return 0;
}
