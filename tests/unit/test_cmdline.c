// SPDX-License-Identifier: MIT
/* Unit tests of the boot command-line options. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hv/lib/cmdline.h"
#include "tests/unit/check.h"

static struct hv_options o;

static bool is_default(const struct hv_options *x)
{
	struct hv_options d;

	options_defaults(&d);
	return memcmp(x, &d, sizeof(d)) == 0;
}

static void test_defaults(void)
{
	memset(&o, 0xa5, sizeof(o));
	options_defaults(&o);
	CHECK_NO_WARNINGS();
	CHECK_EQ(o.console.port, 0x3f8);
	CHECK_EQ(o.console.baud, 115200);
	CHECK_EQ(o.loglevel, LOG_INFO);
	CHECK_EQ(o.channel.kind, HV_CHANNEL_UART);
	CHECK_EQ(o.channel.port, 0x2f8);
	CHECK_EQ(o.channel_key.len, 0);
	CHECK_EQ(o.on_done, HV_ON_DONE_HALT);
	CHECK_EQ(o.selftest, HV_SELFTEST_NONE);
	CHECK_EQ(o.apicv, 1);
}

static void test_empty_and_null(void)
{
	memset(&o, 0xa5, sizeof(o));
	options_parse(&o, NULL);
	CHECK(is_default(&o));
	options_parse(&o, "");
	CHECK(is_default(&o));
	options_parse(&o, "   \t  ");
	CHECK(is_default(&o));
	CHECK_NO_WARNINGS();
}

static void test_all_options(void)
{
	options_parse(&o, "console=com2,9600 loglevel=debug channel=virtio "
			  "on_done=exit selftest=pf");
	CHECK_NO_WARNINGS();
	CHECK_EQ(o.console.port, 0x2f8);
	CHECK_EQ(o.console.baud, 9600);
	CHECK_EQ(o.loglevel, LOG_DEBUG);
	CHECK_EQ(o.channel.kind, HV_CHANNEL_VIRTIO);
	CHECK_EQ(o.on_done, HV_ON_DONE_EXIT);
	CHECK_EQ(o.selftest, HV_SELFTEST_PF);
}

static void test_console_forms(void)
{
	options_parse(&o, "console=com3");
	CHECK_EQ(o.console.port, 0x3e8);
	CHECK_EQ(o.console.baud, 115200);
	options_parse(&o, "console=com4,57600");
	CHECK_EQ(o.console.port, 0x2e8);
	CHECK_EQ(o.console.baud, 57600);
	options_parse(&o, "console=0x3F8,1200");
	CHECK_EQ(o.console.port, 0x3f8);
	CHECK_EQ(o.console.baud, 1200);
	options_parse(&o, "console=0xe000,115200");
	CHECK_EQ(o.console.port, 0xe000);
	options_parse(&o, "console=0xfff8,1");
	CHECK_EQ(o.console.port, 0xfff8);
	CHECK_EQ(o.console.baud, 1);
	options_parse(&o, "console=COM1");
	CHECK_EQ(o.console.port, 0x3f8);
	CHECK_NO_WARNINGS();
}

/* Each malformed console value: named in a warning, default used. */
static void test_console_invalid(void)
{
	static const char *const bad[] = {
	    "console=com5",
	    "console=0x",
	    "console=0x0",
	    "console=0xfff9",
	    "console=0x10000",
	    "console=0x3f8g",
	    "console=3f8",
	    "console=com1,",
	    "console=com1,0",
	    "console=com1,7",
	    "console=com1,115201",
	    "console=com1,9600x",
	    "console=com1,-9600",
	    "console=com1,9600,1",
	    "console=",
	    "console=0x99999999999999999999",
	};
	unsigned i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		logcap_reset();
		options_parse(&o, bad[i]);
		CHECK_EQ(o.console.port, 0x3f8);
		CHECK_EQ(o.console.baud, 115200);
		CHECK_EQ(logcap_count(LOG_WARN), 1);
		if (!logcap_find(LOG_WARN, "cmdline: console='", bad[i] + 8, "' invalid (",
				 "); using com1,115200", NULL)) {
			char m[400];

			snprintf(m, sizeof(m), "no warning naming '%s' (got '%.300s')", bad[i],
				 logcap_first_at_most(LOG_WARN));
			check_fail(__FILE__, __LINE__, m);
			return;
		}
	}
}

