#!/usr/bin/env python3
"""tools.vmlinuz_to_elf_cli: the command-line tool end to end on synthetic bzImages."""
from __future__ import annotations

import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from synthetic_bzimage import make_bzimage, make_elf, xz_payload  # noqa: E402

TOOL = Path(sys.argv.pop(1)) if len(sys.argv) > 1 else Path("vmlinuz_to_elf")


def run(*args: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(TOOL), *map(str, args)], capture_output=True, text=True, check=False)


class VmlinuzToElf(unittest.TestCase):
    def setUp(self) -> None:
        self.directory = tempfile.TemporaryDirectory()
        self.tmp = Path(self.directory.name)

    def tearDown(self) -> None:
        self.directory.cleanup()

    def test_converts(self) -> None:
        elf = make_elf()
        (self.tmp / "vmlinuz").write_bytes(make_bzimage(xz_payload(elf)))
        result = run(self.tmp / "vmlinuz", self.tmp / "out.elf")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual((self.tmp / "out.elf").read_bytes(), elf)
        self.assertIn("boot protocol 2.15, setup_sects 27, payload_offset 0x2cc", result.stdout)
        self.assertFalse((self.tmp / "out.elf.tmp").exists())

    def test_errors_name_the_file_and_leave_no_output(self) -> None:
        (self.tmp / "junk").write_bytes(b"\0" * 4096)
        result = run(self.tmp / "junk", self.tmp / "out.elf")
        self.assertEqual(result.returncode, 1)
        self.assertIn(f"vmlinuz_to_elf: {self.tmp / 'junk'}: not a bzImage", result.stderr)
        self.assertFalse((self.tmp / "out.elf").exists())

    def test_missing_input_and_usage(self) -> None:
        result = run(self.tmp / "absent", self.tmp / "out.elf")
        self.assertEqual(result.returncode, 1)
        self.assertIn("cannot open", result.stderr)
        self.assertEqual(run().returncode, 2)

    def test_wrong_machine(self) -> None:
        (self.tmp / "vmlinuz").write_bytes(make_bzimage(xz_payload(make_elf(machine=183))))
        result = run(self.tmp / "vmlinuz", self.tmp / "out.elf")
        self.assertEqual(result.returncode, 1)
        self.assertIn("not x86-64 (e_machine 183", result.stderr)


if __name__ == "__main__":
    unittest.main()
