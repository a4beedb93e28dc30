// SPDX-License-Identifier: MIT
/*
 * 16550 UART. Output waits for the transmit-holding register to empty and
 * then fills the 16-byte FIFO, so nothing is dropped at any baud rate; a
 * bounded wait keeps a missing or wedged UART from hanging the hypervisor.
 * While it waits, the owner's rx_drain() (if set) empties the receive FIFO.
 */
#include "drivers/uart16550.h"
#include "hv/lib/x86.h"

enum {
	UART_DATA = 0, /* RBR/THR, or DLL with DLAB */
	UART_IER = 1,  /* or DLM with DLAB */
	UART_FCR = 2,
	UART_LCR = 3,
	UART_MCR = 4,
	UART_LSR = 5,
	UART_SCR = 7,
};

#define LCR_8N1		    0x03
#define LCR_DLAB	    0x80
#define FCR_ENABLE_CLEAR_14 0xc7 /* FIFO on, clear both, RX trigger 14 */
#define MCR_DTR_RTS_OUT2    0x0b
#define LSR_DATA_READY	    0x01
#define LSR_THR_EMPTY	    0x20
#define LSR_TX_IDLE	    0x40 /* FIFO and shift register both empty */
#define UART_FIFO_DEPTH	    16
#define THRE_SPIN_LIMIT	    1000000 /* ~ tens of ms on real hardware */

bool uart_init(struct uart *u, uint16_t port, uint32_t baud)
{
	uint16_t divisor = (uint16_t)(UART_CLOCK_HZ / 16 / baud);

	u->port = port;
	u->baud = baud;
	u->rx_drain = NULL;
	/* A UART keeps what is written to its scratch register. */
	outb(port + UART_SCR, 0x5a);
	u->present = inb(port + UART_SCR) == 0x5a;
	if (!u->present)
		return false;
	outb(port + UART_IER, 0);
	outb(port + UART_LCR, LCR_DLAB);
	outb(port + UART_DATA, divisor & 0xff);
	outb(port + UART_IER, divisor >> 8);
	outb(port + UART_LCR, LCR_8N1);
	outb(port + UART_FCR, FCR_ENABLE_CLEAR_14);
	outb(port + UART_MCR, MCR_DTR_RTS_OUT2);
	return true;
}

/* Wait (bounded) for @bits in the LSR; the receiver is drained meanwhile. */
static bool wait_lsr(const struct uart *u, uint8_t bits)
{
	for (int i = 0; i < THRE_SPIN_LIMIT; i++) {
		if ((inb(u->port + UART_LSR) & bits) == bits)
			return true;
		if (u->rx_drain)
			u->rx_drain();
		pause();
	}
	return false;
}

void uart_flush(const struct uart *u)
{
	if (u->present)
		wait_lsr(u, LSR_TX_IDLE);
}

void uart_write(const struct uart *u, const char *buf, size_t len)
{
	if (!u->present)
		return;
	while (len) {
		if (!wait_lsr(u, LSR_THR_EMPTY))
			return; /* wedged: drop rather than hang */
		for (int n = 0; n < UART_FIFO_DEPTH && len; n++, len--)
			outb(u->port + UART_DATA, (uint8_t)*buf++);
	}
}

void uart_enable_rx_irq(const struct uart *u)
{
	if (u->present)
		outb(u->port + UART_IER, 0x01);
}

int uart_getc(const struct uart *u)
{
	if (!u->present || !(inb(u->port + UART_LSR) & LSR_DATA_READY))
		return -1;
	return inb(u->port + UART_DATA);
}
