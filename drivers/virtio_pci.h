/* SPDX-License-Identifier: MIT */
/*
 * The virtio 1.x "modern" PCI transport: the vendor-specific capabilities
 * that locate the common configuration, notification, ISR and device
 * configuration structures in the BARs, the device status handshake with
 * feature negotiation, and split virtqueues (drivers/virtqueue.h) set up
 * and notified through the common configuration.
 *
 * Polled drivers: queues ask for no interrupts and MSI-X stays off.
 */
#ifndef DRIVERS_VIRTIO_PCI_H
#define DRIVERS_VIRTIO_PCI_H

#include <stdbool.h>
#include <stdint.h>

#include "drivers/pci.h"
#include "drivers/virtqueue.h"

#define VIRTIO_PCI_VENDOR     0x1af4
#define VIRTIO_PCI_MAX_QUEUES 8 /* queues a driver here may set up */

/* Device status bits. */
#define VIRTIO_STATUS_ACKNOWLEDGE 1
#define VIRTIO_STATUS_DRIVER	  2
#define VIRTIO_STATUS_DRIVER_OK	  4
#define VIRTIO_STATUS_FEATURES_OK 8
#define VIRTIO_STATUS_NEEDS_RESET 64
#define VIRTIO_STATUS_FAILED	  128

/* Device-independent feature bits. */
#define VIRTIO_F_VERSION_1	 32
#define VIRTIO_F_ACCESS_PLATFORM 33

/* A configuration structure: in memory (mapped) or in I/O space. */
struct virtio_region {
	bool present;
	bool io;
	uintptr_t base; /* virtual address, or port */
	uint32_t len;
};

struct virtio_pci {
	char name[40]; /* "virtio-console 00:03.0": prefixes every log line */
	struct pci_device pci;
	struct virtio_region common, notify, isr, device;
	uint32_t notify_mult;
	uint32_t queue_notify[VIRTIO_PCI_MAX_QUEUES]; /* offsets in notify */
	uint16_t num_queues;
	uint64_t features; /* negotiated */
	bool failed;
};

/*
 * Find the transport's capabilities on @pci, map the BARs they use (above
 * 4 GiB too, hv/lib/mmio_map.h) and enable memory/I/O decoding and bus
 * mastering. @kind names the device in logs ("virtio-console"). False with
 * one log line naming what is missing.
 */
bool virtio_pci_open(struct virtio_pci *vp, const struct pci_device *pci, const char *kind);

/*
 * Reset, ACKNOWLEDGE, DRIVER, then offer (@wanted & what the device has) |
 * VIRTIO_F_VERSION_1; FEATURES_OK must stick. False (FAILED set, one log
 * line) when the device lacks a feature of @required or refuses.
 */
bool virtio_pci_negotiate(struct virtio_pci *vp, uint64_t wanted, uint64_t required);

/*
 * Set up queue @index with at most @max_size entries (the device's size,
 * rounded down to a power of two, is the other bound): ring memory from
 * the page allocator, addresses given to the device, queue enabled. The
 * size chosen is in vq->size. False (FAILED set) with a log line.
 */
bool virtio_pci_setup_queue(struct virtio_pci *vp, struct virtqueue *vq, uint16_t index,
			    uint16_t max_size);

/* Set DRIVER_OK: queues may be notified from now on. */
bool virtio_pci_driver_ok(struct virtio_pci *vp);

/* Set FAILED and log why. */
void virtio_pci_fail(struct virtio_pci *vp, const char *why);

/*
 * Tell the device queue @vq has new buffers (a full barrier first, so it
 * sees them), unless it said it does not need telling.
 */
void virtio_pci_notify(struct virtio_pci *vp, struct virtqueue *vq);

/* A full memory barrier: ring writes are visible before what follows. */
static inline void virtio_mb(void)
{
	__asm__ volatile("mfence" ::: "memory");
}

#endif
