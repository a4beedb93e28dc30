// SPDX-License-Identifier: MIT
/*
 * Controller sessions (HVW_CAP_SESSION, abi/hvwire.h): every VM made over
 * the channel belongs to the session of the controller that made it, and
 * goes when the session ends (a BYE, or a new controller's HELLO).
 *  - sess_list: LIST names exactly the live VMs, with their owner, vCPUs
 *    and memory, and the limits KVM_CHECK_EXTENSION states;
 *  - sess_bye_reclaims: a BYE destroys the session's VMs and every page
 *    comes back (the free-page count LIST reports, before and after, over
 *    rounds that would run out of memory if one leaked); the library's
 *    fds of those VMs then fail with EBADF;
 *  - sess_hello_reclaims: a HELLO (a new controller) does the same for
 *    the session before it;
 *  - sess_bye_during_run: a relay's BYE (seq 0, the controller is gone)
 *    stops a guest that spins in KVM_RUN, is not answered, and its VM goes;
 *  - sess_limits: KVM_CAP_MAX_VCPUS vCPUs in one VM (as Linux's
 *    kvm_create_max_vcpus), ids up to KVM_CAP_MAX_VCPU_ID - 1, EINVAL past
 *    them, the VM table to ENOSPC, and a BYE that empties it;
 *  - sess_hostile_frames: BYE and LIST frames of every wrong size, with
 *    unknown reasons, flags and reserved bits, cut short on the line or
 *    repeated, are refused (an ERROR, or nothing for a cut frame) and end
 *    no session: the session's VM and number stay.
 * Boot VMs (owner HVW_OWNER_BOOT, from GRUB modules) are never touched: the
 * cases check that whatever boot VMs LIST names are the same after each
 * session ends (tests/host/test_session.c makes one and checks it stays).
 * Each case starts a session of its own (new_session), so it runs after
 * the other tables, whose VMs it would take.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/remote/harness.h"

#define ANSWER_MS 120000
#define SESS_MEM  0x100000 /* 1 MiB per VM */
#define ROUNDS	  8
#define PER_ROUND 8

static struct hvw_vm_entry live[HVW_LIST_MAX];
static uint8_t answer[HVW_MAX_PAYLOAD];

/* The library's fds a case opened: closed at its end, whatever became of their VMs. */
static int opened[512];
static int nopened;

static int keep_fd(int fd)
{
	if (fd >= 0 && nopened < (int)(sizeof(opened) / sizeof(opened[0])))
		opened[nopened++] = fd;
	return fd;
}

static void close_fds(void)
{
	while (nopened)
		hvk_close_fd(H, opened[--nopened]);
}

/* LIST into *@l and live[]: the number of VMs. */
static int list(struct hvk_vm_list *l, int *n)
{
	*n = hvk_list_vms(H, l, live, HVW_LIST_MAX);
	CHECK(*n >= 0, "LIST: -1/%s (%s)", en(errno), hvk_last_error());
	CHECK(*n <= (int)l->max_vms, "LIST: %d VMs, more than the table's %u", *n, l->max_vms);
	return T_PASS;
}

/* How many listed VMs @owner has. */
static int owned_by(int n, uint32_t owner)
{
	int k = 0;

	for (int i = 0; i < n; i++)
		k += live[i].owner == owner;
	return k;
}

static const struct hvw_vm_entry *listed(int n, uint32_t handle)
{
	for (int i = 0; i < n; i++)
		if (live[i].handle == handle)
			return &live[i];
	return NULL;
}

/* The boot VMs LIST names, as a bit set of handles (they must not change). */
static uint64_t boot_set(int n)
{
	uint64_t set = 0;

	for (int i = 0; i < n; i++)
		if (live[i].owner == HVW_OWNER_BOOT && live[i].handle <= 64)
			set |= 1ull << (live[i].handle - 1);
	return set;
}

