// SPDX-License-Identifier: MIT
/*
 * Receiving runs in two halves: the UART interrupt only moves bytes into a
 * ring (so nothing is lost while a vCPU runs: its arrival is an
 * external-interrupt exit), and channel_serve() feeds the ring to the frame
 * decoder and answers each request in turn.
 *
 * While a KVM_RUN is in progress the serve loop is inside vcpu_run(); the
 * link's interrupt, the tick and the end of each preemption-timer slice
 * then keep decoding (run_scan): a KICK acts at once, a HELLO, a BYE or a
 * CLOSE of the running VM stops the run, and every other request goes into a
 * bounded queue (CHANNEL_QUEUE_FRAMES) that is served, oldest first, once
 * the run has returned and its answer has gone out. A request that finds
 * the queue full is answered at once with -EBUSY. Nothing here takes a
 * lock: there is one CPU, and the serve loop runs with interrupts off
 * except while it halts or a vCPU runs.
 *
 * Sessions: the line holds one controller at a time. Every VM made over
 * the channel is owned by the current session (kvm_api_set_vm_owner);
 * a HELLO (a new controller) or a BYE ends the session and destroys its
 * VMs, one log line each. VMs of the boot controller have no session.
 */
#include <stdio.h>
#include <string.h>

#include "abi/hvpack.h"
#include "abi/hvrun.h"
#include "abi/hvwire.h"
#include "abi/kvm.h"
#include "boot/trap.h"
#include "drivers/pic8259.h"
#include "drivers/pit8254.h"
#include "drivers/uart16550.h"
#include "drivers/virtio_console.h"
#include "hv/channel/channel.h"
#include "abi/errno.h"
#include "hv/lib/halt.h"
#include "hv/kvm/kvm_api.h"
#include "hv/lib/log.h"
#include "hv/lib/mm.h"
#include "vmx/vm.h"
#include "hv/lib/x86.h"
#include "vmx/vcpu.h"
#include "vmx/vmx.h"

/* > 11 s of 115200 baud: all a controller can send while a 64 KiB answer goes out. */
#define RING_SIZE	  (128u * 1024)
#define COM1_PORT	  0x3f8
#define COM2_PORT	  0x2f8
#define COM1_IRQ	  4
#define COM2_IRQ	  3
#define HV_VERSION_STRING "hv 0.4"
/* A partial frame with no new byte for this long is line noise. */
#define IDLE_RESYNC_TICKS 200 /* ms at the 1 kHz tick */
/* Pages of one queue slot: the largest payload. */
#define QUEUE_SLOT_PAGES ((HVW_MAX_PAYLOAD + PAGE_SIZE - 1) / PAGE_SIZE)
/* Answers made in interrupt context while a send was going on (never, by design). */
#define URGENT_MAX 16

/*
 * A link moves the channel's bytes: receive() puts whatever has arrived
 * into the ring (from its interrupt, or from the timer tick when it has
 * none), send() writes a whole frame, flush() waits until it has left.
 */
struct channel_link {
	char name[32];
	int irq_line; /* legacy PIC line, or -1: polled at every timer tick */
	void (*receive)(void);
	void (*send)(const void *buf, size_t len);
	void (*flush)(void);
};

static struct channel_link link;
static bool linked;
static volatile uint8_t ring[RING_SIZE];
static volatile uint32_t ring_head, ring_tail; /* written by IRQ / by serve */
static volatile uint64_t ring_dropped;
static bool power_off;

static struct hvw_decoder dec;
static uint8_t tx[HVW_MAX_FRAME];
/* Answers sent from interrupt context (an ERROR: header, errno, text, CRC). */
static uint8_t tx_irq[HVW_OVERHEAD + 4 + HVW_ERROR_TEXT_MAX];
static bool tx_busy; /* a frame is being written to the link */
/* The request's argument, copied out of the frame once (then checked). */
static uint8_t arg[HVW_MAX_ARG + 8];
/* An answer's out-argument in the packed form (HVW_IOCTL_PACKED). */
static uint8_t packed[HVP_BOUND(HVW_MAX_ARG)];
static struct hvp_scratch pack_ws;

/* Called by a link's receive(), in interrupt context or with IF=0. */
static void ring_put(uint8_t b)
{
	uint32_t next = (ring_head + 1) % RING_SIZE;

	if (next == ring_tail) {
		ring_dropped++;
		return;
	}
	ring[ring_head] = b;
	ring_head = next;
}

/* ---- the 16550 link ---- */

static struct uart chan;

static void uart_link_receive(void)
{
	int c;

	while ((c = uart_getc(&chan)) >= 0)
		ring_put((uint8_t)c);
}

/* Bytes the send loop took in while it waited for the transmitter. */
static uint64_t drained_while_sending;

static void uart_link_drain(void)
{
	uint32_t before = ring_head;

	uart_link_receive();
	drained_while_sending += (ring_head + RING_SIZE - before) % RING_SIZE;
}

static void uart_link_send(const void *buf, size_t len)
{
	uart_write(&chan, buf, len);
}

static void uart_link_flush(void)
{
	uart_flush(&chan);
}

static bool uart_link_init(uint16_t port)
{
	if (!uart_init(&chan, port, HV_UART_BASE_BAUD)) {
		log_info("hv: channel: no UART at 0x%x; not serving", port);
		return false;
	}
	snprintf(link.name, sizeof(link.name), "port 0x%x", port);
	link.irq_line = port == COM2_PORT ? COM2_IRQ : port == COM1_PORT ? COM1_IRQ : -1;
	link.receive = uart_link_receive;
	link.send = uart_link_send;
	link.flush = uart_link_flush;
	/* A long answer is written with IF=0: keep receiving meanwhile. */
	chan.rx_drain = uart_link_drain;
	if (link.irq_line >= 0)
		uart_enable_rx_irq(&chan);
	return true;
}

