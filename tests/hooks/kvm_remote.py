# SPDX-License-Identifier: MIT
"""Scenario hook: the remote KVM test program over the channel.

The runner calls run(sock, console) with the channel's connected socket.
Once the hypervisor says it serves the channel, this starts
BUILD/tests/remote/kvm_remote_test with `-c fd:N` (the socket handed down
with pass_fds) and logs what it prints to hook.log:

    PASS name / FAIL name: why / SKIP name: reason, one line per case,
    then "N passed, N failed, N skipped".

The program ends the run itself (-P: HVW_POWER_OFF). The hook fails if the
program failed a case, printed no summary or had to be killed; when the
program did not get to power off, the hook asks for it
(`kvm_remote_test --power-off`) so the emulator still ends.

Scenarios whose name contains "bench" run `--bench N` instead (N from
$HV_REMOTE_BENCH_EXITS, default 200) and log its `bench:` lines, which
scripts/bench.sh prints.

BUILD is the directory the runner works in (the parent of BUILD/test-logs,
so `tests/run.py --build DIR` is followed), else $BUILD, else "build".
"""
import os
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from hooklib import build_dir, run_logged  # noqa: E402

RUN_TIMEOUT = 900         # seconds for the whole program
POWER_OFF_TIMEOUT = 60


def run(sock, console):
    if sock is None:
        console.log("FAIL: the scenario has no channel")
        return False
    prog = build_dir(console) / "tests" / "remote" / "kvm_remote_test"
    if not prog.is_file():
        console.log(f"FAIL: {prog} is missing (make remote-test)")
        return False

    # A UART drops what arrives before it is programmed: wait for the word.
    line = console.wait_for("hv: channel: serving", timeout=300)
    console.log(f"console: {line}")
    sock.setblocking(True)
    fd = sock.fileno()

    bench = "bench" in (getattr(console, "scenario", "") or "")
    if bench:
        n = os.environ.get("HV_REMOTE_BENCH_EXITS", "200")
        rc, out = run_logged(console, [prog, "-c", f"fd:{fd}", "--bench", n, "-P"], fd, RUN_TIMEOUT)
        ok = rc == 0 and any(l.startswith("bench: ratio") for l in out.splitlines())
        powered_off = "FAIL power-off" not in out and rc is not None
    else:
        # HV_REMOTE_TESTS="glob glob ..." runs only those cases (while developing).
        globs = os.environ.get("HV_REMOTE_TESTS", "").split()
        args = [a for g in globs for a in ("-t", g)]
        rc, out = run_logged(console, [prog, "-c", f"fd:{fd}", *args, "-P"], fd, RUN_TIMEOUT)
        summary = [l for l in out.splitlines()
                   if re.match(r"^\d+ passed, \d+ failed, \d+ skipped$", l)]
        powered_off = "# power-off: done" in out
        ok = rc == 0 and bool(summary) and summary[-1].split()[2] == "0"
        for l in out.splitlines():
            if l.startswith("FAIL "):
                console.log("failed: " + l)
        console.log("summary: " + (summary[-1] if summary else "none"))

    if not powered_off:
        console.log("the program did not power off: asking for it")
        run_logged(console, [prog, "-c", f"fd:{fd}", "--power-off"], fd, POWER_OFF_TIMEOUT)
    return ok
