# SPDX-License-Identifier: MIT
"""Scenario hook: a hostile line does not flood the console.

The runner calls run(sock, console) with the channel's connected socket.
Once the hypervisor serves the channel, this writes straight to the
socket:

    garbage     GARBAGE_BURSTS bursts of GARBAGE_BYTES random bytes (never
                "HV", so no false frame start), a short pause between them
    refused     REFUSED truncated CLOSE frames: each must still be answered
                (ERROR -EINVAL), but logged only within the rate limit
    kicks       KICKS KICK frames for a VM that does not exist (no answer)

then a HELLO, whose answer shows the server went on, and POWER_OFF. It
counts the console's warning lines from the first garbage byte to the
power-off and fails when there are more than WARN_LIMIT (the rate limiter
of hv/lib/log.h lets through 5 lines a second per call site, plus one
"similar lines suppressed" line, and sums garbage into one line a
second), or when an answer is missing. The counts go to hook.log:

    warnings: N lines (garbage G, refused R, kick K, suppressed S) in T s
"""
import random
import select
import struct
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from hooklib import crc32c, frame  # noqa: E402

GARBAGE_BURSTS = 3
GARBAGE_BYTES = 1000
REFUSED = 40
KICKS = 40
WARN_LIMIT = 40

HVW_HELLO_REQ, HVW_HELLO_RESP, HVW_IOCTL_RESP = 1, 2, 4
HVW_ERROR, HVW_POWER_OFF, HVW_KICK, HVW_CLOSE = 8, 9, 10, 11


def _garbage(rng, n):
    out = bytearray(rng.randrange(256) for _ in range(n))
    for i in range(1, n):
        if out[i - 1] == 0x48 and out[i] == 0x56:  # never "HV"
            out[i] = 0x55
    return bytes(out)


def _read_frames(sock, want, timeout):
    """Frames (type, seq, payload) until one of seq @want has come, or the time is up."""
    buf, frames = b"", []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not any(f[1] == want for f in frames):
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
            if n > 70000:
                buf = buf[i + 1:]
                continue
            if len(buf) - i < 16 + n:
                break
            f = buf[i:i + 16 + n]
            if struct.unpack_from("<I", f, 12 + n)[0] == crc32c(f[:12 + n]):
                frames.append((f[3], struct.unpack_from("<I", f, 4)[0], f[12:12 + n]))
                buf = buf[i + 16 + n:]
            else:
                buf = buf[i + 1:]
    return frames


def run(sock, console):
    if sock is None:
        console.log("FAIL: the scenario has no channel")
        return False
    line = console.wait_for("hv: channel: serving", timeout=300)
    console.log(f"console: {line}")
    sock.setblocking(True)
    rng = random.Random(1234)
    start = len(console.lines())
    t0 = time.monotonic()

    for _ in range(GARBAGE_BURSTS):
        sock.sendall(_garbage(rng, GARBAGE_BYTES))
        time.sleep(0.3)
    refused = b"".join(frame(HVW_CLOSE, 1000 + i, b"\x01\x00\x00") for i in range(REFUSED))
    kicks = b"".join(frame(HVW_KICK, 0, struct.pack("<II", 77, 0)) for _ in range(KICKS))
    hello = frame(HVW_HELLO_REQ, 7, struct.pack("<II", 1, 1) + b"channel_flood".ljust(32, b"\0"))
    sock.sendall(refused + kicks + hello)
    frames = _read_frames(sock, 7, 300)
    errors = [f for f in frames if f[0] == HVW_ERROR and 1000 <= f[1] < 1000 + REFUSED]
    got_hello = any(f[0] == HVW_HELLO_RESP and f[1] == 7 for f in frames)
    sock.sendall(frame(HVW_POWER_OFF, 8, b""))
    _read_frames(sock, 8, 60)
    console.wait_for("hv: channel: power off requested", timeout=300)
    took = time.monotonic() - t0

    lines = console.lines()[start:]
    warn = [l for l in lines if l.startswith("warning:") or l.startswith("error:")]
    kinds = {
        "garbage": sum("garbage skipped" in l for l in warn),
        "refused": sum("refused" in l for l in warn),
        "kick": sum("KICK for vm 77" in l for l in warn),
        "suppressed": sum("similar lines suppressed" in l for l in warn),
    }
    console.log(f"sent {GARBAGE_BURSTS} x {GARBAGE_BYTES} garbage bytes, {REFUSED} truncated "
                f"CLOSEs, {KICKS} KICKs for no VM")
    console.log(f"warnings: {len(warn)} lines (garbage {kinds['garbage']}, refused "
                f"{kinds['refused']}, kick {kinds['kick']}, suppressed {kinds['suppressed']}) "
                f"in {took:.1f} s")
    console.log(f"answers: {len(errors)} of {REFUSED} ERRORs for the truncated CLOSEs, "
                f"HELLO {'answered' if got_hello else 'NOT answered'}")
    ok = True
    if len(errors) != REFUSED or not all(struct.unpack_from("<i", f[2])[0] == -22
                                         for f in errors):
        console.log("FAIL: every truncated CLOSE must be answered with ERROR -EINVAL")
        ok = False
    if not got_hello:
        console.log("FAIL: no answer to the HELLO after the flood")
        ok = False
    if len(warn) > WARN_LIMIT:
        console.log(f"FAIL: {len(warn)} warning lines, at most {WARN_LIMIT} expected")
        ok = False
    return ok
