/* SPDX-License-Identifier: MIT */
/*
 * Boot command-line options, parsed in one place.
 *
 * The parse never fails: an unknown option or a bad value is named in a
 * warning and the option keeps its default. Every option is one row of
 * the table in hv/lib/cmdline.c (name, parser, accepted values, default, help);
 * the defaults themselves are produced by parsing each row's default
 * text, so the help text and the behaviour cannot drift apart.
 */
#ifndef HV_CMDLINE_H
#define HV_CMDLINE_H

#include <stdbool.h>
#include <stdint.h>

#include "hv/lib/log.h"

/* channel_key: 32..128 hex digits, i.e. 16..64 bytes. */
#define HV_CHANNEL_KEY_MIN 16
#define HV_CHANNEL_KEY_MAX 64

/* The standard PC serial ports. */
#define HV_COM1_PORT 0x3f8
#define HV_COM2_PORT 0x2f8
#define HV_COM3_PORT 0x3e8
#define HV_COM4_PORT 0x2e8

/* The UART's reference rate: the baud rate must divide it (divisor). */
#define HV_UART_BASE_BAUD 115200u

enum hv_channel_kind {
	HV_CHANNEL_NONE,
	HV_CHANNEL_UART,
	HV_CHANNEL_VIRTIO,
};

enum hv_on_done {
	HV_ON_DONE_HALT, /* stay up, halted */
	HV_ON_DONE_EXIT, /* write the exit status to the emulator's exit port */
};

enum hv_selftest {
	HV_SELFTEST_NONE,
	HV_SELFTEST_UD,	     /* invalid opcode */
	HV_SELFTEST_PF,	     /* page fault */
	HV_SELFTEST_GP,	     /* general protection */
	HV_SELFTEST_DE,	     /* divide error */
	HV_SELFTEST_VMENTRY, /* a VM whose state the CPU refuses at VM entry */
	HV_SELFTEST_KVMAPI,  /* the KVM API's answers and errors */
};

struct hv_console_opt {
	uint16_t port;
	uint32_t baud;
};

struct hv_channel_opt {
	enum hv_channel_kind kind;
	uint16_t port; /* HV_CHANNEL_UART only */
};

struct hv_key_opt {
	uint8_t len; /* 0 = no key */
	uint8_t bytes[HV_CHANNEL_KEY_MAX];
};

struct hv_options {
	struct hv_console_opt console;
	enum log_level loglevel;
	struct hv_channel_opt channel;
	struct hv_key_opt channel_key; /* secret: never logged */
	enum hv_on_done on_done;
	enum hv_selftest selftest;
	int apicv; /* 1: use the CPU's APIC virtualisation where it has it */
};

/* Fill @o with every option's default. */
void options_defaults(struct hv_options *o);

/*
 * Reset @o to the defaults, then apply @cmdline (NULL or "" = nothing).
 * Words are split on whitespace; a first word without '=' that looks like
 * a path is taken as the kernel file name and skipped. Later occurrences
 * of an option override earlier ones.
 */
void options_parse(struct hv_options *o, const char *cmdline);

/* One log_info line with every effective option (the key only as a length). */
void options_dump(const struct hv_options *o);

/* One log_info line per option: syntax, default, help. */
void options_help(void);

#endif
