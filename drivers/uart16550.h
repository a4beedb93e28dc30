/* SPDX-License-Identifier: MIT */
/* 16550-compatible UART, polled. */
#ifndef DRIVERS_UART16550_H
#define DRIVERS_UART16550_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define UART_CLOCK_HZ 1843200u /* 115200 * 16: the divisor base */

struct uart {
	uint16_t port;
	uint32_t baud;
	bool present; /* the scratch register answered: something is there */
	/*
	 * Called over and over while uart_write()/uart_flush() wait for the
	 * transmitter (NULL: nothing). Output is polled with interrupts off,
	 * and a 64 KiB frame takes ~6 s at 115200 baud: a receiver on the same
	 * UART drains its 16-byte FIFO here so that nothing arriving
	 * meanwhile is overrun. Must not write to this UART.
	 */
	void (*rx_drain)(void);
};

/* Program 8N1 at baud with FIFOs on; false if no UART answers at port (rx_drain: NULL). */
bool uart_init(struct uart *u, uint16_t port, uint32_t baud);
void uart_write(const struct uart *u, const char *buf, size_t len);
/* Wait (bounded) until every queued byte has left the transmitter. */
void uart_flush(const struct uart *u);
/* Raise the UART's interrupt line when a byte arrives (IER bit 0). */
void uart_enable_rx_irq(const struct uart *u);
/* Next received byte, or -1 if none is waiting. */
int uart_getc(const struct uart *u);

#endif
