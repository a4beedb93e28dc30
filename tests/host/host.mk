# SPDX-License-Identifier: MIT
#
# Host tests of the VM code (KVM API, vCPUs, exit handlers, EPT) built on
# the fake hardware of tests/host/fake.h, under AddressSanitizer and UBSan.
# Included by tests/unit/unit.mk: the binaries join UNIT_BINS, so
# `make unit-test` runs them and counts their "N passed, N failed" lines.
#
#   test_exit          exit decisions and the vCPU model (tests/host/test_exit.c)
#   replay_kvm_api     the KVM API fuzz target over its seeds and regressions
#   replay_channel     the channel server's fuzz target, likewise
#   test_session       controller sessions: reclaiming, LIST, limits (tests/host/test_session.c)
#   test_irqchip       KVM_CREATE_IRQCHIP wired to the vCPUs (tests/host/test_irqchip.c)
#   test_pks           guest PKS: IA32_PKRS, CR4.PKS, the PKRS controls (tests/host/test_pks.c)

include tests/host/sources.mk

HOST_T_CC ?= $(HOST_CC)
HOST_T_CFLAGS ?= -std=gnu11 -g -O1 -fsanitize=address,undefined \
		 -fno-sanitize-recover=all -Wall -Wextra -Werror \
		 -Wno-unused-parameter $(HOST_INCLUDES)
HOST_T_LDFLAGS ?= -fsanitize=address,undefined
HOST_T_OUT := $(BUILD)/host

HOST_T_COMMON := $(HOST_HV_SRCS) $(HOST_FAKE_SRCS)
HOST_T_SRCS_test_exit := tests/host/test_exit.c $(HOST_T_COMMON)
HOST_T_SRCS_replay_kvm_api := tests/host/replay_main.c tests/fuzz/fuzz_kvm_api.c \
			      $(HOST_T_COMMON)
HOST_T_SRCS_replay_channel := tests/host/replay_main.c tests/fuzz/fuzz_channel.c hv/channel/channel.c \
			      $(HOST_T_COMMON) $(HOST_WIRE_SRCS)
HOST_T_SRCS_test_session := tests/host/test_session.c hv/channel/channel.c $(HOST_T_COMMON) \
			    $(HOST_WIRE_SRCS)
HOST_T_SRCS_test_irqchip := tests/host/test_irqchip.c $(HOST_T_COMMON)
HOST_T_SRCS_test_pks := tests/host/test_pks.c $(HOST_T_COMMON)
HOST_TESTS := test_exit replay_kvm_api replay_channel test_session test_irqchip test_pks

HOST_TEST_BINS := $(addprefix $(HOST_T_OUT)/,$(HOST_TESTS))
HOST_T_ALL_SRCS := $(sort $(foreach t,$(HOST_TESTS),$(HOST_T_SRCS_$(t))))
HOST_T_OBJS := $(patsubst %.c,$(HOST_T_OUT)/obj/%.o,$(HOST_T_ALL_SRCS))

.PHONY: host-build
host-build: $(HOST_TEST_BINS)

$(HOST_T_OBJS): $(HOST_T_OUT)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(HOST_T_CC) $(HOST_T_CFLAGS) -MMD -MP -c $< -o $@

define host_link_rule
$(HOST_T_OUT)/$(1): $(patsubst %.c,$(HOST_T_OUT)/obj/%.o,$(HOST_T_SRCS_$(1)))
	$$(HOST_T_CC) $$(HOST_T_LDFLAGS) -o $$@ $$^
endef
$(foreach t,$(HOST_TESTS),$(eval $(call host_link_rule,$(t))))

-include $(HOST_T_OBJS:.o=.d)
