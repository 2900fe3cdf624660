"""Boot the Xenolith hypervisor under QEMU (TCG) and watch its serial console.

The one harness every QEMU-based test and the `./xenolith` commands use: start QEMU with a
kernel (-kernel, Multiboot1 wrapper, qboot) or a GRUB ISO (SeaBIOS), given modules, CPUs,
memory and devices; wait for markers on the serial line with a timeout; read QEMU's exit status
(isa-debug-exit); talk to the monitor; and keep the whole log for a failure report.
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

QBOOT = "/usr/share/qemu/qboot.rom"

# isa-debug-exit: the hypervisor writes v, QEMU exits with (v << 1) | 1 (core/panic.hpp).
EXIT_SUCCESS = 1
EXIT_FAILURE = 3
EXIT_PANIC = 5
EXIT_MEANINGS = {EXIT_SUCCESS: "success", EXIT_FAILURE: "failure (a self-check failed, or not every domain powered off)",
                 EXIT_PANIC: "hypervisor panic"}


class HarnessError(Exception):
    """A test expectation failed; the message says what and where the log is."""


@dataclass
class Module:
    path: str
    cmdline: str = ""


@dataclass
class MachineConfig:
    kernel: str | None = None          # Multiboot1 wrapper for -kernel
    iso: str | None = None             # GRUB ISO (boots through SeaBIOS)
    cmdline: str = ""                  # hypervisor command line (-kernel path only; ISOs carry their own)
    modules: list[Module] = field(default_factory=list)
    cpus: int = 1
    memory_mb: int = 256
    cpu_model: str | None = None       # e.g. "qemu64", "max"
    machine: str = "pc"
    bios: str | None = None            # default: qboot for -kernel, SeaBIOS for ISOs
    devices: list[str] = field(default_factory=list)  # extra QEMU arguments
    monitor: bool = False              # open a human monitor on a Unix socket
    debug_log: str | None = None       # QEMU -d int,cpu_reset log file


def qemu_binary() -> str:
    path = shutil.which("qemu-system-x86_64")
    if not path:
        raise HarnessError("qemu-system-x86_64 is missing: install the Debian package qemu-system-x86 "
                           "(./xenolith installs it)")
    return path


def qemu_command(config: MachineConfig, monitor_path: str | None) -> list[str]:
    cmd = [qemu_binary(), "-accel", "tcg", "-machine", config.machine, "-m", str(config.memory_mb),
           "-smp", str(config.cpus), "-display", "none", "-vga", "none", "-no-reboot",
           "-serial", "stdio", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"]
    if config.cpu_model:
        cmd += ["-cpu", config.cpu_model]
    if config.kernel:
        cmd += ["-bios", config.bios or QBOOT, "-kernel", config.kernel]
        if config.cmdline:
            cmd += ["-append", config.cmdline]
        if config.modules:
            # QEMU's multiboot -initrd: "file args,file args"; a literal comma is written ",,".
            items = [f"{m.path} {m.cmdline}".strip().replace(",", ",,") for m in config.modules]
            cmd += ["-initrd", ",".join(items)]
    elif config.iso:
        if config.bios:
            cmd += ["-bios", config.bios]
        cmd += ["-cdrom", config.iso, "-boot", "d"]
    else:
        raise HarnessError("MachineConfig needs a kernel or an ISO")
    cmd += ["-monitor", f"unix:{monitor_path},server,nowait"] if monitor_path else ["-monitor", "none"]
    if config.debug_log:
        cmd += ["-d", "int,cpu_reset", "-D", config.debug_log]
    cmd += config.devices
    return cmd


class Machine:
    """One QEMU process. Use as a context manager so QEMU never outlives the test."""

    def __init__(self, config: MachineConfig, log_path: str | None = None, echo: bool = False):
        self.config = config
        self.log_path = log_path
        self.echo = echo
        self._output = bytearray()
        self._lock = threading.Condition()
        self._process: subprocess.Popen | None = None
        self._reader: threading.Thread | None = None
        self._workdir = tempfile.mkdtemp(prefix="xenolith-qemu-")
        self._monitor_path = os.path.join(self._workdir, "monitor.sock") if config.monitor else None
        self.returncode: int | None = None
        self.command: list[str] = []

    # -- life cycle ---------------------------------------------------------------------------
    def __enter__(self) -> "Machine":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        self.command = qemu_command(self.config, self._monitor_path)
        self._process = subprocess.Popen(self.command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self._process and self._process.stdout
        fd = self._process.stdout.fileno()
        while True:
            chunk = os.read(fd, 4096)
            if not chunk:
                break
            if self.echo:
                os.write(1, chunk)
            with self._lock:
                self._output += chunk
                self._lock.notify_all()
        returncode = self._process.wait()
        with self._lock:
            self.returncode = returncode
            self._lock.notify_all()

    def stop(self) -> None:
        if self._process and self._process.poll() is None:
            os.killpg(self._process.pid, signal.SIGKILL)
            self._process.wait()
        if self._reader:
            self._reader.join(timeout=5)
        self.save_log()
        shutil.rmtree(self._workdir, ignore_errors=True)

    # -- observation --------------------------------------------------------------------------
    @property
    def log(self) -> str:
        with self._lock:
            return self._output.decode(errors="replace").replace("\r\n", "\n")

    def save_log(self) -> None:
        if self.log_path:
            Path(self.log_path).parent.mkdir(parents=True, exist_ok=True)
            Path(self.log_path).write_text(f"# {' '.join(self.command)}\n{self.log}")

    def wait_for(self, pattern: str, timeout: float) -> re.Match:
        """Wait until the serial log matches `pattern` (a regex); fail on timeout or QEMU exit."""
        regex = re.compile(pattern, re.MULTILINE)
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                match = regex.search(self._output.decode(errors="replace").replace("\r\n", "\n"))
                if match:
                    return match
                if self.returncode is not None:
                    raise HarnessError(f"QEMU exited ({self.describe_exit()}) before /{pattern}/ appeared")
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise HarnessError(f"timed out after {timeout:.0f}s waiting for /{pattern}/")
                self._lock.wait(remaining)

    def wait_exit(self, timeout: float) -> int:
        """Wait for QEMU to exit by itself; fail (and kill it) on timeout."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while self.returncode is None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._lock.wait(remaining)
        if self.returncode is None:
            self.stop()
            raise HarnessError(f"QEMU did not exit within {timeout:.0f}s (hypervisor hung?)")
        return self.returncode

    def describe_exit(self) -> str:
        if self.returncode is None:
            return "still running"
        meaning = EXIT_MEANINGS.get(self.returncode, "not a hypervisor exit status")
        return f"exit status {self.returncode}: {meaning}"

    # -- monitor ------------------------------------------------------------------------------
    def monitor_command(self, command: str, timeout: float = 30) -> str:
        """Run a human-monitor command and return its output."""
        if not self._monitor_path:
            raise HarnessError("the machine was started without a monitor")
        deadline = time.monotonic() + timeout
        while not os.path.exists(self._monitor_path):
            if time.monotonic() > deadline:
                raise HarnessError("the QEMU monitor socket never appeared")
            time.sleep(0.05)
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(timeout)
            s.connect(self._monitor_path)
            banner = self._read_until_prompt(s)
            del banner
            s.sendall(command.encode() + b"\n")
            reply = self._read_until_prompt(s)
        # The reply echoes the command line first; drop it and the prompt.
        lines = reply.replace("\r", "").split("\n")
        return "\n".join(line for line in lines[1:] if not line.startswith("(qemu)"))

    @staticmethod
    def _read_until_prompt(s: socket.socket) -> str:
        data = b""
        while not data.endswith(b"(qemu) "):
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        return data.decode(errors="replace")


