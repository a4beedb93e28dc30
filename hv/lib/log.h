/* SPDX-License-Identifier: MIT */
/*
 * Logging: one line per event. Messages carry their subsystem prefix
 * ("mb2: ...", "pmm: ...") and no trailing newline; hv_log adds it.
 * The hypervisor implements hv_log in hv/lib/log.c (console, log levels);
 * host unit tests provide their own that records lines for assertions.
 */
#ifndef HV_LOG_H
#define HV_LOG_H

#include <stdbool.h>
#include <stdint.h>

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

void hv_log(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Lines above this level are dropped (the hypervisor's loglevel= option). */
void log_set_level(enum log_level level);

#define log_err(...)   hv_log(LOG_ERROR, __VA_ARGS__)
#define log_warn(...)  hv_log(LOG_WARN, __VA_ARGS__)
#define log_info(...)  hv_log(LOG_INFO, __VA_ARGS__)
#define log_debug(...) hv_log(LOG_DEBUG, __VA_ARGS__)

/*
 * Rate-limited lines, for paths a peer can trigger at will (garbage on a
 * line, malformed requests): the console is a UART written with interrupts
 * off, so a flood of lines would stall everything else.
 *
 * Each call site of log_*_ratelimited() has its own budget (a static
 * struct log_ratelimit in the macro): at most LOG_RATELIMIT_BURST lines per
 * window of LOG_RATELIMIT_INTERVAL_MS. Lines beyond are counted, not
 * printed; the next line printed after the window has reopened is preceded
 * by "log: N similar lines suppressed (file:line)".
 *
 * Time comes from log_clock_ms(): the hypervisor's 1 kHz tick in hv/lib/log.c
 * (it may stand still while interrupts are off; the limiter then only
 * suppresses longer), and whatever clock a host unit test defines.
 */
#define LOG_RATELIMIT_BURST	  5
#define LOG_RATELIMIT_INTERVAL_MS 1000

struct log_ratelimit {
	uint64_t window_start; /* ms, log_clock_ms() */
	uint32_t printed;      /* lines let through in this window */
	uint32_t suppressed;   /* lines dropped since the last one let through */
	bool started;
};

uint64_t log_clock_ms(void);

/*
 * The limiter itself, with the clock as an argument: may a line go out at
 * @now? On true, *@suppressed is how many were dropped since the last line
 * let through (say so first, when not 0). A window starts at the first
 * line after the previous one has ended; a clock that goes backwards
 * starts one too.
 */
static inline bool log_ratelimit_pass(struct log_ratelimit *rl, uint64_t now, uint32_t burst,
				      uint64_t interval_ms, uint32_t *suppressed)
{
	if (!rl->started || now < rl->window_start || now - rl->window_start >= interval_ms) {
		rl->started = true;
		rl->window_start = now;
		rl->printed = 0;
	}
	if (rl->printed >= burst) {
		if (rl->suppressed != UINT32_MAX)
			rl->suppressed++;
		return false;
	}
	rl->printed++;
	*suppressed = rl->suppressed;
	rl->suppressed = 0;
	return true;
}

/* The default budget, for callers that print their own line. */
static inline bool log_ratelimit_ok(struct log_ratelimit *rl, uint32_t *suppressed)
{
	return log_ratelimit_pass(rl, log_clock_ms(), LOG_RATELIMIT_BURST,
				  LOG_RATELIMIT_INTERVAL_MS, suppressed);
}

#define log_ratelimited(level, ...)                                                                \
	do {                                                                                       \
		static struct log_ratelimit rl_;                                                   \
		uint32_t n_;                                                                       \
		if (log_ratelimit_ok(&rl_, &n_)) {                                                 \
			if (n_)                                                                    \
				hv_log((level), "log: %u similar lines suppressed (%s:%d)",        \
				       (unsigned)n_, __FILE__, __LINE__);                          \
			hv_log((level), __VA_ARGS__);                                              \
		}                                                                                  \
	} while (0)

#define log_err_ratelimited(...)   log_ratelimited(LOG_ERROR, __VA_ARGS__)
#define log_warn_ratelimited(...)  log_ratelimited(LOG_WARN, __VA_ARGS__)
#define log_info_ratelimited(...)  log_ratelimited(LOG_INFO, __VA_ARGS__)
#define log_debug_ratelimited(...) log_ratelimited(LOG_DEBUG, __VA_ARGS__)

#endif
