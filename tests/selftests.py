# SPDX-License-Identifier: MIT
"""Linux 6.1's own KVM selftests against the hypervisor, unmodified, through
the preload shim (`make selftests`).

scripts/kvm-selftests.sh builds the programs named in tests/selftests.list
(cached); this runs each of them against the hypervisor under Bochs, booted
with `tests/run.py --interactive --serve SOCKET BUILD/hv.iso` as
tests/serve_test.py does, with

    LD_PRELOAD=BUILD/tools/libhvkvm_preload.so HVKVM_CONNECT=unix:SOCKET

and a timeout, and prints one line per test, then the totals:

    PASS name
    FAIL name: <what failed: the message of the ==== Test Assertion Failure
               ==== block and where, or how the program ended>
    SKIP name: <the reason the program printed>      (exit status 4, kselftest)
    N passed, N failed, N skipped

A skip is never counted as a pass. A list line whose comment starts with
"skip:" names a test that cannot run on these machines: it is reported as
SKIP with that reason (naming it on the command line runs it anyway); one
starting "timeout=SECONDS" gives that test more than --timeout. A line
NAME@PLATFORM runs the program NAME on a hypervisor booted on that
tests/run.py platform (default bochs-spr), so one program can be checked on
two CPU models; the program finds the platform's name in
HV_SELFTEST_PLATFORM. Each test gets a freshly booted
hypervisor (a program's VMs go when its connection ends, the relay saying
BYE for one that died, but a test may leave the hypervisor itself in a bad
state), so no test sees what an earlier one did; with
--shared-boot one boot serves every test, a controller after another. After
each test `hvctl version` through the socket checks that the hypervisor is
still alive; when a test killed it that is said, and with --shared-boot it is
booted again for the next test. At the end it is powered off (`hvctl
power-off`).

Logs: BUILD/selftests/logs/NAME.log is the test's whole output (stdout and
stderr, in order), NAME.hv.log the hypervisor's console for that boot
(boot-N.hv.log with --shared-boot).

The project's own tests against the selftests' library (hv_*, in
tests/selftests-ours/) are listed and run the same way.

Usage: python3 tests/selftests.py [BUILD] [--timeout S] [--shared-boot] [NAME...]
       (default BUILD: $BUILD or build; NAME: a name from the list, with or
       without its x86_64/ prefix; default: the whole list)
Exit status: 1 when a test failed, 0 otherwise.
"""
import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LIST = ROOT / "tests" / "selftests.list"
BOOT_TIMEOUT = 180
DEFAULT_PLATFORM = "bochs-spr"
STEP_TIMEOUT = 60
KSFT_SKIP = 4
# Line-buffered stdout (coreutils' stdbuf adds its library in front of
# LD_PRELOAD): the log keeps stdout and stderr in order, and a test killed at
# the timeout still leaves what it printed.
STDBUF = ["stdbuf", "-oL"] if shutil.which("stdbuf") else []


def read_list():
    """The list's names; for each that cannot run here the reason (a comment
    starting "skip:"); for each that needs more than --timeout its own
    timeout (a comment starting "timeout=SECONDS")."""
    names, skips, timeouts = [], {}, {}
    for line in LIST.read_text().splitlines():
        name, _, comment = line.partition("#")
        name, comment = name.strip(), comment.strip()
        if name:
            names.append(name)
            if comment.startswith("skip:"):
                skips[name] = comment[len("skip:"):].strip()
            m = re.match(r"timeout=(\d+)\b", comment)
            if m:
                timeouts[name] = int(m.group(1))
    return names, skips, timeouts