/* ---- the virtio-console link (polled at the tick) ---- */

/* Free room in the ring: a virtio buffer may hold more than the ring takes,
 * and what does not fit stays in the device's buffer until the next call. */
static size_t ring_room(void)
{
	return (ring_tail + RING_SIZE - ring_head - 1) % RING_SIZE;
}

static void virtio_link_receive(void)
{
	virtio_console_receive(ring_put, ring_room());
}

static bool virtio_link_init(void)
{
	if (!virtio_console_init()) {
		log_info("hv: channel: no usable virtio-console; not serving");
		return false;
	}
	snprintf(link.name, sizeof(link.name), "%s", virtio_console_name());
	link.irq_line = -1;
	link.receive = virtio_link_receive;
	link.send = virtio_console_write;
	link.flush = virtio_console_flush;
	return true;
}

/* ---- the request queue ---- */

static struct vcpu *running; /* the vCPU of the KVM_RUN in progress, or NULL */
static uint32_t running_vm;

/*
 * A request decoded during a run, waiting to be served. Slots are taken in
 * any order and served by age (order), so a frame served out of turn (see
 * channel_serve_one) leaves no hole.
 */
struct qframe {
	bool used;
	bool run_safe; /* may be served while any vCPU runs (channel.h) */
	bool is_run;   /* KVM_RUN of vcpu (vm, vcpu) */
	bool is_ioctl; /* a well-formed IOCTL_REQ: target, nr, vm and vcpu hold */
	uint16_t target;
	uint32_t nr;
	bool kicked; /* a KICK came for it while it waited: it returns -EINTR */
	uint8_t type;
	uint32_t seq, len;
	uint32_t vm, vcpu;
	uint64_t order;
	uint8_t *payload; /* QUEUE_SLOT_PAGES pages */
};

static struct qframe queue[CHANNEL_QUEUE_FRAMES];
static unsigned queue_slots; /* slots with storage */
static uint64_t queue_order;
static struct qframe *serving; /* the queued frame being served, or NULL */
static uint64_t queued_total, busy_total;

static void queue_init(void)
{
	for (queue_slots = 0; queue_slots < CHANNEL_QUEUE_FRAMES; queue_slots++) {
		uint64_t pa = pages_alloc_zeroed(QUEUE_SLOT_PAGES, 1);

		if (!pa)
			break;
		queue[queue_slots].payload = phys_to_virt(pa);
	}
	if (queue_slots < CHANNEL_QUEUE_FRAMES)
		log_warn("hv: channel: memory for %u of %u queued requests", queue_slots,
			 CHANNEL_QUEUE_FRAMES);
}

/* Copy @f into a free slot; false when the queue is full. */
static bool enqueue(const struct hvw_frame *f)
{
	struct hvw_ioctl_req req;
	struct qframe *q = NULL;

	for (unsigned i = 0; i < queue_slots && !q; i++)
		if (!queue[i].used)
			q = &queue[i];
	if (!q || f->len > HVW_MAX_PAYLOAD)
		return false;
	memcpy(q->payload, f->payload, f->len);
	q->type = f->type;
	q->seq = f->seq;
	q->len = f->len;
	q->order = ++queue_order;
	q->kicked = false;
	q->is_run = false;
	q->is_ioctl = false;
	q->run_safe = f->type == HVW_MEM_READ_REQ || f->type == HVW_MEM_WRITE ||
		      f->type == HVW_MEM_CHANGED_REQ || f->type == HVW_LIST_REQ;
	if (f->type == HVW_IOCTL_REQ && hvw_parse_ioctl_req(q->payload, q->len, &req) == 0) {
		q->run_safe = req.hdr.target == HVW_TARGET_SYSTEM;
		q->is_run = req.hdr.target == HVW_TARGET_VCPU && req.hdr.nr == KVM_RUN;
		q->is_ioctl = true;
		q->target = req.hdr.target;
		q->nr = req.hdr.nr;
		q->vm = req.hdr.vm;
		q->vcpu = req.hdr.vcpu;
	}
	q->used = true;
	queued_total++;
	return true;
}

/*
 * May @q be served while `running` is in its KVM_RUN? As with KVM, where
 * only the ioctls of one vCPU are serialised (vcpu->mutex): the memory
 * requests, LIST and system ioctls (run_safe), any ioctl but KVM_RUN on
 * another vCPU or another VM, and on the running vCPU's own VM those that
 * raise interrupts or only read (KVM_IRQ_LINE(_STATUS), KVM_SIGNAL_MSI,
 * KVM_GET_IRQCHIP, KVM_CHECK_EXTENSION): what would change the VM's layout
 * under the running vCPU (memory slots, new vCPUs, CLOSE) waits, as do
 * HELLO, BYE and POWER_OFF.
 */
static bool safe_during_run(const struct qframe *q)
{
	if (q->run_safe)
		return true;
	if (!q->is_ioctl || q->is_run)
		return false;
	if (q->target == HVW_TARGET_VCPU)
		return q->vm != running_vm || q->vcpu != (uint32_t)running->id;
	if (q->target != HVW_TARGET_VM)
		return false;
	if (q->vm != running_vm)
		return true;
	return q->nr == KVM_IRQ_LINE || q->nr == KVM_IRQ_LINE_STATUS || q->nr == KVM_SIGNAL_MSI ||
	       q->nr == KVM_GET_IRQCHIP || q->nr == KVM_CHECK_EXTENSION;
}

/* The oldest queued frame (only those safe while a vCPU runs, if @in_run). */
static struct qframe *queue_oldest(bool in_run)
{
	struct qframe *best = NULL;

