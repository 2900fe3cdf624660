#!/usr/bin/env python3
"""Download and unpack the pinned Debian kernel (tools/linux-guest.conf) into the build directory.

    tools/fetch_linux_guest.py --build-dir build            # prints the path of the vmlinuz
    tools/fetch_linux_guest.py --build-dir build --print-root

The package is fetched with `apt-get download` and unpacked with `dpkg -x` under
BUILD/linux-guest/PACKAGE_VERSION/ (nothing is installed on the host). A second run reuses the
download and the unpacked tree.
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

TOOLS = Path(__file__).resolve().parent
CONFIG = TOOLS / "linux-guest.conf"


class FetchError(Exception):
    """A failure the user can act on; the message says what and where."""


@dataclass(frozen=True)
class KernelPin:
    package: str
    version: str

    @property
    def release(self) -> str:
        """The kernel release as it appears in /boot and /lib/modules (linux-image-RELEASE)."""
        prefix = "linux-image-"
        if not self.package.startswith(prefix):
            raise FetchError(f"{self.package}: not a linux-image-* package name")
        return self.package[len(prefix):].removesuffix("-unsigned")


def read_pin(path: Path = CONFIG) -> KernelPin:
    """Reads `key = value` lines; every error names the file and the line."""
    values: dict[str, str] = {}
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, equals, value = line.partition("=")
        if not equals or not key.strip() or not value.strip():
            raise FetchError(f"{path}:{number}: expected 'key = value', found {line!r}")
        if key.strip() not in ("package", "version"):
            raise FetchError(f"{path}:{number}: unknown key {key.strip()!r} (expected 'package' or 'version')")
        values[key.strip()] = value.strip()
    missing = [key for key in ("package", "version") if key not in values]
    if missing:
        raise FetchError(f"{path}: missing {' and '.join(missing)}")
    return KernelPin(values["package"], values["version"])


def cache_dir(build_dir: Path, pin: KernelPin) -> Path:
    return build_dir / "linux-guest" / f"{pin.package}_{pin.version}"


def _run(command: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)


def check_available(pin: KernelPin) -> None:
    for tool in ("apt-get", "apt-cache", "dpkg"):
        if shutil.which(tool) is None:
            raise FetchError(f"{tool} not found: fetching the kernel needs Debian's apt and dpkg")
    result = _run(["apt-cache", "show", f"{pin.package}={pin.version}"])
    if result.returncode != 0 or not result.stdout.strip():
        policy = _run(["apt-cache", "policy", pin.package]).stdout.strip() or "(apt knows no such package)"
        raise FetchError(
            f"{pin.package} version {pin.version} is not in this machine's apt archive.\n"
            f"apt-cache policy {pin.package}:\n{policy}\n"
            f"Run 'apt-get update' first; if the version is gone from the archive, pin another one in {CONFIG} "
            f"(see 'apt-cache depends linux-image-amd64').")


def fetch(build_dir: Path, pin: KernelPin) -> Path:
    """Returns the unpacked root (ROOT/boot/vmlinuz-RELEASE, ROOT/lib/modules/RELEASE)."""
    directory = cache_dir(build_dir, pin)
    root = directory / "root"
    done = directory / ".unpacked"
    if done.is_file() and done.read_text().strip() == f"{pin.package}={pin.version}":
        return root
    directory.mkdir(parents=True, exist_ok=True)
    debs = sorted(directory.glob(f"{pin.package}_*.deb"))
    deb = next((path for path in debs if _deb_version(path) == pin.version), None)
    if deb is None:
        check_available(pin)
        print(f"fetch_linux_guest: apt-get download {pin.package}={pin.version}", file=sys.stderr)
        result = _run(["apt-get", "download", f"{pin.package}={pin.version}"], cwd=directory)
        if result.returncode != 0:
            raise FetchError(f"apt-get download {pin.package}={pin.version} failed:\n{result.stderr.strip()}")
        debs = sorted(directory.glob(f"{pin.package}_*.deb"))
        deb = next((path for path in debs if _deb_version(path) == pin.version), None)
        if deb is None:
            raise FetchError(f"apt-get download reported success but no {pin.package}_*.deb appeared in {directory}")
    if root.exists():
        shutil.rmtree(root)
    print(f"fetch_linux_guest: dpkg -x {deb.name} {root}", file=sys.stderr)
    result = _run(["dpkg", "-x", str(deb), str(root)])
    if result.returncode != 0:
        raise FetchError(f"dpkg -x {deb} failed:\n{result.stderr.strip()}")
    vmlinuz = root / "boot" / f"vmlinuz-{pin.release}"
    if not vmlinuz.is_file():
        raise FetchError(f"{deb.name} holds no boot/vmlinuz-{pin.release}: is {pin.package} a kernel image package?")
    done.write_text(f"{pin.package}={pin.version}\n")
    return root


def _deb_version(deb: Path) -> str:
    # apt names downloads PACKAGE_VERSION_ARCH.deb with ':' (an epoch) written as '%3a'.
    parts = deb.stem.split("_")
    return parts[1].replace("%3a", ":") if len(parts) == 3 else ""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build-dir", type=Path, required=True, help="the CMake build directory (cache lives there)")
    parser.add_argument("--package", help=f"override the package named in {CONFIG.name}")
    parser.add_argument("--version", help=f"override the version named in {CONFIG.name}")
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--print-root", action="store_true", help="print the unpacked package root")
    output.add_argument("--print-modules", action="store_true", help="print ROOT/lib/modules/RELEASE")
    args = parser.parse_args()
    try:
        pin = read_pin()
        pin = KernelPin(args.package or pin.package, args.version or pin.version)
        root = fetch(args.build_dir.resolve(), pin)
    except (FetchError, OSError) as error:
        print(f"fetch_linux_guest: {error}", file=sys.stderr)
        return 1
    if args.print_root:
        print(root)
    elif args.print_modules:
        print(root / "lib" / "modules" / pin.release)
    else:
        print(root / "boot" / f"vmlinuz-{pin.release}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
