"""Kernel images as users have them: an ELF is booted as it is, a bzImage (a Debian vmlinuz) is
converted to its ELF with tools/vmlinuz_to_elf first (spec pv-abi-core §1.2)."""
from __future__ import annotations

import subprocess
from pathlib import Path


class KernelImageError(Exception):
    """The message names the file and what was wrong with it."""


def kind(path: Path) -> str:
    """'elf', 'bzimage' or 'unknown', from the first bytes and the boot header."""
    with path.open("rb") as file:
        head = file.read(0x210)
    if head[:4] == b"\x7fELF":
        return "elf"
    if len(head) >= 0x206 and head[0x1fe:0x200] == b"\x55\xaa" and head[0x202:0x206] == b"HdrS":
        return "bzimage"
    return "unknown"


def converted_path(kernel: Path, build_dir: Path) -> Path:
    return build_dir / "linux-guest" / "elf" / f"{kernel.name}.elf"


def ensure_elf(kernel: Path, build_dir: Path, tool: Path | None = None) -> Path:
    """Returns an ELF for `kernel`: itself, or its conversion under BUILD/linux-guest/elf/ (redone when
    the bzImage is newer than the ELF)."""
    image_kind = kind(kernel)
    if image_kind == "elf":
        return kernel
    if image_kind != "bzimage":
        raise KernelImageError(f"{kernel}: neither an ELF kernel nor a bzImage (no \\x7fELF, no 0xaa55/HdrS boot header)")
    tool = tool or build_dir / "tools" / "vmlinuz_to_elf"
    if not tool.is_file():
        raise KernelImageError(f"{tool} is missing: build the project first (./xenolith build)")
    output = converted_path(kernel, build_dir)
    if output.is_file() and output.stat().st_mtime >= kernel.stat().st_mtime:
        return output
    output.parent.mkdir(parents=True, exist_ok=True)
    result = subprocess.run([str(tool), str(kernel), str(output)], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise KernelImageError(result.stderr.strip() or f"{tool} failed with status {result.returncode}")
    return output