	for (unsigned i = 0; i < queue_slots; i++) {
		struct qframe *q = &queue[i];

		if (!q->used || q == serving || (in_run && !safe_during_run(q)))
			continue;
		if (!best || q->order < best->order)
			best = q;
	}
	return best;
}

/* The queued KVM_RUN of (vm, vcpu), if there is one. */
static struct qframe *queued_run(uint32_t vm, uint32_t vcpu)
{
	for (unsigned i = 0; i < queue_slots; i++)
		if (queue[i].used && queue[i].is_run && &queue[i] != serving && queue[i].vm == vm &&
		    queue[i].vcpu == vcpu)
			return &queue[i];
	return NULL;
}

/* The frame being served no longer needs its slot. */
static void release_serving(void)
{
	if (serving) {
		serving->used = false;
		serving = NULL;
	}
}

/* ---- sending ---- */

/*
 * One whole frame to the link. Frames go out from the serve loop, and from
 * interrupt context (run_scan) only while the serve loop is inside a run,
 * where it does not send; tx_busy makes sure the two can never interleave
 * (an interrupt-context answer that finds it set waits in urgent[]).
 */
static void link_send(const uint8_t *buf, size_t n)
{
	tx_busy = true;
	link.send(buf, n);
	tx_busy = false;
}

static void send(size_t n)
{
	if (n)
		link_send(tx, n);
	else
		log_err("hv: channel: response did not fit a frame");
}

static struct {
	uint32_t seq;
	int32_t err;
} urgent[URGENT_MAX];
static unsigned n_urgent;
static uint64_t urgent_lost;

/* Send the answers made in interrupt context, unless a send is in progress. */
static void flush_urgent(void)
{
	while (n_urgent && !tx_busy) {
		uint32_t seq = urgent[0].seq;
		int32_t err = urgent[0].err;
		size_t n;

		memmove(&urgent[0], &urgent[1], --n_urgent * sizeof(urgent[0]));
		n = hvw_encode_error(tx_irq, sizeof(tx_irq), seq, err, "request queue full");
		if (n)
			link_send(tx_irq, n);
	}
}

/* A request that cannot be queued: -EBUSY, now (it is never dropped silently). */
static void answer_busy(const struct hvw_frame *f)
{
	busy_total++;
	log_warn_ratelimited("hv: channel: seq %u (%s) during a run: the request queue is full "
			     "(%u); answered -EBUSY",
			     f->seq, hvw_type_name(f->type), queue_slots);
	if (n_urgent == URGENT_MAX) {
		urgent_lost++;
		log_err_ratelimited("hv: channel: seq %u: no room for its -EBUSY answer", f->seq);
		return;
	}
	urgent[n_urgent].seq = f->seq;
	urgent[n_urgent].err = -HV_EBUSY;
	n_urgent++;
	flush_urgent();
}

static void slice_poll(void); /* below */

bool channel_init(const struct hv_options *o)
{
	if (o->channel.kind == HV_CHANNEL_UART)
		linked = uart_link_init(o->channel.port);
	else if (o->channel.kind == HV_CHANNEL_VIRTIO)
		linked = virtio_link_init();
	if (!linked)
		return false;
	hvw_decoder_init(&dec);
	queue_init();
	vcpu_slice_hook = slice_poll;
	if (link.irq_line >= 0)
		pic_unmask((unsigned)link.irq_line);
	/* The dispatcher calls us; it does not know the channel. */
	if (link.irq_line >= 0)
		trap_register_irq((unsigned)link.irq_line, channel_irq);
	trap_register_tick(channel_tick);
	return true;
}

int channel_irq_line(void)
{
	return linked ? link.irq_line : -1;
}

static void run_scan(void); /* below: what arrives during a KVM_RUN */

void channel_irq(void)
{
	link.receive();
	run_scan();
}

void channel_tick(void)
{
	if (linked && link.irq_line < 0)
		link.receive();
	run_scan();
}

static uint64_t last_rx_tick;

/* Ring to decoder, as much as it takes (IF=0: serve loop or interrupt). */
static void ring_to_decoder(void)
{
	if (ring_tail != ring_head)
		last_rx_tick = pit_ticks();
	while (ring_tail != ring_head) {
		uint8_t b = ring[ring_tail];

		if (!hvw_decoder_feed(&dec, &b, 1))
			break;
		ring_tail = (ring_tail + 1) % RING_SIZE;
	}
}

/* A false frame start holds what follows; once the line is quiet, drop it. */
static bool idle_resync(void)
{
	if (!hvw_decoder_buffered(&dec) || ring_tail != ring_head ||
	    pit_ticks() - last_rx_tick <= IDLE_RESYNC_TICKS)
		return false;
	hvw_decoder_resync(&dec);
	last_rx_tick = pit_ticks();
	return true;
}

/* ---- during a run ---- */

static struct vcpu *find_vcpu(uint32_t vm_handle, uint32_t id)
{
	struct vm *vm = kvm_api_vm(vm_handle);

	for (unsigned i = 0; vm && i < vm->n_vcpus; i++)
		if ((uint32_t)vm->vcpus[i]->id == id)
			return vm->vcpus[i];
	return NULL;
}

/*
 * A KICK: stop the vCPU if it is the one running, or make its queued
 * KVM_RUN return -EINTR (a signal that came while the thread waited for
 * the vCPU); false if malformed.
 */
