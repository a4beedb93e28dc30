#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Boot the guest test programs WITHOUT the hypervisor and check that each
behaves as it must on that bare platform: the runtime, printing, exception
catching and the checks that do not need the hypervisor pass; the checks
that need it fail (listed below with the reason); each program ends the way
it should (done() / HLT / triple fault).

  guests/check_bare.py [-p qemu|bochs] [-b build/guests] [-k] [NAME...]

qemu:  QEMU TCG, multiboot 1 ELF through -kernel, isa-debug-exit at 0xf4
       (status (v << 1) | 1); modes.bin boots as a BIOS disk (SeaBIOS).
bochs: Bochs 3.x (cpu sapphire_rapids, ignore_bad_msrs=0 like tests/run.py),
       GRUB ISO with a `multiboot` entry; modes.bin boots from a disk image.
       Bochs has no exit port: the run ends on the program's last line.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
# name -> how it ends: "done" (done() and port 0xf4), "halt" or "triple"
# (after the line in LAST_LINE), "modes" (the raw image's three lines).
PROGRAMS = {
    "cpuid": "done", "msr": "done", "portio": "done", "mmio": "done",
    "hlt": "halt", "vmcall": "done", "cr": "done", "exceptions": "done",
    "triplefault": "triple", "demo": "halt", "bench": "done", "modes": "modes",
}
LAST_LINE = {
    "hlt": "about to halt",
    "demo": "Goodbye! Halting now (HLT ends this guest).",
    "triplefault": "triple fault next",
}

# Checks that need the hypervisor (or that the bare platform gets wrong):
# name prefix -> why. Everything else must PASS (or SKIP).
NEEDS_HV = {
    "cpuid 0x40000000 signature": "the signature is the hypervisor's",
    "vmcall ": "VMCALL is #UD without the hypervisor",
    "bench vmcall nop available": "VMCALL is #UD without the hypervisor",
}
BARE_FAILS = {
    "qemu": {
        "msr pat reserved type": "TCG does not check PAT memory types",
        "msr pat unchanged after #GP": "TCG took the reserved PAT type",
        "msr efer reserved bit #GP": "TCG ignores reserved EFER bits",
        "msr rdmsr 0xdeadbeef #GP": "TCG reads unknown MSRs as 0",
        "msr wrmsr 0xdeadbeef #GP": "TCG drops writes to unknown MSRs",
        "msr ia32_tsc": "TCG reads IA32_TSC as 0",
        "portio inb 0x510": "0x510 is QEMU's fw_cfg port",
        "portio inw 0x510": "0x510 is QEMU's fw_cfg port",
        "portio inl 0x510": "0x510 is QEMU's fw_cfg port",
        "portio inb 0x511": "0x511 is QEMU's fw_cfg data port",
        "mmio ram size is 16 MiB": "QEMU reports less than -m 16 to multiboot",
        "mmio read": "QEMU reads unassigned memory as 0",
        "mmio write 0xfeb00000 ignored": "QEMU reads unassigned memory as 0",
        "bench results valid": "QEMU reads unassigned memory as 0",
        "cr0 nw=1 cd=0 #GP": "TCG accepts NW without CD",
        "cr0.pg with efer.lme and cr4.pae=0 #GP": "TCG accepts it",
        "cr0 pg=1 pe=0 #GP": "TCG accepts PG without PE",
        # then TCG loops forever on the CR4 write that should #GP: cr ends there
    },
    "bochs": {
        "cpuid 0x40000000 max leaf": "no hypervisor leaves",
        "cpuid 1 ecx[31] hypervisor present": "no hypervisor",
        "cpuid 1 ecx[5] vmx hidden": "the CPU model has VMX",
        "cr4.vmxe #GP": "the CPU model has VMX: CR4.VMXE is writable",
        "mmio ram size is 16 MiB": "the emulator has more RAM than mem=16M",
        "mmio read32 at mem_size all-ones": "the emulator has RAM there",
    },
}
# Where a bare run legitimately stops before done(): program -> last line.
BARE_STOPS = {"qemu": {"cr": "FAIL cr0 pg=1 pe=0 #GP: register unchanged"}}

