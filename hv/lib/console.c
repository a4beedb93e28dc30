// SPDX-License-Identifier: MIT
#include <stdarg.h>
#include <stdio.h>

#include "drivers/uart16550.h"
#include "hv/lib/console.h"

#define CONSOLE_LINE_MAX 1024

static struct uart console_uart;

bool console_init(uint16_t port, uint32_t baud)
{
	return uart_init(&console_uart, port, baud);
}

void console_write(const char *buf, size_t len)
{
	size_t start = 0;

	for (size_t i = 0; i < len; i++) {
		if (buf[i] != '\n')
			continue;
		uart_write(&console_uart, buf + start, i - start);
		uart_write(&console_uart, "\r\n", 2);
		start = i + 1;
	}
	uart_write(&console_uart, buf + start, len - start);
}

void console_flush(void)
{
	uart_flush(&console_uart);
}

void console_printf(const char *fmt, ...)
{
	static const char cut[] = " [...]\n";
	char line[CONSOLE_LINE_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line)) {
		console_write(line, sizeof(line) - sizeof(cut));
		console_write(cut, sizeof(cut) - 1);
		return;
	}
	console_write(line, (size_t)n);
}