static void test_loglevel(void)
{
	static const struct {
		const char *word;
		enum log_level level;
	} ok[] = {
	    {"loglevel=error", LOG_ERROR},
	    {"loglevel=warn", LOG_WARN},
	    {"loglevel=info", LOG_INFO},
	    {"loglevel=debug", LOG_DEBUG},
	};
	unsigned i;

	for (i = 0; i < 4; i++) {
		options_parse(&o, ok[i].word);
		CHECK_EQ(o.loglevel, ok[i].level);
	}
	CHECK_NO_WARNINGS();
	options_parse(&o, "loglevel=loud");
	CHECK_EQ(o.loglevel, LOG_INFO);
	CHECK_LOGGED(LOG_WARN,
		     "cmdline: loglevel='loud' invalid (error|warn|info|debug); using info");
	options_parse(&o, "loglevel=");
	CHECK_LOGGED(LOG_WARN, "cmdline: loglevel='' invalid");
	options_parse(&o, "loglevel=debugx");
	CHECK_EQ(o.loglevel, LOG_INFO);
	options_parse(&o, "loglevel=debu");
	CHECK_EQ(o.loglevel, LOG_INFO);
	CHECK_EQ(logcap_count(LOG_WARN), 4);
}

static void test_unknown_option(void)
{
	options_parse(&o, "foo=1 loglevel=warn bar");
	CHECK_EQ(o.loglevel, LOG_WARN);
	CHECK_LOGGED(LOG_WARN, "cmdline: unknown option 'foo=1' ignored");
	CHECK_LOGGED(LOG_WARN, "cmdline: unknown option 'bar' ignored",
		     "known: console loglevel channel channel_key on_done selftest");
	CHECK_EQ(logcap_count(LOG_WARN), 2);
	options_parse(&o, "=x");
	CHECK_LOGGED(LOG_WARN, "unknown option '=x'");
	CHECK(is_default(&o));
}

/* GRUB passes only arguments; other loaders may lead with the file name. */
static void test_leading_path(void)
{
	options_parse(&o, "/boot/hv.elf loglevel=warn");
	CHECK_EQ(o.loglevel, LOG_WARN);
	CHECK_NO_WARNINGS();
	CHECK_LOGGED(LOG_DEBUG, "'/boot/hv.elf' taken as the kernel path");
	options_parse(&o, "(hd0,msdos1)/boot/hv loglevel=error");
	CHECK_EQ(o.loglevel, LOG_ERROR);
	CHECK_NO_WARNINGS();
	/* Only the first word may be a path. */
	options_parse(&o, "loglevel=warn /boot/hv.elf");
	CHECK_LOGGED(LOG_WARN, "unknown option '/boot/hv.elf'");
	/* A first word with '=' is an option even if it contains '/'. */
	options_parse(&o, "/x=1");
	CHECK_LOGGED(LOG_WARN, "unknown option '/x=1'");
}

static void test_whitespace(void)
{
	options_parse(&o, "  \tloglevel=warn\t\t on_done=exit  \n");
	CHECK_EQ(o.loglevel, LOG_WARN);
	CHECK_EQ(o.on_done, HV_ON_DONE_EXIT);
	CHECK_NO_WARNINGS();
}

static void test_channel(void)
{
	options_parse(&o, "channel=none");
	CHECK_EQ(o.channel.kind, HV_CHANNEL_NONE);
	options_parse(&o, "channel=com3");
	CHECK_EQ(o.channel.kind, HV_CHANNEL_UART);
	CHECK_EQ(o.channel.port, 0x3e8);
	options_parse(&o, "channel=0x2e8");
	CHECK_EQ(o.channel.port, 0x2e8);
	options_parse(&o, "channel=virtio");
	CHECK_EQ(o.channel.kind, HV_CHANNEL_VIRTIO);
	CHECK_EQ(o.channel.port, 0);
	CHECK_NO_WARNINGS();
	options_parse(&o, "channel=bogus");
	CHECK_EQ(o.channel.kind, HV_CHANNEL_UART);
	CHECK_EQ(o.channel.port, 0x2f8);
	CHECK_LOGGED(LOG_WARN, "cmdline: channel='bogus' invalid", "using com2");
}

/* Console and channel on one UART would interleave log and protocol. */
static void test_channel_console_conflict(void)
{
	options_parse(&o, "console=com2");
	CHECK_EQ(o.console.port, 0x2f8);
	CHECK_EQ(o.channel.kind, HV_CHANNEL_NONE);
	CHECK_LOGGED(LOG_WARN, "channel port 0x2f8 overlaps console port 0x2f8",
		     "channel disabled");
	options_parse(&o, "console=0x3f8 channel=0x3fc");
	CHECK_EQ(o.channel.kind, HV_CHANNEL_NONE);
	options_parse(&o, "console=0x3f8 channel=0x400");
	CHECK_EQ(o.channel.kind, HV_CHANNEL_UART);
	CHECK_EQ(o.channel.port, 0x400);
	options_parse(&o, "console=com2 channel=virtio");
	CHECK_EQ(o.channel.kind, HV_CHANNEL_VIRTIO);
}

