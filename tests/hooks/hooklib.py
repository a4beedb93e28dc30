# SPDX-License-Identifier: MIT
"""What the scenario hooks (and the fuzz seed maker) share: where the build
is, running a program on the channel socket with its output logged, and
abi/hvwire.h frames for hooks that write raw bytes to the channel.

A hook imports it after putting this directory on sys.path (the runner
loads hooks by file name, not as a package).
"""
import os
import struct
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def build_dir(console=None):
    """BUILD: the parent of BUILD/test-logs the runner works in (so
    `tests/run.py --build DIR` is followed), else $BUILD, else "build"."""
    run_dir = getattr(console, "run_dir", None)
    if run_dir is not None:
        run_dir = Path(run_dir)
        if run_dir.parent.name == "test-logs":
            return run_dir.parent.parent
    build = Path(os.environ.get("BUILD", "build"))
    return build if build.is_absolute() else ROOT / build


def run_logged(console, cmd, fd, timeout, env=None):
    """Run cmd with the channel socket fd inherited and env added; every
    output line goes to the hook log. (exit status or None if killed, output)."""
    env = env or {}
    shown = " ".join(f"{k}={v}" for k, v in env.items())
    console.log("$ " + (shown + " " if shown else "") + " ".join(str(c) for c in cmd))
    t0 = time.monotonic()
    try:
        p = subprocess.run([str(c) for c in cmd], pass_fds=(fd,), env={**os.environ, **env},
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=timeout)
        rc, out = p.returncode, p.stdout
    except subprocess.TimeoutExpired as e:
        rc, out = None, e.stdout or b""
    out = out.decode("utf-8", "replace")
    for line in out.splitlines():
        console.log("  | " + line)
    took = time.monotonic() - t0
    console.log(f"  {'killed' if rc is None else f'exit status {rc}'} after {took:.1f}s")
    return rc, out


def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def frame(ftype, seq, payload=b""):
    """An abi/hvwire.h frame (version 1)."""
    head = b"HV" + bytes([1, ftype]) + struct.pack("<II", seq, len(payload)) + payload
    return head + struct.pack("<I", crc32c(head))
