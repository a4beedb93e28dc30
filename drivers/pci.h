/* SPDX-License-Identifier: MIT */
/*
 * PCI configuration space through ports 0xCF8/0xCFC (configuration
 * mechanism #1): finding a device by vendor/device id on buses 0..255,
 * walking its capability list, decoding its BARs, enabling it.
 */
#ifndef DRIVERS_PCI_H
#define DRIVERS_PCI_H

#include <stdbool.h>
#include <stdint.h>

/* Standard configuration header offsets and bits. */
#define PCI_VENDOR_ID	0x00
#define PCI_DEVICE_ID	0x02
#define PCI_COMMAND	0x04
#define PCI_STATUS	0x06
#define PCI_REVISION	0x08
#define PCI_CLASS_PROG	0x09
#define PCI_HEADER_TYPE 0x0e
#define PCI_BAR0	0x10
#define PCI_CAP_PTR	0x34

#define PCI_COMMAND_IO		 (1u << 0)
#define PCI_COMMAND_MEMORY	 (1u << 1)
#define PCI_COMMAND_MASTER	 (1u << 2)
#define PCI_COMMAND_INTX_DISABLE (1u << 10)
#define PCI_STATUS_CAP_LIST	 (1u << 4)
#define PCI_HEADER_MULTIFUNCTION 0x80
#define PCI_HEADER_KIND_MASK	 0x7f

#define PCI_CAP_ID_VENDOR 0x09
#define PCI_NUM_BARS	  6 /* header type 0 */

/* Bus/device/function: printed as "bb:dd.f". */
struct pci_addr {
	uint8_t bus, dev, fn;
};

struct pci_device {
	struct pci_addr addr;
	uint16_t vendor, device;
	uint8_t revision;
	uint32_t class_code; /* class << 16 | subclass << 8 | prog-if */
	uint8_t header_type; /* without the multi-function bit */
};

struct pci_bar {
	bool present; /* implemented (size != 0) */
	bool io;      /* an I/O BAR: base is a port number */
	bool is64;    /* a 64-bit memory BAR (it also used the next slot) */
	bool prefetchable;
	uint64_t base;
	uint64_t size;
};

/* Does a host bridge answer configuration mechanism #1? */
bool pci_present(void);

uint32_t pci_read32(struct pci_addr a, uint16_t off);
uint16_t pci_read16(struct pci_addr a, uint16_t off);
uint8_t pci_read8(struct pci_addr a, uint16_t off);
void pci_write32(struct pci_addr a, uint16_t off, uint32_t val);
void pci_write16(struct pci_addr a, uint16_t off, uint16_t val);

/*
 * The first function (in bus, device, function order) with this vendor and
 * device id; false when none answers (or there is no PCI).
 */
bool pci_find_device(uint16_t vendor, uint16_t device, struct pci_device *out);

/*
 * Capability list: the offset of the first capability with @id after the
 * one at @after (0: from the start of the list), or 0 when there is none.
 * A list that loops or points into the header ends the walk.
 */
uint8_t pci_find_cap(struct pci_addr a, uint8_t id, uint8_t after);

/*
 * Decode BAR @index (0..5) of a type 0 header: base and size (sized with
 * decoding briefly off). False for an index that is out of range or the
 * upper half of a 64-bit BAR; an unimplemented BAR gives present = false.
 */
bool pci_read_bar(struct pci_addr a, unsigned index, struct pci_bar *bar);

/* Set @bits in the command register (e.g. PCI_COMMAND_MEMORY | MASTER). */
void pci_enable(struct pci_addr a, uint16_t bits);

#endif