static bool kick(const struct hvw_frame *f, const char **why)
{
	struct hvw_kick k;
	struct qframe *q;

	if (hvw_parse_kick(f->payload, f->len, &k) < 0) {
		*why = "malformed KICK";
		return false;
	}
	if (running && k.vm == running_vm && (uint32_t)running->id == k.vcpu) {
		running->stop_request = true;
		log_debug("hv: channel: KICK vm %u vcpu %u: stopping its run", k.vm, k.vcpu);
	} else if ((q = queued_run(k.vm, k.vcpu)) != NULL) {
		q->kicked = true;
		log_debug("hv: channel: KICK vm %u vcpu %u: its queued KVM_RUN (seq %u) will "
			  "return -EINTR",
			  k.vm, k.vcpu, q->seq);
	} else if (!find_vcpu(k.vm, k.vcpu)) {
		log_warn_ratelimited(
		    "hv: channel: KICK for vm %u vcpu %u, which does not exist; ignored", k.vm,
		    k.vcpu);
	} else {
		log_debug("hv: channel: KICK vm %u vcpu %u outside its KVM_RUN; ignored", k.vm,
			  k.vcpu);
	}
	return true;
}

/* One frame decoded while a vCPU runs. */
static void during_run(const struct hvw_frame *f)
{
	struct hvw_close c;
	struct hvw_bye b;
	const char *why;
	bool stop = false;

	switch (f->type) {
	case HVW_KICK:
		/* No answer from interrupt context: a bad KICK gets a log line. */
		if (!kick(f, &why))
			log_warn_ratelimited("hv: channel: %s (%u bytes) during a run; ignored",
					     why, f->len);
		return;
	case HVW_HELLO_REQ:
		/*
		 * A new controller: the one that started this run is gone (it
		 * would not say HELLO twice), so the run stops instead of
		 * holding the line for ever; the HELLO is answered after it.
		 */
		running->stop_request = true;
		log_info_ratelimited("hv: channel: HELLO during the KVM_RUN of vm %u vcpu %d: a "
				     "new controller; the run is stopped",
				     running_vm, running->id);
		break;
	case HVW_CLOSE:
		/* The VM goes: its run ends first (its answer goes out), then the CLOSE. */
		stop = hvw_parse_close(f->payload, f->len, &c) == 0 && c.vm == running_vm;
		break;
	case HVW_BYE:
		/*
		 * The controller is gone (or going): the run stops as for a
		 * HELLO, and the BYE then ends its session. A malformed BYE
		 * ends nothing, so it stops nothing either.
		 */
		if (hvw_parse_bye(f->payload, f->len, &b) == 0) {
			running->stop_request = true;
			log_info_ratelimited("hv: channel: BYE during the KVM_RUN of vm %u vcpu "
					     "%d: the run is stopped",
					     running_vm, running->id);
		}
		break;
	default:
		break;
	}
	if (!enqueue(f))
		return answer_busy(f);
	if (stop) {
		running->stop_request = true;
		log_info_ratelimited("hv: channel: CLOSE of vm %u during the KVM_RUN of its vcpu "
				     "%d: the run is stopped",
				     running_vm, running->id);
	}
}

/*
 * Decode everything that has arrived, while a KVM_RUN is in progress. Runs
 * with IF=0 on the one CPU: in the link's interrupt, the tick, at the end
 * of a preemption-timer slice, or in do_run() before it enters the guest.
 */
static void run_scan(void)
{
	struct hvw_frame f;

	if (!running)
		return;
	for (;;) {
		if (hvw_decoder_next(&dec, &f) == 1) {
			during_run(&f);
			continue;
		}
		if (ring_tail != ring_head) {
			ring_to_decoder(); /* at least one byte fits now */
			continue;
		}
		if (!idle_resync())
			break;
	}
	flush_urgent();
}

/*
 * At the end of each preemption-timer slice of a running vCPU: the link is
 * read whatever its interrupt did. Under Bochs a guest that runs with IF=0
 * gets no external-interrupt exits, so neither the link's IRQ nor the tick
 * would let a KICK in until its next exit.
 */
/*
 * Between two VM entries of the running vCPU (a slice's end, an external
 * interrupt, a halted vCPU's wait): read the line, then answer what may be
 * answered during a run (safe_during_run), oldest first.
 */
static void slice_poll(void)
{
	static bool polling;

	if (!running || polling)
		return;
	polling = true;
	/* Read the line whatever the link: with the guest's IF=0 its IRQ may not come. */
	link.receive();
	run_scan();
	for (unsigned n = 0; n < CHANNEL_QUEUE_FRAMES && channel_serve_one(); n++)
		;
	polling = false;
}

static void send_error(uint32_t seq, int err, const char *text)
{
	log_warn_ratelimited("hv: channel: seq %u refused: %s (%d)", seq, text, err);
	send(hvw_encode_error(tx, sizeof(tx), seq, err, text));
}

static void send_result(uint32_t seq, int64_t result, const void *out, uint32_t len)
{
	struct hvw_ioctl_resp r = {.result = result, .arg = out, .arg_len = len};

	send(hvw_encode_ioctl_resp(tx, sizeof(tx), seq, &r));
}

/* The answer to an ioctl request with @flags: its out-argument packed if asked. */
static void send_ioctl_result(uint32_t seq, uint16_t flags, int64_t result, const void *out,
			      uint32_t len)
{
	long n;

	if (!(flags & HVW_IOCTL_PACKED) || !len)
		return send_result(seq, result, out, len);
	n = hvp_pack(packed, sizeof(packed), out, len, &pack_ws);
	if (n < 0) {
		log_err("hv: channel: seq %u answer of %u bytes does not pack (%ld)", seq, len, n);
		return send_result(seq, -HV_EFAULT, NULL, 0);
	}
	send_result(seq, result, packed, (uint32_t)n);
}

/* ---- sessions ---- */

static uint32_t session = 1; /* the current controller's (never 0: HVW_OWNER_BOOT) */
static bool session_used;    /* a HELLO or a request came since it began */

_Static_assert(KVM_API_OWNER_BOOT == HVW_OWNER_BOOT, "one value for 'no session'");
_Static_assert(KVM_API_MAX_VMS <= HVW_LIST_MAX, "every VM fits one LIST answer");

