// SPDX-License-Identifier: MIT
/*
 * Configuration mechanism #1: a dword address written to 0xCF8 (enable bit,
 * bus, device, function, register) selects what 0xCFC reads and writes.
 * Reads of an absent function return all ones.
 */
#include "drivers/pci.h"

#include "hv/lib/x86.h"

#define PCI_CONFIG_ADDRESS 0xcf8
#define PCI_CONFIG_DATA	   0xcfc
#define PCI_ENABLE	   (1u << 31)
#define PCI_MAX_BUS	   256
#define PCI_MAX_DEV	   32
#define PCI_MAX_FN	   8
#define PCI_CAP_MAX_WALK   48 /* (256 - 64) / 4 capabilities at most */

static inline uint32_t pci_inl(uint16_t port)
{
	uint32_t val;

	__asm__ volatile("inl %1, %0" : "=a"(val) : "Nd"(port));
	return val;
}

static uint32_t config_address(struct pci_addr a, uint16_t off)
{
	return PCI_ENABLE | (uint32_t)a.bus << 16 | (uint32_t)(a.dev & 31) << 11 |
	       (uint32_t)(a.fn & 7) << 8 | (off & 0xfc);
}

uint32_t pci_read32(struct pci_addr a, uint16_t off)
{
	outl(PCI_CONFIG_ADDRESS, config_address(a, off));
	return pci_inl(PCI_CONFIG_DATA);
}

uint16_t pci_read16(struct pci_addr a, uint16_t off)
{
	return (uint16_t)(pci_read32(a, off) >> ((off & 2) * 8));
}

uint8_t pci_read8(struct pci_addr a, uint16_t off)
{
	return (uint8_t)(pci_read32(a, off) >> ((off & 3) * 8));
}

void pci_write32(struct pci_addr a, uint16_t off, uint32_t val)
{
	outl(PCI_CONFIG_ADDRESS, config_address(a, off));
	outl(PCI_CONFIG_DATA, val);
}

/* A 16-bit access to its own byte lanes: the neighbouring register (e.g.
 * STATUS, whose bits are write-one-to-clear) is not written. */
void pci_write16(struct pci_addr a, uint16_t off, uint16_t val)
{
	outl(PCI_CONFIG_ADDRESS, config_address(a, off));
	__asm__ volatile("outw %0, %1" ::"a"(val), "Nd"((uint16_t)(PCI_CONFIG_DATA + (off & 2))));
}

bool pci_present(void)
{
	uint32_t saved, probe;

	saved = pci_inl(PCI_CONFIG_ADDRESS);
	outl(PCI_CONFIG_ADDRESS, PCI_ENABLE);
	probe = pci_inl(PCI_CONFIG_ADDRESS);
	outl(PCI_CONFIG_ADDRESS, saved);
	return probe == PCI_ENABLE;
}

static bool probe_fn(struct pci_addr a, uint16_t vendor, uint16_t device, struct pci_device *out)
{
	uint32_t id = pci_read32(a, PCI_VENDOR_ID);
	uint32_t cls;

	if ((id & 0xffff) != vendor || (id >> 16) != device)
		return false;
	cls = pci_read32(a, PCI_REVISION);
	out->addr = a;
	out->vendor = vendor;
	out->device = device;
	out->revision = (uint8_t)cls;
	out->class_code = cls >> 8;
	out->header_type = pci_read8(a, PCI_HEADER_TYPE) & PCI_HEADER_KIND_MASK;
	return true;
}

bool pci_find_device(uint16_t vendor, uint16_t device, struct pci_device *out)
{
	if (!pci_present())
		return false;
	for (unsigned bus = 0; bus < PCI_MAX_BUS; bus++) {
		for (unsigned dev = 0; dev < PCI_MAX_DEV; dev++) {
			struct pci_addr a = {(uint8_t)bus, (uint8_t)dev, 0};
			unsigned nfn = 1;

			if (pci_read16(a, PCI_VENDOR_ID) == 0xffff)
				continue;
			if (pci_read8(a, PCI_HEADER_TYPE) & PCI_HEADER_MULTIFUNCTION)
				nfn = PCI_MAX_FN;
			for (unsigned fn = 0; fn < nfn; fn++) {
				a.fn = (uint8_t)fn;
				if (probe_fn(a, vendor, device, out))
					return true;
			}
		}
	}
	return false;
}

uint8_t pci_find_cap(struct pci_addr a, uint8_t id, uint8_t after)
{
	uint8_t off;

	if (!(pci_read16(a, PCI_STATUS) & PCI_STATUS_CAP_LIST))
		return 0;
	off = after ? pci_read8(a, (uint16_t)(after + 1)) : pci_read8(a, PCI_CAP_PTR);
	for (int n = 0; n < PCI_CAP_MAX_WALK; n++) {
		off &= 0xfc;
		if (off < 0x40) /* 0 ends the list; the header holds no capability */
			return 0;
		if (pci_read8(a, off) == id)
			return off;
		off = pci_read8(a, (uint16_t)(off + 1));
	}
	return 0; /* a loop */
}

/* The bits a BAR decodes, found by writing all ones (decoding is off). */
static uint32_t bar_mask(struct pci_addr a, uint16_t off)
{
	uint32_t saved = pci_read32(a, off), mask;

	pci_write32(a, off, 0xffffffffu);
	mask = pci_read32(a, off);
	pci_write32(a, off, saved);
	return mask;
}

bool pci_read_bar(struct pci_addr a, unsigned index, struct pci_bar *bar)
{
	uint16_t off = (uint16_t)(PCI_BAR0 + 4 * index);
	uint16_t cmd;
	uint32_t lo, mask_lo, hi = 0, mask_hi = 0xffffffffu;

	*bar = (struct pci_bar){0};
	if (index >= PCI_NUM_BARS)
		return false;
	lo = pci_read32(a, off);
	bar->io = lo & 1;
	bar->is64 = !bar->io && ((lo >> 1) & 3) == 2;
	bar->prefetchable = !bar->io && (lo & 8);
	if (bar->is64 && index + 1 >= PCI_NUM_BARS)
		return false;

	cmd = pci_read16(a, PCI_COMMAND);
	pci_write16(a, PCI_COMMAND, cmd & ~(PCI_COMMAND_IO | PCI_COMMAND_MEMORY));
	mask_lo = bar_mask(a, off);
	if (bar->is64) {
		hi = pci_read32(a, (uint16_t)(off + 4));
		mask_hi = bar_mask(a, (uint16_t)(off + 4));
	}
	pci_write16(a, PCI_COMMAND, cmd);

	if (bar->io) {
		uint32_t m = (mask_lo & ~3u) | 0xffff0000u; /* ports are 16 bits */

		bar->base = lo & ~3u;
		bar->size = (mask_lo & ~3u) ? (uint64_t)(~m + 1u) : 0;
	} else {
		uint64_t m = ((uint64_t)mask_hi << 32) | (mask_lo & ~0xfu);

		bar->base = ((uint64_t)hi << 32) | (lo & ~0xfu);
		/* A 32-bit BAR's upper half reads as all ones above: 0 decodes nothing. */
		bar->size = (bar->is64 ? m != 0 : (mask_lo & ~0xfu) != 0) ? ~m + 1 : 0;
	}
	bar->present = bar->size != 0;
	return true;
}

void pci_enable(struct pci_addr a, uint16_t bits)
{
	uint16_t cmd = pci_read16(a, PCI_COMMAND);

	if ((cmd & bits) != bits)
		pci_write16(a, PCI_COMMAND, cmd | bits);
}
