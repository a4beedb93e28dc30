// SPDX-License-Identifier: MIT
/*
 * The channel always answers. A vCPU loops without an exit
 * (g_channel_spin.S) in a KVM_RUN started by another thread, and:
 *  - requests from other threads (KVM_GET_REGS of another vCPU, MEM_READ,
 *    KVM_CHECK_EXTENSION) are answered during the run, each to its own
 *    thread or seq, as with KVM where only the running vCPU's own ioctls
 *    wait (its vcpu->mutex); with IF=0 too, where only the end of a
 *    preemption-timer slice lets the hypervisor read the line;
 *  - a burst of ioctls on the running vCPU beyond the hypervisor's queue
 *    (8) gets -EBUSY at once for the overflow and answers after the run
 *    for the rest;
 *  - with an irqchip, a vCPU halted in its KVM_RUN (HLT waits in the
 *    hypervisor) is woken by KVM_SIGNAL_MSI from another thread, and an
 *    ioctl on another VM is answered while it waits;
 *  - a second KVM_RUN of the running vCPU waits and runs after the first;
 *    a KICK for a vCPU whose KVM_RUN is queued makes that run return
 *    -EINTR without entering the guest;
 *  - a CLOSE of the running VM stops the run (its answer first), then
 *    destroys the VM; a HELLO stops the run and is answered, and, as it
 *    says a new controller has the line, the VMs of the session before it
 *    are gone (the case then starts a session of its own: new_session);
 *  - a request sent while a 64 KiB MEM_READ answer streams out is not
 *    lost.
 * Runs the library would serialise (two of one vCPU) and requests that
 * must be in flight together go out as frames (hvk_send_frame) and are
 * collected by seq (hvk_wait_frame). Each case makes its own VM and
 * closes it.
 */
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include "tests/remote/harness.h"

#define GC_OUT	     0x10 /* g_channel_spin.S: OUT GC_OUT_VAL, then HLT */
#define GC_OUT_VAL   0xc0ffee
#define QUEUE_FRAMES 8	     /* CHANNEL_QUEUE_FRAMES, hv/channel/channel.h */
#define CVM_MEM	     0x20000 /* 128 KiB: a 64 KiB read fits */
#define BIG_GPA	     0x10000
#define BIG_LEN	     0x10000
#ifndef ANSWER_MS
#define ANSWER_MS 180000 /* an answer that must come */
#endif
#define QUIET_MS 300 /* how long an answer that must not come is awaited */

/* ---- a VM of our own ---- */

struct cvm {
	struct vm vm;
	struct vcpu v[3];
	int nvcpus;
	uint32_t handle;
	bool open;
};

static int cvm_open(struct cvm *c, int nvcpus, bool if_on)
{
	struct kvm_userspace_memory_region r = {0};
	struct kvm_regs regs;
	int fd, rc;

	memset(c, 0, sizeof(*c));
	OK(fd, "KVM_CREATE_VM", ioc_int(KVM, KVM_CREATE_VM, 0));
	c->vm.fd = fd;
	c->open = true;
	CHECK(hvk_fd_target(H, fd, &c->handle, NULL) == 1, "hvk_fd_target of the VM");
	c->vm.mem = aligned_alloc(4096, CVM_MEM);
	CHECK(c->vm.mem, "out of memory");
	memset(c->vm.mem, 0, CVM_MEM);
	for (uint32_t v = 0; v < G_NR_STUBS; v++)
		put16(c->vm.mem, v * 4, (uint16_t)(G_VEC + v * G_STUB_SIZE));
	memcpy(c->vm.mem + G_VEC, BLOB(g_vectors).p, BLOB(g_vectors).n);
	memcpy(c->vm.mem + G_LOAD, BLOB(g_channel_spin).p, BLOB(g_channel_spin).n);
	r.memory_size = CVM_MEM;
	r.userspace_addr = (uint64_t)(uintptr_t)c->vm.mem;
	OK(rc, "KVM_SET_USER_MEMORY_REGION", ioc(c->vm.fd, KVM_SET_USER_MEMORY_REGION, &r));
	for (int i = 0; i < nvcpus; i++) {
		struct vcpu *v = &c->v[i];

		OK(fd, "KVM_CREATE_VCPU", ioc_int(c->vm.fd, KVM_CREATE_VCPU, (unsigned long)i));
		v->fd = fd;
		v->id = i;
		v->vm = &c->vm;
		c->vm.nvcpus = ++c->nvcpus;
		v->run = hvk_mmap(H, fd, HVK_RUN_MAP_SIZE);
		CHECK(v->run != MAP_FAILED, "hvk_mmap: %s (%s)", en(errno), hvk_last_error());
		TRY(vcpu_reset(v, 0));
		if (if_on) {
			/* Bochs gives such a guest external-interrupt exits: the line is read at
			 * once. */
			OK(rc, "KVM_GET_REGS", ioc(v->fd, KVM_GET_REGS, &regs));
			regs.rflags |= RFLAGS_IF;
			OK(rc, "KVM_SET_REGS", ioc(v->fd, KVM_SET_REGS, &regs));
		}
	}
	OK(rc, "hvk_sync", hvk_sync(H, c->vm.fd, HVK_SYNC_BEFORE_RUN));
	return T_PASS;
}

