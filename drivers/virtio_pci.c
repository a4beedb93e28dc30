// SPDX-License-Identifier: MIT
/*
 * Facts from the virtio 1.x specification, "Virtio Over PCI Bus":
 * vendor-specific capabilities (id 0x09) each name a structure by cfg_type
 * (1 common, 2 notify, 3 ISR, 4 device, 5 PCI cfg access) with the BAR,
 * offset and length holding it; the notify capability adds
 * notify_off_multiplier. A queue is notified by writing its index (16
 * bits) at notify + queue_notify_off * multiplier. 64-bit fields of the
 * common configuration are written as two 32-bit halves, low first.
 */
#include "drivers/virtio_pci.h"

#include <stdio.h>
#include <string.h>

#include "hv/lib/log.h"
#include "hv/lib/mm.h"
#include "hv/lib/mmio_map.h"
#include "hv/lib/x86.h"

/* Capability layout (struct virtio_pci_cap). */
#define VCAP_LEN	    2
#define VCAP_CFG_TYPE	    3
#define VCAP_BAR	    4
#define VCAP_OFFSET	    8
#define VCAP_LENGTH	    12
#define VCAP_NOTIFY_MULT    16
#define VCAP_MIN_LEN	    16
#define VCAP_NOTIFY_MIN_LEN 20

#define VIRTIO_PCI_CAP_COMMON_CFG 1
#define VIRTIO_PCI_CAP_NOTIFY_CFG 2
#define VIRTIO_PCI_CAP_ISR_CFG	  3
#define VIRTIO_PCI_CAP_DEVICE_CFG 4

/* Common configuration (struct virtio_pci_common_cfg). */
#define VCOMMON_DFSELECT      0x00
#define VCOMMON_DF	      0x04
#define VCOMMON_GFSELECT      0x08
#define VCOMMON_GF	      0x0c
#define VCOMMON_MSIX	      0x10
#define VCOMMON_NUMQ	      0x12
#define VCOMMON_STATUS	      0x14
#define VCOMMON_CFGGENERATION 0x15
#define VCOMMON_Q_SELECT      0x16
#define VCOMMON_Q_SIZE	      0x18
#define VCOMMON_Q_MSIX	      0x1a
#define VCOMMON_Q_ENABLE      0x1c
#define VCOMMON_Q_NOFF	      0x1e
#define VCOMMON_Q_DESCLO      0x20
#define VCOMMON_Q_DESCHI      0x24
#define VCOMMON_Q_AVAILLO     0x28
#define VCOMMON_Q_AVAILHI     0x2c
#define VCOMMON_Q_USEDLO      0x30
#define VCOMMON_Q_USEDHI      0x34
#define VCOMMON_MIN_LEN	      0x38

#define VIRTIO_MSI_NO_VECTOR 0xffff
#define RESET_SPIN_LIMIT     1000000

/* ---- register access: memory-mapped or port I/O ---- */

static uint8_t r8(const struct virtio_region *r, uint32_t off)
{
	if (r->io)
		return inb((uint16_t)(r->base + off));
	return *(volatile uint8_t *)(r->base + off);
}

static uint16_t r16(const struct virtio_region *r, uint32_t off)
{
	uint16_t v;

	if (!r->io)
		return *(volatile uint16_t *)(r->base + off);
	__asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"((uint16_t)(r->base + off)));
	return v;
}

static uint32_t r32(const struct virtio_region *r, uint32_t off)
{
	uint32_t v;

	if (!r->io)
		return *(volatile uint32_t *)(r->base + off);
	__asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"((uint16_t)(r->base + off)));
	return v;
}

static void w8(const struct virtio_region *r, uint32_t off, uint8_t v)
{
	if (r->io)
		outb((uint16_t)(r->base + off), v);
	else
		*(volatile uint8_t *)(r->base + off) = v;
}

