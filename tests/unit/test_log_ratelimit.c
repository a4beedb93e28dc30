// SPDX-License-Identifier: MIT
/*
 * The log rate limiter of hv/lib/log.h: a per-call-site budget of
 * LOG_RATELIMIT_BURST lines per LOG_RATELIMIT_INTERVAL_MS, and the
 * "N similar lines suppressed" line when a window reopens. The clock is
 * this file's log_clock_ms(), a variable the tests move.
 */
#include <stdint.h>

#include "hv/lib/log.h"
#include "tests/unit/check.h"

static uint64_t fake_now;

uint64_t log_clock_ms(void)
{
	return fake_now;
}

/*
 * Each expansion of the macro is a call site with its own budget, kept for
 * the life of the program: each test has its own sites.
 */
static void test_burst_then_quiet(void)
{
	fake_now = 5000;
	for (unsigned i = 0; i < 100; i++)
		log_warn_ratelimited("chan: bad frame %u", i);
	CHECK_EQ(logcap_count(LOG_WARN), LOG_RATELIMIT_BURST);
	CHECK_LOGGED(LOG_WARN, "chan: bad frame 0");
	CHECK_LOGGED(LOG_WARN, "chan: bad frame 4");
	CHECK(!logcap_find(LOG_WARN, "chan: bad frame 5", (const char *)0));
	CHECK(!logcap_find(LOG_WARN, "suppressed", (const char *)0));
}

static void reopen_site(unsigned i)
{
	log_warn_ratelimited("chan: bad frame %u", i);
}

static void test_reopen_reports_suppressed(void)
{
	fake_now = 100000;
	for (unsigned i = 0; i < 100; i++)
		reopen_site(i);
	/* Still the same window one ms before its end. */
	fake_now += LOG_RATELIMIT_INTERVAL_MS - 1;
	reopen_site(100);
	CHECK_EQ(logcap_count(LOG_WARN), LOG_RATELIMIT_BURST);
	fake_now += 1;
	reopen_site(101);
	CHECK_EQ(logcap_count(LOG_WARN), LOG_RATELIMIT_BURST + 2);
	CHECK_LOGGED(LOG_WARN,
		     "log: 96 similar lines suppressed (tests/unit/test_log_ratelimit.c:");
	CHECK_LOGGED(LOG_WARN, "chan: bad frame 101");
	/* The count starts again: the next line has nothing to report. */
	reopen_site(102);
	CHECK_EQ(logcap_count(LOG_WARN), LOG_RATELIMIT_BURST + 3);
	CHECK(!logcap_multiline());
}

static void test_call_sites_independent(void)
{
	fake_now = 200000;
	for (unsigned i = 0; i < 50; i++)
		log_warn_ratelimited("chan: one %u", i);
	for (unsigned i = 0; i < 3; i++)
		log_warn_ratelimited("chan: other %u", i);
	CHECK_EQ(logcap_count(LOG_WARN), LOG_RATELIMIT_BURST + 3);
	CHECK_LOGGED(LOG_WARN, "chan: other 2");
}

/* A flood of one event per ms for 10 s: a few lines per second, none lost from the count. */
static void test_flood(void)
{
	unsigned lines;

	fake_now = 300000;
	for (unsigned i = 0; i < 10000; i++) {
		log_warn_ratelimited("chan: %u bytes of garbage skipped", i);
		fake_now++;
	}
	lines = logcap_count(LOG_WARN);
	/* 10 windows of BURST lines, and a "suppressed" line in each but the first. */
	CHECK_EQ(lines, 10 * LOG_RATELIMIT_BURST + 9);
	CHECK_LOGGED(LOG_WARN, "log: 995 similar lines suppressed");
}

static void test_clock_backwards(void)
{
	struct log_ratelimit rl = {0};
	uint32_t n = 77;

	CHECK(log_ratelimit_pass(&rl, 1000, 1, 100, &n));
	CHECK_EQ(n, 0);
	CHECK(!log_ratelimit_pass(&rl, 1050, 1, 100, &n));
	CHECK(!log_ratelimit_pass(&rl, 1099, 1, 100, &n));
	/* A clock that went back (a reset tick) opens a window rather than closing it for ever. */
	CHECK(log_ratelimit_pass(&rl, 10, 1, 100, &n));
	CHECK_EQ(n, 2);
	CHECK(!log_ratelimit_pass(&rl, 20, 1, 100, &n));
	CHECK(log_ratelimit_pass(&rl, 110, 1, 100, &n));
	CHECK_EQ(n, 1);
}

/* A clock that stands still (interrupts off): everything after the burst is held back. */
static void test_clock_stopped(void)
{
	struct log_ratelimit rl = {0};
	uint32_t n = 0;
	unsigned let = 0;

	for (unsigned i = 0; i < 100000; i++)
		let += log_ratelimit_pass(&rl, 42, 5, 1000, &n);
	CHECK_EQ(let, 5);
	CHECK_EQ(rl.suppressed, 100000 - 5);
	CHECK(log_ratelimit_pass(&rl, 1042, 5, 1000, &n));
	CHECK_EQ(n, 100000 - 5);
}

static void test_count_saturates(void)
{
	struct log_ratelimit rl = {0};
	uint32_t n = 0;

	CHECK(log_ratelimit_pass(&rl, 0, 1, 10, &n));
	rl.suppressed = UINT32_MAX - 1;
	CHECK(!log_ratelimit_pass(&rl, 1, 1, 10, &n));
	CHECK(!log_ratelimit_pass(&rl, 2, 1, 10, &n));
	CHECK_EQ(rl.suppressed, UINT32_MAX);
	CHECK(log_ratelimit_pass(&rl, 10, 1, 10, &n));
	CHECK_EQ(n, UINT32_MAX);
}

static void err_site(unsigned i)
{
	log_err_ratelimited("chan: err %u", i);
}

/* Levels are kept: an error stays an error, the suppressed line too. */
static void test_levels(void)
{
	fake_now = 400000;
	for (unsigned i = 0; i < 20; i++)
		err_site(i);
	fake_now += LOG_RATELIMIT_INTERVAL_MS;
	err_site(20);
	CHECK_EQ(logcap_count(LOG_ERROR), LOG_RATELIMIT_BURST + 2);
	CHECK_EQ(logcap_count(LOG_WARN), 0);
	CHECK_LOGGED(LOG_ERROR, "similar lines suppressed");
}

static const struct check_test tests[] = {
    TEST_ENTRY(test_burst_then_quiet),	     TEST_ENTRY(test_reopen_reports_suppressed),
    TEST_ENTRY(test_call_sites_independent), TEST_ENTRY(test_flood),
    TEST_ENTRY(test_clock_backwards),	     TEST_ENTRY(test_clock_stopped),
    TEST_ENTRY(test_count_saturates),	     TEST_ENTRY(test_levels),
};

CHECK_MAIN(tests)