static void cvm_close(struct cvm *c)
{
	if (c->open) {
		for (int i = 0; i < c->nvcpus; i++)
			hvk_close_fd(H, c->v[i].fd);
		hvk_close_fd(H, c->vm.fd);
	}
	c->open = false;
	free(c->vm.mem);
	c->vm.mem = NULL;
}

/* ---- KVM_RUN in another thread (struct runner, harness.h) ---- */

/* Wait for the run's return, kicking it first if @kick (cleaning up). */
static void run_end(struct runner *rn, bool kick)
{
	if (kick)
		runner_stop(rn);
	else
		runner_join(rn);
}

/* The run was ended as a KICK ends it: -1/EINTR and KVM_EXIT_INTR. */
static int run_was_stopped(const struct runner *rn, const char *what)
{
	CHECK(rn->r == -1 && rn->e == EINTR, "%s: KVM_RUN %s, expected -1/EINTR", what,
	      result_str(rn->r, rn->e));
	CHECK(rn->v->run->exit_reason == KVM_EXIT_INTR, "%s: %s, expected exit INTR", what,
	      exit_str(rn->v->run));
	return T_PASS;
}

/* ---- frames, without waiting ---- */

static uint8_t answer[HVW_MAX_PAYLOAD];

static int send_ioctl(uint32_t *seq, uint32_t nr, uint16_t target, uint32_t vm, uint32_t vcpu,
		      const void *arg, uint32_t len)
{
	static uint8_t pl[HVW_IOCTL_REQ_HDR_LEN + sizeof(struct kvm_run)];
	struct hvw_ioctl_req_hdr h = {
	    .nr = nr, .target = target, .vm = vm, .vcpu = vcpu, .arg_len = len};
	int r;

	CHECK(len <= sizeof(pl) - HVW_IOCTL_REQ_HDR_LEN, "argument too long");
	hvw_ioctl_req_hdr_put(pl, &h);
	memcpy(pl + HVW_IOCTL_REQ_HDR_LEN, arg, len);
	OK(r, "hvk_send_frame(IOCTL_REQ)",
	   hvk_send_frame(H, HVW_IOCTL_REQ, pl, HVW_IOCTL_REQ_HDR_LEN + len, seq));
	return T_PASS;
}

static int send_check_extension(uint32_t *seq, uint64_t cap)
{
	return send_ioctl(seq, KVM_CHECK_EXTENSION, HVW_TARGET_SYSTEM, 0, 0, &cap, sizeof(cap));
}

/* KVM_RUN as a frame, the plain form: a whole struct kvm_run, nothing asked. */
static int send_run(uint32_t *seq, const struct cvm *c, int vcpu)
{
	static struct kvm_run run;

	memset(&run, 0, sizeof(run));
	return send_ioctl(seq, KVM_RUN, HVW_TARGET_VCPU, c->handle, (uint32_t)vcpu, &run,
			  sizeof(run));
}

static int send_kick(const struct cvm *c, int vcpu)
{
	uint8_t pl[HVW_KICK_LEN];
	uint32_t k[2] = {c->handle, (uint32_t)vcpu}, seq;
	int r;

	memcpy(pl, k, sizeof(pl));
	OK(r, "hvk_send_frame(KICK)", hvk_send_frame(H, HVW_KICK, pl, sizeof(pl), &seq));
	return T_PASS;
}