static void w16(const struct virtio_region *r, uint32_t off, uint16_t v)
{
	if (r->io)
		__asm__ volatile("outw %0, %1" ::"a"(v), "Nd"((uint16_t)(r->base + off)));
	else
		*(volatile uint16_t *)(r->base + off) = v;
}

static void w32(const struct virtio_region *r, uint32_t off, uint32_t v)
{
	if (r->io)
		outl((uint16_t)(r->base + off), v);
	else
		*(volatile uint32_t *)(r->base + off) = v;
}

static void w64(const struct virtio_region *r, uint32_t off, uint64_t v)
{
	w32(r, off, (uint32_t)v);
	w32(r, off + 4, (uint32_t)(v >> 32));
}

/* ---- capabilities ---- */

static const char *const cfg_names[] = {
    [VIRTIO_PCI_CAP_COMMON_CFG] = "common",
    [VIRTIO_PCI_CAP_NOTIFY_CFG] = "notify",
    [VIRTIO_PCI_CAP_ISR_CFG] = "isr",
    [VIRTIO_PCI_CAP_DEVICE_CFG] = "device",
};

struct found_cap {
	bool present;
	uint8_t bar;
	uint32_t offset, length, mult;
};

/* What a BAR is and whether it is usable; mapped once. */
struct bar_state {
	bool read, ok;
	struct pci_bar bar;
};

static void bar_text(char *buf, size_t n, unsigned i, const struct pci_bar *b)
{
	if (b->io)
		snprintf(buf, n, " BAR%u io 0x%llx (%llu bytes)", i, (unsigned long long)b->base,
			 (unsigned long long)b->size);
	else
		snprintf(buf, n, " BAR%u mem%s 0x%llx (%llu KiB%s)", i, b->is64 ? "64" : "32",
			 (unsigned long long)b->base, (unsigned long long)(b->size >> 10),
			 b->prefetchable ? ", prefetchable" : "");
}

/* Turn a capability into a region; false with a log line. */
static bool make_region(struct virtio_pci *vp, struct bar_state *bars, unsigned type,
			const struct found_cap *c, struct virtio_region *out)
{
	struct bar_state *bs = &bars[c->bar];
	const struct pci_bar *b = &bs->bar;
	uint64_t end = (uint64_t)c->offset + c->length;

	if (!bs->read) {
		bs->read = true;
		bs->ok = pci_read_bar(vp->pci.addr, c->bar, &bs->bar) && bs->bar.present;
		if (bs->ok && !b->io && b->base == 0) {
			log_err("%s: BAR%u was not assigned an address by the firmware", vp->name,
				c->bar);
			return false;
		}
		if (bs->ok && !b->io && !mmio_map(b->base, b->size)) {
			log_err("%s: BAR%u at 0x%llx cannot be mapped", vp->name, c->bar,
				(unsigned long long)b->base);
			return false;
		}
	}
	if (!bs->ok) {
		log_err("%s: the %s configuration is in BAR%u, which is not implemented", vp->name,
			cfg_names[type], c->bar);
		return false;
	}
	if (end > b->size || (b->io && b->base + end > 0x10000)) {
		log_err("%s: the %s configuration [0x%x+0x%x) lies outside BAR%u (%llu bytes)",
			vp->name, cfg_names[type], c->offset, c->length, c->bar,
			(unsigned long long)b->size);
		return false;
	}
	out->present = true;
	out->io = b->io;
	out->base = (uintptr_t)(b->base + c->offset);
	out->len = c->length;
	return true;
}

