#!/usr/bin/env python3
"""System tests: Debian's own Linux kernel (the pinned package, tools/linux-guest.conf) as a PV
guest on the hypervisor under QEMU. Each scenario is one ctest test:
`linux_tests.py --build-dir B SCENARIO`; it prints `PASS linux.SCENARIO` or `FAIL linux.SCENARIO: why`
and keeps the serial log under B/test-logs/.

* domu-1vcpu, domu-2vcpu: `./xenolith boot --domu` as a user types it; the guest runs
  tests/system/linux-work.sh (one verdict line) and the domain must power off.
* poweroff-reboot: two boots ending in `poweroff -f` and `reboot -f` (tests/system/linux-end.sh);
  the hypervisor must log the matching shutdown reason and no other.
* two-guests-crash: two Linux domains and a test kernel at once; one Linux panics itself through
  /proc/sysrq-trigger, the hypervisor reports the crash, the others still finish with PASS.
* beside-mm-fuzz: a Linux domain does its work beside the memory fuzz guest (tests/guests/mm;
  the hostile memory guest while the fuzzer is not built) aimed at Linux's frames."""
from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 240  # seconds for one boot under TCG on a loaded 2-core machine
sys.path.insert(0, str(ROOT / "tests" / "harness"))
from xenolith_qemu import (EXIT_FAILURE, EXIT_SUCCESS, HarnessError, Machine, MachineConfig,  # noqa: E402
                           Module)

END_SCRIPT = "/tests/linux-end.sh"  # in the initramfs next to linux-work.sh (see prepare)
SKIP = 77  # ctest SKIP_RETURN_CODE: a guest this scenario needs is not built


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
                           "--run", str(ROOT / "tests" / "system" / "linux-work.sh"),
                           "--add", f"{ROOT / 'tests' / 'system' / 'linux-end.sh'}:{END_SCRIPT}"],
                          capture_output=True, text=True)
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


# --- scenarios booted through the harness directly: several domains, shutdown reasons ----------

def kernel_elf(build_dir: Path, vmlinuz: Path) -> Path:
    sys.path.insert(0, str(ROOT / "tools"))
    from kernel_image import KernelImageError, ensure_elf
    try:
        return ensure_elf(vmlinuz, build_dir)
    except KernelImageError as error:
        raise Failure(str(error))


def linux_modules(elf: Path, initramfs: Path, name: str, memory_mb: int, vcpus: int, cmdline: str = "") -> list[Module]:
    spec = f"domain name={name} memory={memory_mb}M vcpus={vcpus} -- console=hvc0 {cmdline}".rstrip()
    return [Module(str(elf), spec), Module(str(initramfs), "initrd")]


def test_guest(build_dir: Path, elf_name: str, name: str, cmdline: str = "") -> Module:
    path = build_dir / "tests" / "guests" / f"{elf_name}.elf"
    if not path.is_file():
        raise Failure(f"{path} is missing: build first (cmake --build {build_dir})")
    return Module(str(path), f"domain name={name} memory=16M" + (f" -- {cmdline}" if cmdline else ""))


def run_machine(build_dir: Path, log_name: str, modules: list[Module], cpus: int, memory_mb: int,
                timeout: float = TIMEOUT) -> tuple[str, int]:
    """Boots the hypervisor with `modules`; returns the serial log and QEMU's exit status."""
    config = MachineConfig(kernel=str(build_dir / "hypervisor" / "xenolith-mb1.elf"), cmdline="test_exit=on",
                           modules=modules, cpus=cpus, memory_mb=memory_mb)
    log_path = build_dir / "test-logs" / f"linux-{log_name}.log"
    started = time.monotonic()
    with Machine(config, log_path=str(log_path)) as vm:
        try:
            status = vm.wait_exit(timeout)
        except HarnessError as error:
            raise Failure(f"{error} (log: {log_path}):\n{vm.log[-4000:]}")
        log = vm.log
    print(f"{log_name}: {len(modules)} modules on {cpus} CPU(s), {time.monotonic() - started:.0f} s, "
          f"QEMU exit status {status}; log {log_path}")
    if re.search(r"PANIC", log):
        raise Failure(f"the hypervisor panicked (log: {log_path}):\n{log[-4000:]}")
    return log, status


