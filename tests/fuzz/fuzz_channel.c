// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: the controller channel's server (hv/channel/channel.c) over a
 * fake UART, with the KVM API, VMs and vCPUs behind it on the fake hardware
 * of tests/host/. Only the channel's public entry points are used:
 * channel_init(), channel_irq() (the UART's interrupt), channel_tick()
 * (the timer) and channel_serve_one() (the serve loop's body; the loop
 * itself only adds the HLT).
 *
 * The link is COM2, interrupt-driven (the default channel). Input: byte 0
 * chooses how bytes arrive (chunk sizes, bytes arriving while an answer is
 * being sent) and byte 1 seeds the chunk sizes; byte 2 is the length of
 * the guest's script, which follows (each KVM_RUN's entries take exits
 * from it: HLT, I/O, MMIO, and the external-interrupt and
 * preemption-timer exits during which more bytes arrive, so KICK, HELLO
 * and CLOSE frames land in the middle of runs); the rest is the byte
 * stream from the controller.
 *
 * Checked, beyond "no crash" under ASan/UBSan: the bytes sent back decode
 * as whole, valid frames and nothing else; every well-formed request in
 * the stream (as a reference decoder sees it) gets exactly one answer with
 * its seq (a KICK none, unless malformed: then at most one, with seq 0; a
 * BYE with seq 0 none, or at most one ERROR with seq 0), of a type that
 * fits it; and once every VM is closed the pages held are those held after
 * channel_init() (nothing leaked; sessions that ended have freed theirs),
 * and every VM made over the channel belongs to a session (none to the
 * boot controller, which the sessions never reclaim).
 *
 * The same entry point replays tests/fuzz/seeds/channel/ and
 * tests/fuzz/regressions/channel/ in the unit tests. FUZZ_TRACE=1 lists
 * the requests and answers; tests/fuzz/make_seeds.py writes the seeds.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "abi/hvwire.h"
#include "abi/kvm.h"
#include "boot/trap.h"
#include "drivers/pic8259.h"
#include "drivers/pit8254.h"
#include "drivers/uart16550.h"
#include "drivers/virtio_console.h"
#include "hv/channel/channel.h"
#include "hv/lib/cmdline.h"
#include "hv/kvm/kvm_api.h"
#include "hv/lib/log.h"
#include "tests/host/fake.h"
#include "vmx/exit_reasons.h"
#include "vmx/guest_regs.h"
#include "vmx/vcpu.h"
#include "vmx/vm.h"
#include "vmx/vmx_ops.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char fuzz_target_name[] = "channel";

#define MAX_ENTRIES_PER_RUN 32
#define MEM_LIMIT_PAGES	    4096

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_channel: invariant broken: %s\n", what);
	abort();
}

/* ---- the line -------------------------------------------------------------- */

static const uint8_t *stream; /* the controller's bytes */
static size_t stream_len, stream_pos;
static size_t arrived; /* stream bytes the UART has received */
static size_t taken;   /* ... of which uart_getc() handed out */
static uint8_t chunk_seed, chunk_mode;
static bool arrive_while_sending;

static uint8_t *out; /* what the server sent */
static size_t out_len, out_cap;

/* The reference decoder sees every byte the server takes, in order. */
static struct hvw_decoder ref;
static size_t ref_fed;

static size_t next_chunk(void)
{
	static const size_t sizes[] = {1, 3, 7, 16, 64, 500, 4096};

	chunk_seed = (uint8_t)(chunk_seed * 37 + 11);
	if (chunk_mode < 4)
		return sizes[chunk_mode + 3];
	return sizes[chunk_seed % 7] + chunk_seed % 5;
}

/* More of the stream reaches the UART; false once it has all come. */
static bool arrive(void)
{
	size_t n = next_chunk();

	if (stream_pos >= stream_len)
		return false;
	if (n > stream_len - stream_pos)
		n = stream_len - stream_pos;
	stream_pos += n;
	arrived = stream_pos;
	return true;
}

bool uart_init(struct uart *u, uint16_t port, uint32_t baud)
{
	memset(u, 0, sizeof(*u));
	u->port = port;
	u->baud = baud;
	u->present = true;
	return true;
}

int uart_getc(const struct uart *u)
{
	(void)u;
	if (taken >= arrived)
		return -1;
	return stream[taken++];
}

void uart_write(const struct uart *u, const char *buf, size_t len)
{
	if (out_len + len > out_cap) {
		out_cap = (out_len + len) * 2;
		out = realloc(out, out_cap);
		if (!out)
			abort();
	}
	memcpy(out + out_len, buf, len);
	out_len += len;
	/* A long answer: the controller goes on sending meanwhile. */
	if (arrive_while_sending && u->rx_drain && arrive())
		u->rx_drain();
}

