# SPDX-License-Identifier: MIT
# Host tools: the remote KVM library (libhvkvm), the hvctl command line
# and its flat test guest, built into $(BUILD)/tools/.
#
#   make -f tools/tools.mk tools         standalone, from the repository root
#   make -f tools/tools.mk tools-test    the library against a fake hypervisor
#   include tools/tools.mk               from the top Makefile (targets: tools,
#                                        tools-test, tools-clean)
#
# tools-test prints "N passed, N failed", appends "tools <passed> <failed> 0"
# to $(BUILD)/results.txt and fails if anything failed.
#
# Only TOOLS_* variables and tools* targets are defined here, so the top
# Makefile's CC, CFLAGS and pattern rules are untouched.

BUILD ?= build

TOOLS_SAVED_GOAL := $(.DEFAULT_GOAL)
TOOLS_STANDALONE := $(if $(word 2,$(MAKEFILE_LIST)),,yes)

TOOLS_CC      ?= gcc
TOOLS_OBJCOPY ?= objcopy
TOOLS_OBJDUMP ?= objdump
TOOLS_CFLAGS  := -std=gnu11 -O2 -g -Wall -Wextra -Werror -I. -MMD -MP
TOOLS_LDLIBS  := -pthread

TOOLS_OUT     := $(BUILD)/tools
# The library's files (tools/libhvkvm/) and the abi/ codecs it uses.
TOOLS_LIB_SRC := $(addprefix tools/libhvkvm/,names.c link.c frames.c memory.c ioctl.c open.c) \
		 abi/hvwire.c abi/hvrun.c abi/hvdelta.c abi/hvpack.c abi/kvm_ioctls.c
TOOLS_LIB_OBJ := $(patsubst %.c,$(TOOLS_OUT)/obj/%.o,$(TOOLS_LIB_SRC))
TOOLS_LIB     := $(TOOLS_OUT)/libhvkvm.a
TOOLS_HVCTL   := $(TOOLS_OUT)/hvctl
TOOLS_TEST    := $(TOOLS_OUT)/test_libhvkvm
TOOLS_GUEST   := $(TOOLS_OUT)/hello16.bin
TOOLS_OBJS    := $(TOOLS_LIB_OBJ) $(TOOLS_OUT)/obj/tools/hvctl.o \
		 $(TOOLS_OUT)/obj/tools/test_libhvkvm.o \
		 $(TOOLS_OUT)/obj/tools/preload/test_preload.o
# The LD_PRELOAD shim: the library again, position independent, with only
# the shim's libc wrappers exported (tools/preload/).
TOOLS_PRELOAD     := $(TOOLS_OUT)/libhvkvm_preload.so
TOOLS_PRELOAD_OBJ := $(patsubst %.c,$(TOOLS_OUT)/pic/%.o,$(TOOLS_LIB_SRC) tools/preload/hvkvm_preload.c)
# A /dev/kvm program written for Linux alone: <linux/kvm.h> and libc.
TOOLS_KVM_HELLO   := $(BUILD)/tests/preload/kvm_hello
# Another: a signal to the thread in ioctl(KVM_RUN) stops the run.
TOOLS_KVM_SIGNAL  := $(BUILD)/tests/preload/kvm_signal
# kvm_hello under the shim against a fake hypervisor on a socketpair.
TOOLS_PRELOAD_TEST := $(TOOLS_OUT)/test_preload

.PHONY: tools tools-test tools-clean
tools: $(TOOLS_LIB) $(TOOLS_HVCTL) $(TOOLS_GUEST) $(TOOLS_PRELOAD) $(TOOLS_KVM_HELLO) \
       $(TOOLS_KVM_SIGNAL)

# A static pattern rule, so it cannot compete with the top-level's rules.
$(TOOLS_OBJS): $(TOOLS_OUT)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(TOOLS_CC) $(TOOLS_CFLAGS) -c $< -o $@

$(TOOLS_PRELOAD_OBJ): $(TOOLS_OUT)/pic/%.o: %.c
	@mkdir -p $(@D)
	$(TOOLS_CC) $(TOOLS_CFLAGS) -fPIC -fvisibility=hidden -c $< -o $@