/*
 * The current session ends: its VMs are destroyed (a line each: what it
 * had and the pages that came back), and, if it was used, the next
 * request starts the next one. Returns the number of VMs destroyed.
 */
static unsigned end_session(const char *why)
{
	char name[VM_NAME_MAX];
	unsigned n = 0;

	for (uint32_t h = 1; h <= KVM_API_MAX_VMS; h++) {
		struct vm *vm = kvm_api_vm(h);
		uint64_t before;
		unsigned vcpus;

		if (!vm || kvm_api_vm_owner(h) != session)
			continue;
		vcpus = vm->n_vcpus;
		memcpy(name, vm->name, sizeof(name));
		name[sizeof(name) - 1] = 0;
		before = pmm_free_pages(&hv_pmm);
		kvm_api_destroy_vm(h);
		log_info("hv: channel: session %u ended (%s): vm %u '%s' reclaimed, %u vCPU(s), "
			 "%llu pages",
			 session, why, h, name, vcpus,
			 (unsigned long long)(pmm_free_pages(&hv_pmm) - before));
		n++;
	}
	if (!n)
		log_debug("hv: channel: session %u ended (%s), no VM to reclaim", session, why);
	if (session_used) {
		session = session == UINT32_MAX ? 1 : session + 1;
		session_used = false;
	}
	return n;
}

/*
 * BYE: the session ends; the answer is the number of VMs destroyed, and a
 * BYE with seq 0 (a relay's, for a controller that left) has none.
 */
static void do_bye(const struct hvw_frame *f)
{
	struct hvw_bye b;
	unsigned n;

	if (hvw_parse_bye(f->payload, f->len, &b) < 0)
		return send_error(f->seq, -HV_EINVAL, "malformed BYE");
	n = end_session(b.reason == HVW_BYE_GONE ? "the controller's connection ended" : "BYE");
	if (f->seq)
		send_result(f->seq, n, NULL, 0);
}

/* LIST: every live VM, in handle order, with the caller's session and the limits. */
static void do_list(const struct hvw_frame *f)
{
	uint8_t *body = tx + HVW_HDR_LEN + HVW_LIST_HEAD_LEN;
	struct hvw_list_resp resp = {0};
	struct hvw_list_req r;

	if (hvw_parse_list_req(f->payload, f->len, &r) < 0)
		return send_error(f->seq, -HV_EINVAL, "malformed LIST");
	for (uint32_t h = 1; h <= KVM_API_MAX_VMS; h++) {
		struct vm *vm = kvm_api_vm(h);
		struct hvw_vm_entry e = {0};

		if (!vm)
			continue;
		e.handle = h;
		e.owner = kvm_api_vm_owner(h);
		e.vcpus = vm->n_vcpus;
		e.memory = vm_memory_bytes(vm);
		memcpy(e.name, vm->name, sizeof(e.name) - 1);
		hvw_list_put_entry(body + resp.count * HVW_LIST_ENTRY_LEN, &e);
		resp.count++;
	}
	resp.session = session;
	resp.max_vms = KVM_API_MAX_VMS;
	resp.max_vcpus = VM_MAX_VCPUS;
	resp.free_pages = pmm_free_pages(&hv_pmm);
	resp.body = body;
	send(hvw_encode_list_resp(tx, sizeof(tx), f->seq, &resp));
}

static void do_hello(const struct hvw_frame *f)
{
	struct hvw_hello_req req;
	struct hvw_hello_resp resp = {0};
	struct cpuid_regs v = cpuid(0, 0);
	char vendor[13];
	int ver;

	if (hvw_parse_hello_req(f->payload, f->len, &req) < 0)
		return send_error(f->seq, -HV_EINVAL, "malformed HELLO");
	ver = hvw_hello_version(&req);
	if (ver < 0)
		return send_error(f->seq, ver, "no common protocol version");
	/* A new controller: the one before it is gone, and its VMs with it. */
	if (session_used)
		end_session("a new controller said HELLO");
	session_used = true;
	memcpy(vendor, &v.ebx, 4);
	memcpy(vendor + 4, &v.edx, 4);
	memcpy(vendor + 8, &v.ecx, 4);
	vendor[12] = 0;
	resp.version = (uint32_t)ver;
	resp.flags = vmx_enabled() ? HVW_HELLO_FLAG_VMX : 0;
	resp.caps = HVW_CAP_KVM_IOCTL | HVW_CAP_MEMORY | HVW_CAP_KICK | HVW_CAP_CLOSE |
		    HVW_CAP_MEM_CHANGED | HVW_CAP_COMPACT_RUN | HVW_CAP_SESSION | HVW_CAP_PACKED;
	snprintf(resp.identity, sizeof(resp.identity), "%s vmx=%s cpu=%s", HV_VERSION_STRING,
		 vmx_enabled() ? "yes" : "no", vendor);
	log_info_ratelimited("hv: channel: hello from '%s', protocol version %d, session %u",
			     req.client, ver, session);
	send(hvw_encode_hello_resp(tx, sizeof(tx), f->seq, &resp));
}

/*
 * KVM_RUN: the caller's kvm_run arrives as the argument; only the fields
 * the caller owns are taken from it (and the data of a pending IN), the
 * rest of the response is the vCPU's kvm_run after the run.
 */
