#!/usr/bin/env python3
"""The Python side of ./xenolith: subcommands that boot the hypervisor under QEMU."""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "harness"))
from xenolith_qemu import (EXIT_PANIC, EXIT_SUCCESS, HarnessError, Machine, MachineConfig,  # noqa: E402
                           Module, make_grub_iso, qemu_command)


def linux_guest(build_dir: Path, interactive: bool) -> tuple[Path, Path]:
    """The pinned Debian kernel as an ELF, and an initramfs: a shell on the console when a person
    is at the terminal, the checked work script (which powers off by itself) otherwise."""
    from kernel_image import ensure_elf
    fetch = subprocess.run([sys.executable, str(ROOT / "tools" / "fetch_linux_guest.py"), "--build-dir",
                            str(build_dir)], capture_output=True, text=True)
    if fetch.returncode != 0:
        raise HarnessError(f"cannot fetch the Debian kernel:\n{fetch.stderr}")
    elf = ensure_elf(Path(fetch.stdout.strip().splitlines()[-1]), build_dir)
    initramfs = build_dir / "linux-guest" / ("demo-shell.cpio.gz" if interactive else "demo-work.cpio.gz")
    extra = [] if interactive else ["--run", str(ROOT / "tests" / "system" / "linux-work.sh")]
    made = subprocess.run([sys.executable, str(ROOT / "tools" / "make_initramfs.py"), "-o", str(initramfs)] + extra,
                          capture_output=True, text=True)
    if made.returncode != 0:
        raise HarnessError(f"cannot build the initramfs:\n{made.stderr}")
    return elf, initramfs


def demo(build_dir: Path, args: argparse.Namespace) -> int:
    """GRUB -> the hypervisor on every CPU (memory map, CPUs, timer ticks) -> Debian's Linux as a
    PV guest with 2 vCPUs; with a terminal, its shell on the serial console ('poweroff -f' ends)."""
    from kernel_image import KernelImageError
    interactive = sys.stdin.isatty() and not args.no_shell
    elf = build_dir / "hypervisor" / "xenolith.elf"
    cmdline = f"test_exit=on tick_demo={args.seconds}"
    try:
        linux, initramfs = linux_guest(build_dir, interactive)
    except (HarnessError, KernelImageError) as error:
        print(f"xenolith demo: {error}", file=sys.stderr)
        return 1
    modules = [Module(str(linux), f"domain name=linux memory={args.guest_memory}M vcpus=2 -- console=hvc0"),
               Module(str(initramfs), "initrd")]
    print(f"xenolith demo: booting {elf.name} through GRUB (Multiboot2) under QEMU/TCG with {args.cpus} CPUs and\n"
          f"               {args.memory} MiB; hypervisor command line: {cmdline}\n"
          f"               then Debian's Linux ({linux.name}) as a PV guest with 2 vCPUs\n"
          + ("               and its shell on this terminal: type 'poweroff -f' to end\n" if interactive else
             "               running tests/system/linux-work.sh (no terminal, so no shell)\n"), flush=True)
    with tempfile.TemporaryDirectory(prefix="xenolith-demo-") as tmp:
        iso = make_grub_iso(str(elf), str(Path(tmp, "demo.iso")), cmdline, modules)
        config = MachineConfig(iso=iso, cpus=args.cpus, memory_mb=args.memory)
        if interactive:
            # The terminal is QEMU's serial line: what is typed reaches the guest's console.
            status = subprocess.run(qemu_command(config, None)).returncode
        else:
            with Machine(config, log_path=str(build_dir / "demo.log"), echo=True) as vm:
                status = vm.wait_exit(args.seconds + 600)
        meaning = {EXIT_SUCCESS: "every domain powered off"}.get(status, f"status {status}")
        print(f"\nxenolith demo: QEMU ended ({meaning})")
        return 0 if status == EXIT_SUCCESS else 1


