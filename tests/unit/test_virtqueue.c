// SPDX-License-Identifier: MIT
/*
 * Split virtqueue bookkeeping (drivers/virtqueue.c) on plain memory: the
 * test plays the device, reading the available ring and writing the used
 * ring, including the hostile entries a driver must refuse to follow.
 */
#include <stdint.h>
#include <stdlib.h>

#include "drivers/virtqueue.h"
#include "tests/unit/check.h"

#define WHO "vq-test"

/* Ring memory, 4 KiB aligned as the page allocator hands it out. */
static uint8_t mem[3 * 4096] __attribute__((aligned(4096)));

static void setup(struct virtqueue *vq, uint16_t size, bool no_interrupt)
{
	memset(mem, 0, sizeof(mem));
	vq_init(vq, 1, size, mem, no_interrupt);
}

/* The device consumes the next available entry: its descriptor id. */
static uint16_t dev_avail_idx;
static uint16_t dev_used_idx;

static int device_take(struct virtqueue *vq)
{
	if (vq->avail->idx == dev_avail_idx)
		return -1;
	return vq->avail->ring[dev_avail_idx++ & (vq->size - 1)];
}

/* The device returns an entry (anything it likes) and publishes it. */
static void device_use(struct virtqueue *vq, uint32_t id, uint32_t len)
{
	vq->used->ring[dev_used_idx & (vq->size - 1)].id = id;
	vq->used->ring[dev_used_idx & (vq->size - 1)].len = len;
	vq->used->idx = ++dev_used_idx;
}

static void device_reset(void)
{
	dev_avail_idx = 0;
	dev_used_idx = 0;
}

static void test_size_ok(void)
{
	CHECK(!vq_size_ok(0));
	CHECK(vq_size_ok(1));
	CHECK(vq_size_ok(2));
	CHECK(!vq_size_ok(3));
	CHECK(vq_size_ok(16));
	CHECK(vq_size_ok(VQ_MAX_SIZE));
	CHECK(!vq_size_ok(VQ_MAX_SIZE * 2));
	CHECK(!vq_size_ok(100));
}

static void test_layout(void)
{
	struct vq_layout l = vq_layout(16);

	CHECK_EQ(sizeof(struct vring_desc), 16);
	CHECK_EQ(sizeof(struct vring_used_elem), 8);
	CHECK_EQ(l.desc_off, 0);
	CHECK_EQ(l.avail_off, 256);
	/* avail: 4 + 2 * 16 + 2 = 38 bytes -> 294, aligned to 4 */
	CHECK_EQ(l.used_off, 296);
	CHECK_EQ(l.total, 296 + 4 + 8 * 16 + 2);
	l = vq_layout(256);
	CHECK_EQ(l.avail_off, 4096);
	CHECK_EQ(l.used_off % 4, 0);
	CHECK(l.used_off >= 4096 + 4 + 512 + 2);
	CHECK(l.total <= sizeof(mem));
	l = vq_layout(1);
	CHECK_EQ(l.avail_off, 16);
	CHECK_EQ(l.used_off, 24);
}

static void test_init(void)
{
	struct virtqueue vq;
	struct vq_layout l = vq_layout(8);

	setup(&vq, 8, true);
	CHECK_EQ(vq.index, 1);
	CHECK_EQ(vq.size, 8);
	CHECK_EQ(vq.num_free, 8);
	CHECK_EQ(vq_in_flight(&vq), 0);
	CHECK((uint8_t *)vq.desc == mem + l.desc_off);
	CHECK((volatile uint8_t *)vq.avail == mem + l.avail_off);
	CHECK((volatile uint8_t *)vq.used == mem + l.used_off);
	CHECK_EQ(vq.avail->flags, VRING_AVAIL_F_NO_INTERRUPT);
	CHECK_EQ(vq.avail->idx, 0);
	setup(&vq, 8, false);
	CHECK_EQ(vq.avail->flags, 0);
}

static void test_alloc_all_then_none(void)
{
	struct virtqueue vq;
	bool seen[8] = {false};

	setup(&vq, 8, true);
	for (int i = 0; i < 8; i++) {
		int id = vq_alloc(&vq);

		CHECK(id >= 0 && id < 8);
		CHECK(!seen[id]);
		seen[id] = true;
	}
	CHECK_EQ(vq_alloc(&vq), -1);
	CHECK_EQ(vq.num_free, 0);
	vq_free(&vq, 5);
	CHECK_EQ(vq.num_free, 1);
	CHECK_EQ(vq_alloc(&vq), 5);
	CHECK_EQ(vq_alloc(&vq), -1);
	vq_free(&vq, 99); /* out of range: ignored */
	CHECK_EQ(vq.num_free, 0);
}