def domain_line(log: str, name: str, text: str) -> int:
    """Offset of the first console line of domain `name` containing `text`, or -1."""
    match = re.search(rf"^\(hv\) \(d\d+ {re.escape(name)}\) .*{re.escape(text)}", log, re.MULTILINE)
    return match.start() if match else -1


def shutdown_reasons(log: str) -> dict[str, str]:
    """Domain name -> the reason the hypervisor logged when it shut down."""
    return {m.group(1): m.group(2) for m in re.finditer(r"^\(hv\) domain \d+ \((\S+)\) shut down: (\S+)", log, re.MULTILINE)}


def expect(condition: bool, what: str, log: str) -> None:
    if not condition:
        raise Failure(f"{what}\n{log[-3000:]}")


def poweroff_reboot(build_dir: Path, elf: Path, initramfs: Path) -> None:
    # 2 vCPUs: Linux must stop its other vCPU before it asks for the shutdown.
    for end, want_status in (("poweroff", EXIT_SUCCESS), ("reboot", EXIT_FAILURE)):
        name = f"lx-{end}"
        log, status = run_machine(build_dir, f"poweroff-reboot-{end}", linux_modules(
            elf, initramfs, name, 128, 2, f"xenolith.test={END_SCRIPT} xenolith.end={end}"), cpus=2, memory_mb=256)
        expect(domain_line(log, name, f"linux-end: ending the domain with {end}") >= 0,
               f"{end}: the guest never reached its `{end} -f`", log)
        expect(domain_line(log, name, "LINUX-TEST: FAIL") < 0, f"{end}: the guest was still running after `{end} -f`", log)
        reasons = shutdown_reasons(log)
        expect(reasons == {name: end}, f"{end}: the hypervisor logged shutdown reasons {reasons}, expected {{{name!r}: {end!r}}}", log)
        # Only poweroff counts as a clean end for the hypervisor's exit status (core/panic.hpp).
        expect(status == want_status, f"{end}: QEMU exit status {status}, expected {want_status}", log)
        print(f"{end}: the hypervisor logged 'domain 1 ({name}) shut down: {end}'")


def two_guests_crash(build_dir: Path, elf: Path, initramfs: Path) -> None:
    survivor, crasher, tester = "lx-survivor", "lx-crasher", "hello"
    # The crasher panics 2 s after its /init starts, while the survivor is in the middle of its
    # work script (~20 s under TCG); the test kernel runs beside both.
    modules = (linux_modules(elf, initramfs, survivor, 160, 2)
               + linux_modules(elf, initramfs, crasher, 128, 1,
                               f"xenolith.test={END_SCRIPT} xenolith.end=crash xenolith.end_delay=2")
               + [test_guest(build_dir, "hello", tester)])
    log, status = run_machine(build_dir, "two-guests-crash", modules, cpus=2, memory_mb=512, timeout=TIMEOUT + 60)
    panic = domain_line(log, crasher, "Kernel panic - not syncing: sysrq triggered crash")
    expect(panic >= 0, f"{crasher} did not panic through sysrq", log)
    crash = re.search(rf"^\(hv\) domain \d+ \({crasher}\) shut down: crash", log, re.MULTILINE)
    expect(crash is not None, f"the hypervisor did not report {crasher}'s crash", log)
    reasons = shutdown_reasons(log)
    want = {survivor: "poweroff", crasher: "crash", tester: "poweroff"}
    expect(reasons == want, f"shutdown reasons {reasons}, expected {want}", log)
    verdict = domain_line(log, survivor, "LINUX-TEST: PASS")
    expect(verdict >= 0, f"{survivor} gave no PASS verdict", log)
    expect(verdict > crash.start(), f"{survivor} finished before {crasher} crashed: the crash did not happen beside it", log)
    expect(re.search(rf"^\(hv\) \(d\d+ {tester}\) XENOLITH-TEST hello: PASS", log, re.MULTILINE) is not None,
           f"the test kernel {tester} did not pass", log)
    expect(status == EXIT_FAILURE and "at least one not by powering off" in log,
           f"QEMU exit status {status}: expected {EXIT_FAILURE} (one domain crashed)", log)
    print(f"{crasher} crashed (sysrq) and the hypervisor reported it; {survivor} passed after it, {tester} passed beside them")


