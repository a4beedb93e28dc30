# SPDX-License-Identifier: MIT
#
# Coverage-guided fuzzing with libFuzzer, from Debian's clang (packages
# clang and libclang-rt-14-dev, both installed by scripts/deps.sh). Three
# targets:
#
#   hvwire    the channel's wire codec (abi/hvwire.c, the compact forms and
#             the hvpack packer)
#   kvm_api   the KVM API dispatcher and the VM code behind it (hv/kvm/kvm_api.c,
#             vmx/vm.c, vmx/*.c) on the fake hardware of tests/host/
#   channel   the channel server (hv/channel/channel.c) on a fake link, with the
#             same fakes underneath
#
# Include it from the top-level Makefile, or run it alone from the
# repository root:
#
#	make -f tests/fuzz/fuzz.mk fuzz FUZZ_SECONDS=60 [FUZZ_TARGETS="kvm_api"]
#
# fuzz builds $(BUILD)/fuzz/fuzz_<target>, then for each target: replays
# its regression inputs, fuzzes for FUZZ_SECONDS with the corpus
# $(BUILD)/fuzz/corpus/<target> (seeded from its seed directory, kept
# between runs), prints libFuzzer's final statistics and one line
# "fuzz <target>: N executions in Ss, cov C, ft F, corpus K inputs, no
# crash", and appends "<target> <executions> <cov> <ft> <corpus> <seconds>"
# to $(BUILD)/fuzz/stats.txt. It fails if an input makes a target crash,
# leak, time out or run out of memory: such inputs are copied to the
# target's regression directory, which the unit tests replay once the bug
# is fixed (hvwire: tests/unit/test_hvwire.c; the others:
# $(BUILD)/host/replay_<target>, tests/host/replay_main.c); commit them
# then.
#
#   target    seeds                        regressions
#   hvwire    tests/fuzz/seeds/ (files)     tests/fuzz/regressions/ (files)
#   kvm_api   tests/fuzz/seeds/kvm_api/     tests/fuzz/regressions/kvm_api/
#   channel   tests/fuzz/seeds/channel/     tests/fuzz/regressions/channel/
#
# Only FUZZ_* variables are used (and BUILD), so the top-level CC/CFLAGS
# are left alone.

FUZZ_SAVED_GOAL := $(.DEFAULT_GOAL)
FUZZ_STANDALONE := $(if $(filter 1,$(words $(MAKEFILE_LIST))),yes)

include tests/host/sources.mk

BUILD ?= build
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= hvwire kvm_api channel
FUZZ_WARN ?= -Wall -Wextra -Werror -Wno-unused-parameter
FUZZ_CFLAGS ?= -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined \
	       -fno-sanitize-recover=all $(FUZZ_WARN) -I.
# Objects of the host-built targets (linked with -fsanitize=fuzzer).
FUZZ_OBJ_CFLAGS ?= -std=gnu11 -g -O1 -fsanitize=fuzzer-no-link,address,undefined \
		   -fno-sanitize-recover=all $(HOST_INCLUDES)
FUZZ_LDFLAGS ?= -fsanitize=fuzzer,address,undefined
# Per-input time limit (seconds); more libFuzzer options can go here.
FUZZ_FLAGS ?= -timeout=10

FUZZ_DIR := tests/fuzz
FUZZ_OUT := $(BUILD)/fuzz
FUZZ_ARTIFACTS := $(FUZZ_OUT)/artifacts
FUZZ_BINS := $(addprefix $(FUZZ_OUT)/fuzz_,$(FUZZ_TARGETS))

# hvwire: one command, as it always was.
FUZZ_SRCS_hvwire := $(FUZZ_DIR)/fuzz_hvwire.c abi/hvwire.c abi/hvrun.c abi/hvdelta.c \
		     abi/hvpack.c
FUZZ_SEEDS_hvwire := $(FUZZ_DIR)/seeds
FUZZ_REGS_hvwire := $(FUZZ_DIR)/regressions