/* The plain form: the caller's kvm_run arrives whole (then its IN data). */
static long run_in_plain(struct kvm_run *run, uint32_t len)
{
	const struct kvm_run *in = (const struct kvm_run *)arg;
	uint32_t extra = len > sizeof(*run) ? len - (uint32_t)sizeof(*run) : 0;

	if (len < sizeof(*run) || extra > VCPU_PIO_OFFSET)
		return -HV_EFAULT;
	run->request_interrupt_window = in->request_interrupt_window;
	run->immediate_exit = in->immediate_exit;
	run->cr8 = in->cr8;
	run->kvm_valid_regs = in->kvm_valid_regs;
	run->kvm_dirty_regs = in->kvm_dirty_regs;
	memcpy(&run->s, &in->s, sizeof(run->s));
	memcpy(run->mmio.data, in->mmio.data, sizeof(run->mmio.data));
	/* A user-space MSR exit's answer (the rest of the union is ours). */
	if (run->exit_reason == KVM_EXIT_X86_RDMSR || run->exit_reason == KVM_EXIT_X86_WRMSR) {
		run->msr.error = in->msr.error;
		run->msr.data = in->msr.data;
	}
	memcpy((uint8_t *)run + VCPU_PIO_OFFSET, arg + sizeof(*run), extra);
	return 0;
}

/* ... and goes back whole, then an OUT's data. */
static uint32_t run_out_plain(const struct kvm_run *run)
{
	uint32_t out_len = sizeof(*run);

	memcpy(arg, run, sizeof(*run));
	if (run->exit_reason == KVM_EXIT_IO && run->io.direction == KVM_EXIT_IO_OUT) {
		uint32_t n = run->io.size * run->io.count;

		if (n <= VCPU_PIO_OFFSET) {
			memcpy(arg + sizeof(*run), (uint8_t *)run + VCPU_PIO_OFFSET, n);
			out_len += n;
		}
	}
	return out_len;
}

/*
 * KVM_RUN: only the fields the caller owns are taken from its request (and
 * the data of a pending IN), the rest of the answer is the vCPU's kvm_run
 * after the run; whole, or in the compact form of abi/hvrun.h.
 */
static void do_run(uint32_t seq, const struct hvw_ioctl_req_hdr *h, uint32_t len)
{
	/* The register sets as the controller holds them (compact form). */
	static struct hv_sync_regs base;
	struct kvm_run *run = kvm_api_run_page(h->vm, h->vcpu);
	bool compact = h->flags & HVW_IOCTL_COMPACT_RUN;
	bool kicked;
	uint32_t flags;
	long rc, n;

	if (!run)
		return send_result(seq, -HV_EBADF, NULL, 0);
	if (compact) {
		rc = hvr_apply_request(run, VCPU_RUN_PAGES * PAGE_SIZE, arg, len, &flags);
		if (rc < 0)
			log_warn_ratelimited(
			    "hv: channel: seq %u malformed compact KVM_RUN for vm %u vcpu %u", seq,
			    h->vm, h->vcpu);
		else
			memcpy(&base, &run->s.hv, sizeof(base));
	} else {
		rc = run_in_plain(run, len);
	}
	if (rc < 0)
		return send_result(seq, rc, NULL, 0);
	/*
	 * KICKs decoded from now on stop this run (one may already be here,
	 * or have come while the request was queued). Its bytes are copied:
	 * its queue slot takes another request during the run.
	 */
	kicked = serving && serving->kicked;
	release_serving();
	running = find_vcpu(h->vm, h->vcpu);
	running_vm = h->vm;
	running->stop_request = kicked;
	run_scan();
	rc = kvm_api_ioctl(KVM_TARGET_VCPU, h->vm, h->vcpu, KVM_RUN, NULL, 0);
	/* A KICK that came after the exit is dropped, like a late signal. */
	running->stop_request = false;
	running = NULL;
	if (!compact)
		return send_ioctl_result(seq, h->flags, rc, arg, run_out_plain(run));
	n = hvr_encode_response(arg, sizeof(arg), run, VCPU_RUN_PAGES * PAGE_SIZE, &base);
	if (n < 0) {
		log_err("hv: channel: seq %u compact KVM_RUN answer does not fit (%ld)", seq, n);
		return send_result(seq, -HV_EFAULT, NULL, 0);
	}
	send_ioctl_result(seq, h->flags, rc, arg, (uint32_t)n);
}

static void do_ioctl(const struct hvw_frame *f)
{
	struct hvw_ioctl_req req;
	uint32_t len;
	long rc;
	int err = hvw_parse_ioctl_req(f->payload, f->len, &req);

	if (err < 0)
		return send_error(f->seq, err, "malformed IOCTL request");
	len = req.hdr.arg_len;
	if (req.hdr.flags & HVW_IOCTL_PACKED) {
		long n = hvp_unpack(arg, HVW_MAX_ARG, req.arg, len);

		if (n < 0)
			return send_error(f->seq, -HV_EINVAL,
					  "packed ioctl argument does not unpack");
		len = (uint32_t)n;
	} else {
		memcpy(arg, req.arg, len);
	}
	log_debug("hv: channel: seq %u ioctl 0x%x target %u vm %u vcpu %u, %u bytes", f->seq,
		  req.hdr.nr, req.hdr.target, req.hdr.vm, req.hdr.vcpu, len);
	if (req.hdr.nr == KVM_RUN && req.hdr.target == HVW_TARGET_VCPU)
		return do_run(f->seq, &req.hdr, len);
	rc = kvm_api_ioctl((enum kvm_target)req.hdr.target, req.hdr.vm, req.hdr.vcpu, req.hdr.nr,
			   arg, len);
	/* A VM made over the channel belongs to the session that asked for it. */
	if (req.hdr.target == HVW_TARGET_SYSTEM && req.hdr.nr == KVM_CREATE_VM && rc > 0)
		kvm_api_set_vm_owner((uint32_t)rc, session);
	send_ioctl_result(f->seq, req.hdr.flags, rc, arg,
			  HV_IOC_DIR(req.hdr.nr) & HV_IOC_READ ? len : 0);
}