def make_grub_iso(kernel: str, output: str, cmdline: str = "", modules: list[Module] | None = None) -> str:
    """A bootable GRUB (i386-pc) ISO that loads `kernel` with Multiboot2 and `modules` with module2."""
    for tool in ("grub-mkrescue", "xorriso"):
        if not shutil.which(tool):
            raise HarnessError(f"{tool} is missing: install the Debian packages grub-pc-bin, grub-common, xorriso")
    if not os.path.isdir("/usr/lib/grub/i386-pc"):
        raise HarnessError("GRUB's i386-pc modules are missing: install the Debian package grub-pc-bin")
    modules = modules or []
    with tempfile.TemporaryDirectory(prefix="xenolith-iso-") as root:
        boot = Path(root, "boot")
        (boot / "grub").mkdir(parents=True)
        shutil.copy(kernel, boot / "xenolith.elf")
        lines = ["set timeout=0", "set default=0", "serial --unit=0 --speed=115200",
                 "terminal_input serial", "terminal_output serial", 'menuentry "Xenolith" {',
                 f"    multiboot2 /boot/xenolith.elf {cmdline}".rstrip()]
        for index, module in enumerate(modules):
            name = f"module{index}"
            shutil.copy(module.path, boot / name)
            lines.append(f"    module2 /boot/{name} {module.cmdline}".rstrip())
        lines += ["    boot", "}"]
        (boot / "grub" / "grub.cfg").write_text("\n".join(lines) + "\n")
        result = subprocess.run(["grub-mkrescue", "-o", output, root], capture_output=True, text=True)
        if result.returncode != 0:
            raise HarnessError(f"grub-mkrescue failed:\n{result.stderr}")
    return output
