# SPDX-License-Identifier: MIT
#
# The hypervisor sources that build for the host on the fake hardware of
# tests/host/ (include path: -Itests/host/fake -I.), and the fakes. Used
# by tests/host/host.mk (unit tests) and tests/fuzz/fuzz.mk (fuzz targets).

ifndef HOST_SOURCES_MK
HOST_SOURCES_MK := 1

HOST_HV_SRCS := hv/kvm/kvm_api.c vmx/vm.c hv/x86emu/insn_decode.c hv/x86emu/guest_walk.c \
		vmx/vcpu.c vmx/exit.c vmx/msr.c vmx/msr_filter.c vmx/cpuid.c vmx/ept.c vmx/vmx.c \
		vmx/vmx_caps.c vmx/irqchip.c hv/irqchip/lapic.c hv/irqchip/ioapic.c \
		hv/irqchip/pic.c hv/irqchip/irqchip.c abi/kvm_ioctls.c
# xstate_host.c is vmx/xstate.c with its save/restore instructions faked.
HOST_FAKE_SRCS := tests/host/fake_cpu.c tests/host/fake_vmx.c tests/host/fake_mm.c \
		  tests/host/fake_platform.c tests/host/xstate_host.c \
		  tests/host/harness.c tests/unit/log_capture.c
HOST_FAKE_HDRS := $(wildcard tests/host/fake/*/*.h) tests/host/fake.h tests/host/harness.h
# The wire codec, for the channel server's target.
HOST_WIRE_SRCS := abi/hvwire.c abi/hvrun.c abi/hvdelta.c abi/hvpack.c
HOST_INCLUDES := -Itests/host/fake -I.

endif
