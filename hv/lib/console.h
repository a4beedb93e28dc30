/* SPDX-License-Identifier: MIT */
/* The hypervisor console: where log lines and newlib's stdout/stderr go. */
#ifndef HV_CONSOLE_H
#define HV_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONSOLE_DEFAULT_PORT 0x3f8 /* COM1 */
#define CONSOLE_DEFAULT_BAUD 115200

/* (Re)point the console at the UART at port; false if none answers there. */
bool console_init(uint16_t port, uint32_t baud);

/* Write len bytes to the console (a 16550 UART); "\n" becomes "\r\n". */
void console_write(const char *buf, size_t len);

/* Wait until everything written so far has left the UART. */
void console_flush(void);

/* printf to the console without stdio buffering (safe in the fault path). */
void console_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
