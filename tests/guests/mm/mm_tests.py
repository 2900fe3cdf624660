#!/usr/bin/env python3
"""Memory-management guest tests: boot the hypervisor under QEMU (TCG) with the mm test kernels
and judge their verdict lines. One scenario per ctest test: `mm_tests.py --build-dir B SCENARIO`.

A scenario passes when every guest printed `XENOLITH-TEST <name>: PASS`, none printed FAIL, the
hypervisor did not panic (an mm_audit failure panics) and QEMU exited with status 1 (every
domain powered off). It prints `PASS <scenario>` or `FAIL <scenario>: <why>` and the log tail;
the whole log stays under B/test-logs/.

`--list` prints the CI scenarios. `fuzz-full` (not in the list) is the on-demand long run:
10 million memory hypercalls with the hypervisor's invariant audit on; `--iterations N`
overrides a fuzz scenario's count.
"""
from __future__ import annotations

import argparse
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "harness"))
from xenolith_qemu import EXIT_SUCCESS, HarnessError, Machine, MachineConfig, Module  # noqa: E402


@dataclass
class Guest:
    elf: str            # tests/guests/<elf>.elf
    name: str           # domain name
    options: str = "memory=16M"
    cmdline: str = ""   # the guest's own command line (after --)
    dom0: bool = False  # the first module without `domain`: privileged domain 0 (options unused)

    def module(self, build_dir: Path) -> Module:
        path = build_dir / "tests" / "guests" / f"{self.elf}.elf"
        if not path.exists():
            raise HarnessError(f"{path} is missing: build first (cmake --build {build_dir})")
        if self.dom0:
            return Module(str(path), self.cmdline)
        text = f"domain name={self.name} {self.options}".strip()
        if self.cmdline:
            text += f" -- {self.cmdline}"
        return Module(str(path), text)


@dataclass
class Scenario:
    guests: list[Guest]
    cpus: int = 1
    timeout: float = 120
    hv_cmdline: str = ""
    fuzz_iterations: int | None = None   # the count mm-fuzz must report
    extra: list[str] = field(default_factory=list)


