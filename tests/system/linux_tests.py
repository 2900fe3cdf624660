#!/usr/bin/env python3
"""System tests: Debian's own Linux kernel (the pinned package, tools/linux-guest.conf) as a PV
guest on the hypervisor under QEMU. Each scenario is one ctest test:
`linux_tests.py --build-dir B SCENARIO`. The guest runs tests/system/linux-work.sh, which
prints one verdict line; the test also requires the domain to power off (exit status 0 of
`./xenolith boot`)."""
from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 240  # seconds for one boot under TCG on a loaded 2-core machine


class Failure(Exception):
    pass


def prepare(build_dir: Path) -> tuple[Path, Path]:
    fetch = subprocess.run([sys.executable, str(ROOT / "tools" / "fetch_linux_guest.py"), "--build-dir",
                            str(build_dir)], capture_output=True, text=True)
    if fetch.returncode != 0:
        raise Failure(f"cannot fetch the pinned Debian kernel:\n{fetch.stderr}{fetch.stdout}")
    vmlinuz = Path(fetch.stdout.strip().splitlines()[-1])
    initramfs = build_dir / "linux-guest" / "system-test.cpio.gz"
    make = subprocess.run([sys.executable, str(ROOT / "tools" / "make_initramfs.py"), "-o", str(initramfs),
                           "--run", str(ROOT / "tests" / "system" / "linux-work.sh")], capture_output=True, text=True)
    if make.returncode != 0:
        raise Failure(f"cannot build the initramfs:\n{make.stderr}")
    return vmlinuz, initramfs


def boot(build_dir: Path, name: str, vmlinuz: Path, initramfs: Path, vcpus: int, cpus: int) -> str:
    command = [sys.executable, str(ROOT / "tools" / "cli.py"), "--build-dir", str(build_dir), "boot", str(vmlinuz),
               "--domu", "--memory", "256", "--vcpus", str(vcpus), "--cpus", str(cpus), "--initrd", str(initramfs),
               "--cmdline", "console=hvc0", "--timeout", str(TIMEOUT)]
    run = subprocess.run(command, capture_output=True, text=True)
    log = run.stdout + run.stderr
    log_path = build_dir / "test-logs" / f"linux-{name}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log_path.write_text(log)
    if "LINUX-TEST: PASS" not in log:
        raise Failure(f"no PASS verdict from the guest (log: {log_path}):\n{log[-4000:]}")
    if run.returncode != 0:
        raise Failure(f"the domain did not power off (exit {run.returncode}, log: {log_path}):\n{log[-3000:]}")
    return log


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--build-dir", required=True, type=Path)
    parser.add_argument("scenario", choices=["domu-1vcpu", "domu-2vcpu"])
    args = parser.parse_args()
    build_dir = args.build_dir.resolve()
    try:
        vmlinuz, initramfs = prepare(build_dir)
        vcpus = 2 if args.scenario == "domu-2vcpu" else 1
        log = boot(build_dir, args.scenario, vmlinuz, initramfs, vcpus=vcpus, cpus=2)
        if f"{vcpus} CPU(s)" not in log:
            raise Failure(f"the guest does not report {vcpus} CPU(s)")
    except Failure as error:
        print(f"FAIL linux.{args.scenario}: {error}")
        return 1
    print(f"PASS linux.{args.scenario}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
