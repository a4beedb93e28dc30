# SPDX-License-Identifier: MIT
"""Scenario hook: drive the hypervisor's controller channel with hvctl.

The runner calls run(sock, console) with the channel's connected socket.
Each step starts $BUILD/tools/hvctl (BUILD defaults to "build", relative
to the repository) with `-c fd:N`, the socket handed down by pass_fds, and
checks what it prints:

    hello       the identity, and whether VT-x is there (flags bit 0)
    version     KVM_GET_API_VERSION = 12
    caps        a line per capability (KVM_CAP_USER_MEMORY = 1 with VT-x)
    run-flat    with VT-x: hello16.bin in real mode prints its line on COM1,
                halts, and its store at 0x2000 shows in hvctl's local copy
    create-vm   without VT-x: refused with ENODEV
    power-off   the hypervisor ends its run

Needs `make tools` (hvctl and hello16.bin). Returns False, with the reason
in hook.log, at the first mismatch.
"""
import os
import re
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STEP_TIMEOUT = 120      # seconds for one hvctl command
RUN_TIMEOUT = 600       # run-flat: every exit is a round trip on the channel


def _tools_dir():
    build = Path(os.environ.get("BUILD", "build"))
    return (build if build.is_absolute() else ROOT / build) / "tools"


class Hvctl:
    def __init__(self, hvctl, fd, console):
        self.hvctl = hvctl
        self.fd = fd
        self.console = console

    def __call__(self, *args, timeout=STEP_TIMEOUT):
        """(exit status, output); status None if it had to be killed."""
        cmd = [str(self.hvctl), "-c", f"fd:{self.fd}", *map(str, args)]
        self.console.log("$ " + " ".join(cmd))
        t0 = time.monotonic()
        try:
            p = subprocess.run(cmd, pass_fds=(self.fd,), stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               timeout=timeout)
            rc, out = p.returncode, p.stdout
        except subprocess.TimeoutExpired as e:
            rc, out = None, e.stdout or b""
        out = out.decode("utf-8", "replace")
        for line in out.splitlines():
            self.console.log("  | " + line)
        took = time.monotonic() - t0
        if rc is None:
            self.console.log(f"  killed after {took:.1f}s (limit {timeout}s)")
        else:
            self.console.log(f"  exit status {rc} after {took:.1f}s")
        return rc, out


def _expect(console, what, rc, out, status, needles):
    """Exit status @status and every needle (substring or re: pattern) in @out."""
    ok = True
    if rc != status:
        console.log(f"FAIL {what}: exit status {rc}, expected {status}")
        ok = False
    lines = out.splitlines()
    for n in needles:
        if n.startswith("re:"):
            found = any(re.search(n[3:], line) for line in lines)
        else:
            found = any(n in line for line in lines)
        if not found:
            console.log(f"FAIL {what}: no output line with {n!r}")
            ok = False
    return ok


def run(sock, console):
    if sock is None:
        console.log("FAIL: the scenario has no channel")
        return False
    tools = _tools_dir()
    hvctl, image = tools / "hvctl", tools / "hello16.bin"
    for f in (hvctl, image):
        if not f.is_file():
            console.log(f"FAIL: {f} is missing (make tools)")
            return False

    # A UART drops what arrives before it is programmed: wait for the word.
    line = console.wait_for("hv: channel: serving", timeout=300)
    console.log(f"console: {line}")
    sock.setblocking(True)
    cmd = Hvctl(hvctl, sock.fileno(), console)

    rc, out = cmd("hello")
    if not _expect(console, "hello", rc, out, 0,
                   ["identity: ", "protocol version: 1", "re:^flags: 0x[0-9a-f]+",
                    "re:^caps: 0x[0-9a-f]*3 kvm-ioctl memory"]):
        return False
    vmx = bool(int(re.search(r"^flags: 0x([0-9a-f]+)", out, re.M).group(1), 16) & 1)
    console.log(f"VT-x {'present' if vmx else 'absent'}")

    rc, out = cmd("version")
    if not _expect(console, "version", rc, out, 0, ["KVM_GET_API_VERSION = 12"]):
        return False

    rc, out = cmd("caps")
    if not _expect(console, "caps", rc, out, 0,
                   ["KVM_CAP_USER_MEMORY = " + ("1" if vmx else "0"),
                    "KVM_CAP_SYNC_REGS = "]):
        return False

    if vmx:
        rc, out = cmd("run-flat", image, "--real", "--load", "0x1000", "--rip", "0x1000",
                      "--max-exits", "1000", timeout=RUN_TIMEOUT)
        if not _expect(console, "run-flat", rc, out, 0,
                       ["[guest] hello from a remote guest",
                        "exit IO in port 0x510 size 1 count 1 -> data ff",
                        "exit HLT", "mem[0x2000] = 0x5a"]):
            return False
        if "did not read all ones" in out:
            console.log("FAIL run-flat: the guest saw port 0x510 read other than all ones")
            return False
    else:
        rc, out = cmd("create-vm")
        if not _expect(console, "create-vm", rc, out, 1, ["KVM_CREATE_VM: ENODEV"]):
            return False

    rc, out = cmd("power-off")
    if not _expect(console, "power-off", rc, out, 0, ["power-off: done"]):
        return False
    return True