/* A VM of @mem bytes at GPA 0 (0: no slot) with @nvcpus vCPUs; its handle in *@handle. */
static int make_vm(uint64_t mem, int nvcpus, int *fd, uint32_t *handle, uint8_t **buf)
{
	struct kvm_userspace_memory_region r = {0};
	int rc, vfd;

	OK(*fd, "KVM_CREATE_VM", keep_fd(ioc_int(KVM, KVM_CREATE_VM, 0)));
	CHECK(hvk_fd_target(H, *fd, handle, NULL) == 1, "hvk_fd_target of the VM");
	if (mem) {
		*buf = aligned_alloc(4096, mem);
		CHECK(*buf, "out of memory");
		/* Zero (never sent) but one page, which the push sends and hashes. */
		memset(*buf, 0, mem);
		memset(*buf, 0x5a, 4096);
		r.memory_size = mem;
		r.userspace_addr = (uint64_t)(uintptr_t)*buf;
		OK(rc, "KVM_SET_USER_MEMORY_REGION", ioc(*fd, KVM_SET_USER_MEMORY_REGION, &r));
		OK(rc, "hvk_sync", hvk_sync(H, *fd, HVK_SYNC_BEFORE_RUN));
	}
	for (int i = 0; i < nvcpus; i++)
		OK(vfd, "KVM_CREATE_VCPU",
		   keep_fd(ioc_int(*fd, KVM_CREATE_VCPU, (unsigned long)i)));
	return T_PASS;
}

/* ---- the raw line (as t_hostile.c): frames the library would not send ---- */

static int line_fd(void)
{
	static int fd = -2;

	if (fd != -2)
		return fd;
	fd = -1;
	for (int i = 3; i < 1024; i++) {
		struct stat st;

		if (fstat(i, &st) < 0 || !(S_ISSOCK(st.st_mode) || S_ISCHR(st.st_mode)))
			continue;
		if (fd >= 0) {
			fd = -1; /* two candidates: do not guess */
			break;
		}
		fd = i;
	}
	return fd;
}

/* The first @cut bytes (all if 0) of a frame straight onto the line. */
static int raw_frame(uint8_t type, uint32_t seq, const void *payload, uint32_t len, size_t cut)
{
	static uint8_t f[HVW_MAX_FRAME];
	size_t n = hvw_encode(f, sizeof(f), type, seq, payload, len);
	const uint8_t *p = f;

	CHECK(n, "encoding a %s frame", hvw_type_name(type));
	if (cut && cut < n)
		n = cut;
	while (n) {
		ssize_t k = send(line_fd(), p, n, MSG_NOSIGNAL);

		if (k < 0 && errno == ENOTSOCK)
			k = write(line_fd(), p, n);
		if (k < 0 && errno == EINTR)
			continue;
		CHECK(k > 0, "writing %zu raw bytes: %s", n, strerror(errno));
		p += k;
		n -= (size_t)k;
	}
	return T_PASS;
}

/* A frame through the library; its answer must be HVW_ERROR -@err. */
static int want_error(uint8_t type, const void *p, uint32_t len, int err, const char *what)
{
	struct hvw_error e;
	uint32_t seq;
	uint8_t t;
	int r;

	CHECK(hvk_send_frame(H, type, p, len, &seq) == 0, "%s: not sent: %s", what,
	      hvk_last_error());
	r = hvk_wait_frame(H, seq, ANSWER_MS, &t, answer, sizeof(answer));
	CHECK(r >= 0, "%s: no answer: %s (%s)", what, en(errno), hvk_last_error());
	CHECK(t == HVW_ERROR && hvw_parse_error(answer, (uint32_t)r, &e) == 0 && e.err == -err,
	      "%s: answered %s, expected ERROR -%s", what, hvw_type_name(t), en(err));
	return T_PASS;
}

/* ---- cases ---- */

