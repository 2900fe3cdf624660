#!/usr/bin/env python3
"""tools.initramfs: build archives with tools/make_initramfs.py and read them back with our own newc parser."""
from __future__ import annotations

import gzip
import shutil
import stat
import struct
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from make_initramfs import InitramfsError, build  # noqa: E402


def parse_newc(data: bytes) -> dict[str, dict]:
    """Independent reader: every entry's mode, data and device numbers; checks the 4-byte alignment."""
    entries: dict[str, dict] = {}
    offset = 0
    while True:
        if data[offset:offset + 6] != b"070701":
            raise AssertionError(f"bad newc magic at {offset:#x}")
        fields = [int(data[offset + 6 + 8 * i:offset + 14 + 8 * i], 16) for i in range(13)]
        inode, mode, uid, gid, nlink, mtime, size, _, _, rmajor, rminor, namesize, _ = fields
        name_start = offset + 110
        name = data[name_start:name_start + namesize - 1].decode()
        assert data[name_start + namesize - 1] == 0
        data_start = (name_start + namesize + 3) & ~3
        body = data[data_start:data_start + size]
        offset = (data_start + size + 3) & ~3
        if name == "TRAILER!!!":
            assert offset == len(data), "bytes after the trailer"
            return entries
        assert name not in entries, f"{name} twice"
        entries[name] = dict(inode=inode, mode=mode, uid=uid, gid=gid, nlink=nlink, mtime=mtime, data=body,
                             rdev=(rmajor, rminor))


def fake_elf(interp: bool = False, machine: int = 62) -> bytes:
    """An ELF64 executable header with one program header (PT_INTERP when interp, else PT_LOAD)."""
    header = bytearray(64 + 56)
    header[:7] = b"\x7fELF\x02\x01\x01"
    struct.pack_into("<HH", header, 16, 2, machine)
    struct.pack_into("<Q", header, 0x20, 64)            # e_phoff
    struct.pack_into("<HH", header, 0x36, 56, 1)        # e_phentsize, e_phnum
    struct.pack_into("<I", header, 64, 3 if interp else 1)
    return bytes(header) + b"busybox body"


def fake_module(depends: str) -> bytes:
    """A relocatable ELF64 with just .modinfo and .shstrtab, the two sections the builder reads."""
    modinfo = f"license=GPL\0depends={depends}\0vermagic=6.1.0 SMP\0".encode()
    shstrtab = b"\0.modinfo\0.shstrtab\0"
    shoff = 64 + len(modinfo) + len(shstrtab)
    elf = bytearray(64)
    elf[:7] = b"\x7fELF\x02\x01\x01"
    struct.pack_into("<HH", elf, 16, 1, 62)
    struct.pack_into("<Q", elf, 0x28, shoff)
    struct.pack_into("<HHHHH", elf, 0x36, 0, 0, 64, 3, 2)  # phentsize, phnum, shentsize, shnum, shstrndx
    elf += modinfo + shstrtab
    elf += bytes(64)  # section 0: null
    elf += struct.pack("<IIQQQQIIQQ", 1, 1, 0, 0, 64, len(modinfo), 0, 0, 1, 0)
    elf += struct.pack("<IIQQQQIIQQ", 10, 3, 0, 0, 64 + len(modinfo), len(shstrtab), 0, 0, 1, 0)
    return bytes(elf)


