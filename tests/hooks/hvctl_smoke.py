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
    memory      with VT-x: a guest that stores one byte in a 1 MiB slot, with
                the sync after each run: one changed page comes back through
                MEM_CHANGED, nothing through MEM_READ (bytes are logged)
    kick        with VT-x: a guest that spins (cli; jmp $) is stopped by
                run-flat --kick-after: KVM_RUN fails with EINTR, exit INTR
    close       with VT-x: vm-cycle 20 creates and closes 20 VMs (more than
                the hypervisor holds at once) and the free page count the
                hypervisor logs after each close does not move; close-vm of
                a handle that names no VM is EBADF
    disconnect  with VT-x: a controller killed in the middle of a run: the next
                one's HELLO stops the run and reclaims the VM (a console line)
    ls          every earlier controller has left, so no VM of a session is
                listed; -v states the limits
    bad frames  a truncated KICK and CLOSE, and a CLOSE of an unknown handle,
                written straight to the socket, get their ERROR / EBADF
                answers and the server goes on
    create-vm   without VT-x: refused with ENODEV
    power-off   the hypervisor ends its run

Needs `make tools` (hvctl and hello16.bin). Returns False, with the reason
in hook.log, at the first mismatch.
"""
import os
import re
import select
import struct
import sys
import subprocess
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from hooklib import crc32c, frame  # noqa: E402

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


def _read_frames(sock, want, timeout=20.0):
    """Frames (type, seq, payload) until @want of them have come."""
    buf, frames = b"", []
    deadline = time.monotonic() + timeout
    while len(frames) < want and time.monotonic() < deadline:
        r, _, _ = select.select([sock], [], [], 0.2)
        if r:
            chunk = sock.recv(65536)
            if not chunk:
                break
            buf += chunk
        while True:
            i = buf.find(b"HV")
            if i < 0 or len(buf) - i < 12:
                break
            n = struct.unpack_from("<I", buf, i + 8)[0]
            if len(buf) - i < 16 + n:
                break
            f = buf[i:i + 16 + n]
            buf = buf[i + 16 + n:]
            if struct.unpack_from("<I", f, 12 + n)[0] == crc32c(f[:12 + n]):
                frames.append((f[3], struct.unpack_from("<I", f, 4)[0], f[12:12 + n]))
    return frames


HVW_IOCTL_RESP, HVW_ERROR, HVW_KICK, HVW_CLOSE = 4, 8, 10, 11


def _bad_frames(sock, console):
    """Malformed KICK and CLOSE, and a CLOSE of no VM: answered, server goes on."""
    sock.sendall(frame(HVW_KICK, 0, b"\x01\x00\x00\x00")           # 4 of 8 bytes
                 + frame(HVW_CLOSE, 901, b"\x01\x00\x00")           # 3 of 8 bytes
                 + frame(HVW_CLOSE, 902, struct.pack("<II", 77, 0))  # no VM 77
                 + frame(HVW_KICK, 0, struct.pack("<II", 77, 0)))    # no VM 77
    frames = _read_frames(sock, 3)
    for f in frames:
        console.log(f"  frame type {f[0]} seq {f[1]} payload {f[2][:40].hex()}")
    got = {(t, q): p for t, q, p in frames}
    ok = True
    if (HVW_ERROR, 0) not in got or struct.unpack_from("<i", got[(HVW_ERROR, 0)])[0] != -22:
        console.log("FAIL bad frames: no ERROR -EINVAL (seq 0) for the truncated KICK")
        ok = False
    if (HVW_ERROR, 901) not in got or struct.unpack_from("<i", got[(HVW_ERROR, 901)])[0] != -22:
        console.log("FAIL bad frames: no ERROR -EINVAL for the truncated CLOSE")
        ok = False
    if (HVW_IOCTL_RESP, 902) not in got or \
            struct.unpack_from("<q", got[(HVW_IOCTL_RESP, 902)])[0] != -9:
        console.log("FAIL bad frames: CLOSE of VM 77 did not answer -EBADF")
        ok = False
    return ok


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


def _image(code):
    f = tempfile.NamedTemporaryFile(prefix="hvctl-", suffix=".bin", delete=False)
    f.write(code)
    f.close()
    return f.name


def _stat(out, name):
    m = re.search(r"(\d+) " + name, out)
    return int(m.group(1)) if m else None


def _memory(cmd, console):
    # mov byte [0x2000], 0x5a; hlt -- one page of a 1 MiB slot changes.
    img = _image(bytes([0xc6, 0x06, 0x00, 0x20, 0x5a, 0xf4]))
    try:
        rc, out = cmd("-v", "run-flat", img, "--real", "--load", "0x1000", "--mem", "1M",
                      "--sync-each", timeout=RUN_TIMEOUT)
    finally:
        os.unlink(img)
    if not _expect(console, "memory", rc, out, 0,
                   ["exit HLT", "mem[0x2000] = 0x5a", "re:channel: .* bytes in"]):
        return False
    pulled, changed = _stat(out, "pages pulled"), _stat(out, "changed pages")
    console.log(f"memory: {_stat(out, 'bytes out')} bytes out, {_stat(out, 'bytes in')} "
                f"bytes in, {pulled} pages read with MEM_READ, {changed} changed pages")
    if pulled != 0 or changed != 1:
        console.log("FAIL memory: expected 0 pages pulled and 1 changed page")
        return False
    return True


def _kick(cmd, console):
    # cli; jmp $ -- IF=0 on purpose: Bochs gives such a guest no
    # external-interrupt exits, so the KICK gets in at the end of a
    # preemption-timer slice (real VT-x exits either way).
    img = _image(bytes([0xfa, 0xeb, 0xfe]))
    try:
        rc, out = cmd("run-flat", img, "--real", "--load", "0x1000", "--kick-after", "1500",
                      timeout=RUN_TIMEOUT)
    finally:
        os.unlink(img)
    return _expect(console, "kick", rc, out, 0,
                   ["exit INTR (KVM_RUN: EINTR, kicked by --kick-after)",
                    "re:regs: rip 000000000000100[01]"])


def _disconnect(cmd, console):
    # A controller that dies in the middle of a run: the guest spins for
    # ever, the next controller's HELLO stops the run, and it is served.
    img = _image(bytes([0xfa, 0xeb, 0xfe]))
    try:
        rc, out = cmd("run-flat", img, "--real", "--load", "0x1000", timeout=5)
    finally:
        os.unlink(img)
    if rc is not None:
        console.log(f"FAIL disconnect: run-flat of a spinning guest ended ({rc})")
        return False
    rc, out = cmd("version")
    if not _expect(console, "version after a controller died mid-run", rc, out, 0,
                   ["KVM_GET_API_VERSION = 12"]):
        return False
    try:
        console.wait_for("re:hv: channel: HELLO during the KVM_RUN of vm \\d+ vcpu 0: "
                         "a new controller; the run is stopped", timeout=30)
        console.wait_for("re:hv: channel: session \\d+ ended \\(a new controller said "
                         "HELLO\\): vm \\d+ '\\S+' reclaimed, 1 vCPU\\(s\\), \\d+ pages",
                         timeout=30)
    except TimeoutError as e:
        console.log(f"FAIL disconnect: {e}")
        return False
    return True


def _ls(cmd, console):
    # Each hvctl ends its session when it exits (the killed one's ended at
    # the next HELLO): what is listed can only be the boot controller's.
    rc, out = cmd("-v", "ls")
    if not _expect(console, "ls", rc, out, 0,
                   ["re:^hvctl: \\d+ of \\d+ VMs, up to \\d+ vCPUs each; \\d+ KiB free"]):
        return False
    left = [line for line in out.splitlines() if line.startswith("vm ") and "owner session" in line]
    if left:
        console.log(f"FAIL ls: VMs of controllers that left are alive: {left}")
        return False
    return True


def _close(cmd, console):
    start = len(console.lines())
    rc, out = cmd("vm-cycle", "20")
    if not _expect(console, "vm-cycle", rc, out, 0, ["vm-cycle: 20 VMs created and closed"]):
        return False
    free = []
    for _ in range(20):
        try:
            line = console.wait_for("re:hv: channel: vm \\d+ closed, \\d+ pages free",
                                    timeout=30, since=start)
        except TimeoutError as e:
            console.log(f"FAIL close: {e}")
            return False
        start = console.lines().index(line, start) + 1
        free.append(int(re.search(r"(\d+) pages free", line).group(1)))
    console.log(f"close: free pages after each close: {sorted(set(free))}")
    if len(set(free)) != 1:
        console.log("FAIL close: the free page count moved: a VM leaks memory")
        return False
    rc, out = cmd("close-vm", "99")
    return _expect(console, "close-vm 99", rc, out, 1, ["EBADF"])


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
                    "re:^caps: 0x[0-9a-f]+ kvm-ioctl memory kick close mem-changed"]):
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
        if not _memory(cmd, console) or not _kick(cmd, console) or \
                not _disconnect(cmd, console) or not _close(cmd, console):
            return False
    else:
        rc, out = cmd("create-vm")
        if not _expect(console, "create-vm", rc, out, 1, ["KVM_CREATE_VM: ENODEV"]):
            return False

    if not _ls(cmd, console) or not _bad_frames(sock, console):
        return False
    rc, out = cmd("version")
    if not _expect(console, "version after bad frames", rc, out, 0,
                   ["KVM_GET_API_VERSION = 12"]):
        return False

    rc, out = cmd("power-off")
    if not _expect(console, "power-off", rc, out, 0, ["power-off: done"]):
        return False
    return True
