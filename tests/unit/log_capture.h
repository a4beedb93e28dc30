/* SPDX-License-Identifier: MIT */
/*
 * Host implementation of hv_log for unit tests: every line is recorded in
 * a ring so a test can assert what was logged, and printed to stderr when
 * the VERBOSE environment variable is set (non-empty).
 */
#ifndef TESTS_UNIT_LOG_CAPTURE_H
#define TESTS_UNIT_LOG_CAPTURE_H

#include <stdbool.h>

#include "hv/lib/log.h"

/* Level argument meaning "any level". */
#define LOGCAP_ANY (-1)

/* Forget everything recorded (the framework does this before each test). */
void logcap_reset(void);

/* Lines logged at exactly @level since the last reset (ring overflow too). */
unsigned logcap_count(enum log_level level);

/*
 * Is there a recorded line at @level (or LOGCAP_ANY) containing every one
 * of the NULL-terminated substrings?
 */
bool logcap_find(int level, ...);

/* First recorded line at @level or more severe, or "" if none. */
const char *logcap_first_at_most(enum log_level level);

/* Does every recorded line start with @prefix? */
bool logcap_all_prefixed(const char *prefix);

/* Did any message contain a newline (lines must be one event each)? */
bool logcap_multiline(void);

const char *logcap_level_name(int level);

#endif
