"""Synthetic bzImages for the tools' Python tests: a boot header plus an xz stream made with the
standard library (x86 BCJ + LZMA2, CRC32, then the u32 size Linux appends)."""
from __future__ import annotations

import lzma
import struct


def make_elf(size: int = 50000, machine: int = 62) -> bytes:
    header = b"\x7fELF" + bytes([2, 1, 1]) + bytes(9) + struct.pack("<HH", 2, machine)
    body = bytes((i // 89) & 0xff for i in range(size - len(header)))
    return header + body


def xz_payload(data: bytes) -> bytes:
    stream = lzma.compress(data, format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC32,
                           filters=[{"id": lzma.FILTER_X86}, {"id": lzma.FILTER_LZMA2, "preset": 6}])
    return stream + struct.pack("<I", len(data))


def make_bzimage(payload: bytes, setup_sects: int = 27, payload_offset: int = 0x2cc, version: int = 0x020f) -> bytes:
    start = (setup_sects + 1) * 512 + payload_offset
    image = bytearray(b"\xcc" * (start + len(payload) + 64))
    image[0x1f1] = setup_sects
    image[0x1fe:0x200] = b"\x55\xaa"
    image[0x202:0x206] = b"HdrS"
    image[0x206:0x208] = struct.pack("<H", version)
    image[0x248:0x250] = struct.pack("<II", payload_offset, len(payload))
    image[start:start + len(payload)] = payload
    return bytes(image)