void uart_flush(const struct uart *u)
{
	(void)u;
}

void uart_enable_rx_irq(const struct uart *u)
{
	(void)u;
}

bool virtio_console_init(void)
{
	return false;
}

const char *virtio_console_name(void)
{
	return "none";
}

size_t virtio_console_receive(void (*put)(uint8_t), size_t max)
{
	(void)put;
	(void)max;
	return 0;
}

void virtio_console_write(const void *buf, size_t len)
{
	uart_write(NULL, buf, len);
}

void virtio_console_flush(void)
{
}

void pic_unmask(unsigned irq)
{
	(void)irq;
}

/* Time stands still (fake_ticks): the idle resync never drops a candidate,
 * so the server's decoder and the reference one see the same frames. */
uint64_t pit_ticks(void)
{
	return fake_ticks;
}

static trap_handler irq_handler, tick_handler;

void trap_register_irq(unsigned line, trap_handler fn)
{
	(void)line;
	irq_handler = fn;
}

void trap_register_tick(trap_handler fn)
{
	tick_handler = fn;
}

/* The interrupt the link raises when bytes arrive (or the tick, if polled). */
static void interrupt(void)
{
	if (irq_handler)
		irq_handler();
	else if (tick_handler)
		tick_handler();
}

/* ---- the guest ----------------------------------------------------------- */

static const uint8_t *script;
static size_t script_len, script_pos;
static unsigned run_entries;

static uint8_t s8(void)
{
	return script_pos < script_len ? script[script_pos++] : 0;
}

static uint32_t exit_len(uint32_t reason, unsigned len)
{
	fake_vmcs_set(VMCS_EXIT_INSTRUCTION_LEN, len);
	return reason;
}

static uint32_t channel_guest(struct fake_guest *g)
{
	uint8_t k;

	if (++run_entries > MAX_ENTRIES_PER_RUN || script_pos >= script_len)
		return exit_len(EXIT_REASON_HLT, 1);
	k = s8();
	switch (k % 8) {
	case 0:
		/* The link's interrupt comes while the guest runs. */
		arrive();
		return EXIT_REASON_EXTERNAL_INTERRUPT;
	case 1:
		/* The end of a preemption-timer slice (the link is polled then). */
		arrive();
		return EXIT_REASON_PREEMPTION_TIMER;
	case 2:
		g->gpr[GPR_RAX] = s8();
		fake_vmcs_set(VMCS_EXIT_QUALIFICATION,
			      (uint64_t)(0x3f8 + (k >> 4)) << 16 | (k & 8 ? 8 : 0));
		return exit_len(EXIT_REASON_IO_INSTRUCTION, 1);
	case 3:
		fake_vmcs_set(VMCS_GUEST_PHYSICAL_ADDRESS, 0xfee00000 + s8() * 8);
		fake_vmcs_set(VMCS_GUEST_LINEAR_ADDRESS, 0);
		fake_vmcs_set(VMCS_EXIT_QUALIFICATION, k & 0x10 ? 2 : 1);
		return EXIT_REASON_EPT_VIOLATION;
	case 4:
		return exit_len(EXIT_REASON_PAUSE, 2);
	case 5:
		g->gpr[GPR_RAX] = k >> 4;
		g->gpr[GPR_RBX] = s8();
		g->gpr[GPR_RCX] = s8() % 64;
		return exit_len(EXIT_REASON_VMCALL, 3);
	case 6:
		return exit_len(EXIT_REASON_HLT, 1);
	default:
		g->gpr[GPR_RCX] = 0xc0000080 + (k >> 4);
		return exit_len(EXIT_REASON_RDMSR, 2);
	}
}

/*
 * A vCPU halted in the hypervisor (a VM with an irqchip) waits for its
 * host tick: bytes keep arriving meanwhile (the channel serves them between
 * waits), and once the whole stream has come the wait ends as a KICK would
 * end it, so that every run gets its answer.
 */
static void halted_wait(void)
{
	if (arrive()) {
		interrupt();
		return;
	}
	for (uint32_t h = 1; h <= KVM_API_MAX_VMS; h++) {
		struct vm *vm = kvm_api_vm(h);

		for (unsigned i = 0; vm && i < VM_MAX_VCPUS; i++)
			if (vm->vcpus[i])
				vm->vcpus[i]->stop_request = true;
	}
}

/* ---- checking the answers -------------------------------------------------- */

#define MAX_TRACK 4096

static struct {
	uint32_t seq;
	uint8_t type;
} req[MAX_TRACK];
/* n_malformed_kicks: frames that may get one ERROR with seq 0 (bad KICKs, BYEs with seq 0) */
static unsigned n_req, n_malformed_kicks;
static bool req_overflow;

