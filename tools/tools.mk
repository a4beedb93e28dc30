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
		 abi/hvwire.c abi/hvrun.c abi/hvdelta.c abi/kvm_ioctls.c
TOOLS_LIB_OBJ := $(patsubst %.c,$(TOOLS_OUT)/obj/%.o,$(TOOLS_LIB_SRC))
TOOLS_LIB     := $(TOOLS_OUT)/libhvkvm.a
TOOLS_HVCTL   := $(TOOLS_OUT)/hvctl
TOOLS_TEST    := $(TOOLS_OUT)/test_libhvkvm
TOOLS_GUEST   := $(TOOLS_OUT)/hello16.bin
TOOLS_OBJS    := $(TOOLS_LIB_OBJ) $(TOOLS_OUT)/obj/tools/hvctl.o \
		 $(TOOLS_OUT)/obj/tools/test_libhvkvm.o

.PHONY: tools tools-test tools-clean
tools: $(TOOLS_LIB) $(TOOLS_HVCTL) $(TOOLS_GUEST)

# A static pattern rule, so it cannot compete with the top-level's rules.
$(TOOLS_OBJS): $(TOOLS_OUT)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(TOOLS_CC) $(TOOLS_CFLAGS) -c $< -o $@

$(TOOLS_LIB): $(TOOLS_LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(TOOLS_HVCTL): $(TOOLS_OUT)/obj/tools/hvctl.o $(TOOLS_LIB)
	$(TOOLS_CC) -o $@ $^ $(TOOLS_LDLIBS)

$(TOOLS_TEST): $(TOOLS_OUT)/obj/tools/test_libhvkvm.o $(TOOLS_LIB)
	$(TOOLS_CC) -o $@ $^ $(TOOLS_LDLIBS)

# Assembled, never linked: the image must hold no relocation.
$(TOOLS_GUEST): tools/testdata/hello16.S
	@mkdir -p $(TOOLS_OUT)/obj/tools
	$(TOOLS_CC) -c $< -o $(TOOLS_OUT)/obj/tools/hello16.o
	@if $(TOOLS_OBJDUMP) -r $(TOOLS_OUT)/obj/tools/hello16.o | grep -q '^[0-9a-f]\{8,\} '; then \
		echo "$<: a flat image must hold no relocation" >&2; exit 1; fi
	$(TOOLS_OBJCOPY) -O binary -j .text $(TOOLS_OUT)/obj/tools/hello16.o $@

tools-test: $(TOOLS_TEST)
	@mkdir -p $(BUILD)
	@log=$(TOOLS_OUT)/test_libhvkvm.log; \
	$(TOOLS_TEST) >$$log 2>&1; rc=$$?; cat $$log; \
	sum=$$(grep -E '^[0-9]+ passed, [0-9]+ failed' $$log | tail -n 1); \
	p=$$(echo "$$sum" | sed -n 's/^\([0-9]*\) passed.*/\1/p'); \
	f=$$(echo "$$sum" | sed -n 's/^[0-9]* passed, \([0-9]*\) failed.*/\1/p'); \
	p=$${p:-0}; f=$${f:-0}; \
	if [ -z "$$sum" ] || { [ $$rc -ne 0 ] && [ $$f -eq 0 ]; }; then \
		echo "FAIL $(TOOLS_TEST): exit status $$rc, summary '$$sum'"; f=$$((f + 1)); \
	fi; \
	echo "tools $$p $$f 0" >> $(BUILD)/results.txt; \
	[ $$f -eq 0 ]

tools-clean:
	rm -rf $(TOOLS_OUT)

-include $(TOOLS_OBJS:.o=.d)

ifeq ($(TOOLS_STANDALONE),yes)
.DEFAULT_GOAL := tools
else
.DEFAULT_GOAL := $(TOOLS_SAVED_GOAL)
endif
