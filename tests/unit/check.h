/* SPDX-License-Identifier: MIT */
/*
 * A tiny host test framework.
 *
 * A test is a void function; a failing CHECK records file:line and the
 * expression (with both values for CHECK_EQ) and returns from the test, so
 * one test reports its first failure. Each binary lists its tests in an
 * array, calls check_main() and prints one "PASS name" / "FAIL name: why"
 * line per test, then exactly "N passed, N failed"; the exit status is
 * non-zero when anything failed.
 */
#ifndef TESTS_UNIT_CHECK_H
#define TESTS_UNIT_CHECK_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/log_capture.h"

struct check_test {
	const char *name;
	void (*fn)(void);
};

#define TEST_ENTRY(fn)                                                                             \
	{                                                                                          \
#fn, fn                                                                            \
	}

/* Why the running test failed; empty while it passes. */
static char check_why[512];

static inline void check_fail(const char *file, int line, const char *msg)
{
	if (!check_why[0])
		snprintf(check_why, sizeof(check_why), "%s:%d: %s", file, line, msg);
}

#define CHECK(expr)                                                                                \
	do {                                                                                       \
		if (!(expr)) {                                                                     \
			check_fail(__FILE__, __LINE__, #expr);                                     \
			return;                                                                    \
		}                                                                                  \
	} while (0)

/* Integer equality; both sides shown in hex and decimal on failure. */
#define CHECK_EQ(a, b)                                                                             \
	do {                                                                                       \
		unsigned long long va_ = (unsigned long long)(a);                                  \
		unsigned long long vb_ = (unsigned long long)(b);                                  \
		if (va_ != vb_) {                                                                  \
			char m_[256];                                                              \
			snprintf(m_, sizeof(m_), "%s == %s (0x%llx [%lld] vs 0x%llx [%lld])", #a,  \
				 #b, va_, (long long)va_, vb_, (long long)vb_);                    \
			check_fail(__FILE__, __LINE__, m_);                                        \
			return;                                                                    \
		}                                                                                  \
	} while (0)

#define CHECK_STR(a, b)                                                                            \
	do {                                                                                       \
		const char *sa_ = (a), *sb_ = (b);                                                 \
		if (strcmp(sa_, sb_) != 0) {                                                       \
			char m_[256];                                                              \
			snprintf(m_, sizeof(m_), "%s == %s ('%.80s' vs '%.80s')", #a, #b, sa_,     \
				 sb_);                                                             \
			check_fail(__FILE__, __LINE__, m_);                                        \
			return;                                                                    \
		}                                                                                  \
	} while (0)

/* A line at @level containing every given substring was logged. */
#define CHECK_LOGGED(level, ...)                                                                   \
	do {                                                                                       \
		if (!logcap_find((level), __VA_ARGS__, (const char *)0)) {                         \
			char m_[256];                                                              \
			snprintf(m_, sizeof(m_), "no %s line logged containing: %s",               \
				 logcap_level_name(level), #__VA_ARGS__);                          \
			check_fail(__FILE__, __LINE__, m_);                                        \
			return;                                                                    \
		}                                                                                  \
	} while (0)

/* Nothing at warning level or worse was logged. */
#define CHECK_NO_WARNINGS()                                                                        \
	do {                                                                                       \
		if (logcap_count(LOG_WARN) || logcap_count(LOG_ERROR)) {                           \
			char m_[400];                                                              \
			snprintf(m_, sizeof(m_), "unexpected warning/error logged: '%.300s'",      \
				 logcap_first_at_most(LOG_WARN));                                  \
			check_fail(__FILE__, __LINE__, m_);                                        \
			return;                                                                    \
		}                                                                                  \
	} while (0)

/* Reproducible random test data: xorshift64 from a fixed seed. */
static inline uint64_t *check_rng_state(void)
{
	static uint64_t state = 1;

	return &state;
}

static inline void check_rng_seed(uint64_t s)
{
	*check_rng_state() = s * 0x9e3779b97f4a7c15ull + 1;
}

static inline uint32_t check_rng(void)
{
	uint64_t *x = check_rng_state();

	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return (uint32_t)(*x >> 16);
}

static inline int check_main(const struct check_test *t, size_t n)
{
	unsigned passed = 0, failed = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		check_why[0] = '\0';
		logcap_reset();
		t[i].fn();
		/* Every line must be one event: no embedded newline. */
		if (!check_why[0] && logcap_multiline())
			check_fail(__FILE__, __LINE__, "a log message contained a newline");
		if (check_why[0]) {
			printf("FAIL %s: %s\n", t[i].name, check_why);
			failed++;
		} else {
			printf("PASS %s\n", t[i].name);
			passed++;
		}
		fflush(stdout);
	}
	printf("%u passed, %u failed\n", passed, failed);
	return failed ? 1 : 0;
}

#define CHECK_MAIN(tests)                                                                          \
	int main(void)                                                                             \
	{                                                                                          \
		return check_main(tests, sizeof(tests) / sizeof(tests[0]));                        \
	}

#endif
