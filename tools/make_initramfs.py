#!/usr/bin/env python3
"""Build the Linux guest's initramfs: Debian's busybox-static, a small /init, optional test
scripts and kernel modules, as a newc cpio archive (gzip-compressed unless --no-compress).

    tools/make_initramfs.py -o build/linux-guest/initramfs.cpio.gz
    tools/make_initramfs.py -o out.cpio.gz --run tests/linux/smoke.sh \\
        --modules-dir "$(tools/fetch_linux_guest.py --build-dir build --print-modules)" --module xen-blkfront

/init mounts proc, sys, devtmpfs and a tmpfs on /tmp, prints "xenolith-init: ..." banner lines,
loads the modules named by xenolith.modules=a:b (or a,b) on the kernel command line, then runs the test
script named by xenolith.test=PATH (or the one given with --run); when it ends, init prints its
exit status and powers the domain off. Without a test script, init starts a shell on /dev/hvc0
(the PV console) and powers off when that shell exits.
"""
from __future__ import annotations

import argparse
import gzip
import lzma
import stat
import struct
import sys
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_BUSYBOX = Path("/bin/busybox")  # Debian's busybox-static puts its static binary here

# Applets /init uses before `busybox --install -s` provides the rest (it needs /proc mounted first).
INIT_APPLETS = ("sh", "mount", "mkdir", "cat", "echo", "uname", "setsid", "poweroff", "reboot", "modprobe",
                "insmod", "sleep", "ls", "cttyhack", "grep", "sed", "tr", "sync")

INIT_SCRIPT = r"""#!/bin/sh
# Xenolith's initramfs /init (built by tools/make_initramfs.py): mount the kernel file systems,
# announce ourselves, then run a test script or give the user a shell on the PV console.
PATH=/bin:/sbin:/usr/bin:/usr/sbin
export PATH
mkdir -p /proc /sys /dev /tmp /run
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null || echo "xenolith-init: devtmpfs not mounted, keeping the static /dev"
mount -t tmpfs tmpfs /tmp
/bin/busybox --install -s
echo "xenolith-init: up: Linux $(uname -r), $(grep -c ^processor /proc/cpuinfo) CPU(s), $(sed -n 's/^MemTotal: *//p' /proc/meminfo)"

test_script=
modules=
for word in $(cat /proc/cmdline); do
    case "$word" in
    xenolith.test=*) test_script=${word#xenolith.test=} ;;
    xenolith.modules=*) modules=$(echo "${word#xenolith.modules=}" | tr ',:' '  ') ;;
    esac
done
[ -z "$test_script" ] && [ -f /etc/xenolith/run ] && test_script=$(cat /etc/xenolith/run)
for module in $modules; do
    modprobe "$module" && echo "xenolith-init: loaded module $module" || echo "xenolith-init: could not load module $module"
done

if [ -n "$test_script" ]; then
    echo "xenolith-init: running $test_script"
    sh "$test_script"
    status=$?
    echo "xenolith-init: $test_script exited with status $status"
    sync
    poweroff -f
fi

if [ -c /dev/hvc0 ]; then
    echo "xenolith-init: no test script; starting a shell on /dev/hvc0 ('poweroff -f' to end the domain)"
    setsid sh -c "exec sh -i </dev/hvc0 >/dev/hvc0 2>&1"
else
    # Not under Xen (e.g. QEMU -kernel): cttyhack finds the console's real tty for job control.
    echo "xenolith-init: no test script and no /dev/hvc0; starting a shell on the console"
    setsid cttyhack sh -i
fi
echo "xenolith-init: the shell exited; powering off"
poweroff -f
"""


class InitramfsError(Exception):
    """The message names the file and what was expected."""


# --- newc cpio (the format Linux's initramfs unpacker reads: Documentation/driver-api/early-userspace) ---

@dataclass
class CpioWriter:
    """Writes a deterministic newc archive: owner root, mtime 0, inode numbers in order."""
    chunks: list[bytes] = field(default_factory=list)
    size: int = 0
    next_inode: int = 1
    names: set[str] = field(default_factory=set)

    def _entry(self, name: str, mode: int, data: bytes = b"", rdev: tuple[int, int] = (0, 0), nlink: int = 1) -> None:
        if name != "TRAILER!!!":
            if name in self.names:
                raise InitramfsError(f"initramfs: {name} added twice")
            self.names.add(name)
        encoded = name.encode() + b"\0"
        fields = (self.next_inode, mode, 0, 0, nlink, 0, len(data), 0, 0, rdev[0], rdev[1], len(encoded), 0)
        header = b"070701" + b"".join(b"%08X" % value for value in fields)
        self.next_inode += 1
        self._append(header + encoded)
        self._pad()
        self._append(data)
        self._pad()

    def _append(self, data: bytes) -> None:
        self.chunks.append(data)
        self.size += len(data)

    def _pad(self) -> None:
        self._append(b"\0" * (-self.size % 4))

    def directory(self, name: str) -> None:
        self._entry(name, stat.S_IFDIR | 0o755, nlink=2)

    def file(self, name: str, data: bytes, mode: int = 0o644) -> None:
        self._entry(name, stat.S_IFREG | mode, data)

    def symlink(self, name: str, target: str) -> None:
        self._entry(name, stat.S_IFLNK | 0o777, target.encode())

    def char_device(self, name: str, major: int, minor: int, mode: int = 0o600) -> None:
        self._entry(name, stat.S_IFCHR | mode, rdev=(major, minor))

    def finish(self) -> bytes:
        self._entry("TRAILER!!!", 0)
        return b"".join(self.chunks)