static int send_mem_read(uint32_t *seq, const struct cvm *c, uint64_t gpa, uint32_t len)
{
	uint8_t pl[HVW_MEM_READ_REQ_LEN];
	int r;

	memcpy(pl, &c->handle, 4);
	memcpy(pl + 4, &len, 4);
	memcpy(pl + 8, &gpa, 8);
	OK(r, "hvk_send_frame(MEM_READ_REQ)",
	   hvk_send_frame(H, HVW_MEM_READ_REQ, pl, sizeof(pl), seq));
	return T_PASS;
}

static int send_mem_write(uint32_t *seq, const struct cvm *c, uint64_t gpa, const void *data,
			  uint32_t len)
{
	static uint8_t pl[HVW_MEM_WRITE_HDR_LEN + HVW_MAX_ARG];
	uint32_t flags = 0;
	int r;

	memcpy(pl, &c->handle, 4);
	memcpy(pl + 4, &flags, 4);
	memcpy(pl + 8, &gpa, 8);
	memcpy(pl + HVW_MEM_WRITE_HDR_LEN, data, len);
	OK(r, "hvk_send_frame(MEM_WRITE)",
	   hvk_send_frame(H, HVW_MEM_WRITE, pl, HVW_MEM_WRITE_HDR_LEN + len, seq));
	return T_PASS;
}

/* The answer to @seq within @ms: its type and payload length (in answer[]). */
static int collect(uint32_t seq, int ms, uint8_t *type, uint32_t *len, const char *what)
{
	int r = hvk_wait_frame(H, seq, ms, type, answer, sizeof(answer));

	CHECK(r >= 0, "%s (seq %u): no answer: %s (%s)", what, seq, en(errno), hvk_last_error());
	*len = (uint32_t)r;
	return T_PASS;
}

/* No answer to @seq yet (waiting @ms). */
static int not_yet(uint32_t seq, int ms, const char *what)
{
	uint8_t type;
	int r = hvk_wait_frame(H, seq, ms, &type, answer, sizeof(answer));

	CHECK(r < 0 && errno == ETIMEDOUT, "%s (seq %u) was answered during the run (%s)", what,
	      seq, r < 0 ? en(errno) : hvw_type_name(type));
	return T_PASS;
}

/* An IOCTL_RESP to @seq: its result; its argument in answer[] (*@arg_len bytes). */
static int collect_ioctl(uint32_t seq, int ms, int64_t *result, uint32_t *arg_len, const char *what)
{
	struct hvw_ioctl_resp resp;
	struct hvw_error e;
	uint32_t len;
	uint8_t type;

	TRY(collect(seq, ms, &type, &len, what));
	if (type == HVW_ERROR && hvw_parse_error(answer, len, &e) == 0)
		return fail("%s (seq %u): ERROR %s '%s'", what, seq, en(-e.err), e.text);
	CHECK(type == HVW_IOCTL_RESP, "%s (seq %u): answered with %s", what, seq,
	      hvw_type_name(type));
	CHECK(hvw_parse_ioctl_resp(answer, len, &resp) == 0, "%s: malformed answer", what);
	*result = resp.result;
	if (arg_len) {
		memmove(answer, resp.arg, resp.arg_len);
		*arg_len = resp.arg_len;
	}
	return T_PASS;
}

/* A KVM_RUN frame's answer: -EINTR, exit INTR (stopped), or the OUT of GC_OUT. */
static int collect_run(uint32_t seq, int ms, bool want_out, const char *what)
{
	struct kvm_run run;
	uint32_t len;
	int64_t res;

	TRY(collect_ioctl(seq, ms, &res, &len, what));
	CHECK(len >= sizeof(run), "%s: %u bytes, not a kvm_run", what, len);
	memcpy(&run, answer, sizeof(run));
	if (want_out) {
		uint32_t val = 0;

		CHECK(res == 0 && run.exit_reason == KVM_EXIT_IO &&
			  run.io.direction == KVM_EXIT_IO_OUT && len == sizeof(run) + 4,
		      "%s: result %lld, %s, expected the guest's OUT", what, (long long)res,
		      exit_str(&run));
		memcpy(&val, answer + sizeof(run), 4);
		CHECK(val == GC_OUT_VAL, "%s: OUT 0x%x, expected 0x%x", what, val, GC_OUT_VAL);
	} else {
		CHECK(res == -EINTR && run.exit_reason == KVM_EXIT_INTR,
		      "%s: result %lld, %s, expected -EINTR and exit INTR", what, (long long)res,
		      exit_str(&run));
	}
	return T_PASS;
}

/* ---- the cases ---- */