bool virtio_pci_open(struct virtio_pci *vp, const struct pci_device *pci, const char *kind)
{
	struct found_cap caps[VIRTIO_PCI_CAP_DEVICE_CFG + 1] = {0};
	struct bar_state bars[PCI_NUM_BARS] = {0};
	struct pci_addr a = pci->addr;
	struct virtio_region *regions[] = {
	    [VIRTIO_PCI_CAP_COMMON_CFG] = &vp->common,
	    [VIRTIO_PCI_CAP_NOTIFY_CFG] = &vp->notify,
	    [VIRTIO_PCI_CAP_ISR_CFG] = &vp->isr,
	    [VIRTIO_PCI_CAP_DEVICE_CFG] = &vp->device,
	};
	char line[256];
	size_t used;
	bool uses_bar[PCI_NUM_BARS] = {false};
	uint16_t cmd_bits = PCI_COMMAND_MASTER | PCI_COMMAND_INTX_DISABLE;

	*vp = (struct virtio_pci){0};
	vp->pci = *pci;
	snprintf(vp->name, sizeof(vp->name), "%s %02x:%02x.%x", kind, a.bus, a.dev, a.fn);
	if (pci->header_type != 0) {
		log_err("%s: header type %u, not a plain device", vp->name, pci->header_type);
		return false;
	}

	for (uint8_t off = pci_find_cap(a, PCI_CAP_ID_VENDOR, 0); off;
	     off = pci_find_cap(a, PCI_CAP_ID_VENDOR, off)) {
		uint8_t len = pci_read8(a, off + VCAP_LEN);
		uint8_t type = pci_read8(a, off + VCAP_CFG_TYPE);
		uint8_t bar = pci_read8(a, off + VCAP_BAR);
		struct found_cap *c;

		if (type < VIRTIO_PCI_CAP_COMMON_CFG || type > VIRTIO_PCI_CAP_DEVICE_CFG)
			continue; /* PCI cfg access, shared memory, ...: not used */
		c = &caps[type];
		/* The first usable capability of a type is the one to use. */
		if (c->present || len < VCAP_MIN_LEN || bar >= PCI_NUM_BARS)
			continue;
		if (type == VIRTIO_PCI_CAP_NOTIFY_CFG && len < VCAP_NOTIFY_MIN_LEN)
			continue;
		c->present = true;
		c->bar = bar;
		c->offset = pci_read32(a, off + VCAP_OFFSET);
		c->length = pci_read32(a, off + VCAP_LENGTH);
		if (type == VIRTIO_PCI_CAP_NOTIFY_CFG)
			c->mult = pci_read32(a, off + VCAP_NOTIFY_MULT);
	}
	if (!caps[VIRTIO_PCI_CAP_COMMON_CFG].present || !caps[VIRTIO_PCI_CAP_NOTIFY_CFG].present) {
		log_err("%s: no virtio 1.x %s capability (a legacy-only device?)", vp->name,
			!caps[VIRTIO_PCI_CAP_COMMON_CFG].present ? "common configuration"
								 : "notification");
		return false;
	}

	for (unsigned t = VIRTIO_PCI_CAP_COMMON_CFG; t <= VIRTIO_PCI_CAP_DEVICE_CFG; t++) {
		if (!caps[t].present)
			continue;
		if (!make_region(vp, bars, t, &caps[t], regions[t]))
			return false;
		uses_bar[caps[t].bar] = true;
		cmd_bits |= regions[t]->io ? PCI_COMMAND_IO : PCI_COMMAND_MEMORY;
	}
	if (vp->common.len < VCOMMON_MIN_LEN) {
		log_err("%s: common configuration is %u bytes, need %u", vp->name, vp->common.len,
			VCOMMON_MIN_LEN);
		return false;
	}
	vp->notify_mult = caps[VIRTIO_PCI_CAP_NOTIFY_CFG].mult;
	pci_enable(a, cmd_bits);

	used = (size_t)snprintf(line, sizeof(line), "%s: %04x:%04x rev %u%s;", vp->name,
				pci->vendor, pci->device, pci->revision,
				pci->device < 0x1040 ? " (transitional)" : "");
	for (unsigned i = 0; i < PCI_NUM_BARS && used < sizeof(line); i++) {
		if (!uses_bar[i])
			continue;
		bar_text(line + used, sizeof(line) - used, i, &bars[i].bar);
		used += strnlen(line + used, sizeof(line) - used);
	}
	for (unsigned t = VIRTIO_PCI_CAP_COMMON_CFG;
	     t <= VIRTIO_PCI_CAP_DEVICE_CFG && used < sizeof(line); t++)
		if (caps[t].present)
			used +=
			    (size_t)snprintf(line + used, sizeof(line) - used, "%s %s BAR%u+0x%x",
					     t == VIRTIO_PCI_CAP_COMMON_CFG ? ";" : ",",
					     cfg_names[t], caps[t].bar, caps[t].offset);
	if (used < sizeof(line))
		snprintf(line + used, sizeof(line) - used, " (notify multiplier %u)",
			 vp->notify_mult);
	log_info("%s", line);
	return true;
}

