#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Write the seed inputs of the kvm_api and channel fuzz targets.

    python3 tests/fuzz/make_seeds.py      (from the repository root)

writes tests/fuzz/seeds/kvm_api/* and tests/fuzz/seeds/channel/*. Each seed
follows the input layout its target's header comment describes
(tests/fuzz/fuzz_kvm_api.c, tests/fuzz/fuzz_channel.c); the seeds are
committed, so run this again only after changing a layout.
"""
import os
import struct
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "hooks"))
from hooklib import frame  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "seeds")

# ---- Linux KVM request numbers (abi/kvm.h) ----


def ioc(d, nr, size):
    return (d << 30) | (size << 16) | (0xAE << 8) | nr


KVM_GET_API_VERSION = ioc(0, 0x00, 0)
KVM_CREATE_VM = ioc(0, 0x01, 0)
KVM_CHECK_EXTENSION = ioc(0, 0x03, 0)
KVM_CREATE_VCPU = ioc(0, 0x41, 0)
KVM_SET_USER_MEMORY_REGION = ioc(1, 0x46, 32)
KVM_RUN = ioc(0, 0x80, 0)
KVM_SET_REGS = ioc(1, 0x82, 144)
KVM_GET_REGS = ioc(2, 0x81, 144)

# ---- kvm_api: steps as fuzz_kvm_api.c reads them ----

(K_SYS_RANDOM, K_VM_RANDOM, K_VCPU_RANDOM, K_CREATE_VM, K_SET_REGION, K_CREATE_VCPU,
 K_SET_MSRS, K_GET_MSRS, K_SET_CPUID, K_GET_CPUID, K_SUPPORTED_CPUID, K_MSR_LIST,
 K_SET_SREGS, K_SET_REGS, K_SET_EVENTS, K_SET_DEBUGREGS, K_SET_FPU, K_GUEST_DEBUG,
 K_INTERRUPT, K_NMI, K_ENABLE_CAP, K_CHECK_EXT, K_RUN, K_RUN_B, K_RUN_C,
 K_MEM_WRITE, K_DESTROY, K_GET_ANY, K_CREATE_IRQCHIP, K_IRQ_LINE, K_SET_IRQCHIP,
 K_SET_LAPIC, K_SIGNAL_MSI, K_SET_MP_STATE) = range(34)


def u8(*v):
    return bytes(x & 0xFF for x in v)


def u16(v):
    return struct.pack("<H", v & 0xFFFF)


def u32(v):
    return struct.pack("<I", v & 0xFFFFFFFF)


def u64(v):
    return struct.pack("<Q", v & 0xFFFFFFFFFFFFFFFF)


def pick64_raw(v):
    """pick64() reading a plain u64: a first byte >= 28, then the 8 bytes."""
    return u8(0xFF) + u64(v)


def step(kind, vm=1, vcpu=0):
    return u8(kind, vm, vcpu)


def create_vm():
    return step(K_CREATE_VM, 0) + u8(0, 0)  # value 0, no argument bytes


def set_region(slot, gpa, size):
    # k (slot; flags from the next byte), flags byte, gpa, align byte,
    # size: a byte < 0x80 then an index into the size table ... or pick64.
    return (step(K_SET_REGION) + u8(slot, 0) + pick64_raw(gpa) + u8(1) + u8(0x80) +
            pick64_raw(size) + u64(0x7f0000000000 + gpa))


def create_vcpu(vcpu):
    return step(K_CREATE_VCPU) + u8(0, vcpu, 0)


def run(vcpu=0, flags=0, guest=b""):
    # prepare_run's byte, then what the guest reads entry by entry.
    return step(K_RUN, 1, vcpu) + u8(flags) + guest


def mem_write(gpa, data):
    where = u8(1) + u16(gpa) if gpa < 0x10000 else u8(0) + pick64_raw(gpa)
    return step(K_MEM_WRITE) + where + u8(len(data)) + data


# Guest exits (fuzz_guest): a "what changes" byte (0: nothing), then the kind.
def g_hlt():
    return u8(0, 10, 0)


def g_cpuid(leaf):
    return u8(0, 9, 0, leaf, 0, 1)


def g_io_out(port):
    return u8(0, 16, 0) + u16(port) + u8(1)


def g_cr0(val):
    # kind 13: t (cr 0, type 0), reg 0 = RAX = val, then the LMSW source bits.
    return u8(0, 13, 0, 0) + pick64_raw(val) + u16(0) + u8(2)


def g_wrmsr(msr, lo, hi):
    return u8(0, 22, 0xFF) + u32(msr) + u32(lo) + u8(1) + u32(hi) + u8(1)


def g_ept(gpa):
    return u8(0, 24, 0) + u32(gpa) + pick64_raw(0) + u8(1) + u8(1, 0, 1, 0)


def segment(sel, typ, s=1, l=0, db=1, present=1, unusable=0, limit=0xFFFFFFFF, g=1):
    return (u64(0) + u32(limit) + u16(sel) +
            u8(typ, present, 0, db, s, l, g, 0, unusable, 0))


def sregs_long():
    """A flat 64-bit kvm_sregs: PG, PAE, LME/LMA, CR3 at the 4-level tables."""
    code = segment(8, 11, l=1, db=0)
    data = segment(16, 3)
    tr = segment(24, 11, s=0, db=0, limit=0x67, g=0)
    ldt = segment(0, 0, s=0, present=0, unusable=1, db=0, limit=0, g=0)
    dt = u64(0) + u16(0xFFFF) + bytes(6)
    crs = (u64(0x80050033) + u64(0) + u64(0x10000) + u64(0x20) + u64(0) +
           u64(0xD01) + u64(0xFEE00900))
    return code + data + data + data + data + data + tr + ldt + dt + dt + crs + bytes(32)


def set_sregs_raw(blob):
    return step(K_SET_SREGS) + u8(0x80) + blob


def set_regs(rip):
    regs = [0] * 18
    regs[16] = rip   # rip
    regs[17] = 2     # rflags
    return step(K_SET_REGS) + b"".join(u64(r) for r in regs)


def set_regs_if(rip):
    """KVM_SET_REGS with RFLAGS.IF set: interrupts can come in."""
    regs = [0] * 18
    regs[16] = rip
    regs[17] = 0x202
    return step(K_SET_REGS) + b"".join(u64(r) for r in regs)


# ---- the irqchip's steps (fuzz_kvm_api.c: K_CREATE_IRQCHIP and after) ----


def create_irqchip():
    return step(K_CREATE_IRQCHIP) + u8(0)  # no argument bytes


def irq_line_status(gsi, level):
    return step(K_IRQ_LINE) + u8(1 | (level & 1) << 1, gsi)


def set_pic_master_byte(off, val):
    # arg_irqchip: k (chip 0, one change), then the change: offset, byte.
    return step(K_SET_IRQCHIP) + u8(0x08) + u16(off) + u8(val)


def set_lapic_reg(index, val):
    # arg_lapic: k (one change), a u32 value, the register's index in its table.
    return step(K_SET_LAPIC) + u8(0x01) + u8(1) + u32(val) + u8(index)


def signal_msi(dest, vector, mode=0):
    # arg_msi: k (0: plain), destination, address bits, vector, mode, level, devid.
    return step(K_SIGNAL_MSI) + u8(0, dest, 0, vector, mode, 0) + u32(0)


def set_mp_state(state):
    return step(K_SET_MP_STATE) + u8(0, state)


def page_tables():
    """The 4-level identity map fuzz_kvm_api.c's guest builds, by MEM_WRITE steps."""
    out = mem_write(0x10000, u64(0x11003)) + mem_write(0x11000, u64(0x12003))
    out += mem_write(0x12000, b"".join(u64(i << 21 | 0x83) for i in range(4)))
    return out


def kvm_api_seeds():
    base = create_vm() + set_region(0, 0, 0x10000) + create_vcpu(0)
    code = b"\x66\xb8\x34\x12\xa3\x00\x80\xf4"  # mov ax,0x1234; mov [0x8000],ax; hlt
    return {
        "boot_run_hlt": u8(0) + base + run(guest=g_hlt()),
        "exits_mix": u8(0) + base + mem_write(0xfff0, code) +
        run(guest=g_cpuid(1) + g_io_out(0x3f8)) +
        run(guest=g_cr0(0x11) + g_wrmsr(0xC0000082, 0, 0xFFFF8000) + g_ept(0x20000)) +
        run(guest=g_hlt()),
        "two_vcpus_icelake": u8(1) + base + create_vcpu(1) + run(1, guest=g_cpuid(7) + g_hlt()) +
        run(0, guest=g_hlt()),
        "old_cpu_immediate_exit": u8(2) + base + run(flags=1) + run(guest=g_hlt()),
        "regions_overlap_and_delete": u8(0) + create_vm() + set_region(0, 0, 0x10000) +
        set_region(1, 0x8000, 0x10000) + set_region(0, 0, 0) + set_region(2, 0xfffff000, 0x2000) +
        step(K_DESTROY),
        "alloc_failures": u8(0xE0) + u8(5) + base + create_vcpu(1) + run(guest=g_hlt()),
        # An irqchip: the PIC's vector base, the APIC software-enabled (SPIV,
        # index 4), an MSI and a PIC line for a guest with IF=1; it halts in
        # the hypervisor (the run's budget ends it), is made runnable again,
        # and a second vCPU is started by INIT and SIPI MSIs.
        "irqchip_msi_pic_hlt": u8(0) + create_vm() + set_region(0, 0, 0x10000) +
        create_irqchip() + create_vcpu(0) + create_vcpu(1) + set_regs_if(0x1000) +
        set_pic_master_byte(5, 0x20) + set_lapic_reg(4, 0x1ff) + signal_msi(0, 0x41) +
        irq_line_status(4, 1) + run(guest=g_hlt() + g_hlt()) + set_mp_state(0) +
        irq_line_status(4, 0) + signal_msi(1, 0, 5) + signal_msi(1, 0x10, 6) +
        run(1, guest=g_cpuid(1) + g_hlt()) + run(guest=g_hlt()),
        "long_mode_mmio": u8(0) + create_vm() + set_region(0, 0, 0x200000) + create_vcpu(0) +
        set_sregs_raw(sregs_long()) + set_regs(0x1000) + page_tables() +
        mem_write(0x1000, b"\x89\x04\x25\x00\x00\x40\x00") +
        run(guest=g_ept(0x400000)) + run(flags=16, guest=g_hlt()),
    }


# ---- channel: frames as abi/hvwire.h defines them (tests/hooks/hooklib.py) ----


HELLO_REQ, IOCTL_REQ, MEM_WRITE, MEM_READ_REQ, POWER_OFF, KICK, CLOSE, MEM_CHANGED_REQ = (
    1, 3, 5, 6, 9, 10, 11, 12)
BYE, LIST_REQ = 14, 15


def hello(seq):
    return frame(HELLO_REQ, seq, u32(1) + u32(1) + b"seed".ljust(32, b"\0"))


def bye(seq, reason=0):
    return frame(BYE, seq, u32(reason) + u32(0))


def ioctl(seq, nr, target=0, vm=0, vcpu=0, arg=b"", flags=0):
    hdr = u32(nr) + struct.pack("<HH", target, flags) + u32(vm) + u32(vcpu) + u32(len(arg))
    return frame(IOCTL_REQ, seq, hdr + arg)


def region(slot, gpa, size):
    return struct.pack("<IIQQQ", slot, 0, gpa, size, 0x7f0000000000)


def kvm_run_plain():
    return bytes(2352)  # a zeroed struct kvm_run


def channel_seeds():
    setup = (hello(1) + ioctl(2, KVM_GET_API_VERSION) + ioctl(3, KVM_CREATE_VM, 0) +
             ioctl(4, KVM_SET_USER_MEMORY_REGION, 1, 1, 0, region(0, 0, 0x10000)) +
             ioctl(5, KVM_CREATE_VCPU, 1, 1, 0, u64(0)))
    mem = (frame(MEM_WRITE, 6, u32(1) + u32(1) + u64(0x1000) + b"\xf4" * 32) +
           frame(MEM_READ_REQ, 7, u32(1) + u32(16) + u64(0x1000)) +
           frame(MEM_CHANGED_REQ, 8, u32(1) + u32(0) + u64(0) + u64(0x10000)))
    runs = ioctl(9, KVM_RUN, 2, 1, 0, kvm_run_plain())
    kick = frame(KICK, 0, u32(1) + u32(0))
    close = frame(CLOSE, 10, u32(1) + u32(0))
    off = frame(POWER_OFF, 11)
    # Header: chunk mode/seed, then the guest script (exits of each run).
    def seed(script, stream, cfg=0):
        return u8(cfg, 7, len(script)) + script + stream

    # Script bytes (channel_guest): 0 interrupt (bytes arrive), 1 slice end,
    # 2 I/O, 3 MMIO, 4 PAUSE, 5 VMCALL, 6 HLT, 7 RDMSR.
    return {
        "setup_and_close": seed(b"", setup + mem + close + off),
        "run_hlt": seed(u8(6), setup + runs + close),
        "run_kicked": seed(u8(0, 0, 0, 4, 6), setup + runs + kick + close + hello(12)),
        "run_io_mmio": seed(u8(2, 3, 0x12, 5, 0, 0, 7, 6), setup + mem + runs + runs),
        "garbage_between": seed(u8(6), b"HV\x01\x03garbage" + setup + b"\xff" * 40 + runs,
                                cfg=0x12),
        "unknown_types": seed(b"", setup + frame(2, 20) + frame(200, 21, b"x") + off),
        # Sessions: LIST, a BYE that reclaims, a relay's silent BYE, a HELLO
        # that reclaims what was made after it, and BYEs gone wrong.
        "sessions": seed(u8(0, 6), setup + frame(LIST_REQ, 12, u64(0)) + bye(13) + setup +
                         runs + bye(0, 1) + hello(14) + setup + hello(15) +
                         frame(BYE, 16, u32(9) + u32(0)) + frame(BYE, 0, u32(0)) +
                         frame(LIST_REQ, 17, u32(1) + u32(0)) + frame(LIST_REQ, 18, u64(0))),
    }


def write(sub, seeds):
    d = os.path.join(ROOT, sub)
    os.makedirs(d, exist_ok=True)
    for name, data in seeds.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    write("kvm_api", kvm_api_seeds())
    write("channel", channel_seeds())
