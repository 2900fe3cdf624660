#!/usr/bin/python3
"""Interoperability test: Debian's real xenstore-utils clients against our xenstored.

Each case starts a fresh daemon in its own temporary run directory (XENSTORED_RUNDIR),
talks to it only through the stock clients, checks their exact output and exit status,
and always kills the daemon. Standard library only.
"""
import argparse
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time

CLIENTS = ["xenstore-write", "xenstore-read", "xenstore-ls", "xenstore-rm", "xenstore-chmod",
           "xenstore-exists", "xenstore-list", "xenstore-watch"]


class Daemon:
    def __init__(self, binary, extra=(), fork=False):
        self.dir = tempfile.mkdtemp(prefix="xsinterop-")
        self.sock = os.path.join(self.dir, "socket")
        self.dom5 = os.path.join(self.dir, "dom5")
        self.env = dict(os.environ, XENSTORED_RUNDIR=self.dir)
        self.env.pop("XENSTORED_PATH", None)
        args = [binary, "--domain-socket", "5:" + self.dom5, "-T", os.path.join(self.dir, "trace")]
        args += list(extra)
        self.pid = None
        if fork:
            args += ["-F", os.path.join(self.dir, "pid")]
            rc = subprocess.run(args, env=self.env, timeout=10).returncode
            if rc != 0:
                raise AssertionError("daemon exited with %d when forking" % rc)
            # The parent returns only once the sockets exist.
            if not os.path.exists(self.sock):
                raise AssertionError("socket missing after the forking daemon returned")
            deadline = time.time() + 10
            while not os.path.exists(os.path.join(self.dir, "pid")):
                if time.time() > deadline:
                    raise AssertionError("no pid file")
                time.sleep(0.01)
            self.pid = int(open(os.path.join(self.dir, "pid")).read().strip())
            self.proc = None
            return
        self.proc = subprocess.Popen(args + ["-N"], env=self.env, stderr=subprocess.PIPE)
        deadline = time.time() + 10
        # The daemon renames the listening socket into place: existence means connectable.
        while not os.path.exists(self.sock):
            if self.proc.poll() is not None:
                raise AssertionError("daemon died: " + self.proc.stderr.read().decode())
            if time.time() > deadline:
                raise AssertionError("daemon socket never appeared")
            time.sleep(0.005)

    def stop(self):
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.terminate()
                try:
                    self.proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
            self.proc.stderr.close()
        elif self.pid:
            try:
                os.kill(self.pid, signal.SIGTERM)
                for _ in range(500):
                    with open("/proc/%d/stat" % self.pid) as f:
                        if f.read().split(")")[-1].split()[0] == "Z":
                            break  # exited; our init has not reaped it yet
                    time.sleep(0.01)
                else:
                    os.kill(self.pid, signal.SIGKILL)
            except (ProcessLookupError, FileNotFoundError):
                pass
        shutil.rmtree(self.dir, ignore_errors=True)

    def run(self, *argv, as_dom5=False, ro=False, rc=0, out=None, err=None):
        env = dict(self.env)
        if as_dom5:
            env["XENSTORED_PATH"] = self.dom5
        if ro:
            env["XENSTORED_PATH"] = os.path.join(self.dir, "socket_ro")
        p = subprocess.run(list(argv), env=env, capture_output=True, timeout=20)
        so, se = p.stdout.decode(), p.stderr.decode()
        where = " ".join(argv) + (" (as dom5)" if as_dom5 else "") + (" (ro)" if ro else "")
        if p.returncode != rc:
            raise AssertionError("%s: exit %d, expected %d; stdout %r stderr %r" % (where, p.returncode, rc, so, se))
        if out is not None and so != out:
            raise AssertionError("%s: stdout %r, expected %r" % (where, so, out))
        if err is not None and se != err:
            raise AssertionError("%s: stderr %r, expected %r" % (where, se, err))
        return so


def case_write_read_list_exists(d):
    d.run("xenstore-write", "/vm/a", "1", "/vm/b", "two words", "/vm/c/d", "")
    d.run("xenstore-read", "/vm/a", "/vm/b", out="1\ntwo words\n")
    d.run("xenstore-read", "/vm/c/d", out="\n")
    d.run("xenstore-read", "/vm/nope", rc=1, err="xenstore-read: couldn't read path /vm/nope\n")
    d.run("xenstore-list", "/vm", out="a\nb\nc\n")
    d.run("xenstore-exists", "/vm/c")
    d.run("xenstore-exists", "/vm/zz", rc=1)
    d.run("xenstore-write", "/vm/a", "overwritten")
    d.run("xenstore-read", "/vm/a", out="overwritten\n")