QEMU = os.environ.get("QEMU", "qemu-system-x86_64")
BOCHS_BIOS = "/usr/share/bochs/BIOS-bochs-latest"
BOCHS_VGABIOS = "/usr/share/vgabios/vgabios.bin"


def find_bochs():
    if os.environ.get("BOCHS"):
        return os.environ["BOCHS"]
    cache = Path(os.environ.get("HV_CACHE", Path.home() / ".cache/hv"))
    found = sorted(cache.glob("bochs-3*/bin/bochs"))
    return str(found[-1]) if found else shutil.which("bochs")


def expected_failure(platform, name):
    for table in (NEEDS_HV, BARE_FAILS[platform]):
        for prefix, why in table.items():
            if name.startswith(prefix):
                return why
    return None


def wait_console(proc, console, name, stop_line, timeout):
    """Follow the console file until the program's last line (or exit)."""
    ending = PROGRAMS[name]
    deadline = time.monotonic() + timeout
    text = ""
    while time.monotonic() < deadline:
        text = console.read_text(errors="replace") if console.exists() else ""
        if proc.poll() is not None:
            break
        lines = text.replace("\r", "").splitlines()
        if ending == "done" and any(l.startswith("done: ") for l in lines):
            break
        if stop_line and any(l.startswith(stop_line) for l in lines):
            time.sleep(2)  # the next line would come quickly if it came
            break
        if ending in ("halt", "triple") and LAST_LINE[name] in lines:
            time.sleep(2)  # room for a wrong line after it
            break
        if ending == "modes" and "modes: long mode ok" in lines:
            time.sleep(0.5)
            break
        time.sleep(0.1)
    if proc.poll() is None:
        proc.kill()
    proc.wait()
    text = console.read_text(errors="replace") if console.exists() else ""
    return text.replace("\r", ""), proc.returncode