# --- ELF reading: enough to check busybox is static and to read a module's .modinfo ---

def _elf_header(data: bytes, path: Path) -> tuple[int, int, int, int, int, int, int]:
    if len(data) < 64 or data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        raise InitramfsError(f"{path}: not a little-endian ELF64 file")
    phoff, shoff = struct.unpack_from("<QQ", data, 0x20)
    phentsize, phnum, shentsize, shnum, shstrndx = struct.unpack_from("<HHHHH", data, 0x36)
    return phoff, phentsize, phnum, shoff, shentsize, shnum, shstrndx


def check_static_x86_64(path: Path, data: bytes) -> None:
    phoff, phentsize, phnum, *_ = _elf_header(data, path)
    if struct.unpack_from("<H", data, 18)[0] != 62:
        raise InitramfsError(f"{path}: not an x86-64 program")
    for index in range(phnum):
        if struct.unpack_from("<I", data, phoff + index * phentsize)[0] == 3:  # PT_INTERP
            raise InitramfsError(f"{path}: dynamically linked; install Debian's busybox-static "
                                 f"(its /bin/busybox is static) or pass --busybox")


def module_info(path: Path) -> dict[str, str]:
    """The key=value strings of a kernel module's .modinfo section (.ko or .ko.xz)."""
    data = path.read_bytes()
    if path.suffix == ".xz":
        data = lzma.decompress(data)
    elif path.suffix in (".zst", ".gz"):
        raise InitramfsError(f"{path}: {path.suffix[1:]}-compressed modules are not supported (only .ko and .ko.xz)")
    _, _, _, shoff, shentsize, shnum, shstrndx = _elf_header(data, path)

    def section(index: int) -> tuple[int, int, int]:
        name, _, _, _, offset, size = struct.unpack_from("<IIQQQQ", data, shoff + index * shentsize)
        return name, offset, size

    _, names_offset, _ = section(shstrndx)
    for index in range(shnum):
        name, offset, size = section(index)
        end = data.index(b"\0", names_offset + name)
        if data[names_offset + name:end] == b".modinfo":
            info: dict[str, str] = {}
            for item in data[offset:offset + size].split(b"\0"):
                key, equals, value = item.decode(errors="replace").partition("=")
                if equals:
                    info.setdefault(key, value)
            return info
    raise InitramfsError(f"{path}: no .modinfo section: is this a kernel module?")


def _module_name(path: Path) -> str:
    name = path.name
    for suffix in (".xz", ".zst", ".gz"):
        name = name.removesuffix(suffix)
    return name.removesuffix(".ko").replace("-", "_")


def resolve_modules(modules_dir: Path, wanted: list[str]) -> list[Path]:
    """The modules named (either spelling, '-' or '_') plus everything they depend on, dependencies first."""
    if not modules_dir.is_dir():
        raise InitramfsError(f"{modules_dir}: no such modules directory (expected ROOT/lib/modules/RELEASE)")
    available = {_module_name(path): path for path in modules_dir.rglob("*.ko*")}
    ordered: list[Path] = []
    visiting: set[str] = set()

    def visit(name: str, wanted_by: str) -> None:
        key = name.replace("-", "_")
        if key not in available:
            raise InitramfsError(f"{modules_dir}: no module {name!r} (wanted by {wanted_by})")
        path = available[key]
        if path in ordered or key in visiting:
            return
        visiting.add(key)
        for dependency in filter(None, module_info(path).get("depends", "").split(",")):
            visit(dependency, key)
        ordered.append(path)

    for name in wanted:
        visit(name, "the command line")
    return ordered


# --- the archive ---