static void test_channel_key(void)
{
	static const char k32[] = "00112233445566778899aabbccddeeff";
	char k128[129], arg[200];
	unsigned i;

	snprintf(arg, sizeof(arg), "channel_key=%s", k32);
	options_parse(&o, arg);
	CHECK_NO_WARNINGS();
	CHECK_EQ(o.channel_key.len, 16);
	CHECK_EQ(o.channel_key.bytes[0], 0x00);
	CHECK_EQ(o.channel_key.bytes[1], 0x11);
	CHECK_EQ(o.channel_key.bytes[10], 0xaa);
	CHECK_EQ(o.channel_key.bytes[15], 0xff);

	for (i = 0; i < 128; i++)
		k128[i] = "0123456789ABCDEF"[i % 16];
	k128[128] = '\0';
	snprintf(arg, sizeof(arg), "channel_key=%s", k128);
	options_parse(&o, arg);
	CHECK_EQ(o.channel_key.len, 64);
	CHECK_EQ(o.channel_key.bytes[63], 0xef);
	CHECK_NO_WARNINGS();

	options_parse(&o, "channel_key=");
	CHECK_EQ(o.channel_key.len, 0);
	CHECK_NO_WARNINGS();
}

/* A bad key is reported without echoing it: it is a secret. */
static void test_channel_key_invalid(void)
{
	static const char *const bad[] = {
	    "channel_key=0011223344556677889900112233445",   /* 31 */
	    "channel_key=001122334455667788990011223344",    /* 30 */
	    "channel_key=00112233445566778899aabbccddeefg",  /* g */
	    "channel_key=00112233445566778899aabbccddeeff0", /* odd 33 */
	};
	char long_key[200];
	unsigned i;

	for (i = 0; i < 4; i++) {
		logcap_reset();
		options_parse(&o, bad[i]);
		CHECK_EQ(o.channel_key.len, 0);
		CHECK_LOGGED(LOG_WARN, "cmdline: channel_key invalid", "using none");
		CHECK(!logcap_find(LOGCAP_ANY, "0011223344", NULL));
	}
	memcpy(long_key, "channel_key=", 12);
	memset(long_key + 12, 'a', 130);
	long_key[142] = '\0';
	options_parse(&o, long_key);
	CHECK_EQ(o.channel_key.len, 0);
	CHECK_LOGGED(LOG_WARN, "channel_key invalid", "130 characters");
	/* A good key followed by a bad one: the default (none) is used. */
	options_parse(&o, "channel_key=00112233445566778899aabbccddeeff "
			  "channel_key=xyz");
	CHECK_EQ(o.channel_key.len, 0);
}

static void test_on_done(void)
{
	options_parse(&o, "on_done=exit");
	CHECK_EQ(o.on_done, HV_ON_DONE_EXIT);
	options_parse(&o, "on_done=halt");
	CHECK_EQ(o.on_done, HV_ON_DONE_HALT);
	CHECK_NO_WARNINGS();
	options_parse(&o, "on_done=reboot");
	CHECK_EQ(o.on_done, HV_ON_DONE_HALT);
	CHECK_LOGGED(LOG_WARN, "on_done='reboot' invalid (halt|exit); using halt");
}

static void test_apicv(void)
{
	options_parse(&o, "apicv=off");
	CHECK_EQ(o.apicv, 0);
	options_parse(&o, "apicv=ON");
	CHECK_EQ(o.apicv, 1);
	CHECK_NO_WARNINGS();
	options_parse(&o, "apicv=0");
	CHECK_EQ(o.apicv, 1);
	CHECK_LOGGED(LOG_WARN, "apicv='0' invalid (on|off); using on");
	options_parse(&o, "apicv=off");
	options_dump(&o);
	CHECK_LOGGED(LOG_INFO, "selftest=none apicv=off");
}

static void test_selftest(void)
{
	static const struct {
		const char *w;
		enum hv_selftest v;
	} ok[] = {
	    {"selftest=none", HV_SELFTEST_NONE}, {"selftest=ud", HV_SELFTEST_UD},
	    {"selftest=pf", HV_SELFTEST_PF},	 {"selftest=gp", HV_SELFTEST_GP},
	    {"selftest=de", HV_SELFTEST_DE},
	};
	unsigned i;

	for (i = 0; i < 5; i++) {
		options_parse(&o, ok[i].w);
		CHECK_EQ(o.selftest, ok[i].v);
	}
	CHECK_NO_WARNINGS();
	options_parse(&o, "selftest=nmi");
	CHECK_EQ(o.selftest, HV_SELFTEST_NONE);
	CHECK_LOGGED(LOG_WARN, "selftest='nmi' invalid (none|ud|pf|gp|de|vmentry|kvmapi)");
}

