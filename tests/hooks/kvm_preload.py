# SPDX-License-Identifier: MIT
"""Scenario hook: an unmodified /dev/kvm program through the preload shim.

The runner calls run(sock, console) with the channel's connected socket.
Once the hypervisor says it serves the channel, this starts
BUILD/tests/preload/kvm_hello (written for Linux alone: <linux/kvm.h> and
libc) with

    LD_PRELOAD=<abs>/BUILD/tools/libhvkvm_preload.so HVKVM_CONNECT=fd:N

the socket handed down as fd N (pass_fds), and logs what it prints to
hook.log: "PASS name" / "FAIL name: why" per check, then
"N passed, N failed". The hook passes when that summary says 0 failed and
the program exited with 0. kvm_hello knows nothing of the hypervisor, so
the hook ends the run itself afterwards (`hvctl -c fd:N power-off`).

BUILD is the directory the runner works in (the parent of BUILD/test-logs,
so `tests/run.py --build DIR` is followed), else $BUILD, else "build".
"""
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from hooklib import build_dir, run_logged  # noqa: E402

RUN_TIMEOUT = 600         # seconds for the whole program
POWER_OFF_TIMEOUT = 60


def run(sock, console):
    if sock is None:
        console.log("FAIL: the scenario has no channel")
        return False
    build = build_dir(console).resolve()
    progs = [build / "tests" / "preload" / p for p in ("kvm_hello", "kvm_signal")]
    shim = build / "tools" / "libhvkvm_preload.so"
    hvctl = build / "tools" / "hvctl"
    for f in progs + [shim, hvctl]:
        if not f.is_file():
            console.log(f"FAIL: {f} is missing (make tools)")
            return False

    # A UART drops what arrives before it is programmed: wait for the word.
    line = console.wait_for("hv: channel: serving", timeout=300)
    console.log(f"console: {line}")
    sock.setblocking(True)
    fd = sock.fileno()

    ok = True
    for prog in progs:
        rc, out = run_logged(console, [prog], fd, RUN_TIMEOUT,
                             {"LD_PRELOAD": str(shim), "HVKVM_CONNECT": f"fd:{fd}"})
        summary = [l for l in out.splitlines() if re.match(r"^\d+ passed, \d+ failed$", l)]
        for l in out.splitlines():
            if l.startswith("FAIL "):
                console.log("failed: " + l)
        console.log(f"summary of {prog.name}: " + (summary[-1] if summary else "none"))
        ok = ok and rc == 0 and bool(summary) and summary[-1].split()[2] == "0"

    prc, _ = run_logged(console, [hvctl, "-c", f"fd:{fd}", "power-off"], fd, POWER_OFF_TIMEOUT)
    if prc != 0:
        console.log("power-off failed")
    return ok