static void test_post_fills_desc_and_avail(void)
{
	struct virtqueue vq;
	int a, b;

	setup(&vq, 4, true);
	a = vq_alloc(&vq);
	b = vq_alloc(&vq);
	vq_post(&vq, (uint16_t)a, 0x123000, 4096, true);
	vq_post(&vq, (uint16_t)b, 0x456000, 17, false);
	CHECK_EQ(vq.desc[a].addr, 0x123000);
	CHECK_EQ(vq.desc[a].len, 4096);
	CHECK_EQ(vq.desc[a].flags, VRING_DESC_F_WRITE);
	CHECK_EQ(vq.desc[b].addr, 0x456000);
	CHECK_EQ(vq.desc[b].len, 17);
	CHECK_EQ(vq.desc[b].flags, 0);
	CHECK_EQ(vq.avail->idx, 2);
	CHECK_EQ(vq.avail->ring[0], a);
	CHECK_EQ(vq.avail->ring[1], b);
	CHECK_EQ(vq_in_flight(&vq), 2);
	/* Posting a descriptor the device already holds changes nothing. */
	vq_post(&vq, (uint16_t)a, 0x999000, 1, false);
	CHECK_EQ(vq.avail->idx, 2);
	CHECK_EQ(vq.desc[a].addr, 0x123000);
	/* Nor can it be freed while the device holds it. */
	vq_free(&vq, (uint16_t)a);
	CHECK_EQ(vq.num_free, 2);
	CHECK_NO_WARNINGS();
}

static void test_used_roundtrip(void)
{
	struct virtqueue vq;
	uint16_t id;
	uint32_t len;
	int a;

	setup(&vq, 4, true);
	device_reset();
	CHECK_EQ(vq_next_used(&vq, &id, &len, WHO), 0);
	a = vq_alloc(&vq);
	vq_post(&vq, (uint16_t)a, 0x10000, 4096, true);
	CHECK_EQ(device_take(&vq), a);
	CHECK_EQ(vq_next_used(&vq, &id, &len, WHO), 0);
	device_use(&vq, (uint32_t)a, 100);
	CHECK_EQ(vq_next_used(&vq, &id, &len, WHO), 1);
	CHECK_EQ(id, a);
	CHECK_EQ(len, 100);
	CHECK_EQ(vq_in_flight(&vq), 0);
	CHECK_EQ(vq_next_used(&vq, &id, &len, WHO), 0);
	/* The driver reposts the same descriptor (a receive buffer). */
	vq_post(&vq, id, 0x10000, 4096, true);
	CHECK_EQ(vq_in_flight(&vq), 1);
	CHECK_NO_WARNINGS();
}

static void test_used_id_out_of_range(void)
{
	struct virtqueue vq;
	uint16_t id;
	uint32_t len;
	int a;

	setup(&vq, 4, true);
	device_reset();
	a = vq_alloc(&vq);
	vq_post(&vq, (uint16_t)a, 0x10000, 64, true);
	device_use(&vq, 4, 10);		 /* == size: out of range */
	device_use(&vq, (uint32_t)a, 8); /* then a good one */
	CHECK_EQ(vq_next_used(&vq, &id, &len, WHO), 1);
	CHECK_EQ(id, a);
	CHECK_EQ(len, 8);
	CHECK_LOGGED(LOG_WARN, WHO ": queue 1", "id out of range", "id 4");
	CHECK_EQ(vq.bad_entries, 1);
	CHECK(!vq.broken);
}

static void test_used_id_not_held(void)
{
	struct virtqueue vq;
	uint16_t id;
	uint32_t len;
	int a, b;

	setup(&vq, 4, true);
	device_reset();
	a = vq_alloc(&vq);
	b = vq_alloc(&vq);
	vq_post(&vq, (uint16_t)a, 0x10000, 64, true);
	vq_post(&vq, (uint16_t)b, 0x20000, 64, true);
	device_use(&vq, (uint32_t)a, 1);
	device_use(&vq, (uint32_t)a, 2); /* returned twice */
	CHECK_EQ(vq_next_used(&vq, &id, &len, WHO), 1);
	CHECK_EQ(id, a);
	CHECK_EQ(vq_next_used(&vq, &id, &len, WHO), 0);
	CHECK_LOGGED(LOG_WARN, "descriptor not held by the device");
	CHECK_EQ(vq_in_flight(&vq), 1);
}

static void test_used_len_too_large(void)
{
	struct virtqueue vq;
	uint16_t id;
	uint32_t len = 12345;
	int a;

	setup(&vq, 4, true);
	device_reset();
	a = vq_alloc(&vq);
	vq_post(&vq, (uint16_t)a, 0x10000, 64, true);
	device_use(&vq, (uint32_t)a, 65);
	/* The descriptor is the driver's again, but with nothing in it. */
	CHECK_EQ(vq_next_used(&vq, &id, &len, WHO), 1);
	CHECK_EQ(id, a);
	CHECK_EQ(len, 0);
	CHECK_LOGGED(LOG_WARN, "length larger than the buffer", "len 65", "limit 64");
	CHECK_EQ(vq_in_flight(&vq), 0);
}