static int t_list(void)
{
	struct hvk_vm_list l0, l;
	uint32_t ha, hb;
	uint8_t *mem = NULL, *unused = NULL;
	int n0, n, fa, fb, max;

	if (!VMX) {
		TRY(list(&l, &n));
		CHECK(l.session != HVW_OWNER_BOOT, "LIST: session 0");
		CHECK(owned_by(n, l.session) == 0, "VMs of this session without VT-x");
		return T_PASS;
	}
	CHECK(new_session() >= 0, "BYE: %s", hvk_last_error());
	TRY(list(&l0, &n0));
	CHECK(l0.session != HVW_OWNER_BOOT, "LIST: session 0");
	CHECK(owned_by(n0, l0.session) == 0, "a new session owns %d VMs", owned_by(n0, l0.session));
	for (int i = 0; i < n0; i++)
		CHECK(live[i].owner == HVW_OWNER_BOOT, "vm %u of session %u is alive in session %u",
		      live[i].handle, live[i].owner, l0.session);
	OK(max, "KVM_CHECK_EXTENSION(KVM_CAP_MAX_VCPUS)",
	   ioc_int(KVM, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS));
	CHECK((uint32_t)max == l0.max_vcpus, "LIST says %u vCPUs per VM, KVM_CAP_MAX_VCPUS %d",
	      l0.max_vcpus, max);
	CHECK(l0.max_vms > 8 && l0.max_vcpus > 4, "limits %u VMs, %u vCPUs: not above 8 and 4",
	      l0.max_vms, l0.max_vcpus);

	TRY(make_vm(0x10000, 3, &fa, &ha, &mem));
	TRY(make_vm(0, 0, &fb, &hb, &unused));
	TRY(list(&l, &n));
	CHECK(n == n0 + 2, "LIST: %d VMs, expected %d", n, n0 + 2);
	CHECK(owned_by(n, l0.session) == 2, "LIST: %d VMs of this session, expected 2",
	      owned_by(n, l0.session));
	CHECK(listed(n, ha) && listed(n, ha)->owner == l0.session && listed(n, ha)->vcpus == 3 &&
		  listed(n, ha)->memory == 0x10000,
	      "vm %u (3 vCPUs, 64 KiB) listed wrong", ha);
	CHECK(listed(n, hb) && listed(n, hb)->vcpus == 0 && listed(n, hb)->memory == 0,
	      "vm %u (empty) listed wrong", hb);
	for (int i = 1; i < n; i++)
		CHECK(live[i].handle > live[i - 1].handle, "LIST not in handle order");
	CHECK(hvk_close_fd(H, fa) == 0, "closing vm %u: %s", ha, hvk_last_error());
	free(mem);
	TRY(list(&l, &n));
	CHECK(n == n0 + 1 && !listed(n, ha) && listed(n, hb),
	      "after closing vm %u: %d VMs listed, expected vm %u and the %d before", ha, n, hb,
	      n0);
	CHECK(new_session() == 1, "BYE: %s", hvk_last_error());
	close_fds();
	TRY(list(&l, &n));
	CHECK(n == n0 && !listed(n, hb), "after BYE: %d VMs, expected %d", n, n0);
	CHECK(boot_set(n) == boot_set(n0), "the boot VMs changed");
	return T_PASS;
}

