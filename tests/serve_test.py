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
    reclaim      a controller killed while its guest spins in KVM_RUN: the
                 relay says BYE for it, the run stops and its VM is destroyed
                 (a console line), and `hvctl ls` lists no VM of a session
    power-off    `hvctl power-off` ends the run and run.py returns

Usage: python3 tests/serve_test.py [BUILD]   (default build)
"""
import os
import socket
import sys
import tempfile
import time
from pathlib import Path

from selftests import Hypervisor  # the boot/hvctl/power-off helper, same folder

ROOT = Path(__file__).resolve().parents[1]


def reclaim(hv, log_path):
    """(ok, why): a killed controller's VM goes when the relay says BYE for it."""
    with tempfile.NamedTemporaryFile(prefix="spin-", suffix=".bin", delete=False) as f:
        f.write(bytes([0xfb, 0xeb, 0xfe]))  # sti; jmp $ (the tick makes it exit)
    try:
        rc, out = hv.hvctl_run("run-flat", f.name, "--real", "--load", "0x1000", timeout=15)
    finally:
        os.unlink(f.name)
    if rc is not None:
        return False, f"run-flat of a spinning guest ended ({rc}): {out[:200]}"
    want = "ended (the controller's connection ended): vm "
    deadline = time.monotonic() + 30
    while want not in log_path.read_text(errors="replace"):
        if time.monotonic() > deadline:
            return False, f"no '{want}...reclaimed' line on the console (see {log_path})"
        time.sleep(0.5)
    rc, out = hv.hvctl_run("ls")
    left = [line for line in out.splitlines() if line.startswith("vm ") and "owner session" in line]
    if rc != 0 or left:
        return False, f"hvctl ls: status {rc}: {out[:200]}"
    return True, ""


def main(argv):
    build = Path(argv[1] if len(argv) > 1 else os.environ.get("BUILD", "build"))
    build = build if build.is_absolute() else ROOT / build
    sock = build / "serve-test" / "channel.sock"
    sock.parent.mkdir(parents=True, exist_ok=True)
    log_path = build / "serve-test" / "run.log"
    hv = Hypervisor(build, sock, build / "tools" / "hvctl")
    results = []

    def check(name, ok, why=""):
        results.append(ok)
        print(f"{'PASS' if ok else 'FAIL'} serve {name}{'' if ok else ': ' + why}", flush=True)

    try:
        why = hv.boot(log_path)
        text = log_path.read_text(errors="replace")
        check("announce", why is None and f"unix:{sock}" in text and
              "libhvkvm_preload.so" in text and "hvctl -c" in text,
              why or f"no instructions printed (see {log_path})")
        if why is None:
            rc, out = hv.hvctl_run("hello")
            check("hello", rc == 0 and "hv" in out, f"status {rc}: {out[:200]}")
            rc, out = hv.hvctl_run("version")
            check("version", rc == 0 and "12" in out, f"status {rc}: {out[:200]}")
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
            rc, out = hv.hvctl_run("version")
            check("busy", refused and rc == 0 and "12" in out,
                  f"second controller refused: {refused}; then version: {rc} {out[:120]}")
            check("reclaim", *reclaim(hv, log_path))
            check("power-off", hv.power_off(), "hvctl power-off did not end run.py")
    finally:
        hv.stop()
    passed = sum(results)
    failed = len(results) - passed
    print(f"{passed} passed, {failed} failed")
    return 1 if failed or not results else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