def boot(build_dir: Path, args: argparse.Namespace) -> int:
    """Boot any Xen PV kernel as domain 0 (or an unprivileged domain with --domu)."""
    kernel = Path(args.kernel)
    if not kernel.is_file():
        print(f"xenolith boot: {kernel} does not exist", file=sys.stderr)
        return 2
    # A Debian vmlinuz is a bzImage: the hypervisor gets the ELF inside it (spec pv-abi-core §1.2).
    from kernel_image import KernelImageError, ensure_elf
    try:
        elf = ensure_elf(kernel, build_dir)
    except KernelImageError as error:
        print(f"xenolith boot: {error}", file=sys.stderr)
        return 2
    if elf != kernel:
        print(f"xenolith boot: {kernel} is a bzImage; booting its ELF {elf}", flush=True)
        kernel = elf
    cmdline = args.cmdline.replace(",", " ")
    if args.domu:
        spec = f"domain name={args.name} memory={args.memory}M vcpus={args.vcpus}"
        modules = [Module(str(kernel.resolve()), f"{spec} -- {cmdline}".rstrip(" -"))]
        hypervisor_cmdline = f"test_exit=on {args.hypervisor_options}".rstrip()
    else:
        modules = [Module(str(kernel.resolve()), cmdline)]
        hypervisor_cmdline = f"test_exit=on dom0_mem={args.memory}M dom0_vcpus={args.vcpus} {args.hypervisor_options}".rstrip()
    if args.initrd:
        modules.append(Module(str(Path(args.initrd).resolve()), "initrd"))
    config = MachineConfig(kernel=str(build_dir / "hypervisor" / "xenolith-mb1.elf"), cmdline=hypervisor_cmdline,
                           modules=modules, cpus=args.cpus, memory_mb=max(256, args.memory + 128))
    with Machine(config, log_path=str(build_dir / "boot.log"), echo=True) as vm:
        try:
            status = vm.wait_exit(args.timeout)
        except HarnessError as error:
            print(f"\nxenolith boot: {error}", file=sys.stderr)
            return 3
        log = vm.log
    if status == EXIT_SUCCESS:
        print("\nxenolith boot: the domain shut down with reason poweroff")
        return 0
    if status == EXIT_PANIC:
        print("\nxenolith boot: the hypervisor panicked (see the log above)", file=sys.stderr)
        return 5
    reason = "crash" if "shut down: crash" in log else "not poweroff"
    print(f"\nxenolith boot: the domain ended with reason {reason} ({vm.describe_exit()})", file=sys.stderr)
    return 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--build-dir", type=Path, required=True)
    commands = parser.add_subparsers(dest="command", required=True)
    demo_parser = commands.add_parser("demo", help="boot through GRUB and show CPUs, memory and timers")
    demo_parser.add_argument("--cpus", type=int, default=4)
    demo_parser.add_argument("--memory", type=int, default=1024, help="MiB for the QEMU machine")
    demo_parser.add_argument("--guest-memory", type=int, default=256, help="MiB for the Linux guest")
    demo_parser.add_argument("--seconds", type=int, default=3, help="how long to show timer ticks")
    demo_parser.add_argument("--no-shell", action="store_true", help="run the work script even at a terminal")
    boot_parser = commands.add_parser("boot", help="boot a Xen PV kernel under the hypervisor")
    boot_parser.add_argument("kernel", help="a Xen PV ELF kernel")
    boot_parser.add_argument("--initrd", help="initial ramdisk for the kernel")
    boot_parser.add_argument("--cmdline", default="", help="kernel command line")
    boot_parser.add_argument("--memory", type=int, default=128, help="domain memory in MiB")
    boot_parser.add_argument("--vcpus", type=int, default=1)
    boot_parser.add_argument("--cpus", type=int, default=1, help="physical CPUs of the QEMU machine")
    boot_parser.add_argument("--domu", action="store_true", help="boot as an unprivileged domain, not domain 0")
    boot_parser.add_argument("--name", default="domU", help="domain name (with --domu)")
    boot_parser.add_argument("--timeout", type=int, default=300, help="seconds before giving up")
    boot_parser.add_argument("--hypervisor-options", default="", metavar="OPTIONS",
                             help="extra hypervisor command-line options, e.g. 'loglvl=debug'")
    args = parser.parse_args()
    try:
        if args.command == "boot":
            return boot(args.build_dir, args)
        return demo(args.build_dir, args)
    except HarnessError as error:
        print(f"xenolith: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