static void test_used_idx_runaway(void)
{
	struct virtqueue vq;
	uint16_t id;
	uint32_t len;
	int a;

	setup(&vq, 4, true);
	device_reset();
	a = vq_alloc(&vq);
	vq_post(&vq, (uint16_t)a, 0x10000, 64, true);
	vq.used->idx = 5; /* five entries in a ring of four */
	CHECK_EQ(vq_next_used(&vq, &id, &len, WHO), 0);
	CHECK(vq.broken);
	CHECK_LOGGED(LOG_ERROR, WHO ": queue 1", "queue abandoned");
	CHECK_EQ(vq_next_used(&vq, &id, &len, WHO), 0);
	CHECK_EQ(logcap_count(LOG_ERROR), 1); /* logged once */
}

static void test_bad_entries_log_limited(void)
{
	struct virtqueue vq;
	uint16_t id;
	uint32_t len;

	setup(&vq, 16, true);
	device_reset();
	for (int i = 0; i < 16; i++) {
		int a = vq_alloc(&vq);

		vq_post(&vq, (uint16_t)a, 0x10000 + 0x1000 * (uint64_t)a, 64, true);
	}
	/* 12 bogus entries, then none left that make sense. */
	for (int i = 0; i < 12; i++)
		device_use(&vq, 1000 + (uint32_t)i, 0);
	CHECK_EQ(vq_next_used(&vq, &id, &len, WHO), 0);
	CHECK_EQ(vq.bad_entries, 12);
	CHECK(logcap_count(LOG_WARN) <= 8);
	CHECK_LOGGED(LOG_WARN, "further bad entries not logged");
}

static void test_index_wraparound(void)
{
	struct virtqueue vq;
	uint16_t id;
	uint32_t len;

	setup(&vq, 8, true);
	device_reset();
	for (int i = 0; i < 8; i++) {
		int a = vq_alloc(&vq);

		vq_post(&vq, (uint16_t)a, 0x10000 + 0x1000 * (uint64_t)a, 4096, true);
	}
	/* 70000 round trips: both 16-bit indexes wrap. */
	for (uint32_t n = 0; n < 70000; n++) {
		int d = device_take(&vq);

		CHECK(d >= 0);
		device_use(&vq, (uint32_t)d, n % 4097);
		CHECK_EQ(vq_next_used(&vq, &id, &len, WHO), 1);
		CHECK_EQ(id, d);
		CHECK_EQ(len, n % 4097);
		vq_post(&vq, id, 0x10000 + 0x1000 * (uint64_t)id, 4096, true);
	}
	CHECK_EQ(vq_in_flight(&vq), 8);
	CHECK_EQ(vq.avail->idx, (uint16_t)(8 + 70000));
	CHECK_NO_WARNINGS();
}

static void test_transmit_pattern(void)
{
	struct virtqueue vq;
	uint16_t id;
	uint32_t len;
	unsigned posted = 0, done = 0;

	/* Like the console's transmit: alloc, post, reclaim out of order. */
	setup(&vq, 4, true);
	device_reset();
	while (posted < 4) {
		int a = vq_alloc(&vq);

		CHECK(a >= 0);
		vq_post(&vq, (uint16_t)a, 0x1000 * (uint64_t)(a + 1), 100, false);
		posted++;
	}
	CHECK_EQ(vq_alloc(&vq), -1);
	{
		int d0 = device_take(&vq), d1 = device_take(&vq);

		device_use(&vq, (uint32_t)d1, 0); /* completion order differs */
		device_use(&vq, (uint32_t)d0, 0);
		while (vq_next_used(&vq, &id, &len, WHO) == 1) {
			vq_free(&vq, id);
			done++;
		}
	}
	CHECK_EQ(done, 2);
	CHECK_EQ(vq.num_free, 2);
	CHECK_EQ(vq_in_flight(&vq), 2);
	CHECK(vq_alloc(&vq) >= 0);
	CHECK(vq_alloc(&vq) >= 0);
	CHECK_EQ(vq_alloc(&vq), -1);
	CHECK_NO_WARNINGS();
}

static void test_kick_needed(void)
{
	struct virtqueue vq;

	setup(&vq, 4, true);
	CHECK(vq_kick_needed(&vq));
	vq.used->flags = VRING_USED_F_NO_NOTIFY;
	CHECK(!vq_kick_needed(&vq));
}

static const struct check_test tests[] = {
    TEST_ENTRY(test_size_ok),
    TEST_ENTRY(test_layout),
    TEST_ENTRY(test_init),
    TEST_ENTRY(test_alloc_all_then_none),
    TEST_ENTRY(test_post_fills_desc_and_avail),
    TEST_ENTRY(test_used_roundtrip),
    TEST_ENTRY(test_used_id_out_of_range),
    TEST_ENTRY(test_used_id_not_held),
    TEST_ENTRY(test_used_len_too_large),
    TEST_ENTRY(test_used_idx_runaway),
    TEST_ENTRY(test_bad_entries_log_limited),
    TEST_ENTRY(test_index_wraparound),
    TEST_ENTRY(test_transmit_pattern),
    TEST_ENTRY(test_kick_needed),
};

CHECK_MAIN(tests)