def fuzz(cpus: int, iterations: int, audit: int, timeout: float) -> Scenario:
    # Domain 1 fuzzes, domain 2 (a victim) checks its memory stays intact until the fuzzer is done.
    return Scenario([Guest("mm-fuzz", "fuzz", cmdline=f"iterations={iterations} victim=2 seed={cpus * 7919}"),
                     Guest("mm-victim", "bystander", cmdline="timeout=%d" % int(timeout * 2 // 3))],
                    cpus=cpus, timeout=timeout, hv_cmdline=f"mm_audit={audit}", fuzz_iterations=iterations)


def hostile(cpus: int) -> Scenario:
    return Scenario([Guest("mm-hostile", "hostile", cmdline="victim=2"),
                     Guest("mm-victim", "victim", cmdline="timeout=60")], cpus=cpus, hv_cmdline="mm_audit=1")


def logdirty(cpus: int) -> Scenario:
    # Domain 0 (privileged, 16 MiB) controls log-dirty on domain 1, the writer (16 MiB = 4096 pages).
    return Scenario([Guest("logdirty", "Domain-0", cmdline="writer=1 writer_pages=4096 timeout=60", dom0=True),
                     Guest("logdirty-writer", "writer", cmdline="timeout=60")],
                    cpus=cpus, hv_cmdline="dom0_mem=16M mm_audit=1")


SCENARIOS = {
    "positive-1cpu": Scenario([Guest("mm-positive", "positive")], cpus=1, hv_cmdline="mm_audit=1"),
    "positive-4cpu": Scenario([Guest("mm-positive", "positive")], cpus=4, hv_cmdline="mm_audit=1"),
    "hostile-1cpu": hostile(1),
    "hostile-4cpu": hostile(4),
    "fuzz-1cpu": fuzz(1, 300_000, 2000, 150),
    "fuzz-4cpu": fuzz(4, 200_000, 2000, 150),
    "tlb-hammer-4cpu": Scenario([Guest("tlb-hammer", "hammer", options="memory=16M vcpus=4",
                                       cmdline="updates=4000")], cpus=4, timeout=120),
    "logdirty-1cpu": logdirty(1),
    "logdirty-4cpu": logdirty(4),
}
ON_DEMAND = {
    "fuzz-full": fuzz(4, 10_000_000, 20000, 3600),
}


def verdicts(log: str) -> dict[str, str]:
    return {m.group(1): m.group(2) for m in
            re.finditer(r"^\(hv\) \(d\d+ \S+\) XENOLITH-TEST (\S+): (PASS|FAIL|SKIP)", log, re.MULTILINE)}


def run(build_dir: Path, name: str, iterations: int | None) -> None:
    scenario = SCENARIOS.get(name) or ON_DEMAND.get(name)
    if scenario is None:
        raise HarnessError(f"unknown scenario {name} (see --list; on demand: {', '.join(ON_DEMAND)})")
    if iterations is not None and scenario.fuzz_iterations is not None:
        scenario.guests[0].cmdline = re.sub(r"iterations=\d+", f"iterations={iterations}", scenario.guests[0].cmdline)
        scenario.fuzz_iterations = iterations
    kernel = build_dir / "hypervisor" / "xenolith-mb1.elf"
    if not kernel.exists():
        raise HarnessError(f"{kernel} is missing: build first (cmake --build {build_dir})")
    log_path = build_dir / "test-logs" / f"guests-mm-{name}.log"
    config = MachineConfig(kernel=str(kernel), cmdline=f"test_exit=on {scenario.hv_cmdline}".strip(),
                           modules=[g.module(build_dir) for g in scenario.guests], cpus=scenario.cpus)
    started = time.monotonic()
    with Machine(config, log_path=str(log_path)) as vm:
        try:
            status = vm.wait_exit(scenario.timeout)
        except HarnessError as error:
            raise HarnessError(f"{error}\n--- serial log ({log_path}) ---\n{vm.log[-6000:]}")
        log = vm.log
        exit_text = vm.describe_exit()
    elapsed = time.monotonic() - started
    try:
        judge(scenario, log, status, exit_text)
    except HarnessError as error:
        raise HarnessError(f"{error}\n--- serial log ({log_path}) ---\n{log[-6000:]}")
    print(f"{name}: {len(scenario.guests)} guests on {scenario.cpus} CPU(s), {elapsed:.1f} s")


def judge(scenario: Scenario, log: str, status: int, exit_text: str) -> None:
    if re.search(r"PANIC", log):
        raise HarnessError("the hypervisor panicked")
    seen = verdicts(log)
    expected = {g.elf for g in scenario.guests}
    for guest in sorted(expected):
        verdict = seen.get(guest)
        if verdict != "PASS":
            raise HarnessError(f"guest {guest}: verdict {verdict or 'missing'}")
    if scenario.fuzz_iterations is not None:
        m = re.search(r"mm-fuzz: (\d+) hypercalls done", log)
        if not m or int(m.group(1)) < scenario.fuzz_iterations:
            raise HarnessError(f"mm-fuzz did not report {scenario.fuzz_iterations} hypercalls")
        print(f"mm-fuzz: {m.group(1)} hypercalls, the hypervisor survived")
        audits = re.search(r"mm_audit: (\d+) audits passed", log)
        if audits:
            print(f"mm_audit: {audits.group(1)} audits passed")
    if status != EXIT_SUCCESS:
        raise HarnessError(f"expected exit status {EXIT_SUCCESS}, got {exit_text}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build-dir", type=Path, default=Path("build"))
    parser.add_argument("--list", action="store_true", help="print the CI scenarios")
    parser.add_argument("--iterations", type=int, help="override a fuzz scenario's hypercall count")
    parser.add_argument("scenario", nargs="?")
    args = parser.parse_args()
    if args.list:
        print("\n".join(SCENARIOS))
        return 0
    if not args.scenario:
        parser.error("a scenario is needed (see --list)")
    try:
        run(args.build_dir.resolve(), args.scenario, args.iterations)
    except HarnessError as error:
        print(f"FAIL {args.scenario}: {error}")
        return 1
    print(f"PASS {args.scenario}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
