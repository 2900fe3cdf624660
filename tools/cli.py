#!/usr/bin/env python3
"""The Python side of ./xenolith: subcommands that boot the hypervisor under QEMU."""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "harness"))
from xenolith_qemu import EXIT_SUCCESS, HarnessError, Machine, MachineConfig, make_grub_iso  # noqa: E402


def demo(build_dir: Path, args: argparse.Namespace) -> int:
    elf = build_dir / "hypervisor" / "xenolith.elf"
    cmdline = f"test_exit=on tick_demo={args.seconds}"
    print(f"xenolith demo: booting {elf.name} through GRUB (Multiboot2) under QEMU/TCG with {args.cpus} CPUs\n"
          f"               and {args.memory} MiB; hypervisor command line: {cmdline}\n", flush=True)
    with tempfile.TemporaryDirectory(prefix="xenolith-demo-") as tmp:
        iso = make_grub_iso(str(elf), str(Path(tmp, "demo.iso")), cmdline)
        config = MachineConfig(iso=iso, cpus=args.cpus, memory_mb=args.memory)
        with Machine(config, log_path=str(build_dir / "demo.log"), echo=True) as vm:
            status = vm.wait_exit(args.seconds + 120)
            print(f"\nxenolith demo: QEMU ended with {vm.describe_exit()}; log in {build_dir / 'demo.log'}")
            return 0 if status == EXIT_SUCCESS else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--build-dir", type=Path, required=True)
    commands = parser.add_subparsers(dest="command", required=True)
    demo_parser = commands.add_parser("demo", help="boot through GRUB and show CPUs, memory and timers")
    demo_parser.add_argument("--cpus", type=int, default=4)
    demo_parser.add_argument("--memory", type=int, default=512, help="MiB")
    demo_parser.add_argument("--seconds", type=int, default=5, help="how long to show timer ticks")
    args = parser.parse_args()
    try:
        return demo(args.build_dir, args)
    except HarnessError as error:
        print(f"xenolith: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
