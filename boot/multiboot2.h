/* SPDX-License-Identifier: MIT */
/*
 * Multiboot2 boot-information parser.
 *
 * The boot loader hands us a block of tags in memory we do not control.
 * mb2_parse() copies every value it needs out of that block exactly once,
 * validates the copy, and fills a self-contained struct mb2_info; nothing
 * afterwards needs to look at the loader's block again (except through the
 * physical addresses recorded here, e.g. the EFI memory map).
 *
 * Pure logic: builds freestanding and on the host for unit tests.
 */
#ifndef BOOT_MULTIBOOT2_H
#define BOOT_MULTIBOOT2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Value the loader leaves in EAX when it enters a multiboot2 kernel. */
#define MB2_BOOTLOADER_MAGIC 0x36d76289u

/* Tag types of the boot-information block (multiboot2 spec 2.0). */
enum mb2_tag_type {
	MB2_TAG_END = 0,
	MB2_TAG_CMDLINE = 1,
	MB2_TAG_LOADER_NAME = 2,
	MB2_TAG_MODULE = 3,
	MB2_TAG_BASIC_MEMINFO = 4,
	MB2_TAG_BOOTDEV = 5,
	MB2_TAG_MMAP = 6,
	MB2_TAG_VBE = 7,
	MB2_TAG_FRAMEBUFFER = 8,
	MB2_TAG_ELF_SECTIONS = 9,
	MB2_TAG_APM = 10,
	MB2_TAG_EFI32_SYSTAB = 11,
	MB2_TAG_EFI64_SYSTAB = 12,
	MB2_TAG_SMBIOS = 13,
	MB2_TAG_ACPI_OLD = 14,
	MB2_TAG_ACPI_NEW = 15,
	MB2_TAG_NETWORK = 16,
	MB2_TAG_EFI_MMAP = 17,
	MB2_TAG_EFI_BS = 18,
	MB2_TAG_EFI32_IH = 19,
	MB2_TAG_EFI64_IH = 20,
	MB2_TAG_LOAD_BASE = 21,
	MB2_TAG_NR_KNOWN
};

/* Memory-map entry types. Anything else is treated as reserved. */
enum mb2_mem_type {
	MB2_MEM_AVAILABLE = 1,
	MB2_MEM_RESERVED = 2,
	MB2_MEM_ACPI_RECLAIM = 3,
	MB2_MEM_ACPI_NVS = 4,
	MB2_MEM_BAD = 5,
};

/* Framebuffer types (tag 8). */
enum mb2_fb_type {
	MB2_FB_INDEXED = 0,
	MB2_FB_RGB = 1,
	MB2_FB_EGA_TEXT = 2,
};

/*
 * Fixed capacities: the parser never allocates. Entries beyond these are
 * dropped with a warning (and counted in mb2_info.problems).
 */
#define MB2_MAX_REGIONS	       128
#define MB2_MAX_MODULES	       32
#define MB2_CMDLINE_MAX	       1024 /* bytes including the NUL */
#define MB2_MODULE_CMDLINE_MAX 256
#define MB2_LOADER_NAME_MAX    64
#define MB2_RSDP_MAX	       64 /* v2 RSDP is 36 bytes; leave room */

#define MB2_RSDP_V1_LEN 20
#define MB2_RSDP_V2_LEN 36

/* Smallest EFI memory descriptor (UEFI spec layout, 40 bytes). */
#define MB2_EFI_DESC_MIN 40

/* One memory-map entry exactly as the loader gave it (not sanitized). */
struct mb2_region {
	uint64_t base;
	uint64_t len;
	uint32_t type;
};

/*
 * A boot module. GRUB stores end as start + size, i.e. exclusive; see
 * pmm_collect_mb2_reserved() for how the allocator keeps it safe anyway.
 */
struct mb2_module {
	uint64_t start;
	uint64_t end;
	char cmdline[MB2_MODULE_CMDLINE_MAX];
};

struct mb2_framebuffer {
	bool present;
	uint64_t addr;
	uint32_t pitch; /* bytes per scan line */
	uint32_t width; /* pixels (or characters for EGA text) */
	uint32_t height;
	uint8_t bpp;
	uint8_t type; /* enum mb2_fb_type */
	/* Only for MB2_FB_RGB: bit position and width of each channel. */
	uint8_t red_pos, red_size;
	uint8_t green_pos, green_size;
	uint8_t blue_pos, blue_size;
};

struct mb2_info {
	/* Where the block was and how large the loader said it is. */
	uint64_t info_phys;
	uint32_t total_size;

	/* Warnings raised while parsing (clamps, rejections, duplicates). */
	unsigned problems;

	bool has_cmdline;
	char cmdline[MB2_CMDLINE_MAX];
	bool has_loader_name;
	char loader_name[MB2_LOADER_NAME_MAX];

	bool has_meminfo;
	uint32_t mem_lower_kib; /* below 1 MiB */
	uint32_t mem_upper_kib; /* from 1 MiB to the first hole */

	bool has_mmap;
	unsigned n_regions;
	unsigned regions_dropped; /* entries beyond MB2_MAX_REGIONS */
	struct mb2_region regions[MB2_MAX_REGIONS];

	unsigned n_modules;
	unsigned modules_dropped;
	struct mb2_module modules[MB2_MAX_MODULES];

	/* RSDP copy: version 0 = none, 1 = from tag 14, 2 = from tag 15. */
	unsigned rsdp_version;
	unsigned rsdp_len;
	uint8_t rsdp[MB2_RSDP_MAX];
	uint32_t rsdt_addr; /* decoded from the copy */
	uint64_t xsdt_addr; /* version 2 only */

	bool has_efi32_systab;
	uint32_t efi32_systab;
	bool has_efi64_systab;
	uint64_t efi64_systab;
	bool has_efi32_ih;
	uint32_t efi32_ih;
	bool has_efi64_ih;
	uint64_t efi64_ih;
	/* EFI boot services were left running by the loader (tag 18). */
	bool efi_bs_not_terminated;

	/* EFI memory map: descriptors stay in the info block, at efi_mmap_phys. */
	bool has_efi_mmap;
	uint64_t efi_mmap_phys;
	uint32_t efi_mmap_desc_size;
	uint32_t efi_mmap_desc_version;
	uint32_t efi_mmap_count;

	struct mb2_framebuffer fb;

	bool has_load_base;
	uint32_t load_base;
};

/*
 * Parse the boot-information block at @info (physical address @info_phys).
 * @avail is how many bytes from @info the caller guarantees are readable;
 * nothing past min(avail, total_size) is ever read. @info need not be
 * aligned.
 *
 * Returns 0 when @out is usable (possibly with clamps; see out->problems)
 * and a negative value when the block cannot be used at all (bad header).
 * @out is always fully initialised, even on failure.
 */
int mb2_parse(const void *info, size_t avail, uint64_t info_phys, struct mb2_info *out);

/* Log (log_info) a human-readable summary of @mb. */
void mb2_dump(const struct mb2_info *mb);

/* "available", "reserved", "ACPI reclaimable", ...; never NULL. */
const char *mb2_region_type_name(uint32_t type);

#endif
