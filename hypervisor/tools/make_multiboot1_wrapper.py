#!/usr/bin/env python3
"""Wrap the hypervisor for QEMU's -kernel (Multiboot1), which loads only 32-bit ELF files.

The output is an ELF32 with one PT_LOAD holding the image's bytes from IMAGE_PHYS_BASE to the
end of its initialised data (objcopy -O binary of the ELF64), with a memory size reaching the
end of .bss so the loader places its modules and info after it, and the 32-bit entry point.
Page permissions are the hypervisor's business: it builds its own W^X page tables at boot.
"""
import struct
import subprocess
import sys


def symbol(nm: str, elf: str, name: str) -> int:
    for line in subprocess.run([nm, elf], check=True, capture_output=True, text=True).stdout.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[2] == name:
            return int(parts[0], 16)
    raise SystemExit(f"make_multiboot1_wrapper: symbol {name} not found in {elf}")


def main() -> int:
    nm, flat, elf, output = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
    image_start = symbol(nm, elf, "__image_start_phys")
    image_end = symbol(nm, elf, "__image_end_phys")
    entry = symbol(nm, elf, "start32")
    with open(flat, "rb") as f:
        payload = f.read()
    header_size = 52 + 32
    payload_offset = 0x100  # the Multiboot header must be within the first 8 KiB of the file
    memory_size = image_end - image_start
    if len(payload) > memory_size:
        raise SystemExit("make_multiboot1_wrapper: payload larger than the image")
    ident = b"\x7fELF" + bytes([1, 1, 1, 0]) + bytes(8)  # ELFCLASS32, little-endian, version 1
    elf_header = ident + struct.pack("<HHIIIIIHHHHHH", 2, 3, 1, entry, 52, 0, 0, 52, 32, 1, 40, 0, 0)
    program_header = struct.pack("<IIIIIIII", 1, payload_offset, image_start, image_start, len(payload),
                                 memory_size, 7, 0x1000)
    assert len(elf_header) + len(program_header) == header_size
    with open(output, "wb") as f:
        f.write(elf_header + program_header + bytes(payload_offset - header_size) + payload)
    return 0


if __name__ == "__main__":
    sys.exit(main())
