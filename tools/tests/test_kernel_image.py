#!/usr/bin/env python3
"""tools.kernel_image: ./xenolith boot's detection of ELF vs bzImage and the cached conversion."""
from __future__ import annotations

import os
import sys
import tempfile
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))
from kernel_image import KernelImageError, converted_path, ensure_elf, kind  # noqa: E402
from synthetic_bzimage import make_bzimage, make_elf, xz_payload  # noqa: E402

TOOL = Path(sys.argv.pop(1)) if len(sys.argv) > 1 else Path("vmlinuz_to_elf")


class KernelImage(unittest.TestCase):
    def setUp(self) -> None:
        self.directory = tempfile.TemporaryDirectory()
        self.tmp = Path(self.directory.name)
        self.build = self.tmp / "build"

    def tearDown(self) -> None:
        self.directory.cleanup()

    def test_elf_passes_through(self) -> None:
        kernel = self.tmp / "kernel.elf"
        kernel.write_bytes(make_elf(1000))
        self.assertEqual(kind(kernel), "elf")
        self.assertEqual(ensure_elf(kernel, self.build, TOOL), kernel)

    def test_bzimage_is_converted_once(self) -> None:
        elf = make_elf()
        kernel = self.tmp / "vmlinuz-6.1"
        kernel.write_bytes(make_bzimage(xz_payload(elf)))
        self.assertEqual(kind(kernel), "bzimage")
        output = ensure_elf(kernel, self.build, TOOL)
        self.assertEqual(output, converted_path(kernel, self.build))
        self.assertEqual(output.read_bytes(), elf)
        # A second call reuses the conversion; a newer bzImage is converted again.
        stamp = output.stat().st_mtime_ns
        self.assertEqual(ensure_elf(kernel, self.build, TOOL).stat().st_mtime_ns, stamp)
        kernel.write_bytes(make_bzimage(xz_payload(make_elf(3000))))
        os.utime(kernel, ns=(stamp + 10**9, stamp + 10**9))
        self.assertEqual(ensure_elf(kernel, self.build, TOOL).read_bytes(), make_elf(3000))

    def test_conversion_errors_are_reported(self) -> None:
        kernel = self.tmp / "vmlinuz"
        kernel.write_bytes(make_bzimage(b"\x1f\x8b\x08\x00junk"))
        with self.assertRaisesRegex(KernelImageError, "unsupported compression: the payload is gzip"):
            ensure_elf(kernel, self.build, TOOL)

    def test_unknown_files_are_refused(self) -> None:
        other = self.tmp / "notes.txt"
        other.write_text("hello")
        self.assertEqual(kind(other), "unknown")
        with self.assertRaisesRegex(KernelImageError, "neither an ELF kernel nor a bzImage"):
            ensure_elf(other, self.build, TOOL)

    def test_missing_tool(self) -> None:
        kernel = self.tmp / "vmlinuz"
        kernel.write_bytes(make_bzimage(xz_payload(make_elf(1000))))
        with self.assertRaisesRegex(KernelImageError, "build the project first"):
            ensure_elf(kernel, self.build, self.tmp / "no-such-tool")


if __name__ == "__main__":
    unittest.main()