struct regs_req {
	int fd;
	struct kvm_regs regs;
	int r, e;
	volatile bool done;
};

/* What a case leaves behind, undone by ctx_end() whether it passed or not. */
struct ctx {
	struct cvm c;
	struct runner rn;
	pthread_t t; /* a thread with a blocking request (q) */
	bool t_started;
	struct regs_req q; /* outlives the case's frame: the thread writes it */
};

static void ctx_end(struct ctx *x)
{
	run_end(&x->rn, true);
	if (x->t_started)
		pthread_join(x->t, NULL);
	x->t_started = false;
	cvm_close(&x->c);
}

static void *get_regs_main(void *p)
{
	struct regs_req *q = p;

	errno = 0;
	q->r = hvk_ioctl(H, q->fd, KVM_GET_REGS, &q->regs);
	q->e = errno;
	__atomic_store_n(&q->done, true, __ATOMIC_SEQ_CST);
	return NULL;
}

/*
 * vCPU 0 loops; a second thread asks for vCPU 1's registers (blocking
 * call), this one sends a MEM_READ and a KVM_CHECK_EXTENSION as frames.
 * All are answered while vCPU 0 still runs (KVM serialises only the
 * ioctls of one vCPU, kvm_vcpu_ioctl's vcpu->mutex); the KICK then ends
 * the run.
 */
static int requests_during_run(struct ctx *x, bool if_on)
{
	struct regs_req *q = &x->q;
	struct kvm_regs regs;
	uint32_t s_read, s_ext, len;
	int64_t res;
	int r;

	TRY(cvm_open(&x->c, 2, if_on));
	OK(r, "KVM_GET_REGS vcpu 1", ioc(x->c.v[1].fd, KVM_GET_REGS, &regs));
	regs.rbx = 0x1234abcd;
	OK(r, "KVM_SET_REGS vcpu 1", ioc(x->c.v[1].fd, KVM_SET_REGS, &regs));
	TRY(runner_start(&x->rn, &x->c.v[0]));
	if (if_on) {
		q->fd = x->c.v[1].fd;
		CHECK(!pthread_create(&x->t, NULL, get_regs_main, q), "pthread_create");
		x->t_started = true;
		TRY(send_mem_read(&s_read, &x->c, G_LOAD, 16));
	}
	/* With IF=0 a byte gets in per slice: keep the traffic small. */
	TRY(send_check_extension(&s_ext, KVM_CAP_USER_MEMORY));
	TRY(collect_ioctl(s_ext, ANSWER_MS, &res, NULL, "KVM_CHECK_EXTENSION during the run"));
	CHECK(res == 1, "KVM_CHECK_EXTENSION(USER_MEMORY) = %lld during the run", (long long)res);
	if (if_on) {
		for (int i = 0; i < ANSWER_MS / 5 && !__atomic_load_n(&q->done, __ATOMIC_SEQ_CST);
		     i++)
			sleep_ms(5);
		CHECK(q->done, "KVM_GET_REGS of vcpu 1 was not answered during the run");
	}
	CHECK(!x->rn.done, "the KVM_RUN returned by itself: %s", result_str(x->rn.r, x->rn.e));
	if (if_on) {
		pthread_join(x->t, NULL);
		x->t_started = false;
		CHECK(q->r == 0, "KVM_GET_REGS of vcpu 1 (other thread): %s",
		      result_str(q->r, q->e));
		CHECK(q->regs.rbx == 0x1234abcd && q->regs.rip == G_LOAD,
		      "KVM_GET_REGS of vcpu 1: rbx 0x%llx rip 0x%llx, expected 0x1234abcd, 0x%x",
		      (unsigned long long)q->regs.rbx, (unsigned long long)q->regs.rip, G_LOAD);
		{
			uint8_t type;

			TRY(collect(s_read, ANSWER_MS, &type, &len, "MEM_READ"));
			CHECK(type == HVW_MEM_READ_RESP && len == 16 &&
				  !memcmp(answer, BLOB(g_channel_spin).p, 16),
			      "MEM_READ: %s of %u bytes, not the guest's first 16",
			      hvw_type_name(type), len);
		}
	}
	CHECK(!x->rn.done, "the KVM_RUN returned by itself: %s", result_str(x->rn.r, x->rn.e));
	CHECK(hvk_kick(H, x->c.v[0].fd) == 0, "hvk_kick: %s", en(errno));
	run_end(&x->rn, false);
	TRY(run_was_stopped(&x->rn, "the looping vCPU, kicked"));
	return T_PASS;
}

