# SPDX-License-Identifier: MIT
#
# Host unit tests of the hypervisor's pure logic (parsers, allocator),
# built with the host compiler under AddressSanitizer and UBSan.
#
# Include it from the top-level Makefile (set BUILD before the include if
# it is not "build"), or run it alone from the repository root:
#
#	make -f tests/unit/unit.mk unit-test
#
# unit-test builds every test binary into $(BUILD)/unit/, runs them and any
# tests/unit/*.sh self-test script, prints one closing "N passed, N failed"
# line for all of them, appends "unit <passed> <failed> 0" to
# $(BUILD)/results.txt and fails if anything failed. A binary that exits
# non-zero or prints no summary line counts as one failure.
#
# Only UNIT_* and HOST_CC variables are used, so the top-level CC/CFLAGS
# of the freestanding build are left alone.

# Remember whether we are the only makefile, before anything is included.
UNIT_SAVED_GOAL := $(.DEFAULT_GOAL)
UNIT_STANDALONE := $(if $(filter 1,$(words $(MAKEFILE_LIST))),yes)

BUILD ?= build
HOST_CC ?= gcc
UNIT_CFLAGS ?= -std=gnu11 -g -O1 -fsanitize=address,undefined \
	       -fno-sanitize-recover=all -Wall -Wextra -Werror -I.
UNIT_LDFLAGS ?= -fsanitize=address,undefined

UNIT_DIR := tests/unit
UNIT_OUT := $(BUILD)/unit

# Each test: its own source plus the product sources it exercises.
UNIT_TESTS := test_multiboot2 test_pmm test_cmdline test_kvm_abi test_guest_loader
UNIT_SRCS_test_multiboot2 := boot/multiboot2.c
UNIT_SRCS_test_pmm := hv/lib/pmm.c boot/multiboot2.c
UNIT_SRCS_test_cmdline := hv/lib/cmdline.c
UNIT_SRCS_test_guest_loader := hv/loader/guest_loader.c boot/multiboot2.c
UNIT_SRCS_test_kvm_abi := $(UNIT_DIR)/test_kvm_abi_linux.c \
			  $(UNIT_DIR)/test_kvm_abi_ours.c
UNIT_TESTS += test_insn_decode test_guest_walk
UNIT_SRCS_test_insn_decode := hv/x86emu/insn_decode.c
UNIT_SRCS_test_guest_walk := hv/x86emu/guest_walk.c
# The wire codec; the fuzz target is linked in to replay its inputs.
UNIT_TESTS += test_hvwire
UNIT_SRCS_test_hvwire := abi/hvwire.c abi/hvrun.c abi/hvdelta.c abi/hvpack.c \
			 tests/fuzz/fuzz_hvwire.c
# The ioctl list of abi/kvm_ioctls.h against abi/kvm.h and Linux's headers.
UNIT_TESTS += test_kvm_ioctls
UNIT_SRCS_test_kvm_ioctls := abi/kvm_ioctls.c $(UNIT_DIR)/test_kvm_ioctls_linux.c
# Split virtqueue bookkeeping of the virtio drivers.
UNIT_TESTS += test_virtqueue
UNIT_SRCS_test_virtqueue := drivers/virtqueue.c
# Changed-word encoding of register sets (compact KVM_RUN).
UNIT_TESTS += test_hvdelta
UNIT_SRCS_test_hvdelta := abi/hvdelta.c abi/hvrun.c
# The LZ77 packer of the channel (ioctl records, guest pages).
UNIT_TESTS += test_hvpack
UNIT_SRCS_test_hvpack := abi/hvpack.c
# The VM's MSR filter (KVM_X86_SET_MSR_FILTER's record and kvm_msr_allowed).
UNIT_TESTS += test_msr_filter
UNIT_SRCS_test_msr_filter := vmx/msr_filter.c abi/kvm_ioctls.c
# The EPT (vmx/ept.c, included by the test) on a fake page allocator.
UNIT_TESTS += test_ept
UNIT_SRCS_test_ept :=
# The log rate limiter (hv/lib/log.h), on a fake clock.
UNIT_TESTS += test_log_ratelimit
# The local APIC model of the in-hypervisor irqchip, on a fake clock.
UNIT_TESTS += test_lapic
UNIT_SRCS_test_lapic := hv/irqchip/lapic.c
# The IOAPIC, the 8259 pair and the default GSI routing of the irqchip.
UNIT_TESTS += test_ioapic test_pic test_irqchip
UNIT_SRCS_test_ioapic := hv/irqchip/ioapic.c
UNIT_SRCS_test_pic := hv/irqchip/pic.c
UNIT_SRCS_test_irqchip := hv/irqchip/irqchip.c hv/irqchip/ioapic.c hv/irqchip/pic.c \
			  hv/irqchip/lapic.c
