/* SPDX-License-Identifier: MIT */
/*
 * virtio-console (virtio 1.x, PCI 1af4:1043, or the transitional 1af4:1003
 * through its modern capabilities), polled, port 0 only: MULTIPORT is not
 * negotiated, so queue 0 receives and queue 1 transmits. The receive queue
 * is kept stocked with 4 KiB buffers; transmitted bytes are copied into
 * driver-owned 4 KiB buffers. Not reentrant: receive may run in interrupt
 * context, but never while write or flush runs (the channel calls those
 * with interrupts off), and the two directions share no state.
 */
#ifndef DRIVERS_VIRTIO_CONSOLE_H
#define DRIVERS_VIRTIO_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VIRTIO_CONSOLE_DEVICE_MODERN	   0x1043
#define VIRTIO_CONSOLE_DEVICE_TRANSITIONAL 0x1003
#define VIRTIO_CONSOLE_F_SIZE		   0
#define VIRTIO_CONSOLE_F_MULTIPORT	   1
#define VIRTIO_CONSOLE_F_EMERG_WRITE	   2

/*
 * Find the first virtio-console on PCI and bring it up. False, with one
 * log line naming what is missing or refused, when there is none to use.
 */
bool virtio_console_init(void);

/* "virtio-console bb:dd.f" (after a successful init). */
const char *virtio_console_name(void);

/*
 * Hand at most @max received bytes, in order, to @put; a buffer only partly
 * handed over keeps the rest for the next call, and goes back to the device
 * once empty. Returns the number of bytes handed over.
 */
size_t virtio_console_receive(void (*put)(uint8_t), size_t max);

/*
 * Queue @len bytes for the host, in chunks of up to 4 KiB. Waits (polling
 * the used ring) only while every transmit buffer is in the device's
 * hands; after a few seconds without progress the rest is dropped, with a
 * log line.
 */
void virtio_console_write(const void *buf, size_t len);

/* Wait (bounded likewise) until the device has taken everything written. */
void virtio_console_flush(void);

#endif
