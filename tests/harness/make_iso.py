#!/usr/bin/env python3
"""Build a GRUB ISO for the hypervisor (used by the build and by ./xenolith)."""
import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from xenolith_qemu import HarnessError, Module, make_grub_iso  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kernel", required=True, help="the hypervisor ELF (xenolith.elf)")
    parser.add_argument("--output", required=True)
    parser.add_argument("--cmdline", default="", help="hypervisor command line")
    parser.add_argument("--module", action="append", default=[], metavar="FILE[ ARGS]",
                        help="a Multiboot2 module and its command line")
    args = parser.parse_args()
    modules = [Module(*m.split(" ", 1)) if " " in m else Module(m) for m in args.module]
    try:
        make_grub_iso(args.kernel, args.output, args.cmdline, modules)
    except HarnessError as error:
        print(f"make_iso: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