/* Feed the reference decoder everything the server has taken so far. */
static void ref_catch_up(void)
{
	struct hvw_frame f;

	while (ref_fed < taken) {
		size_t n = hvw_decoder_feed(&ref, stream + ref_fed, taken - ref_fed);

		ref_fed += n;
		while (hvw_decoder_next(&ref, &f) == 1) {
			if (f.type == HVW_KICK) {
				struct hvw_kick k;

				if (hvw_parse_kick(f.payload, f.len, &k) < 0)
					n_malformed_kicks++;
				continue;
			}
			/* A BYE with seq 0 is not answered (but may be refused: -EINVAL, -EBUSY).
			 */
			if (f.type == HVW_BYE && f.seq == 0) {
				n_malformed_kicks++;
				continue;
			}
			if (n_req == MAX_TRACK) {
				req_overflow = true;
				continue;
			}
			req[n_req].seq = f.seq;
			req[n_req].type = f.type;
			n_req++;
		}
		if (!n && hvw_decoder_next(&ref, &f) != 1)
			break;
	}
}

static bool answer_fits(uint8_t req_type, uint8_t ans_type)
{
	if (ans_type == HVW_ERROR)
		return req_type != HVW_POWER_OFF;
	switch (req_type) {
	case HVW_HELLO_REQ:
		return ans_type == HVW_HELLO_RESP;
	case HVW_IOCTL_REQ:
	case HVW_MEM_WRITE:
	case HVW_CLOSE:
	case HVW_BYE:
	case HVW_POWER_OFF:
		return ans_type == HVW_IOCTL_RESP;
	case HVW_LIST_REQ:
		return ans_type == HVW_LIST_RESP;
	case HVW_MEM_READ_REQ:
		return ans_type == HVW_MEM_READ_RESP;
	case HVW_MEM_CHANGED_REQ:
		return ans_type == HVW_MEM_CHANGED_RESP;
	default:
		return false;
	}
}

/* The answers, decoded from what the server has sent so far. */
static struct hvw_decoder outdec;
static size_t out_fed;
static uint32_t ans_seq[MAX_TRACK];
static uint8_t ans_type[MAX_TRACK];
static unsigned n_ans, n_ans_seq0_errors;
static bool ans_overflow;

static void collect_answers(void)
{
	struct hvw_frame f;

	while (out_fed < out_len) {
		size_t n = hvw_decoder_feed(&outdec, out + out_fed, out_len - out_fed);

		out_fed += n;
		while (hvw_decoder_next(&outdec, &f) == 1) {
			if (n_ans == MAX_TRACK) {
				ans_overflow = true;
				continue;
			}
			if (f.seq == 0 && f.type == HVW_ERROR)
				n_ans_seq0_errors++;
			ans_seq[n_ans] = f.seq;
			ans_type[n_ans] = f.type;
			n_ans++;
		}
		if (!n)
			break;
	}
}

/* Has the server answered as many requests as the reference decoder saw? */
static bool caught_up(void)
{
	unsigned kick_answers =
	    n_ans_seq0_errors < n_malformed_kicks ? n_ans_seq0_errors : n_malformed_kicks;

	ref_catch_up();
	collect_answers();
	return req_overflow || ans_overflow || n_ans - kick_answers >= n_req;
}

static void check_answers(void)
{
	unsigned seq0_answers = 0;
	static bool used[MAX_TRACK];

	collect_answers();
	if (outdec.bytes_discarded || hvw_decoder_buffered(&outdec))
		fail("the server sent bytes that are not whole, valid frames");
	if (getenv("FUZZ_TRACE")) {
		fprintf(stderr,
			"channel: %u requests, %u malformed KICKs, %u answers, %zu bytes out\n",
			n_req, n_malformed_kicks, n_ans, out_len);
		for (unsigned i = 0; i < n_req; i++)
			fprintf(stderr, "channel:   request type %u seq %u\n", req[i].type,
				req[i].seq);
		for (unsigned j = 0; j < n_ans; j++)
			fprintf(stderr, "channel:   answer type %u seq %u\n", ans_type[j],
				ans_seq[j]);
	}
	if (req_overflow || ans_overflow)
		return;
	/* Match answers to requests by seq, each answer used once. */
	memset(used, 0, sizeof(used));
	for (unsigned i = 0; i < n_req; i++) {
		unsigned j, hits = 0;

		for (j = 0; j < n_ans; j++)
			if (!used[j] && ans_seq[j] == req[i].seq) {
				used[j] = true;
				hits++;
				if (!answer_fits(req[i].type, ans_type[j])) {
					fprintf(stderr,
						"request type %u seq %u answered with type %u\n",
						req[i].type, req[i].seq, ans_type[j]);
					fail("an answer of the wrong type");
				}
				break;
			}
		if (!hits) {
			fprintf(stderr,
				"request %u of %u (type %u, seq %u) has no answer (%u answers)\n",
				i + 1, n_req, req[i].type, req[i].seq, n_ans);
			fail("a well-formed request got no answer");
		}
	}
	for (unsigned j = 0; j < n_ans; j++) {
		if (used[j])
			continue;
		if (ans_seq[j] == 0 && ans_type[j] == HVW_ERROR &&
		    seq0_answers < n_malformed_kicks) {
			seq0_answers++;
			continue;
		}
		fprintf(stderr, "answer type %u seq %u answers no request\n", ans_type[j],
			ans_seq[j]);
		fail("an answer too many");
	}
}