static int t_requests_during_run(void)
{
	struct ctx x = {0};
	int rc = requests_during_run(&x, true);

	ctx_end(&x);
	return rc;
}

static int t_request_during_run_if0(void)
{
	struct ctx x = {0};
	int rc = requests_during_run(&x, false);

	ctx_end(&x);
	return rc;
}

/*
 * 12 ioctls on the running vCPU (KVM_GET_MP_STATE: they wait for its run,
 * as behind KVM's vcpu->mutex): 8 held and answered after it, 4 refused
 * at once.
 */
static int queue_full(struct ctx *x)
{
	enum { N = QUEUE_FRAMES + 4 };
	uint32_t seq[N], len;
	struct hvw_error e;
	struct kvm_mp_state mp = {0};
	uint8_t type;
	int64_t res;

	TRY(cvm_open(&x->c, 1, true));
	TRY(runner_start(&x->rn, &x->c.v[0]));
	for (int i = 0; i < N; i++)
		TRY(send_ioctl(&seq[i], KVM_GET_MP_STATE, HVW_TARGET_VCPU, x->c.handle, 0, &mp,
			       sizeof(mp)));
	for (int i = QUEUE_FRAMES; i < N; i++) {
		TRY(collect(seq[i], ANSWER_MS, &type, &len, "request beyond the queue"));
		CHECK(type == HVW_ERROR && hvw_parse_error(answer, len, &e) == 0 && e.err == -EBUSY,
		      "request %d beyond the queue: %s, expected ERROR -EBUSY", i,
		      hvw_type_name(type));
	}
	CHECK(!x->rn.done, "the KVM_RUN returned by itself");
	for (int i = 0; i < QUEUE_FRAMES; i++)
		TRY(not_yet(seq[i], i ? 0 : QUIET_MS, "a queued request"));
	CHECK(hvk_kick(H, x->c.v[0].fd) == 0, "hvk_kick: %s", en(errno));
	run_end(&x->rn, false);
	TRY(run_was_stopped(&x->rn, "the looping vCPU, kicked"));
	for (int i = 0; i < QUEUE_FRAMES; i++) {
		TRY(collect_ioctl(seq[i], ANSWER_MS, &res, NULL, "a queued request"));
		CHECK(res == 0, "queued request %d: result %lld, expected 0", i, (long long)res);
	}
	printf("# chan_queue_full: %d requests during a run: %d answered after it, %d -EBUSY\n", N,
	       QUEUE_FRAMES, N - QUEUE_FRAMES);
	return T_PASS;
}

static int t_queue_full(void)
{
	struct ctx x = {0};
	int rc = queue_full(&x);

	ctx_end(&x);
	return rc;
}

/*
 * Two KVM_RUNs of one vCPU: the second waits while the first loops, a
 * KICK ends the first only, and the second then loops until its own KICK.
 */
static int run_twice(struct ctx *x)
{
	uint32_t s1, s2;

	TRY(cvm_open(&x->c, 1, true));
	TRY(send_run(&s1, &x->c, 0));
	TRY(send_run(&s2, &x->c, 0));
	TRY(not_yet(s1, QUIET_MS, "the first KVM_RUN"));
	TRY(not_yet(s2, 0, "the second KVM_RUN"));
	TRY(send_kick(&x->c, 0));
	TRY(collect_run(s1, ANSWER_MS, false, "the first KVM_RUN, kicked"));
	TRY(not_yet(s2, QUIET_MS, "the second KVM_RUN (it should loop)"));
	TRY(send_kick(&x->c, 0));
	TRY(collect_run(s2, ANSWER_MS, false, "the second KVM_RUN, kicked"));
	return T_PASS;
}

static int t_run_twice(void)
{
	struct ctx x = {0};
	int rc = run_twice(&x);

	if (rc != T_PASS && x.c.open) {
		/* Whatever still loops. */
		send_kick(&x.c, 0);
		usleep(500000);
		send_kick(&x.c, 0);
	}
	ctx_end(&x);
	return rc;
}

/*
 * vCPU 0 loops; vCPU 1's KVM_RUN (it would OUT at once) is queued behind
 * it and kicked while it waits: when vCPU 0's run ends, vCPU 1's returns
 * -EINTR without entering the guest. The kick is not sticky.
 */
