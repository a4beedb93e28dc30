// SPDX-License-Identifier: MIT
/* Host hv_log that records lines for assertions; see log_capture.h. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/log_capture.h"

#define RING_LINES   1024
#define LINE_MAX_LEN 512

struct logcap_line {
	enum log_level level;
	char text[LINE_MAX_LEN];
};

static struct logcap_line ring[RING_LINES];
static unsigned ring_next; /* total lines since reset */
static unsigned counts[LOG_DEBUG + 1];
static bool saw_newline;

void logcap_reset(void)
{
	ring_next = 0;
	memset(counts, 0, sizeof(counts));
	saw_newline = false;
}

static bool verbose(void)
{
	const char *v = getenv("VERBOSE");

	return v && *v;
}

const char *logcap_level_name(int level)
{
	switch (level) {
	case LOG_ERROR:
		return "error";
	case LOG_WARN:
		return "warn";
	case LOG_INFO:
		return "info";
	case LOG_DEBUG:
		return "debug";
	default:
		return "any";
	}
}

void hv_log(enum log_level level, const char *fmt, ...)
{
	struct logcap_line *l = &ring[ring_next % RING_LINES];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(l->text, sizeof(l->text), fmt, ap);
	va_end(ap);
	l->level = level;
	ring_next++;
	if ((unsigned)level <= LOG_DEBUG)
		counts[level]++;
	if (strchr(l->text, '\n'))
		saw_newline = true;
	if (verbose())
		fprintf(stderr, "[%s] %s\n", logcap_level_name(level), l->text);
}

unsigned logcap_count(enum log_level level)
{
	return (unsigned)level <= LOG_DEBUG ? counts[level] : 0;
}

static unsigned ring_first(void)
{
	return ring_next > RING_LINES ? ring_next - RING_LINES : 0;
}

static bool line_has_all(const char *text, va_list ap)
{
	const char *s;

	while ((s = va_arg(ap, const char *)) != NULL)
		if (!strstr(text, s))
			return false;
	return true;
}

bool logcap_find(int level, ...)
{
	unsigned i;
	va_list ap;
	bool hit;

	for (i = ring_first(); i < ring_next; i++) {
		const struct logcap_line *l = &ring[i % RING_LINES];

		if (level != LOGCAP_ANY && (int)l->level != level)
			continue;
		va_start(ap, level);
		hit = line_has_all(l->text, ap);
		va_end(ap);
		if (hit)
			return true;
	}
	return false;
}

const char *logcap_first_at_most(enum log_level level)
{
	unsigned i;

	for (i = ring_first(); i < ring_next; i++)
		if (ring[i % RING_LINES].level <= level)
			return ring[i % RING_LINES].text;
	return "";
}

bool logcap_all_prefixed(const char *prefix)
{
	size_t n = strlen(prefix);
	unsigned i;

	for (i = ring_first(); i < ring_next; i++)
		if (strncmp(ring[i % RING_LINES].text, prefix, n) != 0)
			return false;
	return true;
}

bool logcap_multiline(void)
{
	return saw_newline;
}