# The host-built targets: their own file, the hypervisor sources, the fakes.
FUZZ_HOST_COMMON := $(filter-out tests/host/harness.c,$(HOST_HV_SRCS) $(HOST_FAKE_SRCS))
FUZZ_SRCS_kvm_api := $(FUZZ_DIR)/fuzz_kvm_api.c $(FUZZ_HOST_COMMON)
FUZZ_SRCS_channel := $(FUZZ_DIR)/fuzz_channel.c hv/channel/channel.c $(FUZZ_HOST_COMMON) $(HOST_WIRE_SRCS)
FUZZ_SEEDS_kvm_api := $(FUZZ_DIR)/seeds/kvm_api
FUZZ_REGS_kvm_api := $(FUZZ_DIR)/regressions/kvm_api
FUZZ_SEEDS_channel := $(FUZZ_DIR)/seeds/channel
FUZZ_REGS_channel := $(FUZZ_DIR)/regressions/channel

FUZZ_HOST_SRCS := $(sort $(FUZZ_SRCS_kvm_api) $(FUZZ_SRCS_channel))
FUZZ_HOST_OBJS := $(patsubst %.c,$(FUZZ_OUT)/obj/%.o,$(FUZZ_HOST_SRCS))

.PHONY: fuzz fuzz-build fuzz-clean fuzz-check-cc

fuzz-build: $(FUZZ_BINS)

fuzz-check-cc:
	@command -v $(FUZZ_CC) >/dev/null || { \
		echo "fuzz: $(FUZZ_CC) not found: install clang and" \
		     "libclang-rt-14-dev (scripts/deps.sh packages)" >&2; exit 1; }

$(FUZZ_OUT)/fuzz_hvwire: $(FUZZ_SRCS_hvwire) abi/hvwire.h abi/hvrun.h abi/hvdelta.h abi/hvpack.h \
			 abi/errno.h \
			 $(FUZZ_DIR)/fuzz.mk | fuzz-check-cc
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_SRCS_hvwire) -o $@ || { \
		echo "fuzz: build failed; libFuzzer and the sanitizer runtimes" \
		     "come with libclang-rt-14-dev" >&2; exit 1; }

# The hypervisor's own sources warn without failing the build (their
# warnings are the freestanding build's business); ours are strict.
$(FUZZ_HOST_OBJS): $(FUZZ_OUT)/obj/%.o: %.c $(FUZZ_DIR)/fuzz.mk | fuzz-check-cc
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_OBJ_CFLAGS) $(if $(filter $(HOST_HV_SRCS) hv/channel/channel.c $(HOST_WIRE_SRCS),$<),-Wall -Wno-unused-parameter -Wno-string-plus-int,$(FUZZ_WARN)) \
		-MMD -MP -c $< -o $@

$(FUZZ_OUT)/fuzz_kvm_api: $(patsubst %.c,$(FUZZ_OUT)/obj/%.o,$(FUZZ_SRCS_kvm_api))
	$(FUZZ_CC) $(FUZZ_LDFLAGS) $^ -o $@

$(FUZZ_OUT)/fuzz_channel: $(patsubst %.c,$(FUZZ_OUT)/obj/%.o,$(FUZZ_SRCS_channel))
	$(FUZZ_CC) $(FUZZ_LDFLAGS) $^ -o $@

-include $(FUZZ_HOST_OBJS:.o=.d)

# Each target in turn (tests/fuzz/run_target.sh); all run even after a failure.
fuzz: $(FUZZ_BINS)
	@mkdir -p $(FUZZ_OUT)
	@fails=0; \
	$(foreach t,$(FUZZ_TARGETS),bash $(FUZZ_DIR)/run_target.sh $(t) $(FUZZ_OUT) \
		$(FUZZ_SEEDS_$(t)) $(FUZZ_REGS_$(t)) $(FUZZ_SECONDS) "$(FUZZ_FLAGS)" \
		|| fails=$$((fails + 1));) \
	if [ $$fails -ne 0 ]; then echo "fuzz: $$fails target(s) FAILED"; exit 1; fi; \
	echo "fuzz: $(words $(FUZZ_TARGETS)) target(s), no crash (figures in $(FUZZ_OUT)/stats.txt)"

fuzz-clean:
	rm -rf $(FUZZ_OUT)

# Standalone, fuzz is the default; included, do not steal the goal.
ifeq ($(FUZZ_STANDALONE),yes)
.DEFAULT_GOAL := fuzz
else
.DEFAULT_GOAL := $(FUZZ_SAVED_GOAL)
endif
