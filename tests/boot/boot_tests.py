#!/usr/bin/env python3
"""Boot tests: boot the real hypervisor image under QEMU (TCG) and check its serial log and
exit status. Each scenario is one ctest test: `boot_tests.py --build-dir B SCENARIO`.

A scenario fails on a missing marker, a wrong exit status, or a timeout (never a hang): the
harness kills QEMU and the log is kept under B/test-logs/ for the failure report.
"""
from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "harness"))
from xenolith_qemu import (EXIT_PANIC, EXIT_SUCCESS, HarnessError, Machine,  # noqa: E402
                           MachineConfig, make_grub_iso)

BOOT_TIMEOUT = 90  # generous: TCG on a loaded 2-core machine


class Images:
    def __init__(self, build_dir: Path):
        self.build_dir = build_dir
        self.elf = build_dir / "hypervisor" / "xenolith.elf"
        self.mb1 = build_dir / "hypervisor" / "xenolith-mb1.elf"
        for image in (self.elf, self.mb1):
            if not image.exists():
                raise HarnessError(f"{image} is missing: build first (cmake --build {build_dir})")


def expect(log: str, pattern: str, what: str) -> re.Match:
    match = re.search(pattern, log, re.MULTILINE)
    if not match:
        raise HarnessError(f"expected {what} (/{pattern}/) in the serial log")
    return match


def boot(images: Images, name: str, *, via: str = "kernel", cpus: int = 1, cmdline: str = "",
         cpu_model: str | None = None, machine: str = "pc", expect_status: int = EXIT_SUCCESS,
         monitor_check=None) -> str:
    """Boot once with test_exit=on, wait for QEMU to exit, check the status; return the log."""
    log_path = images.build_dir / "test-logs" / f"{name}.log"
    full_cmdline = f"test_exit=on {cmdline}".strip()
    with tempfile.TemporaryDirectory(prefix="xenolith-boot-") as tmp:
        if via == "grub":
            iso = make_grub_iso(str(images.elf), str(Path(tmp, "boot.iso")), full_cmdline)
            config = MachineConfig(iso=iso, cpus=cpus, cpu_model=cpu_model, machine=machine,
                                   monitor=monitor_check is not None)
        else:
            config = MachineConfig(kernel=str(images.mb1), cmdline=full_cmdline, cpus=cpus,
                                   cpu_model=cpu_model, machine=machine, monitor=monitor_check is not None)
        with Machine(config, log_path=str(log_path)) as vm:
            try:
                if monitor_check:
                    monitor_check(vm)
                status = vm.wait_exit(BOOT_TIMEOUT)
            except HarnessError as error:
                raise HarnessError(f"{error}\n--- serial log ({log_path}) ---\n{vm.log[-6000:]}")
            log = vm.log
            if status != expect_status:
                raise HarnessError(f"expected exit status {expect_status}, got {vm.describe_exit()}\n"
                                   f"--- serial log ({log_path}) ---\n{log[-6000:]}")
    return log


def check_bring_up(log: str, cpus: int) -> None:
    expect(log, r"memory map:\n(\(hv\)   [0-9a-f]{16}-[0-9a-f]{16} \S.*\n)+", "the memory map")
    expect(log, r"memory: \d+ MiB usable RAM", "the usable RAM total")
    expect(log, r"acpi: %d CPUs, \d+ IOAPICs" % cpus, f"ACPI reporting {cpus} CPUs")
    expect(log, r"ioapic: id \d+ at 0xfec00000", "the IOAPIC")
    expect(log, r"time: TSC \d+ kHz \(calibrated against ", "TSC calibration")
    expect(log, r"^\(hv\) %d CPUs? online$" % cpus, f"{cpus} CPU(s) online")
    expect(log, r"selftest: cross-call reached all %d CPUs" % cpus, "cross-calls to every CPU")
    expect(log, r"selftest: W\^X holds: \d+ mappings audited", "the W^X audit")
    expect(log, r"selftest: page allocator invariants hold", "allocator invariants")
    expect(log, r"bring-up complete", "the end of bring-up")
    if re.search(r"\(hv\) (error|warning):", log):
        raise HarnessError("unexpected error/warning lines:\n" +
                           "\n".join(l for l in log.splitlines() if "(hv) error" in l or "(hv) warning" in l))


def check_ticks(log: str, cpus: int) -> None:
    expect(log, r"tick demo: timer interrupts on all %d CPUs" % cpus, "timer interrupts on every CPU")
    # Each CPU's count must grow from one second to the next.
    lines = re.findall(r"tick (\d+)s:((?: cpu\d+=\d+)+)", log)
    if len(lines) < 2:
        raise HarnessError("expected at least two tick lines")
    counts = [[int(n) for n in re.findall(r"cpu\d+=(\d+)", rest)] for _, rest in lines]
    for cpu in range(cpus):
        if not counts[-1][cpu] > counts[0][cpu] > 0:
            raise HarnessError(f"CPU {cpu}'s timer ticks did not advance: {[c[cpu] for c in counts]}")


