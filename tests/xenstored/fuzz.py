#!/usr/bin/python3
"""Fuzz test of the running xenstored over its Unix sockets.

A fixed number of random and mutated messages (seeded, so failures reproduce) go to the
daemon from privileged, read-only and unprivileged connections. Every well-formed request
must be answered with a reply carrying its request id; a message announcing an oversized
payload must get the connection dropped; connections vanish mid-transaction. At the end the
daemon must still run, report a consistent store (XS_CONTROL "check") and still hold the
sentinel subtree written at the start. Standard library only.

Longer runs: fuzz.py --daemon PATH --iterations 200000 --seed N
"""
import argparse
import os
import random
import select
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time

HDR = struct.Struct("<IIII")
WATCH_EVENT, ERROR = 15, 16
FRAGMENTS = [b"/", b"a", b"b", b"/a/b", b"/local/domain/3", b"@releaseDomain", b"@introduceDomain",
             b"T", b"F", b"0", b"1", b"3", b"-1", b"r3", b"b0", b"n3", b"w1", b"//", b"x y", b"check",
             b"nodes", b"99999999999999999999", b"data", b"device/vbd", b"\xff\xfe"]


class Conn:
    def __init__(self, path, kind):
        self.path, self.kind = path, kind
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)
        self.buf = b""
        self.req = 0

    def send(self, typ, payload, tx=0, length=None):
        self.req += 1
        n = len(payload) if length is None else length
        self.sock.sendall(HDR.pack(typ, self.req, tx, n) + payload)
        return self.req

    def reply(self, req, timeout=5.0):
        """The reply to `req`, or None if the daemon closed the connection."""
        deadline = time.time() + timeout
        while True:
            while len(self.buf) >= HDR.size:
                typ, rid, tx, n = HDR.unpack_from(self.buf)
                if len(self.buf) < HDR.size + n:
                    break
                payload = self.buf[HDR.size:HDR.size + n]
                self.buf = self.buf[HDR.size + n:]
                if typ != WATCH_EVENT and rid == req:
                    return typ, payload
            left = deadline - time.time()
            if left <= 0:
                raise AssertionError("no reply to request %d within %.0fs" % (req, timeout))
            r, _, _ = select.select([self.sock], [], [], left)
            if r:
                data = self.sock.recv(65536)
                if not data:
                    return None
                self.buf += data

    def close(self):
        self.sock.close()


def random_payload(rng):
    if rng.random() < 0.5:
        out = b""
        for _ in range(rng.randrange(5)):
            out += rng.choice(FRAGMENTS)
            if rng.random() < 0.75:
                out += b"\0"
        return out
    base = rng.choice([b"/a/b\0", b"/a\0value", b"/a\0tok\0", b"T\0", b"3\0-1\0" + b"1\0",
                       b"/a\0" + b"0\0", b"/a\0n0\0r3\0", b"data/x\0v"])
    b = bytearray(base)
    for _ in range(rng.randrange(4)):
        if b:
            b[rng.randrange(len(b))] = rng.randrange(256)
    if rng.random() < 0.1:
        b += bytes(rng.randrange(256) for _ in range(rng.randrange(200)))
    return bytes(b)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--daemon", required=True)
    ap.add_argument("--iterations", type=int, default=4000)
    ap.add_argument("--seed", type=int, default=1234)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    rundir = tempfile.mkdtemp(prefix="xsfuzz-")
    dom3 = os.path.join(rundir, "dom3")
    env = dict(os.environ, XENSTORED_RUNDIR=rundir)
    env.pop("XENSTORED_PATH", None)
    proc = subprocess.Popen([args.daemon, "-N", "--domain-socket", "3:" + dom3], env=env,
                            stderr=subprocess.DEVNULL)
    try:
        sock = os.path.join(rundir, "socket")
        deadline = time.time() + 10
        while not os.path.exists(dom3):
            if proc.poll() is not None or time.time() > deadline:
                raise AssertionError("daemon did not come up")
            time.sleep(0.005)
        paths = {"priv": sock, "ro": os.path.join(rundir, "socket_ro"), "dom3": dom3}
        admin = Conn(sock, "priv")
        for typ, payload in [(11, b"/sentinel/value\0kept"), (14, b"/sentinel\0n0\0"),
                             (14, b"/sentinel/value\0n0\0"), (12, b"/local/domain/3\0"),
                             (14, b"/local/domain/3\0n3\0")]:
            r = admin.reply(admin.send(typ, payload))
            assert r and r[0] != ERROR, r
        conns = [Conn(paths[k], k) for k in ("priv", "priv", "ro", "dom3", "dom3")]
        answered = dropped = 0
        for i in range(args.iterations):
            k = rng.randrange(len(conns))
            c = conns[k]
            typ = rng.randrange(30)
            payload = random_payload(rng)
            if b"sentinel" in payload or (typ == 13 and payload in (b"/\0", b"/")):
                continue
            tx = rng.randrange(6) if rng.random() < 0.3 else 0
            mode = rng.random()
            if mode < 0.01:
                # Oversized announcement: the daemon must drop the connection (§5.1).
                c.send(typ, b"", tx, length=4097 + rng.randrange(1 << 20))
                if c.reply(c.req) is not None:
                    raise AssertionError("oversized message was answered")
                dropped += 1
                c.close()
                conns[k] = Conn(paths[c.kind], c.kind)
                continue
            if mode < 0.02:
                # Vanish mid-message or mid-transaction.
                c.sock.sendall(HDR.pack(typ, 1, tx, 100)[:rng.randrange(1, 16)])
                c.close()
                conns[k] = Conn(paths[c.kind], c.kind)
                continue
            req = c.send(typ, payload[:4096], tx)
            r = c.reply(req)
            if r is None:
                raise AssertionError("connection dropped after a well-formed request "
                                     "(type %d payload %r, seed %d, step %d)" % (typ, payload, args.seed, i))
            answered += 1
        r = admin.reply(admin.send(0, b"check\0"))
        if r is None or r[1] != b"OK\0":
            raise AssertionError("store inconsistent after fuzzing: %r" % (r,))
        r = admin.reply(admin.send(2, b"/sentinel/value\0"))
        if r is None or r[1] != b"kept":
            raise AssertionError("sentinel lost: %r" % (r,))
        if proc.poll() is not None:
            raise AssertionError("daemon exited")
        print("PASS: %d requests answered, %d oversized connections dropped, store consistent"
              % (answered, dropped))
        return 0
    except AssertionError as e:
        print("FAIL:", e)
        return 1
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(rundir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
