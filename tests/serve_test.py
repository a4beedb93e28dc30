# SPDX-License-Identifier: MIT
"""make serve, as a newcomer uses it: boot the hypervisor with
`tests/run.py --interactive --serve SOCKET`, then talk to it from other
processes through the unix socket, one controller after another.

Checks, each a line PASS/FAIL NAME, then "N passed, N failed":
    announce     run.py prints the socket and the hvctl / LD_PRELOAD lines
    hello        `hvctl -c unix:SOCKET hello` gets the hypervisor's identity
    version      a second controller, after the first left: version 12
    busy         while one controller is connected a second one is refused
                 (closed at once), and the first still gets its answers
    power-off    `hvctl power-off` ends the run and run.py returns

Usage: python3 tests/serve_test.py [BUILD]   (default build)
"""
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BOOT_TIMEOUT = 180
STEP_TIMEOUT = 60


def main(argv):
    build = Path(argv[1] if len(argv) > 1 else os.environ.get("BUILD", "build"))
    build = build if build.is_absolute() else ROOT / build
    hvctl = build / "tools" / "hvctl"
    iso = build / "hv.iso"
    sock = build / "serve-test" / "channel.sock"
    sock.parent.mkdir(parents=True, exist_ok=True)
    log_path = build / "serve-test" / "run.log"
    results = []

    def check(name, ok, why=""):
        results.append(ok)
        print(f"{'PASS' if ok else 'FAIL'} serve {name}{'' if ok else ': ' + why}", flush=True)

    def hv(*args):
        try:
            p = subprocess.run([str(hvctl), "-c", f"unix:{sock}", *args], capture_output=True,
                               text=True, timeout=STEP_TIMEOUT)
            return p.returncode, p.stdout + p.stderr
        except subprocess.TimeoutExpired:
            return None, "timed out"

    with open(log_path, "w") as log:
        proc = subprocess.Popen([sys.executable, str(ROOT / "tests/run.py"), "--interactive",
                                 "--build", str(build), "--serve", str(sock), str(iso)],
                                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                cwd=ROOT)
        try:
            deadline = time.monotonic() + BOOT_TIMEOUT
            while not sock.exists() and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.2)
            time.sleep(0.5)
            text = log_path.read_text(errors="replace")
            check("announce", sock.exists() and f"unix:{sock}" in text and
                  "libhvkvm_preload.so" in text and "hvctl -c" in text,
                  "no socket or no instructions (see " + str(log_path) + ")")
            if not sock.exists():
                raise RuntimeError("no socket")
            rc, out = hv("hello")
            check("hello", rc == 0 and "hv" in out, f"status {rc}: {out.strip()[:200]}")
            rc, out = hv("version")
            check("version", rc == 0 and "12" in out, f"status {rc}: {out.strip()[:200]}")
            first = socket.socket(socket.AF_UNIX)
            first.connect(str(sock))
            time.sleep(0.5)
            second = socket.socket(socket.AF_UNIX)
            second.connect(str(sock))
            second.settimeout(10)
            try:
                refused = second.recv(1) == b""
            except OSError:
                refused = True
            second.close()
            first.close()
            time.sleep(0.5)
            rc, out = hv("version")
            check("busy", refused and rc == 0 and "12" in out,
                  f"second controller refused: {refused}; then version: {rc} {out.strip()[:120]}")
            rc, out = hv("power-off")
            try:
                proc.wait(STEP_TIMEOUT)
                ended = True
            except subprocess.TimeoutExpired:
                ended = False
            check("power-off", rc == 0 and ended, f"status {rc}, run.py ended: {ended}")
        except RuntimeError:
            pass
        finally:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
    passed = sum(results)
    failed = len(results) - passed
    print(f"{passed} passed, {failed} failed")
    return 1 if failed or not results else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