/* ---- status handshake ---- */

void virtio_pci_fail(struct virtio_pci *vp, const char *why)
{
	log_err("%s: %s; device marked FAILED", vp->name, why);
	vp->failed = true;
	if (vp->common.present)
		w8(&vp->common, VCOMMON_STATUS,
		   r8(&vp->common, VCOMMON_STATUS) | VIRTIO_STATUS_FAILED);
}

static void add_status(struct virtio_pci *vp, uint8_t bits)
{
	w8(&vp->common, VCOMMON_STATUS, r8(&vp->common, VCOMMON_STATUS) | bits);
}

bool virtio_pci_negotiate(struct virtio_pci *vp, uint64_t wanted, uint64_t required)
{
	const struct virtio_region *c = &vp->common;
	uint64_t dev, drv;
	uint8_t status;
	char why[128];
	int i;

	w8(c, VCOMMON_STATUS, 0); /* reset */
	for (i = 0; i < RESET_SPIN_LIMIT && r8(c, VCOMMON_STATUS) != 0; i++)
		pause();
	if (i == RESET_SPIN_LIMIT) {
		virtio_pci_fail(vp, "reset did not complete (status stays non-zero)");
		return false;
	}
	add_status(vp, VIRTIO_STATUS_ACKNOWLEDGE);
	add_status(vp, VIRTIO_STATUS_DRIVER);

	w32(c, VCOMMON_DFSELECT, 0);
	dev = r32(c, VCOMMON_DF);
	w32(c, VCOMMON_DFSELECT, 1);
	dev |= (uint64_t)r32(c, VCOMMON_DF) << 32;
	required |= 1ull << VIRTIO_F_VERSION_1;
	if ((dev & required) != required) {
		snprintf(why, sizeof(why), "device features 0x%llx lack required 0x%llx%s",
			 (unsigned long long)dev, (unsigned long long)(required & ~dev),
			 !(dev & (1ull << VIRTIO_F_VERSION_1))
			     ? " (VIRTIO_F_VERSION_1: legacy only)"
			     : "");
		virtio_pci_fail(vp, why);
		return false;
	}
	drv = dev & (wanted | required);
	w32(c, VCOMMON_GFSELECT, 0);
	w32(c, VCOMMON_GF, (uint32_t)drv);
	w32(c, VCOMMON_GFSELECT, 1);
	w32(c, VCOMMON_GF, (uint32_t)(drv >> 32));
	add_status(vp, VIRTIO_STATUS_FEATURES_OK);
	status = r8(c, VCOMMON_STATUS);
	if (!(status & VIRTIO_STATUS_FEATURES_OK)) {
		snprintf(why, sizeof(why), "device refused features 0x%llx (FEATURES_OK cleared)",
			 (unsigned long long)drv);
		virtio_pci_fail(vp, why);
		return false;
	}
	vp->features = drv;
	vp->num_queues = r16(c, VCOMMON_NUMQ);
	log_info("%s: features 0x%llx offered, 0x%llx accepted (VERSION_1%s), %u queues", vp->name,
		 (unsigned long long)dev, (unsigned long long)drv,
		 drv & (1ull << VIRTIO_F_ACCESS_PLATFORM) ? ", ACCESS_PLATFORM" : "",
		 vp->num_queues);
	return true;
}