def first_failure(text):
    """The line that says what failed: the message of the first ==== Test
    Assertion Failure ==== block (and its file:line), else the last line."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if "==== Test Assertion Failure ====" not in line:
            continue
        where, message = None, None
        for follow in lines[i + 1:]:
            s = follow.strip()
            if not s or s.startswith("pid=") or "(inlined by)" in s:
                continue
            if re.match(r"^\d+\s+(0x[0-9a-f]+|\?\?)", s):  # backtrace frame
                continue
            if where is None:
                where = s.split(": ", 1)[0] if re.match(r"^\S+:\d+: ", s) else s
                continue
            message = s
            break
        if message:
            return f"{message} ({where})"
        return f"assertion failed at {where}" if where else "assertion failed"
    rest = [s.strip() for s in lines if s.strip()]
    return rest[-1] if rest else "no output"


def skip_reason(text):
    for line in text.splitlines():
        if "skipping test" in line:
            return line.strip()
    rest = [s.strip() for s in text.splitlines() if s.strip()]
    return rest[-1] if rest else "exit status 4, no reason printed"


class Hypervisor:
    """One boot of the hypervisor under Bochs with its channel on SOCK."""

    def __init__(self, build, sock, hvctl):
        self.build, self.sock, self.hvctl = build, sock, hvctl
        self.proc = None
        self.log = None
        self.platform = None

    def hvctl_run(self, *args, timeout=STEP_TIMEOUT):
        try:
            p = subprocess.run([str(self.hvctl), "-c", f"unix:{self.sock}", *args],
                               capture_output=True, text=True, timeout=timeout,
                               stdin=subprocess.DEVNULL)
            return p.returncode, (p.stdout + p.stderr).strip()
        except subprocess.TimeoutExpired:
            return None, "timed out"

    def boot(self, log_path, platform=DEFAULT_PLATFORM):
        """Start it; return None when it answers `hvctl version`, else why not."""
        self.platform = platform
        try:
            self.sock.unlink()
        except FileNotFoundError:
            pass
        self.log = open(log_path, "w")
        self.proc = subprocess.Popen(
            [sys.executable, str(ROOT / "tests/run.py"), "--interactive", "-p", platform,
             "--build", str(self.build), "--serve", str(self.sock), str(self.build / "hv.iso")],
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT, cwd=ROOT,
            start_new_session=True)
        deadline = time.monotonic() + BOOT_TIMEOUT
        while not self.sock.exists():
            if self.proc.poll() is not None:
                return f"run.py ended with status {self.proc.returncode} (see {log_path})"
            if time.monotonic() > deadline:
                return f"no channel socket after {BOOT_TIMEOUT} s (see {log_path})"
            time.sleep(0.2)
        while True:
            rc, out = self.hvctl_run("version", timeout=30)
            if rc == 0:
                return None
            if self.proc.poll() is not None or time.monotonic() > deadline:
                return f"hvctl version: {out or rc} (see {log_path})"
            time.sleep(1)

    def alive(self):
        """`hvctl version` through the socket; a few tries, as the relay may
        still be letting the previous controller go."""
        for _ in range(3):
            if self.proc is None or self.proc.poll() is not None:
                return False
            rc, _ = self.hvctl_run("version", timeout=20)
            if rc == 0:
                return True
            time.sleep(1)
        return False

    def power_off(self):
        """hvctl power-off and wait for run.py; stop it when that fails."""
        if self.proc is None:
            return
        clean = False
        if self.proc.poll() is None:
            rc, _ = self.hvctl_run("power-off")
            try:
                self.proc.wait(STEP_TIMEOUT)
                clean = rc == 0
            except subprocess.TimeoutExpired:
                pass
        self.stop()
        return clean

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()  # run.py stops its emulator on SIGTERM
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.proc = None
        if self.log:
            self.log.close()
            self.log = None


def run_test(binary, env, timeout, log_path):
    """Run one selftest; (verdict, detail)."""
    with open(log_path, "w") as log:
        start = time.monotonic()
        try:
            proc = subprocess.Popen(STDBUF + [str(binary)], stdin=subprocess.DEVNULL, stdout=log,
                                    stderr=subprocess.STDOUT, env=env, cwd=binary.parent,
                                    start_new_session=True)
        except OSError as e:
            return "FAIL", f"cannot start {binary}: {e}"
        try:
            rc = proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            rc = None
        took = time.monotonic() - start
    text = log_path.read_text(errors="replace")
    with open(log_path, "a") as log:
        how = f"exit status {rc}" if rc is not None else f"killed after the {timeout} s timeout"
        log.write(f"\n[selftests.py: {how}, {took:.1f} s]\n")
    if rc is None:
        return "FAIL", f"timed out after {timeout} s (killed); last: {first_failure(text)}"
    if rc == 0:
        return "PASS", ""
    if rc == KSFT_SKIP:
        return "SKIP", skip_reason(text)
    if rc < 0:
        try:
            sig = signal.Signals(-rc).name
        except ValueError:
            sig = f"signal {-rc}"
        return "FAIL", f"killed by {sig}; last: {first_failure(text)}"
    return "FAIL", f"{first_failure(text)} [exit status {rc}]"


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("build", nargs="?", default=os.environ.get("BUILD", "build"))
    ap.add_argument("names", nargs="*", metavar="NAME")
    ap.add_argument("--timeout", type=float, default=120, help="seconds per test (120)")
    ap.add_argument("--shared-boot", action="store_true",
                    help="one hypervisor boot for all tests (rebooted when a test kills it)")
    opts = ap.parse_intermixed_args(argv[1:])
    build = Path(opts.build)
    build = build if build.is_absolute() else ROOT / build
    hvctl = build / "tools" / "hvctl"
    preload = build / "tools" / "libhvkvm_preload.so"
    for f in (build / "hv.iso", hvctl, preload):
        if not f.exists():
            print(f"selftests: {f} is missing (make BUILD={opts.build} selftests builds it)",
                  file=sys.stderr)
            return 2
    kvmdir = Path(subprocess.run([str(ROOT / "scripts/kvm-selftests.sh"), "path"],
                                 capture_output=True, text=True, check=True).stdout.strip())
    tests, skips, timeouts = read_list()
    if opts.names:
        skips = {}  # named on the command line: run it anyway
        chosen = []
        for n in opts.names:
            match = [t for t in tests if n in (t, t.split("/")[-1], t.partition("@")[0],
                                               t.partition("@")[0].split("/")[-1])]
            if not match:
                print(f"selftests: {n} is not in {LIST}", file=sys.stderr)
                return 2
            chosen += match
        tests = chosen
    logs = build / "selftests" / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    for old in logs.glob("*.log"):  # no stale log from an earlier run
        old.unlink()
    sock = build / "selftests" / "channel.sock"
    env = dict(os.environ, LD_PRELOAD=str(preload.absolute()),
               HVKVM_CONNECT=f"unix:{sock}")
    print(f"selftests: {len(tests)} tests from {kvmdir}, logs in {logs}", flush=True)

    hv = Hypervisor(build, sock, hvctl)
    counts = {"PASS": 0, "FAIL": 0, "SKIP": 0}
    boots = 0
    try:
        for name in tests:
            program, _, platform = name.partition("@")
            platform = platform or DEFAULT_PLATFORM
            short = name.split("/")[-1]
            binary = kvmdir / program
            if name in skips:
                counts["SKIP"] += 1
                print(f"SKIP {name}: {skips[name]}", flush=True)
                continue
            if not binary.is_file():
                counts["FAIL"] += 1
                print(f"FAIL {name}: {binary} not built (scripts/kvm-selftests.sh)", flush=True)
                continue
            if hv.proc is not None and hv.platform != platform:
                if not hv.power_off():
                    print(f"selftests: hvctl power-off did not end the run cleanly (see {hv_log})",
                          flush=True)
                hv.stop()
            if hv.proc is None:
                boots += 1
                hv_log = logs / (f"boot-{boots}.hv.log" if opts.shared_boot
                                 else f"{short}.hv.log")
                why = hv.boot(hv_log, platform)
                if why:
                    hv.stop()
                    counts["FAIL"] += 1
                    print(f"FAIL {name}: the hypervisor did not come up: {why}", flush=True)
                    continue
            verdict, detail = run_test(binary, dict(env, HV_SELFTEST_PLATFORM=platform),
                                       max(opts.timeout, timeouts.get(name, 0)),
                                       logs / f"{short}.log")
            counts[verdict] += 1
            print(f"{verdict} {name}{': ' + detail if detail else ''}", flush=True)
            if not hv.alive():
                more = ("; rebooting it for the next test" if opts.shared_boot
                        else "")
                print(f"selftests: the hypervisor died during {name} "
                      f"(console in {hv_log}){more}", flush=True)
                hv.stop()
            elif not opts.shared_boot:
                if not hv.power_off():
                    print(f"selftests: hvctl power-off after {name} did not end the run "
                          f"cleanly (see {hv_log})", flush=True)
        if hv.proc is not None and not hv.power_off():
            print(f"selftests: hvctl power-off did not end the run cleanly (see {hv_log})",
                  flush=True)
    finally:
        hv.stop()
    print(f"{counts['PASS']} passed, {counts['FAIL']} failed, {counts['SKIP']} skipped")
    return 1 if counts["FAIL"] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