/* Later occurrences override; a bad later one restores the default. */
static void test_repeats(void)
{
	options_parse(&o, "loglevel=error loglevel=debug");
	CHECK_EQ(o.loglevel, LOG_DEBUG);
	options_parse(&o, "loglevel=debug loglevel=loud");
	CHECK_EQ(o.loglevel, LOG_INFO);
	/* A bad value restores only its own option. */
	options_parse(&o, "console=com3,9600 on_done=exit console=com9");
	CHECK_EQ(o.console.port, 0x3f8);
	CHECK_EQ(o.console.baud, 115200);
	CHECK_EQ(o.on_done, HV_ON_DONE_EXIT);
}

/* options_parse starts from the defaults, not from what @o held. */
static void test_parse_resets(void)
{
	options_parse(&o, "loglevel=debug selftest=gp");
	options_parse(&o, "on_done=exit");
	CHECK_EQ(o.loglevel, LOG_INFO);
	CHECK_EQ(o.selftest, HV_SELFTEST_NONE);
	CHECK_EQ(o.on_done, HV_ON_DONE_EXIT);
}

static void test_long_word(void)
{
	char *s = malloc(5000);

	memcpy(s, "loglevel=", 9);
	memset(s + 9, 'x', 4990);
	s[4999] = '\0';
	options_parse(&o, s);
	free(s);
	CHECK_EQ(o.loglevel, LOG_INFO);
	CHECK_LOGGED(LOG_WARN, "loglevel='xxxx", "...' invalid");
	CHECK(strlen(logcap_first_at_most(LOG_WARN)) < 200);
}

static void test_dump(void)
{
	options_defaults(&o);
	options_dump(&o);
	CHECK_EQ(logcap_count(LOG_INFO), 1);
	CHECK_LOGGED(LOG_INFO, "cmdline: console=0x3f8,115200 loglevel=info channel=0x2f8 "
			       "channel_key=none on_done=halt selftest=none");
	logcap_reset();
	options_parse(&o, "console=0x2e8,38400 loglevel=warn channel=none "
			  "channel_key=000102030405060708090a0b0c0d0e0f "
			  "on_done=exit selftest=de");
	options_dump(&o);
	CHECK_LOGGED(LOG_INFO, "cmdline: console=0x2e8,38400 loglevel=warn channel=none "
			       "channel_key=set on_done=exit selftest=de");
	CHECK(!logcap_find(LOGCAP_ANY, "0a0b", NULL));
	options_parse(&o, "channel=virtio");
	options_dump(&o);
	CHECK_LOGGED(LOG_INFO, "channel=virtio");
	CHECK(logcap_all_prefixed("cmdline: "));
}

static void test_help(void)
{
	options_help();
	CHECK_EQ(logcap_count(LOG_INFO), 7);
	CHECK_LOGGED(LOG_INFO, "cmdline: console=com1|com2|com3|com4|0x<port>",
		     "(default com1,115200)");
	CHECK_LOGGED(LOG_INFO, "cmdline: channel_key=", "(default none)");
	CHECK_LOGGED(LOG_INFO, "cmdline: selftest=none|ud|pf|gp|de|vmentry|kvmapi (default none)");
	CHECK_LOGGED(LOG_INFO, "cmdline: apicv=on|off (default on)");
	CHECK(logcap_all_prefixed("cmdline: "));
}

static const struct check_test tests[] = {
    TEST_ENTRY(test_defaults),
    TEST_ENTRY(test_empty_and_null),
    TEST_ENTRY(test_all_options),
    TEST_ENTRY(test_console_forms),
    TEST_ENTRY(test_console_invalid),
    TEST_ENTRY(test_loglevel),
    TEST_ENTRY(test_unknown_option),
    TEST_ENTRY(test_leading_path),
    TEST_ENTRY(test_apicv),
    TEST_ENTRY(test_whitespace),
    TEST_ENTRY(test_channel),
    TEST_ENTRY(test_channel_console_conflict),
    TEST_ENTRY(test_channel_key),
    TEST_ENTRY(test_channel_key_invalid),
    TEST_ENTRY(test_on_done),
    TEST_ENTRY(test_selftest),
    TEST_ENTRY(test_repeats),
    TEST_ENTRY(test_parse_resets),
    TEST_ENTRY(test_long_word),
    TEST_ENTRY(test_dump),
    TEST_ENTRY(test_help),
};

CHECK_MAIN(tests)