static int t_bye_reclaims(void)
{
	struct hvk_vm_list l0, l;
	uint32_t h[PER_ROUND];
	uint8_t *mem[PER_ROUND] = {0};
	int fd[PER_ROUND], n0, n, r;
	uint64_t boots;

	CHECK(new_session() >= 0, "BYE: %s", hvk_last_error());
	TRY(list(&l0, &n0));
	boots = boot_set(n0);
	for (int round = 0; round < ROUNDS; round++) {
		for (int i = 0; i < PER_ROUND; i++)
			TRY(make_vm(SESS_MEM, i % 3 + 1, &fd[i], &h[i], &mem[i]));
		TRY(list(&l, &n));
		CHECK(owned_by(n, l.session) == PER_ROUND, "round %d: %d VMs of the session", round,
		      owned_by(n, l.session));
		CHECK(l.free_pages + PER_ROUND * (SESS_MEM / 4096) <= l0.free_pages,
		      "round %d: %llu pages free with %d MiB of guests, %llu before", round,
		      (unsigned long long)l.free_pages, PER_ROUND,
		      (unsigned long long)l0.free_pages);
		r = hvk_end_session(H);
		CHECK(r == PER_ROUND, "round %d: BYE destroyed %d VMs, expected %d (%s)", round, r,
		      PER_ROUND, r < 0 ? hvk_last_error() : "");
		TRY(list(&l, &n));
		CHECK(owned_by(n, l.session) == 0 && n == n0, "round %d: %d VMs left after BYE",
		      round, n);
		CHECK(l.free_pages == l0.free_pages,
		      "round %d: %llu pages free after BYE, %llu before: %lld lost", round,
		      (unsigned long long)l.free_pages, (unsigned long long)l0.free_pages,
		      (long long)(l0.free_pages - l.free_pages));
		CHECK(boot_set(n) == boots, "round %d: the boot VMs changed", round);
		/* The library forgot them: their fds fail at once, nothing is sent. */
		ERRNO("KVM_CHECK_EXTENSION on a reclaimed VM's fd",
		      ioc_int(fd[0], KVM_CHECK_EXTENSION, KVM_CAP_USER_MEMORY), EBADF);
		close_fds();
		for (int i = 0; i < PER_ROUND; i++) {
			free(mem[i]);
			mem[i] = NULL;
		}
	}
	printf("# sess_bye_reclaims: %d rounds of %d VMs (%d MiB): %llu pages free before and "
	       "after each\n",
	       ROUNDS, PER_ROUND, PER_ROUND * (SESS_MEM >> 20), (unsigned long long)l0.free_pages);
	return new_session() >= 0 ? T_PASS : fail("BYE: %s", hvk_last_error());
}

static int t_hello_reclaims(void)
{
	uint8_t pl[HVW_HELLO_REQ_LEN] = {0}, t;
	struct hvk_vm_list l0, l1, l;
	struct hvw_hello_resp hr;
	uint32_t one = HVW_VERSION, seq, ha, hb;
	uint8_t *ma = NULL, *mb = NULL;
	int n0, n1, n, fa, fb, r;

	CHECK(new_session() >= 0, "BYE: %s", hvk_last_error());
	TRY(list(&l0, &n0));
	TRY(make_vm(SESS_MEM, 2, &fa, &ha, &ma));
	TRY(make_vm(SESS_MEM, 1, &fb, &hb, &mb));
	TRY(list(&l1, &n1));
	CHECK(owned_by(n1, l1.session) == 2, "%d VMs of the session", owned_by(n1, l1.session));
	/* A new controller says HELLO (here, on our own line). */
	memcpy(pl, &one, 4);
	memcpy(pl + 4, &one, 4);
	memcpy(pl + 8, "t_session", 9);
	CHECK(hvk_send_frame(H, HVW_HELLO_REQ, pl, sizeof(pl), &seq) == 0, "HELLO: %s",
	      hvk_last_error());
	r = hvk_wait_frame(H, seq, ANSWER_MS, &t, answer, sizeof(answer));
	CHECK(r >= 0 && t == HVW_HELLO_RESP &&
		  hvw_parse_hello_resp(answer, (uint32_t)r, &hr) == 0 &&
		  (hr.caps & HVW_CAP_SESSION),
	      "HELLO: %s", r < 0 ? hvk_last_error() : hvw_type_name(t));
	TRY(list(&l, &n));
	CHECK(l.session != l1.session, "the HELLO started no new session (%u)", l.session);
	CHECK(!listed(n, ha) && !listed(n, hb) && owned_by(n, l1.session) == 0,
	      "VMs %u and %u of the session before the HELLO are still there", ha, hb);
	CHECK(n == n0 && boot_set(n) == boot_set(n0), "%d VMs after the HELLO, %d before", n, n0);
	CHECK(l.free_pages == l0.free_pages, "%llu pages free after the HELLO, %llu before",
	      (unsigned long long)l.free_pages, (unsigned long long)l0.free_pages);
	CHECK(new_session() == 0, "BYE after the HELLO: %s", hvk_last_error());
	(void)fa;
	(void)fb;
	close_fds();
	free(ma);
	free(mb);
	return T_PASS;
}