def run_qemu(name, image, work, timeout):
    console = work / "console.log"
    cmd = [QEMU, "-display", "none", "-no-reboot", "-m", "16",
           "-serial", f"file:{console}", "-monitor", "none",
           "-device", "isa-debug-exit,iobase=0xf4,iosize=4"]
    if name == "modes":
        disk = work / "modes.img"
        shutil.copy(image, disk)
        cmd += ["-drive", f"format=raw,file={disk},if=ide"]
    else:
        cmd += ["-kernel", str(image), "-append", f"name={name}"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return proc, console


def run_bochs(name, image, work, timeout):
    console = work / "console.log"
    if name == "modes":
        disk = work / "modes.img"
        disk.write_bytes(image.read_bytes().ljust(512 * 2880, b"\0"))
        boot = [f"floppya: 1_44={disk}, status=inserted", "boot: floppy"]
    else:
        iso_dir = work / "iso"
        (iso_dir / "boot/grub").mkdir(parents=True)
        shutil.copy(image, iso_dir / "boot/guest.elf")
        (iso_dir / "boot/grub/grub.cfg").write_text(
            "set timeout=0\nset default=0\nmenuentry guest {\n"
            f"\tmultiboot /boot/guest.elf name={name}\n\tboot\n}}\n")
        iso = work / "guest.iso"
        subprocess.run(["grub-mkrescue", "-o", str(iso), str(iso_dir)],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        boot = [f"ata0-master: type=cdrom, path={iso}, status=inserted", "boot: cdrom"]
    (work / "bochsrc").write_text("\n".join([
        "megs: 32",
        "cpu: model=sapphire_rapids, count=1, ips=50000000, reset_on_triple_fault=0, "
        "ignore_bad_msrs=0",
        f"romimage: file={BOCHS_BIOS}", f"vgaromimage: file={BOCHS_VGABIOS}",
        "display_library: nogui", *boot,
        f"com1: enabled=1, mode=file, dev={console}",
        f"log: {work / 'bochs.log'}", "panic: action=fatal", "error: action=report",
        "info: action=report", "debug: action=ignore",
        "clock: sync=none, time0=946684800", ""]))
    (work / "bochs.rc").write_text("c\n")
    proc = subprocess.Popen([find_bochs(), "-q", "-f", str(work / "bochsrc"),
                             "-rc", str(work / "bochs.rc")],
                            cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return proc, console


def check(platform, name, text, rc, work):
    """Problems with one run (empty: as expected)."""
    problems = []
    lines = text.splitlines()
    ending = PROGRAMS[name]
    for line in lines:
        m = re.match(r"FAIL (.*?)(: .*)?$", line)
        if m and not expected_failure(platform, m.group(1)):
            problems.append(f"unexpected: {line}")
        m = re.match(r"PASS (.*)$", line)
        if m and expected_failure(platform, m.group(1)) and m.group(1).startswith(
                tuple(NEEDS_HV)):
            problems.append(f"passes without the hypervisor: {line}")
    stop = BARE_STOPS.get(platform, {}).get(name)
    if ending == "done" and not stop:
        done = [l for l in lines if l.startswith("done: ")]
        if not done:
            problems.append("no 'done:' line")
        elif platform == "qemu" and rc >= 0:
            m = re.match(r"done: (\d+) checks passed, (\d+) failed", done[-1])
            if not m:
                problems.append(f"unparsable line: {done[-1]}")
            elif rc != (int(m.group(2)) << 1 | 1) & 0xff:
                problems.append(f"exit status {rc}, want {(int(m.group(2)) << 1 | 1) & 0xff}")
    elif ending in ("halt", "triple"):
        last = LAST_LINE[name]
        if last not in lines:
            problems.append(f"no '{last}' line")
        elif lines[-1] != last:
            problems.append(f"output after '{last}': {lines[-1]}")
        if ending == "triple":
            if platform == "qemu" and rc != 0:
                problems.append(f"QEMU status {rc}, want 0 (reset, -no-reboot)")
            if platform == "bochs":
                log = (work / "bochs.log").read_text(errors="replace")
                if "exception with no resolution" not in log:
                    problems.append("bochs.log does not show the triple fault "
                                    "('3rd exception with no resolution')")
    elif ending == "modes":
        want = ["modes: real mode ok", "modes: protected mode ok", "modes: long mode ok"]
        if [l for l in lines if l.startswith("modes:")] != want:
            problems.append("mode climb lines differ")
        if platform == "qemu" and rc != 1:
            problems.append(f"exit status {rc}, want 1 (result 0)")
    if stop and not any(l.startswith(stop) for l in lines):
        problems.append(f"no '{stop}' line")
    return problems


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-p", "--platform", choices=["qemu", "bochs"], default="qemu")
    ap.add_argument("-b", "--build", default=os.path.join(os.environ.get("BUILD", "build"),
                                                          "guests"))
    ap.add_argument("-k", "--keep", action="store_true", help="keep and print the run dirs")
    ap.add_argument("-v", "--verbose", action="store_true", help="print every console")
    ap.add_argument("-t", "--timeout", type=float, default=60)
    ap.add_argument("names", nargs="*")
    opts = ap.parse_args()
    names = opts.names or list(PROGRAMS)
    passed = failed = 0
    for name in names:
        if name not in PROGRAMS:
            sys.exit(f"unknown program {name}")
        image = Path(opts.build) / (f"{name}.bin" if name == "modes" else f"{name}.elf")
        work = Path(tempfile.mkdtemp(prefix=f"guest-{name}-"))
        start = time.monotonic()
        runner = run_qemu if opts.platform == "qemu" else run_bochs
        proc, console = runner(name, image, work, opts.timeout)
        stop = BARE_STOPS.get(opts.platform, {}).get(name)
        text, rc = wait_console(proc, console, name, stop, opts.timeout)
        problems = check(opts.platform, name, text, rc, work)
        took = time.monotonic() - start
        if opts.verbose:
            print(text, end="" if text.endswith("\n") else "\n")
        if problems:
            failed += 1
            print(f"FAIL {name} [{opts.platform}] ({took:.1f}s)")
            for p in problems:
                print(f"  {p}")
            print("  console:\n    " + "\n    ".join(text.splitlines()[-15:]))
        else:
            passed += 1
            n_pass = sum(l.startswith("PASS ") for l in text.splitlines())
            n_exp = sum(l.startswith("FAIL ") for l in text.splitlines())
            print(f"PASS {name} [{opts.platform}] ({took:.1f}s) checks: {n_pass} passed, "
                  f"{n_exp} failed as expected here")
        if opts.keep:
            print(f"  kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print(f"guests on bare {opts.platform}: {passed} as expected, {failed} not")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
