/* SPDX-License-Identifier: MIT */
/*
 * Boot-guest loader: turns a GRUB module (its command line and its bytes)
 * into guest memory contents and the CPU state the guest starts with.
 *
 * Module command line:
 *
 *	[<path>] [name=<id>] [type=raw|mb1|mb2] [mem=<size>] [load=<addr>]
 *	         [budget=<ticks>] [irqchip=0|1] [modules=<n>]
 *	         [-- <guest command line>]
 *
 *  - name: 1..31 of [A-Za-z0-9_.-]; default "guest<index>".
 *  - type: absent means "look at the image": a valid multiboot2 header
 *    makes it mb2, else a valid multiboot header mb1, else it is refused.
 *  - mem: bytes, or with a K/M/G suffix (binary units); decimal or 0x hex;
 *    1M..1G, a multiple of 4 KiB; default 16M.
 *  - load: raw images only; default 0x7c00; 0x500 <= load < 0x10000.
 *  - irqchip: 1 gives the VM KVM_CREATE_IRQCHIP's LAPIC, IOAPIC and PICs
 *    and the guest an MP table and ACPI MADT describing them
 *    (guest_tables.h); default 0.
 *  - modules: the next <n> GRUB modules (0..GUEST_MODULES_MAX) are not
 *    guests but this guest's own multiboot modules, in order, each with
 *    its GRUB command line as the module string; default 0. The boot
 *    controller takes them; the loader gets them through
 *    struct guest_boot_extra.
 *  - everything after the word "--" is the guest's own command line (up
 *    to 255 bytes), handed to multiboot guests in their info block.
 *  - a first word starting with '/' or '(' is the module's file name, which
 *    some loaders put in front of the arguments; it is skipped.
 * Unknown keys, repeated keys and bad values refuse the guest.
 *
 * Guest memory is one flat host buffer covering guest-physical
 * [0, mem_size). The memory map a multiboot guest is given (guest_e820()):
 *
 *	[0, 0x9fc00)		available
 *	[0x9fc00, 0xa0000)	reserved (where a PC keeps its EBDA)
 *	[0xf0000, 0x100000)	reserved (where a PC keeps its BIOS)
 *	[0x100000, mem_size)	available
 *
 * Every byte an image loads must lie in an available range. Modules go
 * page-aligned, one after the other, from the first page at or above
 * 1 MiB past the highest loaded byte. The info block is put in the first
 * free page at or above 0x1000 below 0x9fc00, else in the page after the
 * highest loaded byte or module.
 *
 * Pure logic: builds freestanding and on the host for unit tests.
 */
#ifndef HV_GUEST_LOADER_H
#define HV_GUEST_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GUEST_NAME_MAX	  32  /* bytes including the NUL */
#define GUEST_CMDLINE_MAX 256 /* bytes including the NUL */
#define GUEST_MODULES_MAX 8   /* modules= */

#define GUEST_MEM_DEFAULT (16ull << 20)
#define GUEST_MEM_MIN	  (1ull << 20)
#define GUEST_MEM_MAX	  (1ull << 30)
#define GUEST_PAGE_SIZE	  4096ull

/*
 * Raw images start in real mode at CS:IP = 0:load with SS:SP = 0:load (the
 * stack grows down below the image), so load must be a 16-bit offset;
 * below 0x500 is where a PC keeps its interrupt vectors and BIOS data,
 * which real-mode code expects to leave alone. The image must end by
 * 0x9fc00, the top of available low memory.
 */
#define GUEST_RAW_LOAD_DEFAULT 0x7c00u
#define GUEST_RAW_LOAD_MIN     0x500u
#define GUEST_RAW_LOAD_LIMIT   0x10000u /* exclusive */

/* Values EAX holds when a multiboot / multiboot2 guest is entered. */
#define GUEST_MB1_BOOT_MAGIC 0x2badb002u
#define GUEST_MB2_BOOT_MAGIC 0x36d76289u

enum guest_type {
	GUEST_TYPE_AUTO, /* decided by guest_load() from the image */
	GUEST_TYPE_RAW,
	GUEST_TYPE_MB1,
	GUEST_TYPE_MB2,
};