static int t_bye_during_run(void)
{
	uint8_t b[HVW_BYE_LEN] = {0};
	struct hvk_vm_list l0, l;
	struct kvm_regs regs;
	struct runner rn = {0};
	struct vcpu v;
	uint32_t handle, gone = HVW_BYE_GONE, seq = 0;
	int n0, n, r;
	bool raw = line_fd() >= 0;

	CHECK(new_session() >= 0, "BYE: %s", hvk_last_error());
	TRY(list(&l0, &n0));
	NEW_VCPU(&v, g_channel_spin, 0);
	OK(r, "KVM_GET_REGS", ioc(v.fd, KVM_GET_REGS, &regs));
	regs.rflags |= RFLAGS_IF; /* Bochs then gives it external-interrupt exits */
	OK(r, "KVM_SET_REGS", ioc(v.fd, KVM_SET_REGS, &regs));
	CHECK(hvk_fd_target(H, v.vm->fd, &handle, NULL) == 1, "hvk_fd_target");
	TRY(runner_start(&rn, &v));
	sleep_ms(300);
	CHECK(!runner_wait(&rn, 0), "the spinning guest's run ended by itself: %s",
	      result_str(rn.r, rn.e));
	/* The relay's BYE for a controller that left (seq 0); else the library's own. */
	memcpy(b, &gone, 4);
	if (raw)
		r = raw_frame(HVW_BYE, 0, b, sizeof(b), 0);
	else
		r = hvk_send_frame(H, HVW_BYE, b, sizeof(b), &seq) == 0 ? T_PASS : T_FAIL;
	if (r != T_PASS) {
		runner_stop(&rn);
		return fail("sending BYE: %s", raw ? why : hvk_last_error());
	}
	if (!runner_wait(&rn, 30000)) {
		runner_stop(&rn);
		return fail("a BYE did not stop the run within 30 s");
	}
	runner_join(&rn);
	CHECK(rn.r == -1 && rn.e == EINTR && v.run->exit_reason == KVM_EXIT_INTR,
	      "the run a BYE stopped: %s %s, expected -1/EINTR, exit INTR", result_str(rn.r, rn.e),
	      exit_str(v.run));
	if (seq) {
		uint8_t t;

		r = hvk_wait_frame(H, seq, ANSWER_MS, &t, answer, sizeof(answer));
		CHECK(r >= 0 && t == HVW_IOCTL_RESP, "the BYE: no IOCTL_RESP (%s)",
		      r < 0 ? hvk_last_error() : hvw_type_name(t));
	}
	TRY(list(&l, &n));
	CHECK(!listed(n, handle) && n == n0, "vm %u is still there after the BYE (%d VMs)", handle,
	      n);
	CHECK(l.free_pages == l0.free_pages, "%llu pages free after the BYE, %llu before",
	      (unsigned long long)l.free_pages, (unsigned long long)l0.free_pages);
	CHECK(new_session() == 0, "BYE after the BYE: %s", hvk_last_error());
	if (!raw)
		printf("# sess_bye_during_run: no raw line descriptor; the BYE went with a seq\n");
	return T_PASS;
}

