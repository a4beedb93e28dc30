#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Boot scenarios: run the hypervisor under Bochs and QEMU and check its console.

Usage:
  tests/run.py [-s NAME]... [-p PLATFORM]... [-j N] [--keep] [--verbose]
               [--kernel ELF] [--build DIR] [--results FILE] [--timeout-scale F]
  tests/run.py --list
  tests/run.py run [-p PLATFORM] [ISO | -s NAME | --cmdline CMDLINE
                   [--module FILE CMDLINE]...] [--kernel ELF] [--memory MIB]

A scenario is a TOML file in tests/scenarios/ (tests/scenarios/README.md
describes every key). For each selected (scenario, platform) pair the runner
builds the scenario's ISO with scripts/mkiso.sh, boots it, follows the console
as it grows, and checks, in order, the lines the scenario expects, each within
its own timeout; then the way the run ended (a name from abi/hv_exit.h, whose
values this script reads from that header).

One line per run: "PASS name [platform] (N.Ns)", "FAIL name [platform]:
reason" (followed by the last console lines) or "SKIP name [platform]:
reason", then the closing line "N passed, N failed, N skipped". Artefacts of a
failed run stay in BUILD/test-logs/<name>.<platform>/.

"run" (also spelled --interactive) boots one ISO with the console on the
terminal (keys typed go to the guest's COM1); Ctrl-C ends it.
"""

import argparse
import fnmatch
import hashlib
import importlib.util
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import tomllib
import traceback
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

sys.dont_write_bytecode = True  # hooks are imported from the source tree

ROOT = Path(__file__).resolve().parent.parent
SCENARIO_DIR = ROOT / "tests" / "scenarios"
EXIT_HEADER = ROOT / "abi" / "hv_exit.h"
MKISO = ROOT / "scripts" / "mkiso.sh"

OVMF_CODE = Path("/usr/share/OVMF/OVMF_CODE.fd")
BOCHS_BIOS = Path("/usr/share/bochs/BIOS-bochs-latest")
BOCHS_VGABIOS = Path("/usr/share/vgabios/vgabios.bin")

# What the hypervisor prints just before it ends a run (hv/main.c, hv_stop).
EXIT_LINE = re.compile(r"hv: exit (HV_EXIT_\w+) \(0x([0-9a-fA-F]+)\)")
BOCHS_SHUTDOWN = "Shutdown port: shutdown requested"
BOCHS_LOG_LIMIT = 64 << 20  # a runaway bochs.log ends the run
TAIL_LINES = 15

DEFAULTS = {
    "cmdline": "",
    "modules": [],
    "expect": [],
    "forbid": [],
    "measure": [],
    "exit": "HV_EXIT_SUCCESS",
    "timeout": 30.0,
    "exit_timeout": 30.0,
    "memory": 256,
    "channel": None,
    "hook": None,
    "hook_timeout": 60.0,
    "bochs_options": [],
    "qemu_args": [],
}
LIST_KEYS = {"modules", "expect", "forbid", "measure", "bochs_options", "qemu_args"}
TOP_ONLY = {"name", "description", "platforms", "override"}
CHANNELS = {"bochs": {"com2"}, "qemu": {"com2", "virtio"}}


class ScenarioError(Exception):
    """A scenario file that cannot be run as written."""


class Interrupted(Exception):
    """Ctrl-C or a termination signal: stop everything."""


STOP = threading.Event()
PRINT_LOCK = threading.Lock()


def say(*lines):
    with PRINT_LOCK:
        for line in lines:
            print(line, flush=True)


# ---------------------------------------------------------------- exit codes

def scenario_dir():
    """tests/scenarios, or $HV_SCENARIO_DIR (for testing the runner itself)."""
    d = os.environ.get("HV_SCENARIO_DIR")
    return Path(d).absolute() if d else SCENARIO_DIR


def load_exit_codes(path=EXIT_HEADER):
    """{name: value} from the #defines in abi/hv_exit.h."""
    codes = {}
    for m in re.finditer(r"^\s*#\s*define\s+(HV_EXIT_\w+)\s+(0[xX][0-9a-fA-F]+|\d+)\b",
                         path.read_text(), re.M):
        codes[m.group(1)] = int(m.group(2), 0)
    if not codes:
        raise SystemExit(f"run.py: no HV_EXIT_* values found in {path}")
    return codes


# ------------------------------------------------------------------ patterns

class Pattern:
    """A console line test: a substring, or a regex when written "re:...".

    Both are searched within one line (ANSI escapes and CRs removed)."""

    def __init__(self, text, where="pattern"):
        if not isinstance(text, str) or not text:
            raise ScenarioError(f"{where}: expected a non-empty string, got {text!r}")
        self.text = text
        self.rx = None
        if text.startswith("re:"):
            try:
                self.rx = re.compile(text[3:])
            except re.error as e:
                raise ScenarioError(f"{where}: bad regex {text[3:]!r}: {e}") from None

    def search(self, line):
        if self.rx is not None:
            return self.rx.search(line)
        return self.text in line

    def __str__(self):
        return self.text


@dataclass
class Expect:
    pattern: Pattern
    timeout: float


@dataclass
class Measure:
    name: str
    pattern: Pattern


def _slug(text):
    words = re.findall(r"[A-Za-z0-9]+", re.split(r"[(\\\[]", text, maxsplit=1)[0])
    return "_".join(words[-3:]).lower()


# ----------------------------------------------------------------- scenarios

@dataclass
class RunSpec:
    """One scenario resolved for one platform."""
    scenario: str
    platform: str
    cmdline: str
    modules: list       # [(Path, cmdline)]
    expect: list        # [Expect]
    forbid: list        # [Pattern]
    measure: list       # [Measure]
    exit: str           # HV_EXIT_* name, "any" or "none"
    exit_timeout: float
    memory: int
    channel: str | None
    hook: Path | None
    hook_timeout: float
    bochs_options: list
    qemu_args: list
    iso: Path | None = None


@dataclass
class Scenario:
    name: str
    path: Path
    description: str
    platforms: list
    raw: dict
    overrides: list = field(default_factory=list)  # [(glob, table)]

    def resolve(self, platform, exit_codes, build):
        """The scenario's settings as they apply on one platform."""
        cfg = {k: (list(v) if isinstance(v, list) else v) for k, v in DEFAULTS.items()}
        for k, v in self.raw.items():
            if k not in TOP_ONLY:
                cfg[k] = v
        for glob, table in self.overrides:
            if not fnmatch.fnmatchcase(platform, glob):
                continue
            for k, v in table.items():
                if k.endswith("_more"):
                    cfg[k[:-5]] = list(cfg[k[:-5]]) + list(v)
                else:
                    cfg[k] = v
        where = f"{self.path.name} [{platform}]"

        def number(key):
            v = cfg[key]
            if isinstance(v, bool) or not isinstance(v, (int, float)) or v <= 0:
                raise ScenarioError(f"{where}: {key} must be a positive number")
            return float(v)

        default_timeout = number("timeout")
        expects = []
        for i, e in enumerate(cfg["expect"]):
            w = f"{where}: expect[{i}]"
            if isinstance(e, str):
                e = {"match": e}
            if not isinstance(e, dict) or "match" not in e:
                raise ScenarioError(f"{w}: a string or a table with 'match'")
            bad = set(e) - {"match", "timeout", "on"}
            if bad:
                raise ScenarioError(f"{w}: unknown key(s) {sorted(bad)}")
            on = e.get("on", ["*"])
            on = [on] if isinstance(on, str) else on
            if not any(fnmatch.fnmatchcase(platform, g) for g in on):
                continue
            t = e.get("timeout", default_timeout)
            if isinstance(t, bool) or not isinstance(t, (int, float)) or t <= 0:
                raise ScenarioError(f"{w}: timeout must be a positive number")
            expects.append(Expect(Pattern(e["match"], w), float(t)))
        forbid = [Pattern(f, f"{where}: forbid") for f in cfg["forbid"]]
        measures = []
        for i, m in enumerate(cfg["measure"]):
            w = f"{where}: measure[{i}]"
            if isinstance(m, str):
                m = {"match": m}
            if not isinstance(m, dict) or "match" not in m:
                raise ScenarioError(f"{w}: a string or a table with 'match' (and 'name')")
            p = Pattern(m["match"], w)
            measures.append(Measure(m.get("name") or _slug(p.text[3:] if p.rx else p.text)
                                    or f"m{i}", p))
        exit_name = cfg["exit"]
        if exit_name not in exit_codes and exit_name not in ("any", "none"):
            raise ScenarioError(f"{where}: exit {exit_name!r} is not in {EXIT_HEADER.relative_to(ROOT)}"
                                f" (known: {', '.join(exit_codes)}, any, none)")
        modules = []
        for i, m in enumerate(cfg["modules"]):
            w = f"{where}: modules[{i}]"
            if not isinstance(m, dict) or ("path" in m) == ("generate" in m):
                raise ScenarioError(f"{w}: a table with either 'path' or 'generate', and 'cmdline'")
            if "path" in m:
                p = ROOT / m["path"]
                if not p.is_file():
                    raise ScenarioError(f"{w}: {m['path']} does not exist")
            else:
                p = generate_module(m["generate"], build / "iso" / f"{self.name}.mod{i}", w)
            modules.append((p, str(m.get("cmdline", ""))))
        kind = PLATFORMS[platform].kind
        channel = cfg["channel"]
        if channel is not None and channel not in CHANNELS[kind]:
            raise ScenarioError(f"{where}: channel {channel!r} is not available on {kind}"
                                f" (there: {', '.join(sorted(CHANNELS[kind]))})")
        hook = None
        if cfg["hook"]:
            hook = ROOT / cfg["hook"]
            if not hook.is_file():
                raise ScenarioError(f"{where}: hook {cfg['hook']} does not exist")
        mem = cfg["memory"]
        if isinstance(mem, bool) or not isinstance(mem, int) or mem < 16:
            raise ScenarioError(f"{where}: memory is a whole number of MiB (>= 16)")
        for key in ("bochs_options", "qemu_args"):
            if not all(isinstance(x, str) for x in cfg[key]):
                raise ScenarioError(f"{where}: {key} is a list of strings")
        if not isinstance(cfg["cmdline"], str):
            raise ScenarioError(f"{where}: cmdline is a string")
        return RunSpec(self.name, platform, cfg["cmdline"], modules, expects, forbid,
                       measures, exit_name, number("exit_timeout"), mem, channel, hook,
                       number("hook_timeout"), cfg["bochs_options"], cfg["qemu_args"])


def generate_module(spec, path, where):
    """Module contents made at run time: "bytes:N" is N bytes of a fixed pattern."""
    m = re.fullmatch(r"bytes:(\d+)", str(spec))
    if not m:
        raise ScenarioError(f"{where}: generate must be \"bytes:N\"")
    n = int(m.group(1))
    data = bytes((i * 7 + (i >> 8)) & 0xFF for i in range(n))
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_bytes() != data:
        path.write_bytes(data)
    return path


def load_scenario(path):
    try:
        raw = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise ScenarioError(f"{path.name}: {e}") from None
    name = raw.get("name", path.stem)
    if name != path.stem:
        raise ScenarioError(f"{path.name}: name {name!r} differs from the file name")
    known = set(DEFAULTS) | TOP_ONLY
    bad = set(raw) - known
    if bad:
        raise ScenarioError(f"{path.name}: unknown key(s) {sorted(bad)}")
    platforms = raw.get("platforms")
    if not isinstance(platforms, list) or not platforms:
        raise ScenarioError(f"{path.name}: 'platforms' must list at least one platform")
    for p in platforms:
        if p not in PLATFORMS:
            raise ScenarioError(f"{path.name}: unknown platform {p!r} (known: {', '.join(PLATFORMS)})")
    overrides = []
    for glob, table in raw.get("override", {}).items():
        if not isinstance(table, dict):
            raise ScenarioError(f"{path.name}: override.{glob} must be a table")
        if not any(fnmatch.fnmatchcase(p, glob) for p in PLATFORMS):
            raise ScenarioError(f"{path.name}: override.{glob} matches no platform")
        for k in table:
            base = k[:-5] if k.endswith("_more") else k
            if base not in DEFAULTS or (k != base and base not in LIST_KEYS):
                raise ScenarioError(f"{path.name}: override.{glob}: key {k!r} cannot be overridden")
        overrides.append((glob, table))
    return Scenario(name, path, str(raw.get("description", "")), platforms, raw, overrides)


def load_scenarios():
    """[(path, Scenario or ScenarioError)] for every tests/scenarios/*.toml."""
    out = []
    for path in sorted(scenario_dir().glob("*.toml")):
        try:
            out.append((path, load_scenario(path)))
        except ScenarioError as e:
            out.append((path, e))
    return out


# ----------------------------------------------------------------- platforms

def find_bochs():
    """Bochs 3.x: $BOCHS, else the build scripts/deps.sh caches, else PATH."""
    if os.environ.get("BOCHS"):
        b = os.environ["BOCHS"]
        return b if os.access(b, os.X_OK) else shutil.which(b)
    cache = Path(os.environ.get("HV_CACHE", Path.home() / ".cache" / "hv"))

    def version(p):
        return [int(x) if x.isdigit() else 0 for x in re.findall(r"\d+", p.parent.parent.name)]
    found = sorted(cache.glob("bochs-*/bin/bochs"), key=version, reverse=True)
    found = [p for p in found if os.access(p, os.X_OK)]
    if found:
        return str(found[0])
    return shutil.which("bochs")


def kvm_problem():
    """None if nested VT-x under KVM is usable here, else why not."""
    if not os.path.exists("/dev/kvm"):
        return "no /dev/kvm"
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return "/dev/kvm is not readable and writable"
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
    except OSError:
        return "cannot read /proc/cpuinfo"
    if "GenuineIntel" not in cpuinfo:
        return "host CPU is not Intel"
    flags = set()
    for line in cpuinfo.splitlines():
        if line.startswith("flags"):
            flags.update(line.split(":", 1)[1].split())
    if "vmx" not in flags:
        return "host CPU does not report vmx"
    try:
        nested = Path("/sys/module/kvm_intel/parameters/nested").read_text().strip()
    except OSError:
        return "kvm_intel is not loaded"
    if nested not in ("Y", "y", "1"):
        return f"kvm_intel nested={nested}"
    return None


@dataclass
class Platform:
    name: str
    kind: str                 # "bochs" or "qemu"
    model: str = ""           # Bochs CPU model
    machine: str = "pc"       # QEMU machine
    firmware: Path | None = None
    kvm: bool = False

    def problem(self):
        """(verdict, reason): ("FAIL", why) if it cannot run, ("SKIP", why) if it
        must not, (None, None) if it can."""
        if self.kind == "bochs":
            if not find_bochs():
                return "FAIL", "bochs not found (scripts/deps.sh bochs builds it; or set BOCHS)"
            for f in (BOCHS_BIOS, BOCHS_VGABIOS):
                if not f.is_file():
                    return "FAIL", f"{f} missing (packages bochsbios, vgabios)"
            return None, None
        if not shutil.which(qemu_binary()):
            return "FAIL", f"{qemu_binary()} not found (package qemu-system-x86)"
        if self.firmware and not self.firmware.is_file():
            return "FAIL", f"{self.firmware} missing (package ovmf)"
        if self.kvm:
            why = kvm_problem()
            if why:
                return "SKIP", why
        return None, None


def qemu_binary():
    return os.environ.get("QEMU", "qemu-system-x86_64")


PLATFORMS = {p.name: p for p in [
    Platform("bochs-spr", "bochs", model="sapphire_rapids"),
    Platform("bochs-tgl", "bochs", model="tigerlake"),
    Platform("qemu-bios", "qemu", machine="pc"),
    Platform("qemu-uefi", "qemu", machine="q35", firmware=OVMF_CODE),
    Platform("kvm", "qemu", machine="pc", kvm=True),
]}


# ---------------------------------------------------------------- processes

LIVE = set()          # Popen objects of running emulators
LIVE_LOCK = threading.Lock()
PORTS = set()
PORTS_LOCK = threading.Lock()


def free_port():
    """A TCP port on 127.0.0.1 free now and not handed out before by this run."""
    with PORTS_LOCK:
        for _ in range(50):
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                port = s.getsockname()[1]
            if port not in PORTS:
                PORTS.add(port)
                return port
    raise RuntimeError("no free TCP port")


def spawn(cmd, cwd, out_path):
    """Start an emulator in its own session (so its process group can be killed
    whole and a terminal's Ctrl-C reaches only this script)."""
    out = open(out_path, "wb")
    try:
        proc = subprocess.Popen(cmd, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    finally:
        out.close()
    with LIVE_LOCK:
        LIVE.add(proc)
    return proc


def kill(proc):
    """End the emulator's whole process group and reap it."""
    if proc is None:
        return
    try:
        if proc.poll() is None:
            for sig, grace in ((signal.SIGTERM, 3), (signal.SIGKILL, 10)):
                try:
                    os.killpg(proc.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    proc.wait(grace)
                    break
                except subprocess.TimeoutExpired:
                    pass
        proc.wait()
    finally:
        with LIVE_LOCK:
            LIVE.discard(proc)


def kill_all():
    with LIVE_LOCK:
        procs = list(LIVE)
    for p in procs:
        kill(p)


def connect(port, proc, timeout):
    """Connect to an emulator's socket server, retrying while it starts."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return socket.create_connection(("127.0.0.1", port), timeout=1)
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline or STOP.is_set():
                return None
            time.sleep(0.05)


def bochs_config(spec, iso, com1, com2_port=None):
    """bochsrc text; com1 is a line fragment ("mode=file, dev=console.log")."""
    p = PLATFORMS[spec.platform]
    lines = [
        "# written by tests/run.py",
        f"megs: {spec.memory}",
        # ignore_bad_msrs=0: an MSR the model lacks raises #GP, as on hardware.
        f"cpu: model={p.model}, count=1, ips=50000000, reset_on_triple_fault=0, ignore_bad_msrs=0",
        f"romimage: file={BOCHS_BIOS}",
        f"vgaromimage: file={BOCHS_VGABIOS}",
        "display_library: nogui",
        f"ata0-master: type=cdrom, path={iso}, status=inserted",
        "boot: cdrom",
        f"com1: enabled=1, {com1}",
    ]
    if com2_port is not None:
        lines.append(f"com2: enabled=1, mode=socket-server, dev=127.0.0.1:{com2_port}")
    lines += [
        "log: bochs.log",
        "panic: action=fatal",
        "error: action=report",
        "info: action=report",
        "debug: action=ignore",
        # Emulated time follows the instruction count, and the RTC starts at
        # a fixed date: two runs of one ISO see the same machine.
        "clock: sync=none, time0=946684800",
        "port_e9_hack: enabled=1",
    ]
    lines += spec.bochs_options
    return "\n".join(lines) + "\n"


def qemu_command(spec, iso, serial_args, extra=()):
    p = PLATFORMS[spec.platform]
    cmd = [qemu_binary(), "-machine", p.machine, "-m", str(spec.memory)]
    if p.kvm:
        cmd += ["-enable-kvm", "-cpu", "host"]
    else:
        cmd += ["-accel", "tcg", "-cpu", "qemu64"]
    if p.firmware:
        cmd += ["-bios", str(p.firmware)]
    cmd += ["-display", "none", "-monitor", "none", "-parallel", "none"]
    cmd += list(serial_args)
    cmd += list(extra)
    cmd += ["-device", "isa-debug-exit,iobase=0xf4,iosize=0x04", "-no-reboot",
            "-cdrom", str(iso)]
    return cmd + spec.qemu_args


# -------------------------------------------------------------------- console

ANSI = re.compile(rb"\x1b(?:\[[0-9;?=]*[ -/]*[@-~]|[()][0-9A-Za-z]|[@-Z\\-_])")
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def clean(raw):
    return CONTROL.sub("", ANSI.sub(b"", raw).decode("utf-8", "replace"))


class Console:
    """The console of a running scenario, as handed to hooks.

    lines()                  every complete line so far (escapes removed)
    wait_for(p, timeout=30)  the next line, after the previous wait_for's,
                             that matches p (substring or "re:..."); raises
                             TimeoutError; since=N searches from line N
    log(*args)               a line in hook.log (kept with a failed run)
    running()                False once the emulator has ended
    scenario, platform, run_dir, channel
    """

    def __init__(self, spec, run_dir, verbose=False):
        self.verbose = verbose
        self.scenario = spec.scenario
        self.platform = spec.platform
        self.channel = spec.channel
        self.run_dir = run_dir
        self._lines = []
        self._cond = threading.Condition()
        self._cursor = 0
        self._ended = False
        self._log = None
        self._log_lock = threading.Lock()
        self._t0 = time.monotonic()

    def lines(self):
        with self._cond:
            return list(self._lines)

    def wait_for(self, pattern, timeout=30, since=None):
        pat = pattern if isinstance(pattern, Pattern) else Pattern(pattern)
        deadline = time.monotonic() + timeout
        with self._cond:
            i = self._cursor if since is None else since
            while True:
                while i < len(self._lines):
                    if pat.search(self._lines[i]):
                        self._cursor = i + 1
                        return self._lines[i]
                    i += 1
                left = deadline - time.monotonic()
                if self._ended or left <= 0:
                    raise TimeoutError(f"console: no line matching {pat} "
                                       f"({'emulator ended' if self._ended else f'{timeout}s'})")
                self._cond.wait(min(left, 0.5))

    def log(self, *args):
        line = f"[{time.monotonic() - self._t0:7.2f}] {' '.join(map(str, args))}"
        with self._log_lock:
            if self._log is None:
                self._log = open(self.run_dir / "hook.log", "a", buffering=1)
            self._log.write(line + "\n")
        if self.verbose:
            say(f"  [{self.scenario}/{self.platform} hook] {line}")

    def running(self):
        return not self._ended

    # runner side
    def _add(self, line):
        with self._cond:
            self._lines.append(line)
            self._cond.notify_all()

    def _end(self):
        with self._cond:
            self._ended = True
            self._cond.notify_all()

    def _close(self):
        with self._log_lock:
            if self._log is not None:
                self._log.close()


class ConsoleFile:
    """Follows a growing console file and splits it into cleaned lines."""

    def __init__(self, path):
        self.path = path
        self.f = None
        self.buf = b""

    def poll(self, final=False):
        if self.f is None:
            try:
                self.f = open(self.path, "rb")
            except FileNotFoundError:
                return []
        data = self.f.read()
        self.buf += data
        *complete, self.buf = self.buf.split(b"\n")
        if final and self.buf:
            complete.append(self.buf)
            self.buf = b""
        return [clean(c) for c in complete]

    def close(self):
        if self.f:
            self.f.close()


# ---------------------------------------------------------------------- runs

@dataclass
class Result:
    scenario: str
    platform: str
    verdict: str          # PASS, FAIL, SKIP
    reason: str = ""
    seconds: float = 0.0
    measures: list = field(default_factory=list)  # [(name, value)]
    tail: list = field(default_factory=list)
    logs: Path | None = None

    def text(self):
        head = f"{self.verdict} {self.scenario} [{self.platform}]"
        if self.verdict == "PASS":
            extra = "".join(f" {n}={v}" for n, v in self.measures)
            return [f"{head} ({self.seconds:.1f}s){extra}"]
        if self.verdict == "SKIP":
            return [f"{head}: {self.reason}"]
        out = [f"{head}: {self.reason}"]
        if self.tail:
            out.append(f"    last {len(self.tail)} console lines:")
            out += [f"    | {line}" for line in self.tail]
        if self.logs:
            out.append(f"    logs: {self.logs}")
        return out


class Run:
    def __init__(self, spec, opts, exit_codes):
        self.spec = spec
        self.opts = opts
        self.codes = exit_codes
        self.names = {v: k for k, v in exit_codes.items()}
        self.dir = opts.build / "test-logs" / f"{spec.scenario}.{spec.platform}"
        self.lines = []
        self.proc = None
        self.sock = None
        self.console = None
        self.hook_thread = None
        self.hook_result = None    # None (not run), (ok, message)
        self.drain_thread = None

    def tail(self):
        return [line for line in self.lines if line.strip()][-TAIL_LINES:]

    def fail(self, reason, t0=None):
        return Result(self.spec.scenario, self.spec.platform, "FAIL", reason,
                      time.monotonic() - t0 if t0 else 0.0, tail=self.tail(), logs=self.dir)

    def execute(self):
        spec = self.spec
        scale = self.opts.timeout_scale
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir.mkdir(parents=True)
        (self.dir / "hv.iso").symlink_to(spec.iso.resolve())
        port = free_port() if spec.channel else None
        kind = PLATFORMS[spec.platform].kind
        if kind == "bochs":
            (self.dir / "bochsrc").write_text(
                bochs_config(spec, "hv.iso", "mode=file, dev=console.log", port))
            (self.dir / "bochs.rc").write_text("c\n")
            cmd = [find_bochs(), "-q", "-f", "bochsrc", "-rc", "bochs.rc"]
            out = "bochs.out"
        else:
            serial = ["-serial", "file:console.log"]
            extra = []
            if spec.channel:
                chardev = ["-chardev",
                           f"socket,id=ch0,host=127.0.0.1,port={port},server=on,wait=off"]
                if spec.channel == "com2":
                    serial = chardev + serial + ["-serial", "chardev:ch0"]
                else:
                    serial = chardev + serial
                    extra = ["-device", "virtio-serial-pci", "-device", "virtconsole,chardev=ch0"]
            cmd = qemu_command(spec, "hv.iso", serial, extra)
            out = "qemu.out"
        (self.dir / "command").write_text(" ".join(_quote(c) for c in cmd) + "\n")

        t0 = time.monotonic()
        self.console = Console(spec, self.dir, self.opts.verbose)
        try:
            self.proc = spawn(cmd, self.dir, self.dir / out)
            if spec.channel:
                self.sock = connect(port, self.proc, 30 * scale)
                if self.sock is None:
                    return self.fail(f"could not connect to the {spec.channel} channel on port "
                                     f"{port}: {self._emulator_end()}", t0)
                self.sock.settimeout(None)
                (self.dir / "channel.port").write_text(f"{port}\n")
            if spec.hook:
                self.hook_thread = threading.Thread(target=self._hook, daemon=True)
                self.hook_thread.start()
            elif self.sock:
                self.drain_thread = threading.Thread(target=self._drain, daemon=True)
                self.drain_thread.start()
            problem = self._watch(t0, scale)
        finally:
            kill(self.proc)
            elapsed = time.monotonic() - t0
            self.console._end()
            self._stop_channel()
            self.console._close()
        if problem is None:
            problem = self._check_end()
        if problem is None and self.hook_result is not None and not self.hook_result[0]:
            problem = self.hook_result[1]
        if problem:
            r = self.fail(problem)
            r.seconds = elapsed
            (self.dir / "result").write_text("\n".join(r.text()) + "\n")
            # A later passing run of the same pair deletes self.dir: keep a
            # dated copy so an intermittent failure leaves its evidence.
            history = self.opts.build / "test-logs" / "failed" / \
                f"{spec.scenario}.{spec.platform}.{time.strftime('%Y%m%d-%H%M%S')}"
            shutil.copytree(self.dir, history, symlinks=True, dirs_exist_ok=True)
            return r
        measures = self._measures()
        if not self.opts.keep:
            shutil.rmtree(self.dir, ignore_errors=True)
        return Result(spec.scenario, spec.platform, "PASS", seconds=elapsed,
                      measures=measures, logs=self.dir if self.opts.keep else None)

    def _watch(self, t0, scale):
        """Follow the console until the run is over; the first unmet
        expectation (or other problem) as a string, or None."""
        spec = self.spec
        con = ConsoleFile(self.dir / "console.log")
        bochs_log = self.dir / "bochs.log"
        expects = spec.expect
        idx = 0
        deadline = t0 + (expects[0].timeout if expects else spec.exit_timeout) * scale
        hook_deadline = t0 + spec.hook_timeout * scale
        problem = None
        grace_until = None
        prefix = f"  [{spec.scenario}/{spec.platform}] "
        try:
            while True:
                exited = self.proc.poll() is not None
                new = con.poll(final=exited)
                now = time.monotonic()
                for line in new:
                    self.lines.append(line)
                    self.console._add(line)
                    if self.opts.verbose:
                        say(prefix + line)
                    if problem is None:
                        for f in spec.forbid:
                            if f.search(line):
                                problem = f"forbidden line {str(f)!r} appeared: {line.strip()!r}"
                                grace_until = now + 2  # let the rest of a dump arrive
                                break
                    if problem is None and idx < len(expects) and expects[idx].pattern.search(line):
                        idx += 1
                        nxt = expects[idx].timeout if idx < len(expects) else spec.exit_timeout
                        deadline = now + nxt * scale
                if exited:
                    if problem is None and idx < len(expects):
                        problem = (f"emulator ended before {str(expects[idx].pattern)!r} "
                                   f"({self._emulator_end()})")
                    break
                if grace_until is not None:
                    if now > grace_until:
                        break
                elif idx == len(expects) and spec.exit == "none" and (
                        not self.hook_thread or not self.hook_thread.is_alive()):
                    break
                elif now > deadline:
                    if idx < len(expects):
                        problem = (f"timed out after {expects[idx].timeout * scale:.0f}s waiting "
                                   f"for {str(expects[idx].pattern)!r}")
                    elif spec.exit == "none":
                        problem = "timed out waiting for the hook to finish"
                    else:
                        problem = (f"timed out after {spec.exit_timeout * scale:.0f}s waiting for "
                                   f"the emulator to end (expected {spec.exit})")
                    break
                if problem is None and self.hook_result is not None and not self.hook_result[0]:
                    # A failed hook will not drive the run any further.
                    problem = self.hook_result[1]
                    grace_until = now + 2
                if self.hook_thread and self.hook_thread.is_alive() and now > hook_deadline:
                    problem = f"hook did not finish within {spec.hook_timeout * scale:.0f}s"
                    break
                if STOP.is_set():
                    problem = "interrupted"
                    break
                try:
                    if bochs_log.stat().st_size > BOCHS_LOG_LIMIT:
                        problem = f"bochs.log grew past {BOCHS_LOG_LIMIT >> 20} MiB"
                        break
                except FileNotFoundError:
                    pass
                time.sleep(0.05)
        finally:
            con.close()
        return problem

    def _emulator_end(self):
        rc = self.proc.poll()
        if rc is None:
            return "emulator still running"
        if rc < 0:
            return f"emulator killed by signal {-rc}"
        if PLATFORMS[self.spec.platform].kind == "bochs":
            panic = self._bochs_panics()
            other = [p for p in panic if BOCHS_SHUTDOWN not in p]
            if other:
                return f"Bochs panic: {other[0]}"
            if panic:
                return "Bochs shut down by the guest"
            out = _read(self.dir / "bochs.out").strip().splitlines()
            return f"Bochs exited with status {rc}" + (f": {out[-1]}" if out else "")
        return f"QEMU exited with status {rc}" + self._qemu_value(rc)

    def _qemu_value(self, rc):
        if rc & 1 and rc > 1:
            v = rc >> 1
            return f" = debug-exit {self.names.get(v, 'unknown')} (0x{v:02x})"
        if rc == 0:
            return " (no debug-exit write: guest reset, triple fault or power-off)"
        out = _read(self.dir / "qemu.out").strip().splitlines()
        return f": {out[-1]}" if out else ""

    def _bochs_panics(self):
        return re.findall(r">>PANIC<< (.*)", _read(self.dir / "bochs.log"))

    def _exit_lines(self):
        return [m for m in (EXIT_LINE.search(line) for line in self.lines) if m]

    def _check_end(self):
        """Compare how the run ended with the scenario's exit."""
        spec = self.spec
        want = spec.exit
        rc = self.proc.returncode
        exit_lines = self._exit_lines()
        for m in exit_lines:  # the console line must agree with abi/hv_exit.h
            name, value = m.group(1), int(m.group(2), 16)
            if self.codes.get(name) != value:
                return (f"console says '{m.group(0)}' but {EXIT_HEADER.relative_to(ROOT)} has "
                        f"{name} = {self.codes.get(name, 'nothing')}")
        if want == "none":
            return None
        kind = PLATFORMS[spec.platform].kind
        if kind == "bochs":
            panic = self._bochs_panics()
            other = [p for p in panic if BOCHS_SHUTDOWN not in p]
            if other:
                return f"Bochs panic: {other[0]}"
            if not panic:
                return f"Bochs ended without the guest's shutdown request ({self._emulator_end()})"
            if not exit_lines:
                cut = [line.strip() for line in self.lines if "hv: exit" in line]
                if cut:
                    return (f"the exit line is cut short ({cut[-1]!r}): Bochs quits at the "
                            f"shutdown write and drops what the UART has not sent; wait for "
                            f"LSR bit 6 (TEMT) before it")
                return "Bochs shut down but the console has no 'hv: exit HV_EXIT_<NAME> (0x<v>)' line"
            got = exit_lines[-1].group(1)
        else:
            if rc is None or rc < 0 or not (rc & 1 and rc > 1):
                return f"no debug-exit: {self._emulator_end()}"
            v = rc >> 1
            got = self.names.get(v)
            if got is None:
                return f"debug-exit value 0x{v:02x} is not in {EXIT_HEADER.relative_to(ROOT)}"
            if exit_lines and exit_lines[-1].group(1) != got:
                return f"console says '{exit_lines[-1].group(0)}' but QEMU exited with {got}"
        if want != "any" and got != want:
            return f"exit {got}, expected {want}"
        return None

    def _measures(self):
        out = []
        for m in self.spec.measure:
            value = "?"
            for line in self.lines:
                hit = m.pattern.search(line)
                if hit:
                    if hit is True:
                        value = line.split(m.pattern.text, 1)[1].strip() or line.strip()
                    elif not hit.groups():
                        value = hit.group(0)
                    else:
                        value = ",".join(g for g in hit.groups() if g is not None)
                    break
            out.append((m.name, value))
        return out

    # --- channel and hook
    def _hook(self):
        try:
            spec_ = importlib.util.spec_from_file_location(
                f"hvhook_{self.spec.scenario}_{self.spec.platform}".replace("-", "_"), self.spec.hook)
            mod = importlib.util.module_from_spec(spec_)
            spec_.loader.exec_module(mod)
            ok = mod.run(self.sock, self.console)
            if ok is False:
                self.hook_result = (False, f"hook {self.spec.hook.name} returned False")
            else:
                self.hook_result = (True, "")
                self.console.log(f"hook returned {ok!r}")
        except Exception as e:  # the hook's failure is the run's failure
            self.console.log(traceback.format_exc())
            self.hook_result = (False, f"hook {self.spec.hook.name} raised "
                                       f"{type(e).__name__}: {e}")

    def _drain(self):
        with open(self.dir / "channel.log", "wb") as f:
            while True:
                try:
                    data = self.sock.recv(4096)
                except OSError:
                    return
                if not data:
                    return
                f.write(data)
                f.flush()

    def _stop_channel(self):
        if self.hook_thread:
            self.hook_thread.join(2)
        if self.sock:
            try:
                self.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self.sock.close()
        for t in (self.hook_thread, self.drain_thread):
            if t:
                t.join(5)
        if self.hook_thread and self.hook_thread.is_alive():
            self.hook_result = (False, "hook still running after the run ended")
        elif self.hook_thread and self.hook_result is None:
            self.hook_result = (False, "hook ended without a result")


def _quote(s):
    return s if re.fullmatch(r"[\w@%+=:,./-]+", s) else "'" + s.replace("'", "'\\''") + "'"


def _read(path):
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""


# ----------------------------------------------------------------------- ISOs

def build_iso(out, kernel, cmdline, modules):
    """scripts/mkiso.sh OUT KERNEL CMDLINE [MODULE CMDLINE]...; None or an error.
    An ISO made from the same inputs (OUT.key holds their hash) is reused."""
    out.parent.mkdir(parents=True, exist_ok=True)
    h = hashlib.sha256()
    for part in [MKISO, kernel] + [p for p, _ in modules]:
        h.update(Path(part).read_bytes())
        h.update(b"\0")
    h.update(repr((cmdline, [c for _, c in modules])).encode())
    key = out.with_name(out.name + ".key")
    if out.is_file() and _read(key) == h.hexdigest():
        return None
    key.unlink(missing_ok=True)
    cmd = ["bash", str(MKISO), str(out), str(kernel), cmdline]
    for path, mcmd in modules:
        cmd += [str(path), mcmd]
    r = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    if r.returncode != 0:
        lines = (r.stderr + r.stdout).strip().splitlines()
        return f"scripts/mkiso.sh failed: {lines[-1] if lines else r.returncode}"
    key.write_text(h.hexdigest())
    return None


def assign_isos(specs, opts):
    """Give every spec an ISO, one per distinct (cmdline, modules) of a scenario:
    BUILD/iso/<scenario>.iso, or <scenario>.<platform>.iso when an override
    changes what is booted. Returns {(scenario, platform): error}."""
    errors = {}
    built = {}
    for spec in specs:
        key = (spec.scenario, spec.cmdline, tuple((str(p), c) for p, c in spec.modules))
        if key in built:
            spec.iso, err = built[key]
        else:
            first = not any(k[0] == spec.scenario for k in built)
            name = spec.scenario if first else f"{spec.scenario}.{spec.platform}"
            spec.iso = opts.build / "iso" / f"{name}.iso"
            if not opts.kernel.is_file():
                err = f"hypervisor image {_rel(opts.kernel)} not found"
                if opts.kernel == (opts.build / "hv.elf").absolute():
                    err += f" (make {_rel(opts.kernel)})"
            else:
                err = build_iso(spec.iso, opts.kernel, spec.cmdline, spec.modules)
            built[key] = (spec.iso, err)
        if err:
            errors[(spec.scenario, spec.platform)] = err
    return errors


def _rel(p):
    try:
        return str(Path(p).resolve().relative_to(ROOT))
    except ValueError:
        return str(p)


# ----------------------------------------------------------------- test mode

def _on_signal(signum, frame):
    raise Interrupted(signal.Signals(signum).name)


def select_pairs(opts, exit_codes):
    """[(Result for a pair settled without running | RunSpec)] in order."""
    loaded = load_scenarios()
    names = {p.stem for p, _ in loaded}
    for s in opts.scenario or []:
        if s not in names:
            raise SystemExit(f"run.py: no scenario {s!r} in {_rel(scenario_dir())} "
                             f"(have: {', '.join(sorted(names))})")
    for pat in opts.platform or []:
        if not any(fnmatch.fnmatchcase(p, pat) for p in PLATFORMS):
            raise SystemExit(f"run.py: no platform {pat!r} (have: {', '.join(PLATFORMS)})")
    out = []
    for path, sc in loaded:
        if opts.scenario and path.stem not in opts.scenario:
            continue
        if isinstance(sc, ScenarioError):
            out.append(Result(path.stem, "*", "FAIL", f"bad scenario: {sc}"))
            continue
        for plat in sc.platforms:
            if opts.platform and not any(fnmatch.fnmatchcase(plat, p) for p in opts.platform):
                continue
            verdict, why = PLATFORMS[plat].problem()
            if verdict:
                out.append(Result(sc.name, plat, verdict, why))
                continue
            try:
                out.append(sc.resolve(plat, exit_codes, opts.build))
            except ScenarioError as e:
                out.append(Result(sc.name, plat, "FAIL", f"bad scenario: {e}"))
    return out


def test_mode(opts):
    exit_codes = load_exit_codes()
    if opts.list:
        for path, sc in load_scenarios():
            if isinstance(sc, ScenarioError):
                print(f"{path.stem:14} (broken: {sc})")
            else:
                print(f"{sc.name:14} {', '.join(sc.platforms)}")
                if sc.description:
                    print(f"{'':14} {sc.description}")
        return 0
    items = select_pairs(opts, exit_codes)
    if not items:
        raise SystemExit("run.py: the selection (-s/-p) names no (scenario, platform) pair")
    specs = [i for i in items if isinstance(i, RunSpec)]
    results = []

    def report(r):
        results.append(r)
        say(*r.text())

    old = {s: signal.signal(s, _on_signal) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        for i in items:
            if isinstance(i, Result):
                report(i)
        iso_errors = assign_isos(specs, opts)
        runnable = []
        for spec in specs:
            err = iso_errors.get((spec.scenario, spec.platform))
            if err:
                report(Result(spec.scenario, spec.platform, "FAIL", err))
            else:
                runnable.append(spec)
        with ThreadPoolExecutor(max_workers=max(1, opts.jobs)) as pool:
            futures = [pool.submit(_run_one, spec, opts, exit_codes) for spec in runnable]
            try:
                for fut in as_completed(futures):
                    report(fut.result())
            except BaseException:
                STOP.set()
                for f in futures:
                    f.cancel()
                kill_all()
                raise
    except (KeyboardInterrupt, Interrupted) as e:
        STOP.set()
        kill_all()
        say(f"run.py: interrupted ({str(e) or 'SIGINT'}); emulators stopped")
        _summary(results, opts)
        return 130
    finally:
        for s, h in old.items():
            signal.signal(s, h)
    return 1 if _summary(results, opts) else 0


def _run_one(spec, opts, exit_codes):
    if STOP.is_set():
        return Result(spec.scenario, spec.platform, "FAIL", "interrupted")
    try:
        return Run(spec, opts, exit_codes).execute()
    except Exception as e:  # a runner bug must not hide the other runs
        return Result(spec.scenario, spec.platform, "FAIL",
                      f"runner error: {type(e).__name__}: {e}\n{traceback.format_exc()}")


def _summary(results, opts):
    n = {v: sum(r.verdict == v for r in results) for v in ("PASS", "FAIL", "SKIP")}
    say(f"{n['PASS']} passed, {n['FAIL']} failed, {n['SKIP']} skipped")
    if opts.results:
        with open(opts.results, "a") as f:
            f.write(f"scenarios {n['PASS']} {n['FAIL']} {n['SKIP']}\n")
    return n["FAIL"]


# ---------------------------------------------------------- interactive mode

def interactive(argv):
    ap = argparse.ArgumentParser(prog="run.py run",
                                 description="Boot one ISO with the console on this terminal. "
                                             "Ctrl-C ends the emulator.")
    ap.add_argument("-p", "--platform", default="bochs-spr", choices=list(PLATFORMS))
    ap.add_argument("iso_arg", nargs="?", type=Path, metavar="ISO", help="boot this ISO as it is")
    ap.add_argument("--iso", type=Path, help="the same as ISO")
    ap.add_argument("-s", "--scenario", help="use this scenario's command line and modules")
    ap.add_argument("--cmdline", help="hypervisor command line (default: console=com1 loglevel=info)")
    ap.add_argument("--module", nargs=2, action="append", default=[], metavar=("FILE", "CMDLINE"))
    ap.add_argument("--kernel", type=Path)
    ap.add_argument("--build", type=Path, default=Path(os.environ.get("BUILD", "build")))
    ap.add_argument("--memory", type=int, default=256, help="MiB")
    ap.add_argument("--serve", type=Path, metavar="SOCKET",
                    help="also offer the controller channel (com2) on this unix socket, one "
                         "controller at a time, and print how to reach it")
    ap.add_argument("--bochs-option", action="append", default=[], metavar="LINE",
                    help="one more bochsrc line (a later line of a kind overrides an earlier one)")
    opts = ap.parse_args(argv)
    if opts.iso_arg and opts.iso and opts.iso_arg != opts.iso:
        ap.error("two ISOs given")
    opts.iso = opts.iso or opts.iso_arg
    if opts.iso and not opts.iso.is_file():
        ap.error(f"{opts.iso} does not exist")
    opts.build = opts.build.absolute()
    kernel = (opts.kernel or opts.build / "hv.elf").absolute()
    verdict, why = PLATFORMS[opts.platform].problem()
    if verdict:
        raise SystemExit(f"run.py: {opts.platform}: {why}")
    exit_codes = load_exit_codes()
    spec = RunSpec("run", opts.platform, opts.cmdline or "console=com1 loglevel=info",
                   [(Path(f), c) for f, c in opts.module], [], [], [], "any", 0, opts.memory,
                   None, None, 0, [], [])
    if opts.scenario:
        try:
            sc = load_scenario(scenario_dir() / f"{opts.scenario}.toml")
            s = sc.resolve(opts.platform, exit_codes, opts.build)
        except (ScenarioError, KeyError) as e:
            raise SystemExit(f"run.py: {e}")
        spec.cmdline = opts.cmdline or s.cmdline
        spec.modules = s.modules + spec.modules
        spec.bochs_options, spec.qemu_args = s.bochs_options, s.qemu_args
        if opts.memory == 256:
            spec.memory = s.memory
    spec.bochs_options = spec.bochs_options + opts.bochs_option
    run_dir = opts.build / "run"
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True)
    if opts.iso:
        iso = opts.iso.resolve()
    else:
        if not kernel.is_file():
            raise SystemExit(f"run.py: {_rel(kernel)} not found (make {_rel(kernel)})")
        iso = run_dir / "run.iso"
        err = build_iso(iso, kernel, spec.cmdline, spec.modules)
        if err:
            raise SystemExit(f"run.py: {err}")
    (run_dir / "hv.iso").symlink_to(iso)
    port = free_port()
    chan_port = free_port() if opts.serve else None
    if PLATFORMS[opts.platform].kind == "bochs":
        (run_dir / "bochsrc").write_text(
            bochs_config(spec, "hv.iso", f"mode=socket-server, dev=127.0.0.1:{port}",
                         chan_port))
        (run_dir / "bochs.rc").write_text("c\n")
        cmd = [find_bochs(), "-q", "-f", "bochsrc", "-rc", "bochs.rc"]
    else:
        serial = ["-chardev", f"socket,id=con,host=127.0.0.1,port={port},server=on,wait=on",
                  "-serial", "chardev:con"]
        if chan_port:
            serial += ["-chardev",
                       f"socket,id=ch0,host=127.0.0.1,port={chan_port},server=on,wait=off",
                       "-serial", "chardev:ch0"]
        cmd = qemu_command(spec, "hv.iso", serial)
    (run_dir / "command").write_text(" ".join(_quote(c) for c in cmd) + "\n")
    what = f"ISO {opts.iso}" if opts.iso else f"cmdline '{spec.cmdline}'"
    print(f"run.py: {opts.platform}, {what}; Ctrl-C ends it; "
          f"files in {_rel(run_dir)}/", file=sys.stderr, flush=True)
    proc = spawn(cmd, run_dir, run_dir / "emulator.out")
    tty = sys.stdin.isatty()
    saved = None
    interrupted = False
    old_term = signal.signal(signal.SIGTERM, _on_signal)
    try:
        sock = connect(port, proc, 30)
        if sock is None:
            raise SystemExit(f"run.py: the emulator did not open its console "
                             f"(see {_rel(run_dir)}/emulator.out)")
        sock.setblocking(False)
        relay = ChannelRelay(opts.serve, chan_port, proc, opts.build) if opts.serve else None
        if tty:
            import termios
            fd = sys.stdin.fileno()
            saved = termios.tcgetattr(fd)
            new = termios.tcgetattr(fd)
            # keys go to the guest one by one, unechoed, Enter as CR; Ctrl-C
            # still signals this script, output processing stays on
            new[0] &= ~(termios.ICRNL | termios.INLCR | termios.IXON)
            new[3] &= ~(termios.ICANON | termios.ECHO | termios.IEXTEN)
            new[6][termios.VMIN], new[6][termios.VTIME] = 1, 0
            termios.tcsetattr(fd, termios.TCSANOW, new)
        with open(run_dir / "console.log", "wb") as log:
            watch = [sock] + ([sys.stdin] if tty else [])
            while True:
                ready, _, _ = select.select(watch + (relay.sockets() if relay else []), [],
                                            [], 0.2)
                if relay:
                    relay.step(ready)
                if sock in ready:
                    try:
                        data = sock.recv(4096)
                    except BlockingIOError:
                        data = None
                    if data == b"":
                        break
                    if data:
                        log.write(data)
                        os.write(sys.stdout.fileno(), data)
                if tty and sys.stdin in ready:
                    keys = os.read(sys.stdin.fileno(), 64)
                    if keys:
                        sock.sendall(keys)
                if proc.poll() is not None:
                    break
        sock.close()
        if relay:
            relay.close()
        try:  # the console closing first is part of a normal exit
            proc.wait(5)
        except subprocess.TimeoutExpired:
            pass
    except (KeyboardInterrupt, Interrupted):
        interrupted = True
    finally:
        if saved is not None:
            import termios
            termios.tcsetattr(sys.stdin.fileno(), termios.TCSADRAIN, saved)
        signal.signal(signal.SIGTERM, old_term)
        kill(proc)
    rc = proc.returncode
    text = _read(run_dir / "console.log")
    m = [x for x in (EXIT_LINE.search(line) for line in text.splitlines()) if x]
    how = m[-1].group(1) if m else f"emulator status {rc}"
    if PLATFORMS[opts.platform].kind == "bochs" and BOCHS_SHUTDOWN in _read(run_dir / "bochs.log"):
        how = f"{m[-1].group(1)}, " if m else ""
        how += "Bochs shut down by the guest"
    if PLATFORMS[opts.platform].kind == "qemu" and rc and rc & 1 and rc > 1:
        how = {v: k for k, v in exit_codes.items()}.get(rc >> 1, f"debug-exit 0x{rc >> 1:02x}")
    if interrupted:
        how = "interrupted; emulator stopped"
    print(f"\r\nrun.py: ended ({how})", file=sys.stderr)
    return 130 if interrupted else 0


def _bye_frame():
    """HVW_BYE (abi/hvwire.h) with seq 0, reason HVW_BYE_GONE: not answered."""
    head = b"HV\x01\x0e" + (0).to_bytes(4, "little") + (8).to_bytes(4, "little") + \
        (1).to_bytes(4, "little") + bytes(4)
    crc = 0xFFFFFFFF
    for b in head:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return head + (crc ^ 0xFFFFFFFF).to_bytes(4, "little")


class ChannelRelay:
    """The emulator's controller channel (a TCP socket server) offered on a
    unix socket: one controller at a time, bytes passed both ways untouched.
    A controller that leaves frees the place for the next; what the
    hypervisor sends while nobody listens is dropped. When a controller's
    connection ends, the relay says BYE for it (seq 0, so nothing is
    answered): the hypervisor destroys the VMs of that session at once, even
    if the program died without closing."""

    BYE = _bye_frame()

    def __init__(self, path, port, proc, build):
        self.path = path.absolute()
        self.chan = connect(port, proc, 60)
        if self.chan is None:
            raise SystemExit("run.py: the emulator did not open its channel (com2)")
        self.chan.setblocking(False)
        # Bochs writes the channel a byte at a time with Nagle on: unless
        # each segment is acknowledged at once (no 40 ms delayed ACK), every
        # answer waits for the ACK timer. QUICKACK is reset by the kernel, so
        # it is set again after each read.
        self.chan.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._quickack()
        try:
            self.path.unlink()
        except FileNotFoundError:
            pass
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(str(self.path))
        self.listener.listen(4)
        self.listener.setblocking(False)
        self.client = None
        self.sent = self.received = 0  # bytes to / from the hypervisor, this controller
        tools = Path(build).absolute() / "tools"
        print(f"run.py: the controller channel is at unix:{self.path}\r\n"
              f"run.py: in a second terminal, for example:\r\n"
              f"    {tools}/hvctl -c unix:{self.path} hello\r\n"
              f"    LD_PRELOAD={tools}/libhvkvm_preload.so "
              f"HVKVM_CONNECT=unix:{self.path} ./your-kvm-program\r\n",
              file=sys.stderr, flush=True)

    def _quickack(self):
        try:
            self.chan.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
        except (AttributeError, OSError):
            pass

    def sockets(self):
        return [self.listener, self.chan] + ([self.client] if self.client else [])

    def _drop_client(self):
        self.client.close()
        self.client = None
        try:
            self.chan.setblocking(True)
            self.chan.sendall(self.BYE)
            self.chan.setblocking(False)
        except OSError:
            pass
        print(f"run.py: channel: the controller left ({self.sent} bytes to the hypervisor, "
              f"{self.received} bytes back)\r", file=sys.stderr, flush=True)

    def step(self, ready):
        if self.listener in ready:
            try:
                conn, _ = self.listener.accept()
            except BlockingIOError:
                conn = None
            if conn and self.client:
                conn.close()  # one controller at a time
                print("run.py: channel: a second controller refused (one at a time)\r",
                      file=sys.stderr, flush=True)
            elif conn:
                conn.setblocking(True)
                self.client = conn
                self.sent = self.received = 0
                print("run.py: channel: a controller connected\r", file=sys.stderr, flush=True)
        if self.chan in ready:
            try:
                data = self.chan.recv(65536)
            except BlockingIOError:
                data = None
            self._quickack()
            if data and self.client:
                self.received += len(data)
                try:
                    self.client.sendall(data)
                except OSError:
                    self._drop_client()
        if self.client and self.client in ready:
            try:
                data = self.client.recv(65536)
            except OSError:
                data = b""
            if data:
                self.sent += len(data)
                self.chan.setblocking(True)
                self.chan.sendall(data)
                self.chan.setblocking(False)
            else:
                self._drop_client()

    def close(self):
        for s in (self.client, self.listener, self.chan):
            if s:
                s.close()
        try:
            self.path.unlink()
        except FileNotFoundError:
            pass


# ----------------------------------------------------------------------- main

def main(argv):
    if argv[:1] in (["run"], ["--interactive"]):
        return interactive(argv[1:])
    ap = argparse.ArgumentParser(
        description="Run the boot scenarios in tests/scenarios/ under Bochs and QEMU. "
                    "'run.py run --help' for the interactive mode.")
    ap.add_argument("-s", "--scenario", action="append", metavar="NAME",
                    help="run only this scenario (repeatable)")
    ap.add_argument("-p", "--platform", action="append", metavar="PLATFORM",
                    help=f"run only on this platform, glob allowed (repeatable): {', '.join(PLATFORMS)}")
    ap.add_argument("--list", action="store_true", help="list the scenarios and their platforms")
    ap.add_argument("--keep", action="store_true",
                    help="keep the artefacts of passing runs too (BUILD/test-logs/)")
    ap.add_argument("-j", "--jobs", type=int, default=1, help="parallel runs (default 1)")
    ap.add_argument("--verbose", "-v", action="store_true", help="stream every console line")
    ap.add_argument("--kernel", type=Path, help="hypervisor image (default BUILD/hv.elf)")
    ap.add_argument("--build", type=Path, default=Path(os.environ.get("BUILD", "build")),
                    help="build directory (default $BUILD or build)")
    ap.add_argument("--results", type=Path,
                    help="append 'scenarios <passed> <failed> <skipped>' to this file")
    ap.add_argument("--timeout-scale", type=float,
                    default=float(os.environ.get("HV_TEST_TIMEOUT_SCALE", "1")),
                    help="multiply every timeout (default $HV_TEST_TIMEOUT_SCALE or 1)")
    opts = ap.parse_args(argv)
    if opts.timeout_scale <= 0 or opts.jobs < 1:
        ap.error("--timeout-scale and -j must be positive")
    opts.build = opts.build if opts.build.is_absolute() else (Path.cwd() / opts.build)
    opts.kernel = (opts.kernel or opts.build / "hv.elf").absolute()
    return test_mode(opts)


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except BrokenPipeError:  # e.g. piped into head: stop quietly, emulators too
        STOP.set()
        kill_all()
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
