// SPDX-License-Identifier: MIT
/*
 * Boot command-line options.
 *
 * Values are handled as (pointer, length) slices of the command line, so
 * nothing is copied and no word is too long to parse; only what is echoed
 * into a warning is shortened.
 */
#include <stddef.h>
#include <string.h>

#include "hv/lib/cmdline.h"
#include "hv/lib/log.h"

/* Longest piece of a bad word quoted back in a warning. */
#define ECHO_MAX 64

/* Highest port a 16550 may start at: it decodes 8 consecutive ports. */
#define UART_PORT_MAX  0xfff8u
#define UART_PORT_SPAN 8u

struct keyword {
	const char *word;
	int value;
};

/* One option: the fields it owns are restored to default on a bad value. */
struct opt_row {
	const char *name;
	bool (*parse)(struct hv_options *o, const char *v, size_t len);
	size_t off;
	size_t size;
	const char *syntax; /* accepted values, quoted in warnings */
	const char *dflt;   /* parsed by options_defaults() */
	bool secret;	    /* never echo the value */
	const char *help;
};

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* Case-insensitive: does the slice equal the NUL-terminated @word? */
static bool word_eq(const char *v, size_t len, const char *word)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (!word[i] || lower(v[i]) != lower(word[i]))
			return false;
	return word[len] == '\0';
}

static bool match_keyword(const struct keyword *kw, size_t n, const char *v, size_t len, int *out)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (word_eq(v, len, kw[i].word)) {
			*out = kw[i].value;
			return true;
		}
	}
	return false;
}

static const char *keyword_name(const struct keyword *kw, size_t n, int value)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (kw[i].value == value)
			return kw[i].word;
	return "?";
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = lower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Digits only, no sign, value <= max; stops overflow before it happens. */
static bool parse_uint(const char *v, size_t len, unsigned base, uint32_t max, uint32_t *out)
{
	uint32_t val = 0;
	size_t i;
	int d;

	if (!len)
		return false;
	for (i = 0; i < len; i++) {
		d = hex_digit(v[i]);
		if (d < 0 || (unsigned)d >= base)
			return false;
		if (val > (max - (uint32_t)d) / base)
			return false;
		val = val * base + (uint32_t)d;
	}
	*out = val;
	return true;
}

static const struct keyword com_ports[] = {
    {"com1", HV_COM1_PORT},
    {"com2", HV_COM2_PORT},
    {"com3", HV_COM3_PORT},
    {"com4", HV_COM4_PORT},
};

/* com1..com4 or 0x<hex>, a port a UART's 8 registers fit behind. */
static bool parse_port(const char *v, size_t len, uint16_t *port)
{
	uint32_t val;
	int kw;

	if (match_keyword(com_ports, 4, v, len, &kw)) {
		*port = (uint16_t)kw;
		return true;
	}
	if (len < 2 || v[0] != '0' || lower(v[1]) != 'x')
		return false;
	if (!parse_uint(v + 2, len - 2, 16, UART_PORT_MAX, &val) || !val)
		return false;
	*port = (uint16_t)val;
	return true;
}

static bool parse_console(struct hv_options *o, const char *v, size_t len)
{
	const char *comma = memchr(v, ',', len);
	size_t plen = comma ? (size_t)(comma - v) : len;
	uint32_t baud = HV_UART_BASE_BAUD;

	if (!parse_port(v, plen, &o->console.port))
		return false;
	if (comma) {
		/* The UART divides its base rate by an integer divisor. */
		if (!parse_uint(comma + 1, len - plen - 1, 10, HV_UART_BASE_BAUD, &baud) || !baud ||
		    HV_UART_BASE_BAUD % baud)
			return false;
	}
	o->console.baud = baud;
	return true;
}

static const struct keyword loglevels[] = {
    {"error", LOG_ERROR},
    {"warn", LOG_WARN},
    {"info", LOG_INFO},
    {"debug", LOG_DEBUG},
};

static bool parse_loglevel(struct hv_options *o, const char *v, size_t len)
{
	int lvl;

	if (!match_keyword(loglevels, 4, v, len, &lvl))
		return false;
	o->loglevel = (enum log_level)lvl;
	return true;
}

static bool parse_channel(struct hv_options *o, const char *v, size_t len)
{
	o->channel.port = 0;
	if (word_eq(v, len, "none")) {
		o->channel.kind = HV_CHANNEL_NONE;
		return true;
	}
	if (word_eq(v, len, "virtio")) {
		o->channel.kind = HV_CHANNEL_VIRTIO;
		return true;
	}
	o->channel.kind = HV_CHANNEL_UART;
	return parse_port(v, len, &o->channel.port);
}