static int kick_queued_run(struct ctx *x)
{
	struct kvm_regs regs;
	uint32_t s0, s1, s2;
	int r;

	TRY(cvm_open(&x->c, 2, true));
	OK(r, "KVM_GET_REGS vcpu 1", ioc(x->c.v[1].fd, KVM_GET_REGS, &regs));
	regs.rip = G_LOAD + GC_OUT;
	OK(r, "KVM_SET_REGS vcpu 1", ioc(x->c.v[1].fd, KVM_SET_REGS, &regs));
	TRY(send_run(&s0, &x->c, 0));
	TRY(send_run(&s1, &x->c, 1));
	TRY(send_kick(&x->c, 1));
	TRY(not_yet(s1, QUIET_MS, "vCPU 1's queued KVM_RUN"));
	TRY(send_kick(&x->c, 0));
	TRY(collect_run(s0, ANSWER_MS, false, "vCPU 0's KVM_RUN, kicked"));
	TRY(collect_run(s1, ANSWER_MS, false, "vCPU 1's KVM_RUN, kicked while queued"));
	OK(r, "KVM_GET_REGS vcpu 1", ioc(x->c.v[1].fd, KVM_GET_REGS, &regs));
	CHECK(regs.rip == G_LOAD + GC_OUT, "vCPU 1 ran (RIP 0x%llx) though kicked while queued",
	      (unsigned long long)regs.rip);
	TRY(send_run(&s2, &x->c, 1));
	TRY(collect_run(s2, ANSWER_MS, true, "vCPU 1's next KVM_RUN"));
	return T_PASS;
}

static int t_kick_queued_run(void)
{
	struct ctx x = {0};
	int rc = kick_queued_run(&x);

	if (rc != T_PASS && x.c.open) {
		send_kick(&x.c, 0);
		send_kick(&x.c, 1);
	}
	ctx_end(&x);
	return rc;
}

/* CLOSE of the VM whose vCPU loops: the run ends (-EINTR, answered), then the VM goes. */
static int close_during_run(struct ctx *x)
{
	int r;

	TRY(cvm_open(&x->c, 1, true));
	TRY(runner_start(&x->rn, &x->c.v[0]));
	OK(r, "close of the VM fd (HVW_CLOSE)", hvk_close_fd(H, x->c.vm.fd));
	x->c.open = false;
	run_end(&x->rn, false);
	TRY(run_was_stopped(&x->rn, "the looping vCPU of the closed VM"));
	ERRNO("HVW_CLOSE of its handle again", hvk_close_vm_handle(H, x->c.handle), EBADF);
	ERRNO("KVM_GET_REGS on its vCPU", ioc(x->c.v[0].fd, KVM_GET_REGS, &(struct kvm_regs){0}),
	      EBADF);
	hvk_close_fd(H, x->c.v[0].fd);
	return T_PASS;
}

static int t_close_during_run(void)
{
	struct ctx x = {0};
	int rc = close_during_run(&x);

	ctx_end(&x);
	return rc;
}

/*
 * A HELLO (a new controller) during a run: the run stops, the HELLO is
 * answered, and the session that ran it has ended: its VM is gone.
 */
static int hello_during_run(struct ctx *x)
{
	uint8_t pl[HVW_HELLO_REQ_LEN] = {0}, type;
	static struct hvw_vm_entry live[HVW_LIST_MAX];
	struct hvk_vm_list before, after;
	struct hvw_hello_resp hr;
	uint32_t one = HVW_VERSION, seq, len;
	int r, n;

	TRY(cvm_open(&x->c, 1, true));
	OK(n, "hvk_list_vms", hvk_list_vms(H, &before, live, HVW_LIST_MAX));
	TRY(runner_start(&x->rn, &x->c.v[0]));
	memcpy(pl, &one, 4);
	memcpy(pl + 4, &one, 4);
	memcpy(pl + 8, "t_channel", 9);
	OK(r, "hvk_send_frame(HELLO_REQ)", hvk_send_frame(H, HVW_HELLO_REQ, pl, sizeof(pl), &seq));
	TRY(collect(seq, ANSWER_MS, &type, &len, "HELLO"));
	CHECK(type == HVW_HELLO_RESP && hvw_parse_hello_resp(answer, len, &hr) == 0 &&
		  hr.version == HVW_VERSION,
	      "HELLO during a run: %s", hvw_type_name(type));
	run_end(&x->rn, false);
	TRY(run_was_stopped(&x->rn, "the looping vCPU, after a HELLO"));
	OK(n, "hvk_list_vms after the HELLO", hvk_list_vms(H, &after, live, HVW_LIST_MAX));
	CHECK(after.session != before.session, "the HELLO did not start a new session (%u)",
	      after.session);
	for (int i = 0; i < n && i < (int)HVW_LIST_MAX; i++)
		CHECK(live[i].owner != before.session,
		      "vm %u of the session before the HELLO is still there", live[i].handle);
	CHECK(new_session() == 0, "BYE after the HELLO: %s", hvk_last_error());
	EQUALS("KVM_GET_API_VERSION after it", ioc_int(KVM, KVM_GET_API_VERSION, 0),
	       KVM_API_VERSION);
	return T_PASS;
}

