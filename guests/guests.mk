# SPDX-License-Identifier: MIT
# Guest test programs (guests/): freestanding 32-bit multiboot 1 ELF images
# and one raw real-mode image, built into $(BUILD)/guests/.
#
#   make -f guests/guests.mk guests          standalone, from the repository root
#   include guests/guests.mk                 from the top Makefile (target: guests)
#
# Only GUEST_* variables and guests* targets are defined here, so the top
# Makefile's CC, CFLAGS, OBJS and pattern rules are untouched.

BUILD ?= build

# Included before any target of the including Makefile, this fragment must
# not become its default goal; standalone, `guests` is.
GUEST_SAVED_GOAL := $(.DEFAULT_GOAL)
GUEST_STANDALONE := $(if $(word 2,$(MAKEFILE_LIST)),,yes)

GUEST_SRC     := guests
GUEST_OUT     := $(BUILD)/guests
GUEST_CC      ?= gcc
GUEST_OBJCOPY ?= objcopy
GUEST_CFLAGS  := -m32 -march=i686 -std=gnu11 -O2 -g -ffreestanding -fno-pic -fno-pie \
		 -mno-sse -mno-mmx -mno-80387 -fno-stack-protector \
		 -fno-asynchronous-unwind-tables -fno-common \
		 -Wall -Wextra -Werror -Wno-unused-parameter \
		 -nostdinc -isystem $(shell $(GUEST_CC) -print-file-name=include) \
		 -I. -I$(GUEST_SRC)/lib -MMD -MP
GUEST_ASFLAGS := -m32 -I. -MMD -MP
GUEST_LDFLAGS := -m32 -nostdlib -static -no-pie -Wl,-m,elf_i386 \
		 -Wl,-z,max-page-size=4096 -Wl,--build-id=none -Wl,--no-warn-rwx-segments

# Multiboot 1 programs, one C file each (guests/<name>.c -> <name>.elf).
GUEST_PROGS   := cpuid msr portio mmio hlt vmcall cr exceptions triplefault spin irq xsetbv strio demo bench \
		 irqchip modules

GUEST_LIB_SRCS := $(wildcard $(GUEST_SRC)/lib/*.c $(GUEST_SRC)/lib/*.S)
GUEST_LIB_OBJS := $(patsubst $(GUEST_SRC)/%,$(GUEST_OUT)/obj/%.o,$(basename $(GUEST_LIB_SRCS)))
GUEST_ELFS     := $(GUEST_PROGS:%=$(GUEST_OUT)/%.elf)
GUEST_RAW      := $(GUEST_OUT)/modes.bin
# The demo for the hypervisor image (.incbin): the mb1 ELF, and the same
# image flat (it carries its load addresses, so a loader may take either).
GUEST_DEMO     := $(GUEST_OUT)/demo.elf
GUEST_DEMO_BIN := $(GUEST_OUT)/demo.bin
GUEST_ALL      := $(GUEST_ELFS) $(GUEST_RAW) $(GUEST_DEMO_BIN)
GUEST_DEPS     := $(GUEST_LIB_OBJS:.o=.d) $(GUEST_PROGS:%=$(GUEST_OUT)/obj/%.d) \
		  $(GUEST_OUT)/obj/modes/modes.d

.PHONY: guests guests-clean guests-bare
guests: $(GUEST_ALL)

$(GUEST_OUT)/obj/%.o: $(GUEST_SRC)/%.c
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(GUEST_CFLAGS) -c $< -o $@

$(GUEST_OUT)/obj/%.o: $(GUEST_SRC)/%.S
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(GUEST_ASFLAGS) -c $< -o $@

$(GUEST_ELFS): $(GUEST_OUT)/%.elf: $(GUEST_OUT)/obj/%.o $(GUEST_LIB_OBJS) $(GUEST_SRC)/lib/guest.ld
	$(GUEST_CC) $(GUEST_LDFLAGS) -Wl,-T,$(GUEST_SRC)/lib/guest.ld -o $@ \
		$(GUEST_OUT)/obj/lib/crt0.o $(filter-out %/crt0.o,$(GUEST_LIB_OBJS)) $<

$(GUEST_DEMO_BIN): $(GUEST_DEMO)
	$(GUEST_OBJCOPY) -O binary $< $@

$(GUEST_RAW): $(GUEST_OUT)/obj/modes/modes.o $(GUEST_SRC)/modes/modes.ld
	$(GUEST_CC) $(GUEST_LDFLAGS) -Wl,-T,$(GUEST_SRC)/modes/modes.ld \
		-o $(GUEST_OUT)/modes.elf $<
	$(GUEST_OBJCOPY) -O binary -j .text $(GUEST_OUT)/modes.elf $@

# Boot the programs WITHOUT the hypervisor (QEMU TCG, then Bochs 3.x) and
# check each behaves as it must there: guests/check_bare.py.
guests-bare: guests
	$(GUEST_SRC)/check_bare.py -p qemu -b $(GUEST_OUT)
	$(GUEST_SRC)/check_bare.py -p bochs -b $(GUEST_OUT)

guests-clean:
	rm -rf $(GUEST_OUT)

-include $(GUEST_DEPS)

ifeq ($(GUEST_STANDALONE),)
.DEFAULT_GOAL := $(GUEST_SAVED_GOAL)
endif