static int t_limits(void)
{
	struct hvk_vm_list l0, l;
	int n0, n, max, nr, max_id, fd, vfd, fd2, made = 0, r;
	uint32_t handle;
	uint8_t *unused = NULL;

	CHECK(new_session() >= 0, "BYE: %s", hvk_last_error());
	TRY(list(&l0, &n0));
	OK(max, "KVM_CHECK_EXTENSION(KVM_CAP_MAX_VCPUS)",
	   ioc_int(KVM, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS));
	OK(nr, "KVM_CHECK_EXTENSION(KVM_CAP_NR_VCPUS)",
	   ioc_int(KVM, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS));
	OK(max_id, "KVM_CHECK_EXTENSION(KVM_CAP_MAX_VCPU_ID)",
	   ioc_int(KVM, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPU_ID));
	CHECK(nr >= 1 && nr <= max && max_id >= max,
	      "NR_VCPUS %d, MAX_VCPUS %d, MAX_VCPU_ID %d: not NR <= MAX <= MAX_ID", nr, max,
	      max_id);
	CHECK((uint32_t)max == l0.max_vcpus, "LIST says %u vCPUs, KVM_CAP_MAX_VCPUS %d",
	      l0.max_vcpus, max);

	/* kvm_create_max_vcpus: KVM_CAP_MAX_VCPUS vCPUs with ids 0.., then ids up to MAX_ID - 1. */
	TRY(make_vm(0, 0, &fd, &handle, &unused));
	for (int id = 0; id < max; id++)
		OK(vfd, "KVM_CREATE_VCPU up to KVM_CAP_MAX_VCPUS",
		   keep_fd(ioc_int(fd, KVM_CREATE_VCPU, (unsigned long)id)));
	ERRNO("KVM_CREATE_VCPU in a full VM", ioc_int(fd, KVM_CREATE_VCPU, (unsigned long)max),
	      EINVAL);
	TRY(list(&l, &n));
	CHECK(listed(n, handle) && listed(n, handle)->vcpus == (uint32_t)max,
	      "LIST: vm %u has %u vCPUs, expected %d", handle,
	      listed(n, handle) ? listed(n, handle)->vcpus : 0, max);
	TRY(make_vm(0, 0, &fd2, &handle, &unused));
	for (int id = max_id > max ? max_id - max : max_id - 1; id < max_id; id++)
		OK(vfd, "KVM_CREATE_VCPU up to KVM_CAP_MAX_VCPU_ID - 1",
		   keep_fd(ioc_int(fd2, KVM_CREATE_VCPU, (unsigned long)id)));
	ERRNO("KVM_CREATE_VCPU KVM_CAP_MAX_VCPU_ID", ioc_int(fd2, KVM_CREATE_VCPU, max_id), EINVAL);

	/* The VM table, to ENOSPC. */
	for (;;) {
		errno = 0;
		r = keep_fd(ioc_int(KVM, KVM_CREATE_VM, 0));
		if (r < 0)
			break;
		made++;
		CHECK(made <= (int)l0.max_vms, "more VMs than the table's %u", l0.max_vms);
	}
	CHECK(errno == ENOSPC, "KVM_CREATE_VM with the table full: -1/%s, expected ENOSPC",
	      en(errno));
	TRY(list(&l, &n));
	CHECK(n == (int)l0.max_vms, "LIST: %d VMs with the table full of %u", n, l0.max_vms);
	r = new_session();
	CHECK(r == made + 2, "BYE destroyed %d VMs, expected %d (%s)", r, made + 2,
	      r < 0 ? hvk_last_error() : "");
	TRY(list(&l, &n));
	CHECK(n == n0 && l.free_pages == l0.free_pages,
	      "after BYE: %d VMs, %llu pages free; before: %d, %llu", n,
	      (unsigned long long)l.free_pages, n0, (unsigned long long)l0.free_pages);
	close_fds();
	printf("# sess_limits: %d vCPUs in a VM (ids below %d), %u VMs, %llu pages free\n", max,
	       max_id, l0.max_vms, (unsigned long long)l0.free_pages);
	return T_PASS;
}