UNIT_COMMON := $(UNIT_DIR)/log_capture.c
# The VM code (KVM API, vCPUs, exits) on fake hardware, and the kvm_api and
# channel fuzz targets replaying their inputs: tests/host/host.mk.
include tests/host/host.mk

UNIT_BINS := $(addprefix $(UNIT_OUT)/,$(UNIT_TESTS)) $(HOST_TEST_BINS)
UNIT_ALL_SRCS := $(sort $(UNIT_COMMON) $(foreach t,$(UNIT_TESTS),\
		   $(UNIT_DIR)/$(t).c $(UNIT_SRCS_$(t))))
UNIT_OBJS := $(patsubst %.c,$(UNIT_OUT)/obj/%.o,$(UNIT_ALL_SRCS))
UNIT_SCRIPTS := $(wildcard $(UNIT_DIR)/*.sh)

# Objects of test @1, in link order.
unit_objs = $(patsubst %.c,$(UNIT_OUT)/obj/%.o,\
	      $(UNIT_DIR)/$(1).c $(UNIT_SRCS_$(1)) $(UNIT_COMMON))

.PHONY: unit-test unit-build unit-clean

unit-build: $(UNIT_BINS)

# A static pattern rule, so it cannot compete with the top-level's rules.
$(UNIT_OBJS): $(UNIT_OUT)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(HOST_CC) $(UNIT_CFLAGS) -MMD -MP -c $< -o $@

define unit_link_rule
$(UNIT_OUT)/$(1): $(call unit_objs,$(1))
	$$(HOST_CC) $$(UNIT_LDFLAGS) -o $$@ $$^
endef
$(foreach t,$(UNIT_TESTS),$(eval $(call unit_link_rule,$(t))))

# Run everything even after a failure; sum the "N passed, N failed" lines.
unit-test: $(UNIT_BINS)
	@pass=0; fail=0; \
	for t in $(UNIT_BINS) $(UNIT_SCRIPTS); do \
		log=$(UNIT_OUT)/$$(basename $$t).log; \
		case $$t in \
		*.sh) if [ -x $$t ]; then $$t; else bash $$t; fi >$$log 2>&1 ;; \
		*) $$t >$$log 2>&1 ;; \
		esac; \
		rc=$$?; \
		cat $$log; \
		sum=$$(grep -E '^[0-9]+ passed, [0-9]+ failed' $$log | tail -n 1); \
		p=$$(echo "$$sum" | sed -n 's/^\([0-9]*\) passed.*/\1/p'); \
		f=$$(echo "$$sum" | sed -n 's/^[0-9]* passed, \([0-9]*\) failed.*/\1/p'); \
		p=$${p:-0}; f=$${f:-0}; \
		if [ -z "$$sum" ] || { [ $$rc -ne 0 ] && [ $$f -eq 0 ]; }; then \
			echo "FAIL $$t: exit status $$rc, summary '$$sum'"; \
			f=$$((f + 1)); \
		fi; \
		pass=$$((pass + p)); fail=$$((fail + f)); \
	done; \
	mkdir -p $(BUILD); \
	echo "unit $$pass $$fail 0" >> $(BUILD)/results.txt; \
	echo "$$pass passed, $$fail failed"; \
	[ $$fail -eq 0 ]

unit-clean:
	rm -rf $(UNIT_OUT)

-include $(UNIT_OBJS:.o=.d)

# Standalone, unit-test is the default; included, do not steal the goal.
ifeq ($(UNIT_STANDALONE),yes)
.DEFAULT_GOAL := unit-test
else
.DEFAULT_GOAL := $(UNIT_SAVED_GOAL)
endif
