# SPDX-License-Identifier: MIT
# The remote KVM test program (a KVM-selftests-like client of libhvkvm)
# and its flat real-mode guest blobs, built into $(BUILD)/tests/remote/.
#
#   include tests/remote/remote.mk     from the top Makefile, after tools.mk
#                                      (targets: remote-test, remote-clean)
#
# Each tests/remote/g_*.S is assembled (never linked: a flat image holds no
# relocation) and cut to $(BUILD)/tests/remote/g_*.bin; blobs.S pulls the
# binaries into the program with .incbin. The scenarios kvm-remote,
# kvm-remote-virtio (tests/scenarios/) and the bench kvm-remote-bench
# (tests/bench/) run the program through tests/hooks/kvm_remote.py.
#
# Only REMOTE_* variables and remote-* targets are defined here.

REMOTE_SAVED_GOAL := $(.DEFAULT_GOAL)

REMOTE_OUT    := $(BUILD)/tests/remote
REMOTE_TEST   := $(REMOTE_OUT)/kvm_remote_test
REMOTE_BLOBS  := $(patsubst tests/remote/%.S,$(REMOTE_OUT)/%.bin,$(wildcard tests/remote/g_*.S))
REMOTE_OBJS   := $(patsubst tests/remote/%.c,$(REMOTE_OUT)/obj/%.o,$(wildcard tests/remote/*.c))

.PHONY: remote-test remote-clean
remote-test: $(REMOTE_TEST)

$(REMOTE_BLOBS): $(REMOTE_OUT)/%.bin: tests/remote/%.S $(wildcard tests/remote/*.h) abi/hv_guest.h
	@mkdir -p $(REMOTE_OUT)/obj
	$(TOOLS_CC) -I. -c $< -o $(REMOTE_OUT)/obj/$*.o
	@if $(TOOLS_OBJDUMP) -r $(REMOTE_OUT)/obj/$*.o | grep -q '^[0-9a-f]\{8,\} '; then \
		echo "$<: a flat image must hold no relocation" >&2; exit 1; fi
	$(TOOLS_OBJCOPY) -O binary -j .text $(REMOTE_OUT)/obj/$*.o $@

$(REMOTE_OUT)/obj/blobs.o: tests/remote/blobs.S $(REMOTE_BLOBS)
	@mkdir -p $(@D)
	$(TOOLS_CC) -c $< -Wa,-I,$(REMOTE_OUT) -o $@

$(REMOTE_OBJS): $(REMOTE_OUT)/obj/%.o: tests/remote/%.c
	@mkdir -p $(@D)
	$(TOOLS_CC) $(TOOLS_CFLAGS) -c $< -o $@

$(REMOTE_TEST): $(REMOTE_OBJS) $(REMOTE_OUT)/obj/blobs.o $(TOOLS_LIB)
	$(TOOLS_CC) -o $@ $^ $(TOOLS_LDLIBS)

remote-clean:
	rm -rf $(REMOTE_OUT)

-include $(REMOTE_OBJS:.o=.d)

.DEFAULT_GOAL := $(REMOTE_SAVED_GOAL)