def check_panic(log: str, images: Images, exception: str, function: str, cpu: int) -> None:
    expect(log, r"\*\*\*\* PANIC on CPU %d: exception .*%s" % (cpu, re.escape(exception)), "the panic line")
    for register in ("rip", "rsp", "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "r8 ", "r15", "cr2", "cr3"):
        expect(log, r"\b%s\s*[0-9a-f]{4,16}" % register, f"register {register} in the dump")
    expect(log, r"backtrace:\n", "a backtrace")
    frame = expect(log, r"\[<([0-9a-f]{16})>\] (\S*%s)\+0x" % re.escape(function), f"{function} in the backtrace")
    # The address printed must really lie in that function, per the ELF's own symbol table.
    address = int(frame.group(1), 16)
    symbols = subprocess.run(["nm", "-C", str(images.elf)], capture_output=True, text=True, check=True).stdout
    starts = sorted(int(line.split()[0], 16) for line in symbols.splitlines()
                    if line.split()[1:2] in (["t"], ["T"]) and function in line)
    if not starts or not any(start <= address < start + 0x1000 for start in starts):
        raise HarnessError(f"backtrace address {address:#x} is not in {function} according to nm")
    expect(log, r"all CPUs halted", "all CPUs halted")


def check_no_wx_segments(images: Images) -> None:
    headers = subprocess.run(["readelf", "-lW", str(images.elf)], capture_output=True, text=True,
                             check=True).stdout
    loads = re.findall(r"^\s*LOAD\s+(?:\S+\s+){5}([RWE ]+?)\s+0x", headers, re.MULTILINE)
    if len(loads) < 4:
        raise HarnessError(f"expected separate LOAD segments per permission, got:\n{headers}")
    offenders = [flags for flags in loads if "W" in flags and "E" in flags]
    if offenders:
        raise HarnessError(f"writable and executable LOAD segments:\n{headers}")
    print(f"readelf: {len(loads)} LOAD segments, none writable and executable")


def tlb_check(vm: Machine) -> None:
    vm.wait_for(r"tick demo: every CPU takes", BOOT_TIMEOUT)
    tlb = vm.monitor_command("info tlb")
    mappings = [line for line in tlb.splitlines() if re.match(r"^[0-9a-f]{16}: ", line)]
    if len(mappings) < 10:
        raise HarnessError(f"info tlb returned too little:\n{tlb[:2000]}")
    offenders, text_pages = [], 0
    for line in mappings:
        virt, rest = line.split(": ", 1)
        flags = rest.split()[-1]
        writable, no_execute = flags.endswith("W"), flags.startswith("X")
        if writable and not no_execute:
            offenders.append(line)
        if virt.startswith("ffff8280") and not writable and not no_execute:
            text_pages += 1
    if offenders:
        raise HarnessError("writable+executable mappings in info tlb:\n" + "\n".join(offenders[:20]))
    if text_pages == 0:
        raise HarnessError("no executable hypervisor text page found in info tlb")
    print(f"info tlb: {len(mappings)} mappings, none W+X, {text_pages} executable image pages")


def scenario(images: Images, name: str) -> None:
    if name in ("kernel-1cpu", "grub-1cpu", "kernel-4cpu", "grub-4cpu"):
        via, cpus = name.split("-")[0], int(name.split("-")[1][0])
        log = boot(images, name, via=via, cpus=cpus, cmdline="tick_demo=2")
        check_bring_up(log, cpus)
        check_ticks(log, cpus)
        if via == "grub":
            expect(log, r"boot loader: GRUB .*\(Multiboot2\)", "GRUB over Multiboot2")
            expect(log, r"command line: test_exit=on tick_demo=2", "the command line from GRUB")
        else:
            expect(log, r"\(Multiboot1\)", "QEMU -kernel over Multiboot1")
    elif name == "cpu-qemu64":
        log = boot(images, name, cpus=2, cpu_model="qemu64")
        check_bring_up(log, 2)
        expect(log, r"cpu features:.* \+nx .*-smep -smap", "qemu64: NX, no SMEP/SMAP")
        expect(log, r"-tsc-deadline", "no TSC-deadline under TCG")
        expect(log, r"one-shot timer: LAPIC count-down", "the LAPIC timer fallback")
    elif name == "cpu-max":
        log = boot(images, name, cpus=2, cpu_model="max")
        check_bring_up(log, 2)
        expect(log, r"cpu features:.* \+nx \+smep \+smap", "max: NX, SMEP and SMAP")
        expect(log, r"\+pdpe1gb", "1 GiB pages on max")
    elif name == "calibrate-pit":
        log = boot(images, name, cmdline="tsc_calibrate=pit")
        expect(log, r"calibrated against PIT channel 2", "PIT calibration")
        check_bring_up(log, 1)
    elif name == "calibrate-no-hpet":
        log = boot(images, name, machine="pc,hpet=off")
        expect(log, r"HPET absent", "no HPET in ACPI")
        expect(log, r"calibrated against PIT channel 2", "the PIT fallback without an HPET")
        check_bring_up(log, 1)
    elif name == "options":
        log = boot(images, name, cmdline="bogus_option=1 loglvl=chatty maxcpus=two help")
        expect(log, r"unknown option 'bogus_option'", "the unknown option reported")
        expect(log, r"option 'loglvl'.*chatty", "the bad enumeration value reported")
        expect(log, r"option 'maxcpus'.*two", "the bad number reported")
        expect(log, r"hypervisor options:\n[\s\S]*tick_demo", "the option help")
        expect(log, r"bring-up complete", "boot to carry on")
    elif name == "maxcpus":
        log = boot(images, name, cpus=4, cmdline="maxcpus=2")
        expect(log, r"^\(hv\) 2 CPUs online$", "2 CPUs online")
    elif name == "fault-page-fault":
        log = boot(images, name, cpus=2, cmdline="crash=page_fault", expect_status=EXIT_PANIC)
        check_panic(log, images, "#PF page fault", "fault_by_page_fault", cpu=0)
        expect(log, r"cr2 ffff808000000000", "CR2 holding the faulting address")
    elif name == "fault-invalid-opcode":
        log = boot(images, name, cmdline="crash=invalid_opcode", expect_status=EXIT_PANIC)
        check_panic(log, images, "#UD invalid opcode", "run_crash_test", cpu=0)
    elif name == "fault-general-protection":
        log = boot(images, name, cmdline="crash=general_protection", expect_status=EXIT_PANIC)
        check_panic(log, images, "#GP general protection", "fault_by_general_protection", cpu=0)
    elif name == "fault-on-ap":
        log = boot(images, name, cpus=4, cmdline="crash=ap_page_fault", expect_status=EXIT_PANIC)
        check_panic(log, images, "#PF page fault", "fault_by_page_fault", cpu=1)
    elif name == "fault-assert":
        log = boot(images, name, cmdline="crash=assert", expect_status=EXIT_PANIC)
        expect(log, r"PANIC on CPU 0: assertion failed: cpus_online\(\) == 0", "the assertion text")
        expect(log, r"all CPUs halted", "all CPUs halted")
    elif name == "xenolith-boot":
        # `./xenolith boot` on a real PV kernel (a test guest) as a domU and as domain 0, on a
        # truncated ELF (the hypervisor refuses it: exit 1) and on something that is not a
        # kernel at all (the tool refuses it: exit 2). Exit 0 only when the domain powered off.
        cli = Path(__file__).resolve().parents[2] / "tools" / "cli.py"
        guest = images.build_dir / "tests" / "guests" / "hello.elf"
        with tempfile.TemporaryDirectory(prefix="xenolith-boot-") as tmp:
            truncated = Path(tmp, "truncated.elf")
            truncated.write_bytes(guest.read_bytes()[:200])
            cases = ((guest, ["--domu", "--memory", "16"], 0, "XENOLITH-TEST hello: PASS"),
                     (guest, [], 0, "XENOLITH-TEST hello: PASS"),
                     (truncated, ["--domu"], 1, "not a usable Xen PV kernel image"),
                     (Path(__file__), ["--domu"], 2, "neither an ELF kernel nor a bzImage"))
            for kernel, extra, expected, evidence in cases:
                run = subprocess.run([sys.executable, str(cli), "--build-dir", str(images.build_dir), "boot",
                                      str(kernel), "--timeout", str(BOOT_TIMEOUT)] + extra,
                                     capture_output=True, text=True)
                output = run.stdout + run.stderr
                if run.returncode != expected or evidence not in output:
                    raise HarnessError(f"xenolith boot {kernel.name} {extra}: exit {run.returncode} (expected "
                                       f"{expected}) and /{evidence}/ expected in:\n{output[-3000:]}")
    elif name == "wx":
        check_no_wx_segments(images)
        log = boot(images, name, cpus=2, cmdline="tick_demo=20", monitor_check=tlb_check)
        check_bring_up(log, 2)
    else:
        raise HarnessError(f"unknown scenario {name}")


SCENARIOS = ["kernel-1cpu", "kernel-4cpu", "grub-1cpu", "grub-4cpu", "cpu-qemu64", "cpu-max", "calibrate-pit",
             "calibrate-no-hpet", "options", "maxcpus", "fault-page-fault", "fault-invalid-opcode",
             "fault-general-protection", "fault-on-ap", "fault-assert", "wx", "xenolith-boot"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--build-dir", required=True, type=Path)
    parser.add_argument("--list", action="store_true")
    parser.add_argument("scenario", nargs="?")
    args = parser.parse_args()
    if args.list:
        print("\n".join(SCENARIOS))
        return 0
    try:
        scenario(Images(args.build_dir.resolve()), args.scenario)
    except HarnessError as error:
        print(f"FAIL {args.scenario}: {error}")
        return 1
    print(f"PASS {args.scenario}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