def case_ls_tree(d):
    d.run("xenstore-write", "/t/x", "1", "/t/y/z", "deep", "/t/q", 'has "quotes"')
    d.run("xenstore-ls", "/t", out='x = "1"\ny = ""\n z = "deep"\nq = "has "quotes""\n')
    d.run("xenstore-ls", "-f", "/t", out='/t/x = "1"\n/t/y = ""\n/t/y/z = "deep"\n/t/q = "has "quotes""\n')
    out = d.run("xenstore-ls", "-p", "/t")
    lines = out.splitlines()
    if len(lines) != 4 or not all(l.endswith("(n0)") for l in lines) or not lines[0].startswith('x = "1"'):
        raise AssertionError("xenstore-ls -p: %r" % out)


def case_rm(d):
    d.run("xenstore-write", "/r/a/b", "1", "/r/c", "2")
    d.run("xenstore-rm", "/r/a")
    d.run("xenstore-list", "/r", out="c\n")
    d.run("xenstore-exists", "/r/a/b", rc=1)
    d.run("xenstore-rm", "/r/never")  # parent exists: fine
    d.run("xenstore-rm", "/nowhere/at/all", rc=1, err="xenstore-rm: could not remove path /nowhere/at/all\n")


def case_chmod_and_refusals(d):
    d.run("xenstore-write", "/local/domain/5/name", "guest", "/secret/key", "s3cr3t", "/pub/info", "hello")
    d.run("xenstore-chmod", "/local/domain/5", "n5")
    d.run("xenstore-chmod", "/pub", "n0", "r5")
    d.run("xenstore-chmod", "/pub/info", "n0", "r5")
    out = d.run("xenstore-ls", "-p", "/pub")
    if not out.rstrip("\n").endswith("(n0,r5)"):
        raise AssertionError("ls -p after chmod: %r" % out)
    # Domain 5 may read what it was granted, nothing else, and may not write it.
    d.run("xenstore-read", "/pub/info", as_dom5=True, out="hello\n")
    d.run("xenstore-read", "/secret/key", as_dom5=True, rc=1,
          err="xenstore-read: couldn't read path /secret/key\n")
    d.run("xenstore-write", "/pub/info", "defaced", as_dom5=True, rc=1,
          err="xenstore-write: could not write path /pub/info\n")
    d.run("xenstore-rm", "/secret/key", as_dom5=True, rc=1,
          err="xenstore-rm: could not remove path /secret/key\n")
    d.run("xenstore-list", "/secret", as_dom5=True, rc=1)
    d.run("xenstore-chmod", "/pub/info", "b5", as_dom5=True, rc=1)
    d.run("xenstore-read", "/pub/info", out="hello\n")
    d.run("xenstore-read", "/secret/key", out="s3cr3t\n")
    # Its own home: relative paths, ownership of what it creates.
    d.run("xenstore-write", "data/x", "42", as_dom5=True)
    d.run("xenstore-read", "data/x", as_dom5=True, out="42\n")
    d.run("xenstore-read", "/local/domain/5/data/x", out="42\n")
    out = d.run("xenstore-ls", "-p", "/local/domain/5/data")
    if not out.rstrip("\n").endswith("(n5)"):
        raise AssertionError("guest-created node not owned by the guest: %r" % out)
    # Recursive chmod by dom0 takes it away again.
    d.run("xenstore-chmod", "-r", "/local/domain/5", "n0")
    d.run("xenstore-read", "data/x", as_dom5=True, rc=1,
          err="xenstore-read: couldn't read path data/x\n")


def case_read_only_socket(d):
    d.run("xenstore-write", "/ro/v", "1")
    d.run("xenstore-read", "/ro/v", ro=True, out="1\n")
    d.run("xenstore-write", "/ro/v", "2", ro=True, rc=1, err="xenstore-write: could not write path /ro/v\n")
    d.run("xenstore-read", "/ro/v", out="1\n")


def read_line(proc, timeout=10.0):
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    if not ready:
        raise AssertionError("xenstore-watch printed nothing within %.0fs" % timeout)
    return proc.stdout.readline().decode().rstrip("\n")


def case_watch(d):
    d.run("xenstore-write", "/w/init", "0")
    p = subprocess.Popen(["xenstore-watch", "-n", "4", "/w"], env=d.env, stdout=subprocess.PIPE)
    try:
        first = read_line(p)  # the initial event fires straight away
        if first != "/w":
            raise AssertionError("initial watch event %r" % first)
        d.run("xenstore-write", "/w/a", "1")
        got = read_line(p)
        if got != "/w/a":
            raise AssertionError("event after write: %r" % got)
        d.run("xenstore-write", "/elsewhere", "1")  # must not fire
        d.run("xenstore-chmod", "/w/init", "b0")
        got = read_line(p)
        if got != "/w/init":
            raise AssertionError("event after chmod: %r" % got)
        d.run("xenstore-rm", "/w")
        got = read_line(p)
        if got != "/w":
            raise AssertionError("event after rm: %r" % got)
        if p.wait(timeout=10) != 0:
            raise AssertionError("xenstore-watch -n 4 exit status %d" % p.returncode)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        p.stdout.close()