$(TOOLS_PRELOAD): $(TOOLS_PRELOAD_OBJ)
	$(TOOLS_CC) -shared -Wl,-z,defs -o $@ $^ -ldl $(TOOLS_LDLIBS)

# No -I.: nothing of this repository may leak into it.
$(TOOLS_KVM_HELLO): tests/preload/kvm_hello.c
	@mkdir -p $(@D)
	$(TOOLS_CC) -std=gnu11 -O2 -g -Wall -Wextra -Werror -MMD -MP -o $@ $<

$(TOOLS_KVM_SIGNAL): tests/preload/kvm_signal.c
	@mkdir -p $(@D)
	$(TOOLS_CC) -std=gnu11 -O2 -g -Wall -Wextra -Werror -MMD -MP -pthread -o $@ $<

$(TOOLS_LIB): $(TOOLS_LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(TOOLS_HVCTL): $(TOOLS_OUT)/obj/tools/hvctl.o $(TOOLS_LIB)
	$(TOOLS_CC) -o $@ $^ $(TOOLS_LDLIBS)

$(TOOLS_TEST): $(TOOLS_OUT)/obj/tools/test_libhvkvm.o $(TOOLS_LIB)
	$(TOOLS_CC) -o $@ $^ $(TOOLS_LDLIBS)

$(TOOLS_PRELOAD_TEST): $(TOOLS_OUT)/obj/tools/preload/test_preload.o $(TOOLS_LIB)
	$(TOOLS_CC) -o $@ $^ $(TOOLS_LDLIBS)

# Assembled, never linked: the image must hold no relocation.
$(TOOLS_GUEST): tools/testdata/hello16.S
	@mkdir -p $(TOOLS_OUT)/obj/tools
	$(TOOLS_CC) -c $< -o $(TOOLS_OUT)/obj/tools/hello16.o
	@if $(TOOLS_OBJDUMP) -r $(TOOLS_OUT)/obj/tools/hello16.o | grep -q '^[0-9a-f]\{8,\} '; then \
		echo "$<: a flat image must hold no relocation" >&2; exit 1; fi
	$(TOOLS_OBJCOPY) -O binary -j .text $(TOOLS_OUT)/obj/tools/hello16.o $@

# Each program's "N passed, N failed" line is added up.
tools-test: $(TOOLS_TEST) $(TOOLS_PRELOAD_TEST) $(TOOLS_PRELOAD) $(TOOLS_KVM_HELLO)
	@mkdir -p $(BUILD)
	@tp=0; tf=0; \
	for t in "$(TOOLS_TEST)" "$(TOOLS_PRELOAD_TEST) $(TOOLS_PRELOAD) $(TOOLS_KVM_HELLO)"; do \
		prog=$${t%% *}; log=$$prog.log; \
		$$t >$$log 2>&1; rc=$$?; cat $$log; \
		sum=$$(grep -E '^[0-9]+ passed, [0-9]+ failed' $$log | tail -n 1); \
		p=$$(echo "$$sum" | sed -n 's/^\([0-9]*\) passed.*/\1/p'); \
		f=$$(echo "$$sum" | sed -n 's/^[0-9]* passed, \([0-9]*\) failed.*/\1/p'); \
		p=$${p:-0}; f=$${f:-0}; \
		if [ -z "$$sum" ] || { [ $$rc -ne 0 ] && [ $$f -eq 0 ]; }; then \
			echo "FAIL $$prog: exit status $$rc, summary '$$sum'"; f=$$((f + 1)); \
		fi; \
		tp=$$((tp + p)); tf=$$((tf + f)); \
	done; \
	echo "tools $$tp $$tf 0" >> $(BUILD)/results.txt; \
	[ $$tf -eq 0 ]

tools-clean:
	rm -rf $(TOOLS_OUT)

-include $(TOOLS_OBJS:.o=.d) $(TOOLS_PRELOAD_OBJ:.o=.d) $(TOOLS_KVM_HELLO).d $(TOOLS_KVM_SIGNAL).d

ifeq ($(TOOLS_STANDALONE),yes)
.DEFAULT_GOAL := tools
else
.DEFAULT_GOAL := $(TOOLS_SAVED_GOAL)
endif
