// SPDX-License-Identifier: MIT
#include "drivers/virtio_console.h"

#include <string.h>

#include "drivers/pci.h"
#include "drivers/virtio_pci.h"
#include "drivers/virtqueue.h"
#include "hv/lib/log.h"
#include "hv/lib/mm.h"
#include "hv/lib/x86.h"

#define RECEIVEQ  0
#define TRANSMITQ 1
#define RX_BUFS	  16
#define TX_BUFS	  32 /* a whole HVW_MAX_FRAME fits without waiting */
#define BUF_SIZE  4096
/* How long a transmit may make no progress: ~3 s at 3 GHz (TSC ticks). */
#define TX_STALL_TSC (1ull << 33)

static struct virtio_pci vp;
static struct virtqueue rxq, txq;
static uint64_t rx_buf_pa, tx_buf_pa; /* RX_BUFS / TX_BUFS pages, by descriptor id */
static bool ready;

/* A received buffer not yet wholly handed over. */
static struct {
	bool active;
	uint16_t id;
	uint32_t len, off;
} rx_pending;

static bool kick_tx;

const char *virtio_console_name(void)
{
	return vp.name;
}

static uint64_t rx_buf(uint16_t id)
{
	return rx_buf_pa + (uint64_t)id * BUF_SIZE;
}

static uint64_t tx_buf(uint16_t id)
{
	return tx_buf_pa + (uint64_t)id * BUF_SIZE;
}

static bool find_device(struct pci_device *d)
{
	if (!pci_present()) {
		log_warn(
		    "virtio-console: no device found (no PCI configuration space at port 0xcf8)");
		return false;
	}
	if (pci_find_device(VIRTIO_PCI_VENDOR, VIRTIO_CONSOLE_DEVICE_MODERN, d) ||
	    pci_find_device(VIRTIO_PCI_VENDOR, VIRTIO_CONSOLE_DEVICE_TRANSITIONAL, d))
		return true;
	log_warn("virtio-console: no device found (no PCI %04x:%04x or %04x:%04x on buses 0-255)",
		 VIRTIO_PCI_VENDOR, VIRTIO_CONSOLE_DEVICE_MODERN, VIRTIO_PCI_VENDOR,
		 VIRTIO_CONSOLE_DEVICE_TRANSITIONAL);
	return false;
}

bool virtio_console_init(void)
{
	struct pci_device d;

	ready = false;
	if (!find_device(&d) || !virtio_pci_open(&vp, &d, "virtio-console"))
		return false;
	/* Port 0 only: neither MULTIPORT nor SIZE nor EMERG_WRITE. */
	if (!virtio_pci_negotiate(&vp, 1ull << VIRTIO_F_ACCESS_PLATFORM, 0))
		return false;
	if (!virtio_pci_setup_queue(&vp, &rxq, RECEIVEQ, RX_BUFS) ||
	    !virtio_pci_setup_queue(&vp, &txq, TRANSMITQ, TX_BUFS))
		return false;
	rx_buf_pa = pages_alloc_zeroed(rxq.size, 1);
	tx_buf_pa = pages_alloc_zeroed(txq.size, 1);
	if (!rx_buf_pa || !tx_buf_pa) {
		virtio_pci_fail(&vp, "no memory for the receive and transmit buffers");
		return false;
	}
	/* Stock the receive queue; the device may not be told before DRIVER_OK. */
	for (int id; (id = vq_alloc(&rxq)) >= 0;)
		vq_post(&rxq, (uint16_t)id, rx_buf((uint16_t)id), BUF_SIZE, true);
	if (!virtio_pci_driver_ok(&vp))
		return false;
	virtio_pci_notify(&vp, &rxq);
	rx_pending.active = false;
	kick_tx = false;
	ready = true;
	log_info("%s: port 0 ready: receiveq %u x %u-byte buffers, transmitq %u x %u-byte buffers, "
		 "polled",
		 vp.name, rxq.size, BUF_SIZE, txq.size, BUF_SIZE);
	return true;
}

size_t virtio_console_receive(void (*put)(uint8_t), size_t max)
{
	size_t n = 0;
	bool reposted = false;

	if (!ready)
		return 0;
	while (n < max) {
		const uint8_t *b;

		if (!rx_pending.active) {
			uint16_t id;
			uint32_t len;

			if (vq_next_used(&rxq, &id, &len, vp.name) != 1)
				break;
			rx_pending.active = true;
			rx_pending.id = id;
			rx_pending.len = len; /* checked against BUF_SIZE by vq_next_used */
			rx_pending.off = 0;
		}
		b = phys_to_virt(rx_buf(rx_pending.id));
		while (rx_pending.off < rx_pending.len && n < max) {
			put(b[rx_pending.off++]);
			n++;
		}
		if (rx_pending.off == rx_pending.len) {
			vq_post(&rxq, rx_pending.id, rx_buf(rx_pending.id), BUF_SIZE, true);
			rx_pending.active = false;
			reposted = true;
		}
	}
	if (reposted)
		virtio_pci_notify(&vp, &rxq);
	return n;
}

/* Take back every transmit buffer the device is done with. */
static void tx_reclaim(void)
{
	uint16_t id;
	uint32_t len;

	while (vq_next_used(&txq, &id, &len, vp.name) == 1)
		vq_free(&txq, id);
}

static void tx_kick(void)
{
	if (kick_tx) {
		virtio_pci_notify(&vp, &txq);
		kick_tx = false;
	}
}

/* Poll until @done holds or the device made no progress for TX_STALL_TSC. */
static bool tx_wait(bool (*done)(void))
{
	uint64_t start = rdtsc();
	unsigned held = vq_in_flight(&txq);

	tx_kick();
	for (;;) {
		tx_reclaim();
		if (done())
			return true;
		if (vq_in_flight(&txq) != held) { /* progress: restart the clock */
			held = vq_in_flight(&txq);
			start = rdtsc();
		}
		if (txq.broken || vp.failed || rdtsc() - start > TX_STALL_TSC)
			return false;
		pause();
	}
}

static bool tx_has_free(void)
{
	return txq.num_free > 0;
}

static bool tx_all_back(void)
{
	return vq_in_flight(&txq) == 0;
}

void virtio_console_write(const void *buf, size_t len)
{
	const uint8_t *p = buf;

	if (!ready)
		return;
	while (len) {
		size_t chunk = len < BUF_SIZE ? len : BUF_SIZE;
		int id;

		tx_reclaim();
		id = vq_alloc(&txq);
		if (id < 0) {
			if (!tx_wait(tx_has_free)) {
				log_warn("%s: transmit stalled (the host takes nothing); %zu bytes "
					 "dropped",
					 vp.name, len);
				return;
			}
			continue;
		}
		memcpy(phys_to_virt(tx_buf((uint16_t)id)), p, chunk);
		vq_post(&txq, (uint16_t)id, tx_buf((uint16_t)id), (uint32_t)chunk, false);
		kick_tx = true;
		p += chunk;
		len -= chunk;
	}
	tx_kick();
}

void virtio_console_flush(void)
{
	if (!ready)
		return;
	if (!tx_wait(tx_all_back))
		log_warn("%s: flush gave up: the host still holds %u transmit buffers", vp.name,
			 vq_in_flight(&txq));
}