struct guest_spec {
	char name[GUEST_NAME_MAX];
	enum guest_type type;
	uint64_t mem_size;
	uint32_t load;	     /* raw only */
	uint64_t tsc_budget; /* budget=: stop after this many TSC ticks; 0 = none */
	bool irqchip;	     /* irqchip=1 */
	unsigned n_modules;  /* modules=: GRUB modules that follow are this guest's */
	char cmdline[GUEST_CMDLINE_MAX];
};

/* One module handed to a multiboot guest, as GRUB hands one to a kernel. */
struct guest_module {
	const uint8_t *data;
	size_t len;
	const char *string; /* its command line; NULL is "" */
};

/* What a guest gets besides its image. */
struct guest_boot_extra {
	const struct guest_module *mods;
	unsigned n_mods; /* at most GUEST_MODULES_MAX */
	/*
	 * The ACPI RSDP already in guest memory (guest_tables_write()), copied
	 * into a multiboot2 guest's information as GRUB does: tag 14 (its
	 * first 20 bytes) and, for revision 2, tag 15 (all @rsdp_len bytes).
	 */
	const uint8_t *rsdp;
	uint32_t rsdp_len;
};

enum guest_cpu_mode {
	GUEST_MODE_REAL,	/* CS = cs (base cs << 4), IP = rip */
	GUEST_MODE_PROTECTED32, /* flat 4 GiB segments, paging off */
};

struct guest_entry {
	enum guest_cpu_mode mode;
	uint64_t rip, rsp, rax, rbx; /* rsp 0: the guest sets its own */
	uint16_t cs;		     /* real mode only */
};

/* Memory-map entry types: the values of E820, multiboot and multiboot2. */
#define GUEST_MEM_AVAILABLE 1u
#define GUEST_MEM_RESERVED  2u
#define GUEST_E820_MAX	    4

struct guest_e820_entry {
	uint64_t base;
	uint64_t len;
	uint32_t type;
};

/*
 * Parse module command line @modline (NULL is taken as "") of module
 * @index into @out. Returns 0, or a negative errno value after logging
 * one error line naming the offending key and value. @out is always
 * initialised: defaults, plus whatever was parsed before an error; the
 * strings in it are NUL-terminated.
 */
int guest_spec_parse(const char *modline, unsigned index, struct guest_spec *out);

/* "auto", "raw", "mb1", "mb2"; never NULL. */
const char *guest_type_name(enum guest_type type);

/*
 * The memory map of a guest with @mem_size bytes of memory: fills @map and
 * returns the number of entries (ranges are clipped to @mem_size, empty
 * ones left out).
 */
unsigned guest_e820(uint64_t mem_size, struct guest_e820_entry map[GUEST_E820_MAX]);

/*
 * Load @image (@image_len bytes) as described by @spec into guest memory
 * @mem (@mem_size bytes, a multiple of 4 KiB, 1 MiB..1 GiB) and fill
 * @entry. Memory outside the loaded segments and the info block is not
 * touched (the caller provides zeroed memory if it wants zeroes there).
 *
 * Returns 0, or a negative errno value after logging why; a refused image
 * leaves @mem exactly as it was, since every check runs before the first
 * write. Nothing outside [mem, mem + mem_size) is ever written and
 * nothing outside [image, image + image_len) is ever read.
 */
int guest_load(const struct guest_spec *spec, const uint8_t *image, size_t image_len, uint8_t *mem,
	       uint64_t mem_size, struct guest_entry *entry);

/*
 * guest_load() with modules and an RSDP for the information block (@extra
 * may be NULL: none). Modules need a multiboot guest; a raw image with
 * modules is refused. Module bytes land in available RAM, never over a
 * loaded segment or the info block, or the guest is refused (-ENOSPC when
 * mem= is too small for them).
 */
int guest_load_extra(const struct guest_spec *spec, const uint8_t *image, size_t image_len,
		     const struct guest_boot_extra *extra, uint8_t *mem, uint64_t mem_size,
		     struct guest_entry *entry);

#endif
