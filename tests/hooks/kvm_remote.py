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
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RUN_TIMEOUT = 900         # seconds for the whole program
POWER_OFF_TIMEOUT = 60


def _build_dir(console):
    run_dir = getattr(console, "run_dir", None)
    if run_dir is not None:
        run_dir = Path(run_dir)
        if run_dir.parent.name == "test-logs":
            return run_dir.parent.parent
    build = Path(os.environ.get("BUILD", "build"))
    return build if build.is_absolute() else ROOT / build


def _run(console, prog, fd, args, timeout):
    """(exit status or None if killed, output)."""
    cmd = [str(prog), "-c", f"fd:{fd}", *args]
    console.log("$ " + " ".join(cmd))
    t0 = time.monotonic()
    try:
        p = subprocess.run(cmd, pass_fds=(fd,), stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=timeout)
        rc, out = p.returncode, p.stdout
    except subprocess.TimeoutExpired as e:
        rc, out = None, e.stdout or b""
    out = out.decode("utf-8", "replace")
    for line in out.splitlines():
        console.log("  | " + line)
    took = time.monotonic() - t0
    console.log(f"  {'killed' if rc is None else f'exit status {rc}'} after {took:.1f}s")
    return rc, out


def run(sock, console):
    if sock is None:
        console.log("FAIL: the scenario has no channel")
        return False
    prog = _build_dir(console) / "tests" / "remote" / "kvm_remote_test"
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
        rc, out = _run(console, prog, fd, ["--bench", n, "-P"], RUN_TIMEOUT)
        ok = rc == 0 and any(l.startswith("bench: ratio") for l in out.splitlines())
        powered_off = "FAIL power-off" not in out and rc is not None
    else:
        # HV_REMOTE_TESTS="glob glob ..." runs only those cases (while developing).
        globs = os.environ.get("HV_REMOTE_TESTS", "").split()
        args = [a for g in globs for a in ("-t", g)]
        rc, out = _run(console, prog, fd, [*args, "-P"], RUN_TIMEOUT)
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
        _run(console, prog, fd, ["--power-off"], POWER_OFF_TIMEOUT)
    return ok