class Initramfs(unittest.TestCase):
    def setUp(self) -> None:
        self.directory = tempfile.TemporaryDirectory()
        self.tmp = Path(self.directory.name)
        self.busybox = self.tmp / "busybox"
        self.busybox.write_bytes(fake_elf())

    def tearDown(self) -> None:
        self.directory.cleanup()

    def read(self, path: Path) -> dict[str, dict]:
        data = path.read_bytes()
        return parse_newc(gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data)

    def test_base_archive(self) -> None:
        output = self.tmp / "initramfs.cpio.gz"
        names = build(output, self.busybox)
        entries = self.read(output)
        self.assertEqual(sorted(entries), names)
        init = entries["init"]
        self.assertEqual(stat.S_IFMT(init["mode"]), stat.S_IFREG)
        self.assertEqual(init["mode"] & 0o777, 0o755)
        self.assertTrue(init["data"].startswith(b"#!/bin/sh\n"))
        self.assertEqual(entries["bin/busybox"]["data"], self.busybox.read_bytes())
        for applet in ("sh", "mount", "poweroff", "setsid", "modprobe"):
            self.assertEqual(stat.S_IFMT(entries[f"bin/{applet}"]["mode"]), stat.S_IFLNK)
            self.assertEqual(entries[f"bin/{applet}"]["data"], b"busybox")
        self.assertEqual(stat.S_IFMT(entries["dev/console"]["mode"]), stat.S_IFCHR)
        self.assertEqual(entries["dev/console"]["rdev"], (5, 1))
        self.assertEqual(entries["dev/hvc0"]["rdev"], (229, 0))
        for directory in ("proc", "sys", "dev", "tmp"):
            self.assertEqual(stat.S_IFMT(entries[directory]["mode"]), stat.S_IFDIR)
        # Every entry is owned by root with mtime 0, and every parent directory precedes its children.
        for name, entry in entries.items():
            self.assertEqual((entry["uid"], entry["gid"], entry["mtime"]), (0, 0, 0), name)
            if "/" in name:
                self.assertIn(name.rsplit("/", 1)[0], entries, name)
        inodes = [entry["inode"] for entry in entries.values()]
        self.assertEqual(len(set(inodes)), len(inodes))

    def test_init_script_is_valid_shell_and_does_its_job(self) -> None:
        output = self.tmp / "initramfs.cpio"
        build(output, self.busybox, compress=False)
        script = self.read(output)["init"]["data"].decode()
        (self.tmp / "init").write_text(script)
        result = subprocess.run(["sh", "-n", str(self.tmp / "init")], capture_output=True, text=True, check=False)
        self.assertEqual(result.returncode, 0, result.stderr)
        for needed in ("mount -t proc", "mount -t sysfs", "mount -t devtmpfs", "xenolith-init: up",
                       "xenolith.test=", "/dev/hvc0", "poweroff -f"):
            self.assertIn(needed, script)

    def test_deterministic_and_compressed(self) -> None:
        first, second = self.tmp / "a.cpio.gz", self.tmp / "b.cpio.gz"
        build(first, self.busybox)
        build(second, self.busybox)
        self.assertEqual(first.read_bytes(), second.read_bytes())
        self.assertEqual(first.read_bytes()[:2], b"\x1f\x8b")
        plain = self.tmp / "c.cpio"
        build(plain, self.busybox, compress=False)
        self.assertEqual(plain.read_bytes()[:6], b"070701")
        self.assertEqual(gzip.decompress(first.read_bytes()), plain.read_bytes())

    def test_test_script_and_extra_files(self) -> None:
        script = self.tmp / "smoke.sh"
        script.write_text("echo hello\n")
        script.chmod(0o755)
        data = self.tmp / "data.txt"
        data.write_text("payload\n")
        output = self.tmp / "i.cpio.gz"
        build(output, self.busybox, runs=script, extra=[(data, "/srv/deep/data.txt")])
        entries = self.read(output)
        self.assertEqual(entries["tests/smoke.sh"]["data"], b"echo hello\n")
        self.assertEqual(entries["etc/xenolith/run"]["data"], b"/tests/smoke.sh\n")
        self.assertEqual(entries["srv/deep/data.txt"]["data"], b"payload\n")
        self.assertEqual(entries["srv/deep/data.txt"]["mode"] & 0o777, 0o644)
        self.assertIn("srv/deep", entries)

    def test_modules_with_dependencies(self) -> None:
        modules = self.tmp / "lib" / "modules" / "6.1.0-test-amd64"
        (modules / "kernel" / "drivers" / "block").mkdir(parents=True)
        (modules / "kernel" / "lib").mkdir(parents=True)
        (modules / "kernel" / "drivers" / "block" / "xen-blkfront.ko").write_bytes(fake_module("crc_lib,mid"))
        (modules / "kernel" / "lib" / "mid.ko").write_bytes(fake_module("crc-lib"))
        (modules / "kernel" / "lib" / "crc-lib.ko").write_bytes(fake_module(""))
        (modules / "kernel" / "lib" / "unused.ko").write_bytes(fake_module(""))
        (modules / "modules.builtin").write_text("kernel/drivers/tty/hvc/hvc_xen.ko\n")
        output = self.tmp / "m.cpio.gz"
        build(output, self.busybox, modules_dir=modules, modules=["xen_blkfront"])
        entries = self.read(output)
        base = "lib/modules/6.1.0-test-amd64"
        for module in ("drivers/block/xen-blkfront.ko", "lib/mid.ko", "lib/crc-lib.ko"):
            self.assertIn(f"{base}/kernel/{module}", entries)
        self.assertNotIn(f"{base}/kernel/lib/unused.ko", entries)
        dep = entries[f"{base}/modules.dep"]["data"].decode().splitlines()
        self.assertIn("kernel/lib/crc-lib.ko:", dep)
        self.assertIn("kernel/lib/mid.ko: kernel/lib/crc-lib.ko", dep)
        self.assertIn("kernel/drivers/block/xen-blkfront.ko: kernel/lib/crc-lib.ko kernel/lib/mid.ko", dep)
        self.assertLess(dep.index("kernel/lib/crc-lib.ko:"), dep.index("kernel/lib/mid.ko: kernel/lib/crc-lib.ko"))
        self.assertIn(f"{base}/modules.builtin", entries)
        with self.assertRaisesRegex(InitramfsError, "no module 'nope'"):
            build(output, self.busybox, modules_dir=modules, modules=["nope"])

    def test_errors(self) -> None:
        dynamic = self.tmp / "dynamic"
        dynamic.write_bytes(fake_elf(interp=True))
        with self.assertRaisesRegex(InitramfsError, "dynamically linked"):
            build(self.tmp / "x", dynamic)
        with self.assertRaisesRegex(InitramfsError, "not found"):
            build(self.tmp / "x", self.tmp / "absent")
        text = self.tmp / "text"
        text.write_text("#!/bin/sh\n" * 10)
        with self.assertRaisesRegex(InitramfsError, "not a little-endian ELF64"):
            build(self.tmp / "x", text)
        with self.assertRaisesRegex(InitramfsError, "needs --modules-dir"):
            build(self.tmp / "x", self.busybox, modules=["a"])

    def test_command_line(self) -> None:
        output = self.tmp / "cli.cpio.gz"
        result = subprocess.run([sys.executable, str(HERE.parent / "make_initramfs.py"), "-o", str(output),
                                 "--busybox", str(self.busybox)], capture_output=True, text=True, check=False)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("gzip-compressed newc cpio", result.stdout)
        result = subprocess.run([sys.executable, str(HERE.parent / "make_initramfs.py"), "-o", str(output),
                                 "--busybox", str(self.tmp / "absent")], capture_output=True, text=True, check=False)
        self.assertEqual(result.returncode, 1)
        self.assertIn("make_initramfs: ", result.stderr)

    @unittest.skipUnless(shutil.which("cpio"), "cpio is not installed")
    def test_cpio_lists_the_same_names(self) -> None:
        output = self.tmp / "plain.cpio"
        names = build(output, self.busybox, compress=False)
        listing = subprocess.run(["cpio", "-t", "--quiet"], input=output.read_bytes(), capture_output=True,
                                 check=True).stdout.decode().split()
        self.assertEqual(sorted(listing), names)


if __name__ == "__main__":
    unittest.main()