def build(output: Path, busybox: Path = DEFAULT_BUSYBOX, runs: Path | None = None,
          extra: list[tuple[Path, str]] | None = None, modules_dir: Path | None = None,
          modules: list[str] | None = None, compress: bool = True) -> list[str]:
    """Writes the archive; returns the names it holds, in order."""
    if not busybox.is_file():
        raise InitramfsError(f"{busybox}: not found; install Debian's busybox-static or pass --busybox")
    busybox_data = busybox.read_bytes()
    check_static_x86_64(busybox, busybox_data)

    archive = CpioWriter()
    for directory in ("bin", "sbin", "usr", "usr/bin", "usr/sbin", "dev", "proc", "sys", "tmp", "run", "root",
                      "etc", "etc/xenolith", "tests"):
        archive.directory(directory)
    # The kernel opens /dev/console for init's stdio before /init can mount devtmpfs.
    archive.char_device("dev/console", 5, 1)
    archive.char_device("dev/hvc0", 229, 0)
    archive.file("bin/busybox", busybox_data, 0o755)
    for applet in INIT_APPLETS:
        archive.symlink(f"bin/{applet}", "busybox")
    archive.file("init", INIT_SCRIPT.encode(), 0o755)

    for source, destination in extra or []:
        if not source.is_file():
            raise InitramfsError(f"{source}: no such file (from --add)")
        destination = destination.strip("/")
        for parent in reversed(Path(destination).parents[:-1]):
            if str(parent) not in archive.names:
                archive.directory(str(parent))
        archive.file(destination, source.read_bytes(), 0o755 if source.stat().st_mode & 0o111 else 0o644)
    if runs is not None:
        if not runs.is_file():
            raise InitramfsError(f"{runs}: no such test script (from --run)")
        archive.file(f"tests/{runs.name}", runs.read_bytes(), 0o755)
        archive.file("etc/xenolith/run", f"/tests/{runs.name}\n".encode())

    if modules:
        if modules_dir is None:
            raise InitramfsError("--module needs --modules-dir (ROOT/lib/modules/RELEASE of the kernel package)")
        release = modules_dir.name
        paths = resolve_modules(modules_dir, modules)
        base = f"lib/modules/{release}"
        for directory in ("lib", "lib/modules", base):
            archive.directory(directory)
        dependencies: list[str] = []
        for path in paths:
            relative = path.relative_to(modules_dir).as_posix()
            for parent in reversed(Path(relative).parents[:-1]):
                if f"{base}/{parent}" not in archive.names:
                    archive.directory(f"{base}/{parent}")
            archive.file(f"{base}/{relative}", path.read_bytes())
            depends = [name for name in module_info(path).get("depends", "").split(",") if name]
            by_name = {_module_name(other): other.relative_to(modules_dir).as_posix() for other in paths}
            # modules.dep lists every dependency, transitively, nearest first (what modprobe expects).
            closure: list[str] = []
            pending = list(depends)
            while pending:
                name = pending.pop(0).replace("-", "_")
                if by_name[name] not in closure:
                    closure.append(by_name[name])
                    pending += [d for d in module_info(modules_dir / by_name[name]).get("depends", "").split(",") if d]
            dependencies.append(f"{relative}: {' '.join(closure)}".rstrip())
        archive.file(f"{base}/modules.dep", ("\n".join(dependencies) + "\n").encode())
        builtin = modules_dir / "modules.builtin"
        if builtin.is_file():
            archive.file(f"{base}/modules.builtin", builtin.read_bytes())

    data = archive.finish()
    if compress:
        data = gzip.compress(data, compresslevel=9, mtime=0)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_bytes(data)
    return sorted(archive.names)


def _add_argument(text: str) -> tuple[Path, str]:
    source, colon, destination = text.partition(":")
    if not colon or not destination:
        raise argparse.ArgumentTypeError(f"expected SOURCE:DESTINATION, found {text!r}")
    return Path(source), destination


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-o", "--output", type=Path, required=True)
    parser.add_argument("--busybox", type=Path, default=DEFAULT_BUSYBOX, help="a static x86-64 busybox")
    parser.add_argument("--run", type=Path, help="a test script: installed as /tests/NAME and run by /init")
    parser.add_argument("--add", type=_add_argument, action="append", default=[], metavar="SOURCE:DEST",
                        help="add a file at DEST in the archive (repeatable)")
    parser.add_argument("--modules-dir", type=Path, help="ROOT/lib/modules/RELEASE of the kernel package")
    parser.add_argument("--module", action="append", default=[], help="a module to include with its dependencies")
    parser.add_argument("--no-compress", action="store_true", help="write a plain cpio archive, not gzip")
    args = parser.parse_args()
    try:
        names = build(args.output, args.busybox, args.run, args.add, args.modules_dir, args.module,
                      not args.no_compress)
    except (InitramfsError, OSError) as error:
        print(f"make_initramfs: {error}", file=sys.stderr)
        return 1
    print(f"make_initramfs: wrote {args.output} ({args.output.stat().st_size} bytes, {len(names)} entries, "
          f"{'newc cpio' if args.no_compress else 'gzip-compressed newc cpio'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