/* MEM_WRITE_TRACK: the controller keeps the whole pages it wrote as its copy. */
static void track_written(struct vm *vm, uint64_t gpa, uint64_t len)
{
	uint64_t first = (gpa + PAGE_SIZE - 1) & ~(uint64_t)(PAGE_SIZE - 1);
	uint64_t end = (gpa + len) & ~(uint64_t)(PAGE_SIZE - 1);
	struct memslot *s;
	uint64_t i;

	if (gpa + len < gpa)
		end = 0 - PAGE_SIZE; /* the last page of the address space */
	for (uint64_t p = first; p < end; p += PAGE_SIZE) {
		s = vm_gpa_slot(vm, p, &i);
		if (s)
			s->hashes[i] = vm_page_hash(phys_to_virt(s->hpa + i * PAGE_SIZE));
	}
}

static void do_mem_write(const struct hvw_frame *f)
{
	struct hvw_mem_write w;
	struct vm *vm;
	int err = hvw_parse_mem_write(f->payload, f->len, &w);

	if (err < 0)
		return send_error(f->seq, err, "malformed MEM_WRITE");
	err = hvw_mem_write_unpack(&w, arg, HVW_MAX_ARG);
	if (err < 0)
		return send_error(f->seq, err, "packed MEM_WRITE does not unpack");
	vm = kvm_api_vm(w.vm);
	if (!vm)
		return send_result(f->seq, -HV_EBADF, NULL, 0);
	err = vm_write_gpa(vm, w.gpa, w.data, w.len);
	if (!err && (w.flags & HVW_MEM_WRITE_TRACK))
		track_written(vm, w.gpa, w.len);
	send_result(f->seq, err, NULL, 0);
}

static void do_mem_read(const struct hvw_frame *f)
{
	struct hvw_mem_read_req r;
	struct vm *vm;
	int err = hvw_parse_mem_read_req(f->payload, f->len, &r);

	if (err < 0)
		return send_error(f->seq, err, "malformed MEM_READ");
	vm = kvm_api_vm(r.vm);
	if (!vm)
		return send_error(f->seq, -HV_EBADF, "no such VM");
	if (vm_read_gpa(vm, r.gpa, arg, r.len) < 0)
		return send_error(f->seq, -HV_EFAULT, "no memory slot backs that range");
	send(hvw_encode(tx, sizeof(tx), HVW_MEM_READ_RESP, f->seq, arg, r.len));
}

/* A KICK outside a run: never answered, except a malformed one (seq 0). */
static void do_kick(const struct hvw_frame *f)
{
	const char *why;

	if (!kick(f, &why)) {
		log_warn_ratelimited("hv: channel: %s (%u bytes)", why, f->len);
		send(hvw_encode_error(tx, sizeof(tx), 0, -HV_EINVAL, why));
	}
}

/*
 * CLOSE: destroy the VM, its vCPUs, memory slots (and their hashes) and
 * EPT. This server runs one request at a time, so none of its vCPUs can be
 * inside KVM_RUN now: a CLOSE that arrives during a run of one of them
 * stops it and is queued, so the run's answer goes out first.
 */
static void do_close(const struct hvw_frame *f)
{
	struct hvw_close c;
	int rc;

	if (hvw_parse_close(f->payload, f->len, &c) < 0)
		return send_error(f->seq, -HV_EINVAL, "malformed CLOSE");
	rc = kvm_api_destroy_vm(c.vm);
	if (rc < 0)
		log_warn_ratelimited("hv: channel: CLOSE vm %u: no such VM", c.vm);
	else
		log_info("hv: channel: vm %u closed, %llu pages free", c.vm,
			 (unsigned long long)pmm_free_pages(&hv_pmm));
	send_result(f->seq, rc, NULL, 0);
}

/*
 * MEM_CHANGED: the backed pages of [gpa, gpa + len) whose hash differs from
 * the controller's copy, in ascending order, as many as fit one answer.
 */
static void do_mem_changed(const struct hvw_frame *f)
{
	struct hvw_mem_changed_req r;
	uint8_t *body = tx + HVW_HDR_LEN + HVW_MEM_CHANGED_HEAD_LEN;
	uint32_t used = HVW_MEM_CHANGED_HEAD_LEN, count = 0, scanned = 0;
	uint64_t cur, end;
	struct vm *vm;
	int err = hvw_parse_mem_changed_req(f->payload, f->len, &r);

	if (err < 0)
		return send_error(f->seq, err, "malformed MEM_CHANGED");
	vm = kvm_api_vm(r.vm);
	if (!vm)
		return send_error(f->seq, -HV_EBADF, "no such VM");
	cur = r.gpa;
	end = r.gpa + r.len; /* 0: the range ends at 2^64 */
	while (cur != end) {
		struct memslot *s = NULL;
		uint64_t idx, h, send_len;
		const uint8_t *page;

		/* Skip to the lowest slot at or above cur. */
		for (unsigned i = 0; i < VM_MAX_SLOTS; i++) {
			struct memslot *c = &vm->slots[i];

			if (!c->used || c->gpa + c->size <= cur || (end && c->gpa >= end))
				continue;
			if (!s || c->gpa < s->gpa)
				s = c;
		}
		if (!s) {
			cur = end;
			break;
		}
		if (s->gpa > cur)
			cur = s->gpa;
		idx = (cur - s->gpa) / PAGE_SIZE;
		page = phys_to_virt(s->hpa + idx * PAGE_SIZE);
		h = vm_page_hash(page);
		scanned++;
		if (h != s->hashes[idx]) {
			uint32_t flags = h ? 0 : HVW_PAGE_ZERO;
			long k = 0;

			if (h && (r.flags & HVW_MEM_CHANGED_PACKED)) {
				k = hvp_pack(packed, sizeof(packed), page, PAGE_SIZE, &pack_ws);
				if (k > 0 && k < (long)PAGE_SIZE)
					flags = HVW_PAGE_PACKED;
				else
					k = 0;
			}
			send_len = HVW_MEM_CHANGED_ENTRY_LEN + (k   ? (uint64_t)k
								: h ? PAGE_SIZE
								    : 0);
			if (used + send_len > HVW_MAX_ARG)
				break; /* the next answer starts here */
			hvw_mem_changed_put_entry(body, cur, flags, (uint32_t)k);
			if (h)
				memcpy(body + HVW_MEM_CHANGED_ENTRY_LEN, k ? packed : page,
				       k ? (size_t)k : PAGE_SIZE);
			body += send_len;
			used += (uint32_t)send_len;
			count++;
			s->hashes[idx] = h;
		}
		cur += PAGE_SIZE;
	}
	log_debug("hv: channel: MEM_CHANGED vm %u 0x%llx+0x%llx: %u pages scanned, %u sent", r.vm,
		  (unsigned long long)r.gpa, (unsigned long long)r.len, scanned, count);
	/* next == end (0 past 2^64) when the range is done. */
	hvw_mem_changed_put_head(tx + HVW_HDR_LEN, cur == end ? r.gpa + r.len : cur, count);
	send(hvw_encode(tx, sizeof(tx), HVW_MEM_CHANGED_RESP, f->seq, tx + HVW_HDR_LEN, used));
}

