/* SPDX-License-Identifier: MIT */
/*
 * Logging: one line per event. Messages carry their subsystem prefix
 * ("mb2: ...", "pmm: ...") and no trailing newline; hv_log adds it.
 * The hypervisor implements hv_log in hv/log.c (console, log levels);
 * host unit tests provide their own that records lines for assertions.
 */
#ifndef HV_LOG_H
#define HV_LOG_H

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

void hv_log(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Lines above this level are dropped (the hypervisor's loglevel= option). */
void log_set_level(enum log_level level);

#define log_err(...)   hv_log(LOG_ERROR, __VA_ARGS__)
#define log_warn(...)  hv_log(LOG_WARN, __VA_ARGS__)
#define log_info(...)  hv_log(LOG_INFO, __VA_ARGS__)
#define log_debug(...) hv_log(LOG_DEBUG, __VA_ARGS__)

#endif
