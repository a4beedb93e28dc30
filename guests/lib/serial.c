// SPDX-License-Identifier: MIT
/* COM1 output, polled like on hardware: wait for THR empty, then write. */
#include "guest.h"

#define COM1	 HV_GUEST_COM1_PORT
#define UART_THR 0
#define UART_IER 1
#define UART_FCR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_DLL 0
#define UART_DLM 1

#define LCR_DLAB   0x80
#define LCR_8N1	   0x03
#define LSR_THRE   0x20
#define SPIN_LIMIT 1000000 /* a UART that never drains must not hang the test */

void serial_init(void)
{
	outb(COM1 + UART_IER, 0);
	outb(COM1 + UART_LCR, LCR_DLAB);
	outb(COM1 + UART_DLL, 1); /* 115200 baud */
	outb(COM1 + UART_DLM, 0);
	outb(COM1 + UART_LCR, LCR_8N1);
	outb(COM1 + UART_FCR, 0x07); /* FIFOs on and cleared */
	outb(COM1 + UART_MCR, 0x03); /* DTR, RTS */
}

void serial_putc(char c)
{
	for (unsigned i = 0; i < SPIN_LIMIT; i++)
		if (inb(COM1 + UART_LSR) & LSR_THRE)
			break;
	outb(COM1 + UART_THR, (uint8_t)c);
}

int putchar(int c)
{
	if (c == '\n')
		serial_putc('\r');
	serial_putc((char)c);
	return (unsigned char)c;
}

int puts(const char *s)
{
	while (*s)
		putchar(*s++);
	putchar('\n');
	return 0;
}