static void handle(const struct hvw_frame *f)
{
	/* HELLO and BYE decide about the session themselves. */
	if (f->type != HVW_HELLO_REQ && f->type != HVW_BYE)
		session_used = true;
	switch (f->type) {
	case HVW_HELLO_REQ:
		do_hello(f);
		break;
	case HVW_IOCTL_REQ:
		do_ioctl(f);
		break;
	case HVW_MEM_WRITE:
		do_mem_write(f);
		break;
	case HVW_MEM_READ_REQ:
		do_mem_read(f);
		break;
	case HVW_KICK:
		do_kick(f);
		break;
	case HVW_CLOSE:
		do_close(f);
		break;
	case HVW_MEM_CHANGED_REQ:
		do_mem_changed(f);
		break;
	case HVW_BYE:
		do_bye(f);
		break;
	case HVW_LIST_REQ:
		do_list(f);
		break;
	case HVW_POWER_OFF:
		log_info("hv: channel: power off requested");
		send_result(f->seq, 0, NULL, 0);
		power_off = true;
		break;
	default:
		send_error(f->seq, -HV_ENOTTY, "unknown frame type");
	}
}

/* Move what has arrived on towards the decoder (and, during a run, the queue). */
static void pump(void)
{
	if (link.irq_line < 0)
		link.receive();
	if (running)
		run_scan();
	else
		ring_to_decoder();
}

bool channel_serve_one(void)
{
	struct qframe *q, *outer = serving;
	struct hvw_frame f;

	pump();
	flush_urgent();
	q = queue_oldest(running != NULL);
	if (q) {
		f.type = q->type;
		f.seq = q->seq;
		f.len = q->len;
		f.payload = q->payload;
		serving = q;
		handle(&f);
		release_serving();
		serving = outer;
		return true;
	}
	/* During a run every frame goes through the queue. */
	if (running || hvw_decoder_next(&dec, &f) != 1)
		return false;
	handle(&f);
	return true;
}

/*
 * Trouble on the line, summed: at most one line a second for each kind,
 * covering everything since the previous one.
 */
static void report_line_trouble(void)
{
	static struct log_ratelimit garbage_rl, dropped_rl, lost_rl;
	static uint64_t discarded_seen, crc_seen, dropped_seen, lost_seen;
	uint64_t now = log_clock_ms();
	uint32_t n;

	if (dec.bytes_discarded != discarded_seen &&
	    log_ratelimit_pass(&garbage_rl, now, 1, LOG_RATELIMIT_INTERVAL_MS, &n)) {
		log_warn("hv: channel: %llu bytes of garbage skipped (%llu CRC errors)",
			 (unsigned long long)(dec.bytes_discarded - discarded_seen),
			 (unsigned long long)(dec.crc_errors - crc_seen));
		discarded_seen = dec.bytes_discarded;
		crc_seen = dec.crc_errors;
	}
	if (ring_dropped != dropped_seen &&
	    log_ratelimit_pass(&dropped_rl, now, 1, LOG_RATELIMIT_INTERVAL_MS, &n)) {
		log_warn("hv: channel: receive ring full, %llu bytes lost",
			 (unsigned long long)(ring_dropped - dropped_seen));
		dropped_seen = ring_dropped;
	}
	if (urgent_lost != lost_seen &&
	    log_ratelimit_pass(&lost_rl, now, 1, LOG_RATELIMIT_INTERVAL_MS, &n)) {
		log_err("hv: channel: %llu -EBUSY answers could not be sent",
			(unsigned long long)(urgent_lost - lost_seen));
		lost_seen = urgent_lost;
	}
}

void channel_serve(void)
{
	log_info("hv: channel: serving on %s (%s), up to %u requests queued during a run",
		 link.name, link.irq_line >= 0 ? "interrupt-driven" : "polled", queue_slots);
	while (!power_off) {
		if (channel_serve_one())
			continue;
		report_line_trouble();
		/*
		 * A false header in line noise claims a length and holds every
		 * later byte; when the line has gone quiet, give up on it.
		 */
		if (idle_resync())
			continue;
		if (!power_off && ring_tail == ring_head)
			__asm__ volatile("sti; hlt; cli" ::: "memory");
	}
	link.flush(); /* the POWER_OFF answer must leave before we quit */
	log_info("hv: channel: %llu requests were queued during runs, %llu answered -EBUSY; %llu "
		 "bytes received while answers went out",
		 (unsigned long long)queued_total, (unsigned long long)busy_total,
		 (unsigned long long)drained_while_sending);
	hv_power_off();
}