static bool parse_channel_key(struct hv_options *o, const char *v, size_t len)
{
	struct hv_key_opt *k = &o->channel_key;
	size_t i;
	int hi, lo;

	memset(k, 0, sizeof(*k));
	if (!len)
		return true; /* explicitly no key */
	if (len % 2 || len < 2 * HV_CHANNEL_KEY_MIN || len > 2 * HV_CHANNEL_KEY_MAX)
		return false;
	for (i = 0; i < len / 2; i++) {
		hi = hex_digit(v[2 * i]);
		lo = hex_digit(v[2 * i + 1]);
		if (hi < 0 || lo < 0) {
			memset(k, 0, sizeof(*k));
			return false;
		}
		k->bytes[i] = (uint8_t)(hi << 4 | lo);
	}
	k->len = (uint8_t)(len / 2);
	return true;
}

static const struct keyword on_done_words[] = {
    {"halt", HV_ON_DONE_HALT},
    {"exit", HV_ON_DONE_EXIT},
};

static bool parse_on_done(struct hv_options *o, const char *v, size_t len)
{
	int val;

	if (!match_keyword(on_done_words, 2, v, len, &val))
		return false;
	o->on_done = (enum hv_on_done)val;
	return true;
}

static const struct keyword selftests[] = {
    {"none", HV_SELFTEST_NONE},	    {"ud", HV_SELFTEST_UD}, {"pf", HV_SELFTEST_PF},
    {"gp", HV_SELFTEST_GP},	    {"de", HV_SELFTEST_DE}, {"vmentry", HV_SELFTEST_VMENTRY},
    {"kvmapi", HV_SELFTEST_KVMAPI},
};

static bool parse_selftest(struct hv_options *o, const char *v, size_t len)
{
	int val;

	if (!match_keyword(selftests, sizeof(selftests) / sizeof(selftests[0]), v, len, &val))
		return false;
	o->selftest = (enum hv_selftest)val;
	return true;
}

static const struct keyword on_off[] = {
    {"off", 0},
    {"on", 1},
};

static bool parse_apicv(struct hv_options *o, const char *v, size_t len)
{
	int val;

	if (!match_keyword(on_off, 2, v, len, &val))
		return false;
	o->apicv = val;
	return true;
}

#define FIELD(f) offsetof(struct hv_options, f), sizeof(((struct hv_options *)0)->f)

static const struct opt_row options[] = {
    {"console", parse_console, FIELD(console),
     "com1|com2|com3|com4|0x<port>[,<baud dividing 115200>]", "com1,115200", false,
     "serial port for the log"},
    {"loglevel", parse_loglevel, FIELD(loglevel), "error|warn|info|debug", "info", false,
     "least important log level printed"},
    {"channel", parse_channel, FIELD(channel), "com1|com2|com3|com4|0x<port>|virtio|none", "com2",
     false, "transport of the control channel"},
    {"channel_key", parse_channel_key, FIELD(channel_key), "32..128 hex digits, even count", "",
     true, "control channel key (reserved)"},
    {"on_done", parse_on_done, FIELD(on_done), "halt|exit", "halt", false,
     "when finished: halt, or write the status to the emulator's exit port"},
    {"selftest", parse_selftest, FIELD(selftest), "none|ud|pf|gp|de|vmentry|kvmapi", "none", false,
     "after boot: raise this exception to show the exception dump, (vmentry) run a VM the CPU must "
     "refuse, (kvmapi) check the KVM API"},
    {"apicv", parse_apicv, FIELD(apicv), "on|off", "on", false,
     "APIC virtualisation (virtual-APIC page, register virtualisation, virtual-interrupt "
     "delivery) where the CPU has it; off: every APIC access is emulated"},
};

#define N_OPTIONS (sizeof(options) / sizeof(options[0]))

static const char *dflt_text(const struct opt_row *r)
{
	return r->dflt[0] ? r->dflt : "none";
}

void options_defaults(struct hv_options *o)
{
	size_t i;

	memset(o, 0, sizeof(*o));
	for (i = 0; i < N_OPTIONS; i++) {
		const struct opt_row *r = &options[i];

		if (!r->parse(o, r->dflt, strlen(r->dflt)))
			log_err("cmdline: default %s='%s' does not parse (bug)", r->name, r->dflt);
	}
}

static const struct opt_row *find_option(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < N_OPTIONS; i++)
		if (word_eq(name, len, options[i].name))
			return &options[i];
	return NULL;
}

static int echo_len(size_t len)
{
	return (int)(len < ECHO_MAX ? len : ECHO_MAX);
}

static const char *echo_more(size_t len)
{
	return len > ECHO_MAX ? "..." : "";
}

