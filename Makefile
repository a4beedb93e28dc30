# SPDX-License-Identifier: MIT
# The hypervisor: a multiboot2 ELF image (build/hv.elf) and a hybrid GRUB ISO.
#
#   make run     set up what is missing, build, boot the demo under Bochs
#   make test    unit tests, the no-FPU check, then boot scenarios
#   make         just build build/hv.elf and build/hv.iso

BUILD    ?= build
HV_CACHE ?= $(HOME)/.cache/hv
export HV_CACHE

NEWLIB   := $(HV_CACHE)/newlib-3.3.0-v2
# scripts/deps.sh owns the Bochs version and recipe; the runner is told
# which binary to use.
BOCHS    := $(shell scripts/deps.sh bochs-path)
export BOCHS
LIBC     := $(NEWLIB)/lib/libc.a

CC       := gcc
# No SSE/x87 anywhere (-mgeneral-regs-only): guest FPU state must survive an
# exit untouched. Frame pointers stay for the exception backtrace.
CFLAGS   := -std=gnu11 -O2 -g -ffreestanding -fno-pic -fno-pie -mno-red-zone \
	    -mgeneral-regs-only -fno-stack-protector -fno-omit-frame-pointer \
	    -mcmodel=small -fno-asynchronous-unwind-tables \
	    -Wall -Wextra -Werror -Wno-unused-parameter \
	    -I. -nostdinc -isystem $(NEWLIB)/include \
	    -isystem $(shell $(CC) -print-file-name=include) -MMD -MP
ASFLAGS  := -I. -MMD -MP
LDFLAGS  := -nostdlib -static -no-pie -Wl,-T,linker.ld -Wl,-z,max-page-size=4096 \
	    -Wl,--build-id=none -Wl,-z,noexecstack
LIBS     := -Wl,--start-group $(LIBC) $(shell $(CC) -print-libgcc-file-name) -Wl,--end-group

SRCS     := $(wildcard $(foreach d,boot hv hv/lib hv/kvm hv/channel hv/loader hv/x86emu hv/irqchip vmx drivers abi,$(d)/*.S $(d)/*.c))
OBJS     := $(patsubst %,$(BUILD)/obj/%.o,$(basename $(SRCS)))

# The hypervisor command line for the ISO `make` and `make run` build.
CMDLINE     ?= console=com1 loglevel=info
RUN_CMDLINE ?= $(CMDLINE) on_done=exit

.PHONY: all deps run serve selftests test bench unit-test check-format format clean distclean
all: $(BUILD)/hv.elf $(BUILD)/hv.iso tools

deps:
	@scripts/deps.sh all

$(LIBC):
	@scripts/deps.sh packages
	@scripts/newlib.sh

$(BOCHS):
	@scripts/deps.sh bochs

$(BUILD)/obj/%.o: %.c $(LIBC)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/obj/%.o: %.S
	@mkdir -p $(dir $@)
	$(CC) $(ASFLAGS) -c $< -o $@

# The demo guest is part of the image (hv/loader/demo_guest.S).
DEMO_GUEST := $(BUILD)/guests/demo.elf
$(BUILD)/obj/hv/loader/demo_guest.o: hv/loader/demo_guest.S $(DEMO_GUEST)
	@mkdir -p $(dir $@)
	$(CC) $(ASFLAGS) -DDEMO_GUEST_ELF='"$(DEMO_GUEST)"' -c $< -o $@

# Two links: the first gives the addresses for the symbol table, the second
# adds the table after the code (linker.ld), which must move no function.
$(BUILD)/syms0.S: scripts/gensyms.sh
	@mkdir -p $(BUILD)
	scripts/gensyms.sh > $@

$(BUILD)/hv0.elf: $(OBJS) $(BUILD)/obj/syms0.o linker.ld
	$(CC) $(LDFLAGS) -o $@ $(OBJS) $(BUILD)/obj/syms0.o $(LIBS)

$(BUILD)/syms.S: $(BUILD)/hv0.elf scripts/gensyms.sh
	scripts/gensyms.sh $< > $@

$(BUILD)/obj/syms0.o: $(BUILD)/syms0.S
	$(CC) -c $< -o $@
$(BUILD)/obj/syms.o: $(BUILD)/syms.S
	$(CC) -c $< -o $@

$(BUILD)/hv.elf: $(BUILD)/hv0.elf $(BUILD)/obj/syms.o
	$(CC) $(LDFLAGS) -o $@ $(OBJS) $(BUILD)/obj/syms.o $(LIBS)
	@nm -n $(BUILD)/hv0.elf | grep -i ' t ' > $(BUILD)/text0.nm
	@nm -n $@ | grep -i ' t ' > $(BUILD)/text.nm
	@cmp -s $(BUILD)/text0.nm $(BUILD)/text.nm || \
		{ echo "symbol table moved code: see linker.ld" >&2; rm -f $@; exit 1; }
	@size $@ | tail -n 1 | awk '{printf "hv.elf: text %d, data %d, bss %d bytes\n", $$1, $$2, $$3}'

$(BUILD)/hv.iso: $(BUILD)/hv.elf scripts/mkiso.sh
	scripts/mkiso.sh $@ $< "$(CMDLINE)"

$(BUILD)/run.iso: $(BUILD)/hv.elf scripts/mkiso.sh
	scripts/mkiso.sh $@ $< "$(RUN_CMDLINE)"

run: deps $(BUILD)/run.iso
	python3 tests/run.py --interactive $(BUILD)/run.iso

# The hypervisor stays up under Bochs with its controller channel on a unix
# socket; run.py prints the hvctl and LD_PRELOAD lines to use it.
serve: deps $(BUILD)/hv.iso tools
	python3 tests/run.py --interactive --serve $(BUILD)/channel.sock $(BUILD)/hv.iso

# Linux 6.1's own KVM selftests (tests/selftests.list), built from Debian's
# linux-source-6.1 into the cache, run one by one against the hypervisor
# under Bochs through the preload shim; `make test` runs them too.
selftests: deps $(BUILD)/hv.iso tools
	@scripts/kvm-selftests.sh
	python3 tests/selftests.py $(BUILD) $(SELFTESTS)

test: deps $(BUILD)/hv.elf $(BUILD)/hv.iso guests tools remote-test
	@BUILD=$(BUILD) scripts/test.sh

# Source layout (.clang-format, Linux kernel style): make test runs the
# check; make format rewrites the files in place.
CLANG_FORMAT ?= clang-format-14
FORMAT_SRCS = $(shell git ls-files '*.c' '*.h' 2>/dev/null)

check-format:
	@$(CLANG_FORMAT) --dry-run --Werror $(FORMAT_SRCS) && \
		echo "check-format: $(words $(FORMAT_SRCS)) files as .clang-format wants"

format:
	$(CLANG_FORMAT) -i $(FORMAT_SRCS)

# Exit-path figures (a benchmark, never a timed test).
bench: deps $(BUILD)/hv.elf guests tools remote-test
	@BUILD=$(BUILD) scripts/bench.sh

clean:
	rm -rf $(BUILD)

# Also forget the cached Bochs and newlib builds.
distclean: clean
	rm -rf $(HV_CACHE)

include tests/unit/unit.mk
include guests/guests.mk
include tests/fuzz/fuzz.mk
include tools/tools.mk
include tests/remote/remote.mk
-include $(OBJS:.o=.d)