/* ---- the target -------------------------------------------------------------- */

static bool booted;
static uint64_t base_pages;

static void boot(void)
{
	struct hv_options o;

	fake_machine_boot(FAKE_MODEL_SKYLAKE);
	memset(&o, 0, sizeof(o));
	o.channel.kind = HV_CHANNEL_UART;
	o.channel.port = 0x2f8; /* COM2, interrupt-driven: the default channel */
	if (!channel_init(&o))
		fail("channel_init refused the fake UART");
	base_pages = fake_mm_pages_in_use();
	fake_hlt_hook = halted_wait;
	booted = true;
}

/*
 * Serve as channel_serve() would before it halts: channel_serve_one() until
 * it finds nothing. It may say so while bytes still wait in the receive
 * ring (a candidate frame filled the decoder; channel_serve() looks at the
 * ring before it halts), so go on while the server has answered fewer
 * requests than the reference decoder has seen.
 */
static void serve_all(void)
{
	unsigned idle = 0;

	for (unsigned guard = 0; guard < 200000; guard++) {
		if (channel_serve_one()) {
			idle = 0;
			continue;
		}
		if (caught_up() || ++idle > 1000)
			return;
	}
	fail("the server answered 200000 requests from one input");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t zeros[4096];
	uint8_t cfg;
	size_t slen;

	if (size < 3)
		return 0;
	cfg = data[0];
	if (!booted)
		boot();
	chunk_mode = cfg >> 1 & 7;
	arrive_while_sending = cfg & 0x10;
	chunk_seed = data[1];
	slen = data[2];
	if (slen > size - 3)
		slen = size - 3;
	script = data + 3;
	script_len = slen;
	script_pos = 0;
	stream = data + 3 + slen;
	stream_len = size - 3 - slen;
	stream_pos = arrived = taken = 0;
	out_len = 0;
	n_req = n_malformed_kicks = 0;
	req_overflow = false;
	hvw_decoder_init(&outdec);
	out_fed = 0;
	n_ans = n_ans_seq0_errors = 0;
	ans_overflow = false;
	hvw_decoder_init(&ref);
	ref_fed = 0;
	fake_mm_set_limit(base_pages + MEM_LIMIT_PAGES);
	fake_guest = channel_guest;
	fake_irq_hook = interrupt;
	run_entries = 0;

	/* The controller's bytes arrive chunk by chunk; each is served in full. */
	while (arrive()) {
		interrupt();
		serve_all();
		ref_catch_up();
		run_entries = 0;
	}
	interrupt();
	serve_all();
	ref_catch_up();
	check_answers();

	for (uint32_t h = 1; h <= KVM_API_MAX_VMS; h++)
		if (kvm_api_vm(h) && kvm_api_vm_owner(h) == KVM_API_OWNER_BOOT)
			fail("a VM made over the channel belongs to no session");
	/*
	 * Leave nothing for the next input: every VM closed, and the decoder
	 * emptied of a false start by zeros (the reference decoder says when).
	 */
	for (uint32_t h = 1; h <= KVM_API_MAX_VMS; h++)
		kvm_api_destroy_vm(h);
	if (fake_mm_pages_in_use() != base_pages) {
		fprintf(stderr, "fuzz_channel: %lld pages held after every VM was closed\n",
			(long long)(fake_mm_pages_in_use() - base_pages));
		fail("pages leaked");
	}
	stream = zeros;
	for (unsigned i = 0; i < 64 && hvw_decoder_buffered(&ref); i++) {
		stream_len = sizeof(zeros);
		stream_pos = arrived = taken = 0;
		ref_fed = 0;
		out_len = out_fed = 0;
		hvw_decoder_init(&outdec);
		n_req = n_malformed_kicks = n_ans = n_ans_seq0_errors = 0;
		while (arrive()) {
			interrupt();
			serve_all();
			ref_catch_up();
		}
	}
	return 0;
}