bool virtio_pci_setup_queue(struct virtio_pci *vp, struct virtqueue *vq, uint16_t index,
			    uint16_t max_size)
{
	const struct virtio_region *c = &vp->common;
	char why[128];
	uint16_t dev_size, size;
	uint32_t noff;
	uint64_t mem, notify_at;
	struct vq_layout l;
	size_t pages;

	if (index >= vp->num_queues || index >= VIRTIO_PCI_MAX_QUEUES) {
		snprintf(why, sizeof(why), "queue %u missing (the device has %u)", index,
			 vp->num_queues);
		virtio_pci_fail(vp, why);
		return false;
	}
	w16(c, VCOMMON_Q_SELECT, index);
	dev_size = r16(c, VCOMMON_Q_SIZE);
	if (dev_size == 0) {
		snprintf(why, sizeof(why), "queue %u is not available (size 0)", index);
		virtio_pci_fail(vp, why);
		return false;
	}
	if (r16(c, VCOMMON_Q_ENABLE)) {
		snprintf(why, sizeof(why), "queue %u is enabled after a reset", index);
		virtio_pci_fail(vp, why);
		return false;
	}
	size = max_size < dev_size ? max_size : dev_size;
	if (size > VQ_MAX_SIZE)
		size = VQ_MAX_SIZE;
	while (size & (size - 1))
		size &= (uint16_t)(size - 1); /* down to a power of two */

	noff = r16(c, VCOMMON_Q_NOFF);
	notify_at = (uint64_t)noff * vp->notify_mult;
	if (notify_at + 2 > vp->notify.len) {
		snprintf(why, sizeof(why),
			 "queue %u notify offset %u x %u is outside the notify region (%u bytes)",
			 index, noff, vp->notify_mult, vp->notify.len);
		virtio_pci_fail(vp, why);
		return false;
	}

	l = vq_layout(size);
	pages = (l.total + PAGE_SIZE - 1) / PAGE_SIZE;
	mem = pages_alloc_zeroed(pages, 1);
	if (!mem) {
		snprintf(why, sizeof(why), "no memory for queue %u (%zu pages)", index, pages);
		virtio_pci_fail(vp, why);
		return false;
	}
	vq_init(vq, index, size, phys_to_virt(mem), true);
	vp->queue_notify[index] = (uint32_t)notify_at;

	w16(c, VCOMMON_Q_SIZE, size);
	w16(c, VCOMMON_Q_MSIX, VIRTIO_MSI_NO_VECTOR);
	w64(c, VCOMMON_Q_DESCLO, mem + l.desc_off);
	w64(c, VCOMMON_Q_AVAILLO, mem + l.avail_off);
	w64(c, VCOMMON_Q_USEDLO, mem + l.used_off);
	virtio_mb(); /* the rings are initialised before the device may use them */
	w16(c, VCOMMON_Q_ENABLE, 1);
	return true;
}

bool virtio_pci_driver_ok(struct virtio_pci *vp)
{
	uint8_t status;

	add_status(vp, VIRTIO_STATUS_DRIVER_OK);
	status = r8(&vp->common, VCOMMON_STATUS);
	if (status & VIRTIO_STATUS_NEEDS_RESET) {
		virtio_pci_fail(vp, "device needs a reset right after DRIVER_OK");
		return false;
	}
	return true;
}

void virtio_pci_notify(struct virtio_pci *vp, struct virtqueue *vq)
{
	/* Descriptors and avail index visible before the device is told,
	 * and before its NO_NOTIFY flag is read. */
	virtio_mb();
	if (vp->failed || !vq_kick_needed(vq))
		return;
	w16(&vp->notify, vp->queue_notify[vq->index], vq->index);
}