static void warn_unknown(const char *w, size_t len)
{
	char known[128];
	size_t i, n = 0, l;

	for (i = 0; i < N_OPTIONS; i++) {
		l = strlen(options[i].name);
		if (n + l + 2 > sizeof(known))
			break;
		if (n)
			known[n++] = ' ';
		memcpy(known + n, options[i].name, l);
		n += l;
	}
	known[n] = '\0';
	log_warn("cmdline: unknown option '%.*s%s' ignored (known: %s)", echo_len(len), w,
		 echo_more(len), known);
}

/* Put back the default of just the fields row @r owns. */
static void restore_default(struct hv_options *o, const struct opt_row *r)
{
	struct hv_options d;

	options_defaults(&d);
	memcpy((char *)o + r->off, (const char *)&d + r->off, r->size);
}

static void apply_option(struct hv_options *o, const struct opt_row *r, const char *v, size_t len)
{
	if (r->parse(o, v, len))
		return;
	restore_default(o, r);
	if (r->secret)
		log_warn("cmdline: %s invalid (%s; %u characters given); using %s", r->name,
			 r->syntax, (unsigned)len, dflt_text(r));
	else
		log_warn("cmdline: %s='%.*s%s' invalid (%s); using %s", r->name, echo_len(len), v,
			 echo_more(len), r->syntax, dflt_text(r));
}

/* GRUB passes only the arguments, but other loaders lead with the file. */
static bool looks_like_path(const char *w, size_t len)
{
	return (w[0] == '/' || w[0] == '(' || memchr(w, '/', len)) && !memchr(w, '=', len);
}

static void apply_word(struct hv_options *o, const char *w, size_t len, bool first)
{
	const char *eq = memchr(w, '=', len);
	const struct opt_row *r;
	size_t nlen;

	if (first && looks_like_path(w, len)) {
		log_debug("cmdline: '%.*s%s' taken as the kernel path", echo_len(len), w,
			  echo_more(len));
		return;
	}
	nlen = eq ? (size_t)(eq - w) : len;
	r = eq ? find_option(w, nlen) : NULL;
	if (!r) {
		warn_unknown(w, len);
		return;
	}
	apply_option(o, r, eq + 1, len - nlen - 1);
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Two UARTs clash when their 8-port register windows overlap. */
static void check_conflicts(struct hv_options *o)
{
	unsigned a = o->console.port, b = o->channel.port;

	if (o->channel.kind != HV_CHANNEL_UART)
		return;
	if ((a > b ? a - b : b - a) >= UART_PORT_SPAN)
		return;
	log_warn("cmdline: channel port 0x%x overlaps console port 0x%x; channel disabled", b, a);
	o->channel.kind = HV_CHANNEL_NONE;
	o->channel.port = 0;
}

void options_parse(struct hv_options *o, const char *cmdline)
{
	const char *s = cmdline, *w;
	bool first = true;

	options_defaults(o);
	if (!s)
		return;
	for (;;) {
		while (is_space(*s))
			s++;
		if (!*s)
			break;
		w = s;
		while (*s && !is_space(*s))
			s++;
		apply_word(o, w, (size_t)(s - w), first);
		first = false;
	}
	check_conflicts(o);
}

/* "0x2f8": the hex digits of @v without leading zeros, into buf[11]. */
static char *fmt_hex(char *buf, uint32_t v)
{
	static const char digits[] = "0123456789abcdef";
	char tmp[8];
	int n = 0, i = 2;

	do {
		tmp[n++] = digits[v & 0xf];
		v >>= 4;
	} while (v);
	buf[0] = '0';
	buf[1] = 'x';
	while (n)
		buf[i++] = tmp[--n];
	buf[i] = '\0';
	return buf;
}

static const char *channel_text(const struct hv_channel_opt *c, char *buf)
{
	if (c->kind == HV_CHANNEL_NONE)
		return "none";
	if (c->kind == HV_CHANNEL_VIRTIO)
		return "virtio";
	return fmt_hex(buf, c->port);
}

void options_dump(const struct hv_options *o)
{
	char chan[12];

	/* The key is a secret: say whether one is set, never what it is. */
	log_info(
	    "cmdline: console=0x%x,%u loglevel=%s channel=%s channel_key=%s on_done=%s selftest=%s "
	    "apicv=%s",
	    o->console.port, o->console.baud, keyword_name(loglevels, 4, o->loglevel),
	    channel_text(&o->channel, chan), o->channel_key.len ? "set" : "none",
	    keyword_name(on_done_words, 2, o->on_done),
	    keyword_name(selftests, sizeof(selftests) / sizeof(selftests[0]), o->selftest),
	    keyword_name(on_off, 2, o->apicv));
}

void options_help(void)
{
	size_t i;

	for (i = 0; i < N_OPTIONS; i++)
		log_info("cmdline: %s=%s (default %s): %s", options[i].name, options[i].syntax,
			 dflt_text(&options[i]), options[i].help);
}
