// SPDX-License-Identifier: MIT
/* hv_log: level-filtered, one console line per event. */
#include <stdarg.h>
#include <stdio.h>

#include "drivers/pit8254.h"
#include "hv/lib/console.h"
#include "hv/lib/log.h"

#define LOG_LINE_MAX 1024

static enum log_level log_threshold = LOG_INFO;

void log_set_level(enum log_level level)
{
	log_threshold = level;
}

void hv_log(enum log_level level, const char *fmt, ...)
{
	static const char *const prefix[] = {
	    [LOG_ERROR] = "error: ",
	    [LOG_WARN] = "warning: ",
	    [LOG_INFO] = "",
	    [LOG_DEBUG] = "debug: ",
	};
	char line[LOG_LINE_MAX];
	va_list ap;

	if (level > log_threshold)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	console_printf("%s%s\n", prefix[level], line);
}

/* The rate limiter's clock: the PIT tick, 1 kHz (HV_TICK_HZ in hv/main.c). */
uint64_t log_clock_ms(void)
{
	return pit_ticks();
}