static int t_hostile_frames(void)
{
	uint8_t p[HVW_MAX_PAYLOAD], ok[8] = {0};
	struct hvk_vm_list l0, l;
	struct hvk_stats st0, st1;
	uint32_t handle = 0, reason = HVW_BYE_REASON_MAX + 1, bit = 0x80000000u;
	uint8_t *unused = NULL;
	char what[64];
	int n0, n, fd = -1, r;

	memset(p, 0, sizeof(p));
	if (VMX) {
		CHECK(new_session() >= 0, "BYE: %s", hvk_last_error());
		TRY(make_vm(0, 1, &fd, &handle, &unused));
	}
	TRY(list(&l0, &n0));
	for (uint32_t len = 0; len <= 17; len++) {
		if (len == HVW_BYE_LEN)
			continue;
		snprintf(what, sizeof(what), "BYE of %u bytes", len);
		TRY(want_error(HVW_BYE, p, len, EINVAL, what));
		snprintf(what, sizeof(what), "LIST of %u bytes", len);
		TRY(want_error(HVW_LIST_REQ, p, len, EINVAL, what));
	}
	TRY(want_error(HVW_BYE, p, HVW_MAX_PAYLOAD, EINVAL, "BYE of the largest payload"));
	TRY(want_error(HVW_LIST_REQ, p, HVW_MAX_PAYLOAD, EINVAL, "LIST of the largest payload"));
	memcpy(p, &reason, 4);
	TRY(want_error(HVW_BYE, p, HVW_BYE_LEN, EINVAL, "BYE with an unknown reason"));
	TRY(want_error(HVW_LIST_REQ, p, HVW_LIST_REQ_LEN, EINVAL, "LIST with flags"));
	memset(p, 0, 4);
	memcpy(p + 4, &bit, 4);
	TRY(want_error(HVW_BYE, p, HVW_BYE_LEN, EINVAL, "BYE with a reserved bit"));
	TRY(want_error(HVW_LIST_REQ, p, HVW_LIST_REQ_LEN, EINVAL, "LIST with a reserved bit"));
	memset(p + 4, 0, 4);
	/* A LIST_RESP or a reply type sent to the hypervisor: not a request. */
	TRY(want_error(HVW_LIST_RESP, p, HVW_LIST_HEAD_LEN, ENOTTY, "a LIST_RESP"));
	if (line_fd() >= 0) {
		/* A BYE cut short: the decoder drops it; the LIST after it is answered. */
		TRY(raw_frame(HVW_BYE, 0, ok, sizeof(ok), HVW_HDR_LEN + 3));
		TRY(raw_frame(HVW_BYE, 77, ok, sizeof(ok), HVW_HDR_LEN));
		/* A malformed BYE with seq 0: one unsolicited ERROR. */
		hvk_stats(H, &st0);
		TRY(raw_frame(HVW_BYE, 0, ok, 3, 0));
	}
	/* LIST again and again: the same answer. */
	for (int i = 0; i < 3; i++) {
		TRY(list(&l, &n));
		CHECK(l.session == l0.session && n == n0,
		      "LIST %d: session %u, %d VMs; first: session %u, %d VMs", i, l.session, n,
		      l0.session, n0);
		if (VMX)
			CHECK(listed(n, handle), "vm %u went without a BYE", handle);
	}
	if (line_fd() >= 0) {
		hvk_stats(H, &st1);
		CHECK(st1.unsolicited_errors == st0.unsolicited_errors + 1,
		      "%llu unsolicited ERRORs after a malformed BYE with seq 0, expected 1",
		      (unsigned long long)(st1.unsolicited_errors - st0.unsolicited_errors));
	}
	/* A good BYE, then the same again: the second finds nothing. */
	r = new_session();
	CHECK(r == (VMX ? 1 : 0), "BYE: %d VMs destroyed (%s)", r, r < 0 ? hvk_last_error() : "");
	r = hvk_end_session(H);
	CHECK(r == 0, "a second BYE: %d VMs destroyed (%s)", r, r < 0 ? hvk_last_error() : "");
	TRY(list(&l, &n));
	CHECK(!VMX || !listed(n, handle), "vm %u is still there after BYE", handle);
	CHECK(boot_set(n) == boot_set(n0), "the boot VMs changed");
	(void)fd;
	close_fds();
	return T_PASS;
}

const struct test session_tests[] = {
    {"sess_list", t_list, ANY},
    {"sess_bye_reclaims", t_bye_reclaims, NEEDS_VMX},
    {"sess_hello_reclaims", t_hello_reclaims, NEEDS_VMX},
    {"sess_bye_during_run", t_bye_during_run, NEEDS_VMX},
    {"sess_limits", t_limits, NEEDS_VMX},
    {"sess_hostile_frames", t_hostile_frames, ANY},
    TEST_END,
};