static int t_hello_during_run(void)
{
	struct ctx x = {0};
	int rc = hello_during_run(&x);

	ctx_end(&x);
	return rc;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * A 64 KiB MEM_READ answer streams out (about 6 s at 115200 baud, written
 * with interrupts off); meanwhile a 4 KiB MEM_WRITE and four
 * KVM_CHECK_EXTENSIONs go out. Nothing is lost: every answer comes, the
 * big one intact, and the write is in guest memory.
 */
static int long_answer(struct ctx *x)
{
	static uint8_t page[4096];
	struct hvk_stats s0, s1;
	uint32_t s_big, s_w, s_e[4], s_back, len;
	double t0, t_sent, t_big;
	uint8_t type;
	int64_t res;

	TRY(cvm_open(&x->c, 1, false));
	for (uint32_t i = 0; i < BIG_LEN; i++)
		x->c.vm.mem[BIG_GPA + i] = (uint8_t)(i * 13 + (i >> 12));
	CHECK(hvk_sync(H, x->c.vm.fd, HVK_SYNC_BEFORE_RUN) == 0, "hvk_sync: %s", hvk_last_error());
	for (uint32_t i = 0; i < sizeof(page); i++)
		page[i] = (uint8_t)(0xa5 ^ i);
	hvk_stats(H, &s0);
	t0 = now_s();
	TRY(send_mem_read(&s_big, &x->c, BIG_GPA, BIG_LEN));
	usleep(50000);
	TRY(send_mem_write(&s_w, &x->c, 0x8000, page, sizeof(page)));
	for (int i = 0; i < 4; i++)
		TRY(send_check_extension(&s_e[i], KVM_CAP_USER_MEMORY));
	t_sent = now_s() - t0;
	TRY(collect(s_big, ANSWER_MS, &type, &len, "MEM_READ of 64 KiB"));
	t_big = now_s() - t0;
	CHECK(type == HVW_MEM_READ_RESP && len == BIG_LEN, "MEM_READ of 64 KiB: %s of %u bytes",
	      hvw_type_name(type), len);
	CHECK(!memcmp(answer, x->c.vm.mem + BIG_GPA, BIG_LEN), "MEM_READ of 64 KiB: bytes differ");
	TRY(collect_ioctl(s_w, ANSWER_MS, &res, NULL, "MEM_WRITE sent during the answer"));
	CHECK(res == 0, "MEM_WRITE: result %lld", (long long)res);
	for (int i = 0; i < 4; i++) {
		TRY(collect_ioctl(s_e[i], ANSWER_MS, &res, NULL,
				  "CHECK_EXTENSION during the answer"));
		CHECK(res == 1, "KVM_CHECK_EXTENSION %d: %lld", i, (long long)res);
	}
	TRY(send_mem_read(&s_back, &x->c, 0x8000, sizeof(page)));
	TRY(collect(s_back, ANSWER_MS, &type, &len, "MEM_READ of the written page"));
	CHECK(type == HVW_MEM_READ_RESP && len == sizeof(page) && !memcmp(answer, page, len),
	      "the page written during the long answer did not arrive whole");
	hvk_stats(H, &s1);
	CHECK(s1.garbage_bytes == s0.garbage_bytes, "%llu bytes of garbage on the way back",
	      (unsigned long long)(s1.garbage_bytes - s0.garbage_bytes));
	printf(
	    "# chan_long_answer: 5 requests sent %.2f s after a 64 KiB MEM_READ, whose answer was "
	    "in after %.2f s\n",
	    t_sent, t_big);
	return T_PASS;
}

static int t_long_answer(void)
{
	struct ctx x = {0};
	int rc = long_answer(&x);

	ctx_end(&x);
	return rc;
}

/*
 * With an irqchip HLT waits in the hypervisor (kvm_vcpu_halt): a KVM_RUN
 * stays out while another thread's ioctls are answered, here one on
 * another VM and KVM_SIGNAL_MSI on this one, which wakes the vCPU into
 * its handler (g_irq.S; the IVT stub of the vector reports it).
 */
static int irq_wakes_halted(struct ctx *x)
{
	struct kvm_lapic_state apic;
	struct kvm_msi msi = {.address_lo = 0xfee00000, .data = G_IRQ_VECTOR};
	struct kvm_regs regs;
	struct vcpu v2;
	struct vm *vm;
	int r;

	TRY(vm_new(&vm));
	OK(r, "KVM_CREATE_IRQCHIP", ioc_int(vm->fd, KVM_CREATE_IRQCHIP, 0));
	TRY(vcpu_new(&x->c.v[0], BLOB(g_irq), 0));
	CHECK(x->c.v[0].vm == vm, "the vCPU is not in the irqchip VM");
	OK(r, "KVM_GET_LAPIC", ioc(x->c.v[0].fd, KVM_GET_LAPIC, &apic));
	apic.regs[0xf0] = (char)0xff; /* SPIV: software-enabled, spurious 0xff */
	apic.regs[0xf1] = 0x01;
	OK(r, "KVM_SET_LAPIC", ioc(x->c.v[0].fd, KVM_SET_LAPIC, &apic));
	RUN_EXPECT(&x->c.v[0], 1, "the first OUT");
	RUN_EXPECT(&x->c.v[0], 2, "the OUT after STI; NOP");
	/* Another VM, to be asked while this one's vCPU is halted. */
	TRY(vm_new(&vm));
	TRY(vcpu_new(&v2, BLOB(g_irq), 0));
	TRY(runner_start(&x->rn, &x->c.v[0]));
	sleep_ms(QUIET_MS);
	CHECK(!x->rn.done, "HLT with an irqchip ended the KVM_RUN: %s, exit %s",
	      result_str(x->rn.r, x->rn.e), exit_str(x->c.v[0].run));
	OK(r, "KVM_GET_REGS of another VM's vCPU during the halted run",
	   ioc(v2.fd, KVM_GET_REGS, &regs));
	CHECK(!x->rn.done, "the KVM_RUN returned while another VM was asked");
	r = ioc(x->c.v[0].vm->fd, KVM_SIGNAL_MSI, &msi);
	CHECK(r == 1, "KVM_SIGNAL_MSI to APIC 0 during the halted run: %s, expected 1",
	      result_str(r, errno));
	CHECK(runner_wait(&x->rn, ANSWER_MS), "the MSI did not wake the halted vCPU");
	runner_join(&x->rn);
	CHECK(x->rn.r == 0, "KVM_RUN woken by the MSI: %s", result_str(x->rn.r, x->rn.e));
	CHECK(x->c.v[0].run->exit_reason == KVM_EXIT_IO &&
		  get32((uint8_t *)x->c.v[0].run + x->c.v[0].run->io.data_offset) ==
		      (G_MARK_VEC | G_IRQ_VECTOR),
	      "after the MSI: %s, expected the OUT of vector 0x%x's stub", exit_str(x->c.v[0].run),
	      G_IRQ_VECTOR);
	return T_PASS;
}

static int t_irq_wakes_halted(void)
{
	struct ctx x = {0};
	int rc = irq_wakes_halted(&x);

	if (x.rn.started)
		runner_stop(&x.rn);
	return rc;
}

const struct test channel_tests[] = {
    {"chan_requests_during_run", t_requests_during_run, NEEDS_VMX},
    {"chan_request_during_run_if0", t_request_during_run_if0, NEEDS_VMX},
    {"chan_queue_full", t_queue_full, NEEDS_VMX},
    {"chan_run_twice", t_run_twice, NEEDS_VMX},
    {"chan_kick_queued_run", t_kick_queued_run, NEEDS_VMX},
    {"chan_close_during_run", t_close_during_run, NEEDS_VMX},
    {"chan_hello_during_run", t_hello_during_run, NEEDS_VMX},
    {"chan_long_answer", t_long_answer, NEEDS_VMX},
    {"chan_irq_wakes_halted", t_irq_wakes_halted, NEEDS_VMX},
    TEST_END,
};