def case_watch_permissions(d):
    d.run("xenstore-write", "/hidden/x", "1")
    d.run("xenstore-chmod", "/hidden", "r0")
    d.run("xenstore-chmod", "/hidden/x", "r0")
    env = dict(d.env, XENSTORED_PATH=d.dom5)
    p = subprocess.Popen(["xenstore-watch", "-n", "3", "/hidden"], env=env, stdout=subprocess.PIPE)
    try:
        if read_line(p) != "/hidden":
            raise AssertionError("initial event missing")
        d.run("xenstore-write", "/hidden/secret", "1")
        d.run("xenstore-chmod", "/hidden/secret", "n0")  # unreadable now: no event for dom5
        d.run("xenstore-write", "/hidden/secret", "2")
        d.run("xenstore-write", "/hidden/visible", "3")
        events = [read_line(p), read_line(p)]
        if events != ["/hidden/secret", "/hidden/visible"]:
            raise AssertionError("first event %r" % events)
        p.wait(timeout=10)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        p.stdout.close()


def case_big_directory(d):
    names = ["node-with-a-long-name-%04d" % i for i in range(300)]  # > 4096 bytes of names
    for i in range(0, len(names), 50):
        args = []
        for n in names[i:i + 50]:
            args += ["/big/" + n, n[-4:]]
        d.run("xenstore-write", *args)
    d.run("xenstore-list", "/big", out="".join(n + "\n" for n in names))


def case_xenstored_path(binary):
    tmp = tempfile.mkdtemp(prefix="xsinterop-path-")
    sock = os.path.join(tmp, "custom-socket")
    env = dict(os.environ, XENSTORED_RUNDIR=tmp, XENSTORED_PATH=sock)
    proc = subprocess.Popen([binary, "-N"], env=env)
    try:
        deadline = time.time() + 10
        while not os.path.exists(sock):
            if proc.poll() is not None or time.time() > deadline:
                raise AssertionError("no socket at $XENSTORED_PATH")
            time.sleep(0.005)
        p = subprocess.run(["xenstore-write", "/p", "v"], env=env, capture_output=True, timeout=10)
        q = subprocess.run(["xenstore-read", "/p"], env=env, capture_output=True, timeout=10)
        if p.returncode or q.stdout != b"v\n":
            raise AssertionError("clients via XENSTORED_PATH: %r %r" % (p, q))
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(tmp, ignore_errors=True)


def case_options(binary):
    h = subprocess.run([binary, "--help"], capture_output=True, timeout=10)
    if h.returncode != 0 or b"--no-fork" not in h.stdout or b"-T" not in h.stdout:
        raise AssertionError("--help: %r" % h)
    b = subprocess.run([binary, "--bogus"], capture_output=True, timeout=10)
    if b.returncode == 0:
        raise AssertionError("unknown option accepted")


def case_forking_daemon(binary):
    d = Daemon(binary, fork=True)
    try:
        d.run("xenstore-write", "/forked", "yes")
        d.run("xenstore-read", "/forked", out="yes\n")
    finally:
        d.stop()


def case_trace(d):
    d.run("xenstore-write", "/traced", "1")
    trace = open(os.path.join(d.dir, "trace")).read()
    if "IN " not in trace or "WRITE" not in trace or "OUT" not in trace:
        raise AssertionError("trace file lacks messages: %r" % trace[:200])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--daemon", required=True)
    args = ap.parse_args()
    missing = [c for c in CLIENTS if shutil.which(c) is None]
    if missing:
        print("FAIL: xenstore-utils is not installed (missing %s); install it with "
              "'apt-get install xenstore-utils' (./xenolith test does this)" % ", ".join(missing))
        return 1
    with_daemon = [case_write_read_list_exists, case_ls_tree, case_rm, case_chmod_and_refusals,
                   case_read_only_socket, case_watch, case_watch_permissions, case_big_directory,
                   case_trace]
    standalone = [case_xenstored_path, case_options, case_forking_daemon]
    failures = 0
    for case in with_daemon + standalone:
        try:
            if case in with_daemon:
                d = Daemon(args.daemon)
                try:
                    case(d)
                finally:
                    d.stop()
            else:
                case(args.daemon)
            print("PASS", case.__name__)
        except Exception as e:  # report every case, then fail
            failures += 1
            print("FAIL", case.__name__, "-", e)
    print("%d of %d interop cases passed" % (len(with_daemon) + len(standalone) - failures,
                                             len(with_daemon) + len(standalone)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
