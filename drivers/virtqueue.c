// SPDX-License-Identifier: MIT
#include "drivers/virtqueue.h"

#include <string.h>

#include "hv/lib/log.h"

#define VQ_LOG_BAD_MAX 8 /* bad used entries logged per queue, then counted */
#define VQ_FREE_END    0xffff

/* The compiler must not move ring accesses across this (x86 is TSO). */
static inline void compiler_barrier(void)
{
	__asm__ volatile("" ::: "memory");
}

bool vq_size_ok(unsigned size)
{
	return size >= 1 && size <= VQ_MAX_SIZE && (size & (size - 1)) == 0;
}

static size_t align_up(size_t v, size_t a)
{
	return (v + a - 1) & ~(a - 1);
}

struct vq_layout vq_layout(uint16_t size)
{
	struct vq_layout l;

	l.desc_off = 0;
	l.avail_off = (size_t)size * sizeof(struct vring_desc);
	/* flags, idx, ring[size], used_event */
	l.used_off = align_up(l.avail_off + 4 + 2 * (size_t)size + 2, 4);
	/* flags, idx, ring[size], avail_event */
	l.total = l.used_off + 4 + sizeof(struct vring_used_elem) * (size_t)size + 2;
	return l;
}

void vq_init(struct virtqueue *vq, uint16_t index, uint16_t size, void *mem, bool no_interrupt)
{
	struct vq_layout l = vq_layout(size);

	memset(vq, 0, sizeof(*vq));
	vq->index = index;
	vq->size = size;
	vq->desc = (struct vring_desc *)((uint8_t *)mem + l.desc_off);
	vq->avail = (volatile struct vring_avail *)((uint8_t *)mem + l.avail_off);
	vq->used = (volatile struct vring_used *)((uint8_t *)mem + l.used_off);
	for (uint16_t i = 0; i < size; i++)
		vq->desc[i].next = i + 1 < size ? (uint16_t)(i + 1) : VQ_FREE_END;
	vq->free_head = 0;
	vq->num_free = size;
	vq->avail->flags = no_interrupt ? VRING_AVAIL_F_NO_INTERRUPT : 0;
}

int vq_alloc(struct virtqueue *vq)
{
	uint16_t id = vq->free_head;

	if (!vq->num_free || id >= vq->size)
		return -1;
	vq->free_head = vq->desc[id].next;
	vq->num_free--;
	vq->desc[id].next = 0;
	return id;
}

void vq_free(struct virtqueue *vq, uint16_t id)
{
	if (id >= vq->size || vq->held[id])
		return;
	vq->desc[id].next = vq->num_free ? vq->free_head : VQ_FREE_END;
	vq->free_head = id;
	vq->num_free++;
}

void vq_post(struct virtqueue *vq, uint16_t id, uint64_t addr, uint32_t len, bool device_writes)
{
	struct vring_desc *d;

	if (id >= vq->size || vq->held[id])
		return;
	d = &vq->desc[id];
	d->addr = addr;
	d->len = len;
	d->flags = device_writes ? VRING_DESC_F_WRITE : 0;
	d->next = 0;
	vq->held[id] = true;
	vq->num_held++;
	vq->avail->ring[vq->avail_idx & (vq->size - 1)] = id;
	/* The descriptor and the ring entry before the index that shows them. */
	compiler_barrier();
	vq->avail_idx++;
	vq->avail->idx = vq->avail_idx;
	compiler_barrier();
}

bool vq_kick_needed(const struct virtqueue *vq)
{
	return !(vq->used->flags & VRING_USED_F_NO_NOTIFY);
}

static void bad_entry(struct virtqueue *vq, const char *who, const char *what, uint32_t id,
		      uint32_t len, uint32_t limit)
{
	vq->bad_entries++;
	if (vq->bad_entries <= VQ_LOG_BAD_MAX)
		log_warn("%s: queue %u: used entry ignored: %s (id %u, len %u, limit %u)%s", who,
			 vq->index, what, id, len, limit,
			 vq->bad_entries == VQ_LOG_BAD_MAX ? "; further bad entries not logged"
							   : "");
}

int vq_next_used(struct virtqueue *vq, uint16_t *id, uint32_t *len, const char *who)
{
	/* Bounded: a device that keeps publishing bad entries cannot keep us here. */
	for (unsigned n = 0; n <= vq->size && !vq->broken; n++) {
		uint16_t used_idx = vq->used->idx;
		uint16_t pending = (uint16_t)(used_idx - vq->last_used);
		struct vring_used_elem e;

		if (pending == 0)
			return 0;
		if (pending > vq->size) {
			/* More entries than the ring has: nothing it says is usable. */
			vq->broken = true;
			log_err("%s: queue %u: used index %u is %u entries past ours (%u), more "
				"than the ring's %u; queue abandoned",
				who, vq->index, used_idx, pending, vq->last_used, vq->size);
			return 0;
		}
		/* The index first, then the entry it covers (loads are not reordered on x86). */
		compiler_barrier();
		e.id = vq->used->ring[vq->last_used & (vq->size - 1)].id;
		e.len = vq->used->ring[vq->last_used & (vq->size - 1)].len;
		vq->last_used++;
		if (e.id >= vq->size) {
			bad_entry(vq, who, "id out of range", e.id, e.len, vq->size);
			continue;
		}
		if (!vq->held[e.id]) {
			bad_entry(vq, who, "descriptor not held by the device", e.id, e.len, 0);
			continue;
		}
		vq->held[e.id] = false;
		vq->num_held--;
		if (e.len > vq->desc[e.id].len) {
			/* Not followed: the buffer is the driver's again, with nothing in it. */
			bad_entry(vq, who, "length larger than the buffer", e.id, e.len,
				  vq->desc[e.id].len);
			e.len = 0;
		}
		*id = (uint16_t)e.id;
		*len = e.len;
		return 1;
	}
	return 0;
}
