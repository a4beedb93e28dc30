# SPDX-License-Identifier: MIT
#
# Coverage-guided fuzzing of the channel's wire codec (abi/hvwire.c) with
# libFuzzer, from Debian's clang (packages clang and libclang-rt-14-dev,
# both installed by scripts/deps.sh).
#
# Include it from the top-level Makefile, or run it alone from the
# repository root:
#
#	make -f tests/fuzz/fuzz.mk fuzz FUZZ_SECONDS=60
#
# fuzz builds $(BUILD)/fuzz/fuzz_hvwire, replays tests/fuzz/regressions/,
# then fuzzes for FUZZ_SECONDS with the corpus $(BUILD)/fuzz/corpus (seeded
# from tests/fuzz/seeds/, kept between runs) and prints libFuzzer's final
# statistics and one "fuzz: ..." summary line. It fails if an input makes
# the target crash, leak, time out or run out of memory: such inputs are
# copied to tests/fuzz/regressions/, which the unit tests replay
# (tests/unit/test_hvwire.c) once the bug is fixed; commit them then.
#
# Only FUZZ_* variables are used (and BUILD), so the top-level CC/CFLAGS
# are left alone.

FUZZ_SAVED_GOAL := $(.DEFAULT_GOAL)
FUZZ_STANDALONE := $(if $(filter 1,$(words $(MAKEFILE_LIST))),yes)

BUILD ?= build
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
FUZZ_CFLAGS ?= -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined \
	       -fno-sanitize-recover=all -Wall -Wextra -Werror -I.
# Per-input time limit (seconds); more libFuzzer options can go here.
FUZZ_FLAGS ?= -timeout=10

FUZZ_DIR := tests/fuzz
FUZZ_OUT := $(BUILD)/fuzz
FUZZ_BIN := $(FUZZ_OUT)/fuzz_hvwire
FUZZ_CORPUS := $(FUZZ_OUT)/corpus
FUZZ_ARTIFACTS := $(FUZZ_OUT)/artifacts
FUZZ_SRCS := $(FUZZ_DIR)/fuzz_hvwire.c abi/hvwire.c abi/hvrun.c abi/hvdelta.c

.PHONY: fuzz fuzz-build fuzz-clean

fuzz-build: $(FUZZ_BIN)

$(FUZZ_BIN): $(FUZZ_SRCS) abi/hvwire.h abi/hvrun.h abi/hvdelta.h hv/errno.h $(FUZZ_DIR)/fuzz.mk
	@mkdir -p $(@D)
	@command -v $(FUZZ_CC) >/dev/null || { \
		echo "fuzz: $(FUZZ_CC) not found: install clang and" \
		     "libclang-rt-14-dev (scripts/deps.sh packages)" >&2; exit 1; }
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_SRCS) -o $@ || { \
		echo "fuzz: build failed; libFuzzer and the sanitizer runtimes" \
		     "come with libclang-rt-14-dev" >&2; exit 1; }

fuzz: $(FUZZ_BIN)
	@mkdir -p $(FUZZ_CORPUS) $(FUZZ_ARTIFACTS)
	@cp $(FUZZ_DIR)/seeds/* $(FUZZ_CORPUS)/
	@regs=$$(find $(FUZZ_DIR)/regressions -type f 2>/dev/null | sort); \
	if [ -n "$$regs" ]; then \
		if ! $(FUZZ_BIN) $$regs >$(FUZZ_OUT)/regressions.log 2>&1; then \
			tail -n 40 $(FUZZ_OUT)/regressions.log; \
			echo "fuzz: FAILED: a regression input in $(FUZZ_DIR)/regressions/ fails again"; \
			exit 1; \
		fi; \
		echo "fuzz: $$(echo "$$regs" | wc -l) regression input(s) pass"; \
	fi
	@echo "fuzz: fuzzing for $(FUZZ_SECONDS)s (log: $(FUZZ_OUT)/fuzz.log)"
	@rm -f $(FUZZ_ARTIFACTS)/*
	@$(FUZZ_BIN) -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
		-artifact_prefix=$(FUZZ_ARTIFACTS)/ $(FUZZ_FLAGS) $(FUZZ_CORPUS) \
		>$(FUZZ_OUT)/fuzz.log 2>&1; rc=$$?; \
	log=$(FUZZ_OUT)/fuzz.log; \
	grep -E '^#[0-9]+[[:space:]]+DONE|^stat::' $$log; \
	execs=$$(sed -n 's/^stat::number_of_executed_units: *//p' $$log); \
	done_line=$$(grep -E '^#[0-9]+[[:space:]]+DONE' $$log | tail -n 1); \
	cov=$$(echo "$$done_line" | sed -n 's/.* cov: \([0-9]*\).*/\1/p'); \
	ft=$$(echo "$$done_line" | sed -n 's/.* ft: \([0-9]*\).*/\1/p'); \
	corp=$$(echo "$$done_line" | sed -n 's/.* corp: \([0-9]*\).*/\1/p'); \
	found=$$(find $(FUZZ_ARTIFACTS) -type f \( -name 'crash-*' -o -name 'leak-*' \
		-o -name 'timeout-*' -o -name 'oom-*' \)); \
	if [ $$rc -ne 0 ] || [ -n "$$found" ]; then \
		tail -n 60 $$log; \
		mkdir -p $(FUZZ_DIR)/regressions; \
		for a in $$found; do cp $$a $(FUZZ_DIR)/regressions/; \
			echo "fuzz: new regression input $(FUZZ_DIR)/regressions/$$(basename $$a)"; done; \
		echo "fuzz: FAILED (status $$rc) after $${execs:-?} executions"; \
		exit 1; \
	fi; \
	echo "fuzz: $${execs:-?} executions in $(FUZZ_SECONDS)s, cov $${cov:-?}," \
	     "ft $${ft:-?}, corpus $${corp:-?} inputs, no crash"

fuzz-clean:
	rm -rf $(FUZZ_OUT)

# Standalone, fuzz is the default; included, do not steal the goal.
ifeq ($(FUZZ_STANDALONE),yes)
.DEFAULT_GOAL := fuzz
else
.DEFAULT_GOAL := $(FUZZ_SAVED_GOAL)
endif
