/* SPDX-License-Identifier: MIT */
/*
 * Split virtqueues (virtio 1.x): the descriptor table, the available ring
 * (driver -> device) and the used ring (device -> driver), and the driver's
 * bookkeeping of which descriptors the device holds. No port or register
 * access here (drivers/virtio_pci.c programs and notifies the device), so
 * the logic runs in host unit tests on plain memory.
 *
 * Every buffer is one descriptor (no chains, no indirect tables). What the
 * device writes in the used ring is untrusted: an id out of range, an id
 * the device does not hold, or a length larger than the buffer is logged
 * and skipped, never followed.
 */
#ifndef DRIVERS_VIRTQUEUE_H
#define DRIVERS_VIRTQUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VQ_MAX_SIZE 256 /* our limit; the spec allows 32768 */

#define VRING_DESC_F_NEXT	   1
#define VRING_DESC_F_WRITE	   2 /* the device writes this buffer */
#define VRING_AVAIL_F_NO_INTERRUPT 1
#define VRING_USED_F_NO_NOTIFY	   1

/* The rings' layouts (little-endian, as x86 is). */
struct vring_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct vring_avail {
	uint16_t flags;
	uint16_t idx;
	uint16_t ring[]; /* size entries, then used_event */
};

struct vring_used_elem {
	uint32_t id;
	uint32_t len;
};

struct vring_used {
	uint16_t flags;
	uint16_t idx;
	struct vring_used_elem ring[]; /* size entries, then avail_event */
};

/* Where the three parts sit in one block of memory for a queue of @size. */
struct vq_layout {
	size_t desc_off, avail_off, used_off, total;
};

struct virtqueue {
	uint16_t index; /* the queue's number on its device */
	uint16_t size;	/* a power of two, 1..VQ_MAX_SIZE */
	struct vring_desc *desc;
	volatile struct vring_avail *avail;
	volatile struct vring_used *used;
	uint16_t avail_idx; /* our copy of avail->idx */
	uint16_t last_used; /* the next used->idx entry to read */
	uint16_t num_free;  /* on the free list */
	uint16_t num_held;  /* held by the device */
	uint16_t free_head; /* free descriptors chained through .next */
	bool broken;	    /* the device's used->idx made no sense */
	uint64_t bad_entries;
	bool held[VQ_MAX_SIZE]; /* the device holds this descriptor */
};

/* True for a queue size we accept (power of two, 1..VQ_MAX_SIZE). */
bool vq_size_ok(unsigned size);

/* Offsets of the descriptor table (16-aligned), avail (2) and used (4). */
struct vq_layout vq_layout(uint16_t size);

/*
 * Set up @vq over @mem (zeroed, at least vq_layout(size).total bytes):
 * every descriptor free. @no_interrupt asks the device not to interrupt
 * (a polled driver).
 */
void vq_init(struct virtqueue *vq, uint16_t index, uint16_t size, void *mem, bool no_interrupt);

/* A free descriptor's id, or -1 when the device holds them all. */
int vq_alloc(struct virtqueue *vq);
/* Give back a descriptor the driver holds (e.g. one that was never posted). */
void vq_free(struct virtqueue *vq, uint16_t id);

/*
 * Hand descriptor @id (allocated, or returned by vq_next_used) to the
 * device: one buffer at @addr of @len bytes, device-writable when
 * @device_writes. The avail index is published after the entry.
 */
void vq_post(struct virtqueue *vq, uint16_t id, uint64_t addr, uint32_t len, bool device_writes);

/*
 * Must the device be notified after posting? (It may say it polls, with
 * VRING_USED_F_NO_NOTIFY.) Call after a full memory barrier.
 */
bool vq_kick_needed(const struct virtqueue *vq);

/*
 * The next buffer the device has finished with: 1 with its descriptor id
 * and the byte count the device wrote, 0 when there is none. Bad entries
 * are logged (@who names the device and queue) and skipped. The
 * descriptor is then the driver's again: vq_post it or vq_free it.
 * A used index more than the ring's size ahead marks the queue broken (one
 * error line; 0 from then on); at most 8 bad entries per queue are logged.
 */
int vq_next_used(struct virtqueue *vq, uint16_t *id, uint32_t *len, const char *who);

/* Descriptors the device holds. */
static inline unsigned vq_in_flight(const struct virtqueue *vq)
{
	return vq->num_held;
}

#endif