def memory_guests(build_dir: Path) -> tuple[list[Module], dict[str, str]] | None:
    """The memory fuzzer once it is built (tests/guests/mm/mm_fuzz.cpp; recognised by its report
    line), else the hostile memory guest, as domain 1 aimed at domain 2 (Linux), plus the
    mm-victim guest as domain 3: it tells the attacker when to start and checks its own memory
    (the markers of tests/guests/mm/mm_util.hpp). None if they are not built. Also returns
    domain name -> the XENOLITH-TEST name whose PASS is expected."""
    guests = build_dir / "tests" / "guests"
    fuzz, hostile, victim = guests / "mm-fuzz.elf", guests / "mm-hostile.elf", guests / "mm-victim.elf"
    if not victim.is_file():
        return None
    if fuzz.is_file() and b"hypercalls done" in fuzz.read_bytes():
        attacker = Module(str(fuzz), "domain name=fuzz memory=16M -- iterations=20000 victim=2 seed=6151")
        names = {"fuzz": "mm-fuzz"}
    elif hostile.is_file():
        attacker = Module(str(hostile), "domain name=hostile memory=16M -- victim=2")
        names = {"hostile": "mm-hostile"}
    else:
        return None
    names["victim"] = "mm-victim"
    return [attacker, Module(str(victim), "domain name=victim memory=16M -- timeout=120")], names


def beside_mm_fuzz(build_dir: Path, elf: Path, initramfs: Path) -> None:
    linux = "lx-beside"
    chosen = memory_guests(build_dir)
    if chosen is None:
        print(f"SKIP linux.beside-mm-fuzz: mm-victim.elf and mm-fuzz.elf or mm-hostile.elf are not built "
              f"in {build_dir}/tests/guests")
        raise SystemExit(SKIP)
    memory_modules, names = chosen
    print(f"memory guests: {', '.join(f'{Path(m.path).name} ({m.cmdline})' for m in memory_modules)}")
    # Domain 1 attacks domain 2 (Linux, its `victim=`): foreign-domain hypercalls name it, and
    # its frames, built right after the attacker's, are the first foreign ones in the M2P.
    modules = [memory_modules[0]] + linux_modules(elf, initramfs, linux, 192, 2) + memory_modules[1:]
    log, status = run_machine(build_dir, "beside-mm-fuzz", modules, cpus=2, memory_mb=448)
    expect(domain_line(log, linux, "LINUX-TEST: PASS") >= 0, f"{linux} gave no PASS verdict", log)
    for name, test_name in names.items():
        verdict = re.search(rf"^\(hv\) \(d\d+ {name}\) XENOLITH-TEST {test_name}: (\S+)", log, re.MULTILINE)
        expect(verdict is not None and verdict.group(1) == "PASS",
               f"{test_name}'s verdict is {verdict.group(1) if verdict else 'missing'}", log)
    reasons = shutdown_reasons(log)
    want = {name: "poweroff" for name in names} | {linux: "poweroff"}
    expect(reasons == want, f"shutdown reasons {reasons}, expected {want}", log)
    expect(status == EXIT_SUCCESS, f"QEMU exit status {status}, expected {EXIT_SUCCESS}", log)
    print(f"{linux} finished its work intact beside {' and '.join(names.values())}")


SCENARIOS = ["domu-1vcpu", "domu-2vcpu", "poweroff-reboot", "two-guests-crash", "beside-mm-fuzz"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build-dir", required=True, type=Path)
    parser.add_argument("scenario", choices=SCENARIOS)
    args = parser.parse_args()
    build_dir = args.build_dir.resolve()
    try:
        vmlinuz, initramfs = prepare(build_dir)
        if args.scenario in ("domu-1vcpu", "domu-2vcpu"):
            vcpus = 2 if args.scenario == "domu-2vcpu" else 1
            log = boot(build_dir, args.scenario, vmlinuz, initramfs, vcpus=vcpus, cpus=2)
            if f"{vcpus} CPU(s)" not in log:
                raise Failure(f"the guest does not report {vcpus} CPU(s)")
        else:
            elf = kernel_elf(build_dir, vmlinuz)
            {"poweroff-reboot": poweroff_reboot, "two-guests-crash": two_guests_crash,
             "beside-mm-fuzz": beside_mm_fuzz}[args.scenario](build_dir, elf, initramfs)
    except Failure as error:
        print(f"FAIL linux.{args.scenario}: {error}")
        return 1
    print(f"PASS linux.{args.scenario}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
