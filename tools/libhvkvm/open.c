// SPDX-License-Identifier: MIT
/*
 * libhvkvm: connections. hvk_open*() and the HELLO handshake, hvk_close(),
 * sessions (BYE, LIST), options, statistics and POWER_OFF.
 */
#include "tools/libhvkvm/internal.h"

static int handshake(struct hvk *h, const char *client, int retry_ms)
{
	struct hvw_hello_req rq = {.min_version = HVW_VERSION, .max_version = HVW_VERSION};
	int64_t deadline = deadline_in(h->timeout_ms);
	uint32_t seqs[MAX_HELLOS];
	unsigned int nseq = 0;
	struct hvw_frame f;
	int r;

	snprintf(rq.client, sizeof(rq.client), "%s", client);
	for (char *c = rq.client; *c; c++)
		if (*c < 0x20 || *c > 0x7e)
			*c = '?';
	for (;;) {
		struct hvk_waiter w = {0};
		int64_t until = deadline;
		size_t n;

		if (nseq == MAX_HELLOS)
			memmove(seqs, seqs + 1, sizeof(seqs[0]) * --nseq);
		seqs[nseq] = hvki_next_seq(h);
		n = hvw_encode_hello_req(h->tx, sizeof(h->tx), seqs[nseq], &rq);
		nseq++;
		hvki_waiter_add(h, &w, seqs, nseq);
		r = hvki_send_frame(h, h->tx, n, deadline, "HELLO");
		if (r < 0) {
			hvki_waiter_cancel(h, &w);
			return r;
		}
		__atomic_add_fetch(&h->st.requests, 1, __ATOMIC_RELAXED);
		if (retry_ms > 0) {
			until = now_ms() + retry_ms;
			if (deadline >= 0 && deadline < until)
				until = deadline;
		}
		r = hvki_await(h, &w, HVW_HELLO_RESP, until, &f, "HELLO");
		if (r == -EBUSY) {
			/* Its queue is full (a run in progress): ask again later. */
			int64_t left = until >= 0 ? until - now_ms() : 100;

			if (left > 0)
				usleep((useconds_t)left * 1000);
			r = -ETIMEDOUT;
		}
		if (r == -ETIMEDOUT && (deadline < 0 || now_ms() < deadline))
			continue;
		if (r == -ETIMEDOUT) {
			__atomic_add_fetch(&h->st.timeouts, 1, __ATOMIC_RELAXED);
			return fail(ETIMEDOUT, "HELLO: no answer within %d ms", h->timeout_ms);
		}
		if (r < 0)
			return r;
		break;
	}
	if (hvw_parse_hello_resp(f.payload, f.len, &h->hello) < 0)
		return fail(EPROTO, "HELLO: malformed answer");
	if (h->hello.version != HVW_VERSION)
		return fail(EPROTO, "HELLO: the hypervisor chose protocol version %u, we speak %u",
			    h->hello.version, HVW_VERSION);
	h->in_session = true;
	return 0;
}

/* ---- Sessions ---- */

/* BYE (with h->lock): the number of VMs the hypervisor destroyed, or a negative errno. */
static int say_bye(struct hvk *h, int timeout_ms)
{
	struct hvw_bye b = {.reason = HVW_BYE_CLOSING};
	struct hvw_ioctl_resp resp;
	struct hvw_frame f;
	uint32_t seq;
	size_t n;
	int r;

	if (!(h->hello.caps & HVW_CAP_SESSION))
		return fail(EOPNOTSUPP, "BYE: the hypervisor has no sessions");
	seq = hvki_next_seq(h);
	n = hvw_encode_bye(h->tx, sizeof(h->tx), seq, &b);
	r = hvki_transact(h, n, seq, HVW_IOCTL_RESP, timeout_ms, false, &f, "BYE");
	if (r < 0)
		return r;
	if (hvw_parse_ioctl_resp(f.payload, f.len, &resp) < 0)
		return fail(EPROTO, "BYE: malformed answer");
	r = hvki_ioctl_result(resp.result, "BYE");
	if (r < 0)
		return r;
	/* Whatever the count, none of the VMs this connection made is left. */
	hvki_forget_vms(h);
	return r;
}

int hvk_end_session(struct hvk *h)
{
	int r;

	pthread_mutex_lock(&h->lock);
	r = say_bye(h, h->timeout_ms);
	pthread_mutex_unlock(&h->lock);
	return ret_errno(r);
}

int hvk_list_vms(struct hvk *h, struct hvk_vm_list *info, struct hvw_vm_entry *vms,
		 unsigned int max)
{
	struct hvw_list_req rq = {0};
	struct hvw_list_resp resp;
	struct hvw_frame f;
	uint32_t seq;
	size_t n;
	int r;

	pthread_mutex_lock(&h->lock);
	if (!(h->hello.caps & HVW_CAP_SESSION)) {
		r = fail(EOPNOTSUPP, "LIST: the hypervisor has no sessions");
		goto out;
	}
	seq = hvki_next_seq(h);
	n = hvw_encode_list_req(h->tx, sizeof(h->tx), seq, &rq);
	r = hvki_transact(h, n, seq, HVW_LIST_RESP, h->timeout_ms, false, &f, "LIST");
	if (r < 0)
		goto out;
	if (hvw_parse_list_resp(f.payload, f.len, &resp) < 0) {
		r = fail(EPROTO, "LIST: malformed answer");
		goto out;
	}
	if (info) {
		info->session = resp.session;
		info->max_vms = resp.max_vms;
		info->max_vcpus = resp.max_vcpus;
		info->free_pages = resp.free_pages;
	}
	for (uint32_t i = 0; i < resp.count && i < max; i++)
		hvw_list_entry(&resp, i, &vms[i]);
	r = (int)resp.count;
out:
	pthread_mutex_unlock(&h->lock);
	return ret_errno(r);
}

/* A TCP connection (fd:N may be one too): its reads re-arm TCP_QUICKACK. */
static bool is_inet(int fd)
{
	struct sockaddr_storage sa;
	socklen_t len = sizeof(sa);

	if (getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
		return false;
	return sa.ss_family == AF_INET || sa.ss_family == AF_INET6;
}

struct hvk *hvk_open_with(const char *where, const struct hvk_options *o)
{
	struct hvk_options def = {0};
	struct hvk *h;
	unsigned long n, baud = 0;
	int fd = -1, r;
	bool own = true;
	struct stat sb;

	if (!o)
		o = &def;
	if (!where || !*where) {
		errno = -fail(EINVAL, "no connection given");
		return NULL;
	}
	if (!strncmp(where, "tcp:", 4)) {
		r = hvki_connect_tcp(where + 4, &fd);
	} else if (!strncmp(where, "unix:", 5)) {
		r = hvki_connect_unix(where + 5, &fd);
	} else if (!strncmp(where, "fd:", 3)) {
		r = 0;
		own = false;
		if (hvki_parse_uint(where + 3, INT32_MAX, &n) < 0)
			r = fail(EINVAL, "%s: expected fd:N", where);
		else if (fstat((int)n, &sb) < 0)
			r = fail(errno, "%s: %s", where, strerror(errno));
		else
			fd = (int)n;
	} else {
		r = hvki_open_serial(where, &fd, &baud);
	}
	if (r < 0) {
		errno = -r;
		return NULL;
	}
	h = calloc(1, sizeof(*h));
	if (!h) {
		if (own)
			close(fd);
		errno = -fail(ENOMEM, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&h->lock, NULL);
	pthread_mutex_init(&h->rx_mu, NULL);
	{
		pthread_condattr_t ca;

		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&h->rx_cv, &ca);
		pthread_cond_init(&h->run_cv, NULL);
		pthread_condattr_destroy(&ca);
	}
	h->fd = fd;
	h->own_fd = own;
	h->is_socket = fstat(fd, &sb) == 0 && S_ISSOCK(sb.st_mode);
	h->is_tcp = h->is_socket && is_inet(fd);
	h->baud = baud;
	h->timeout_ms = o->timeout_ms ? o->timeout_ms : HVK_DEFAULT_TIMEOUT_MS;
	h->run_timeout_ms = h->timeout_ms;
	h->idle_ms = IDLE_RESYNC_MS;
	h->sync = HVK_SYNC_BEFORE_RUN | HVK_SYNC_AFTER_RUN;
	hvw_decoder_init(&h->dec);
	r = handshake(h, o->client ? o->client : "libhvkvm",
		      o->hello_retry_ms ? o->hello_retry_ms : HELLO_RETRY_MS);
	if (r < 0) {
		hvk_close(h);
		errno = -r;
		return NULL;
	}
	return h;
}

struct hvk *hvk_open(const char *where)
{
	return hvk_open_with(where, NULL);
}

void hvk_close(struct hvk *h)
{
	if (!h)
		return;
	/*
	 * The session's VMs go now rather than when the next controller says
	 * HELLO. Best effort, and the caller's errno and message stay.
	 */
	if (h->in_session && (h->hello.caps & HVW_CAP_SESSION)) {
		int saved = errno;
		char msg[sizeof(hvki_last_error)];

		memcpy(msg, hvki_last_error, sizeof(msg));
		pthread_mutex_lock(&h->lock);
		say_bye(h, h->timeout_ms > 0 && h->timeout_ms < BYE_MS ? h->timeout_ms : BYE_MS);
		h->in_session = false;
		pthread_mutex_unlock(&h->lock);
		memcpy(hvki_last_error, msg, sizeof(msg));
		errno = saved;
	}
	while (h->vms) {
		struct hvk_vm *vm = h->vms;

		for (int i = 0; i < MAX_SLOTS; i++)
			if (vm->slots[i].used)
				munmap(vm->slots[i].shadow, vm->slots[i].size);
		h->vms = vm->next;
		free(vm);
	}
	while (h->vcpus) {
		struct hvk_vcpu *v = h->vcpus;

		h->vcpus = v->next;
		free(v->run);
		free(v);
	}
	while (h->waiters) {
		struct hvk_waiter *w = h->waiters;

		/* Only uncollected hvk_send_frame() requests are left. */
		h->waiters = w->next;
		free(w->payload);
		if (w->async)
			free(w);
	}
	if (h->own_fd)
		close(h->fd);
	pthread_cond_destroy(&h->run_cv);
	pthread_cond_destroy(&h->rx_cv);
	pthread_mutex_destroy(&h->rx_mu);
	pthread_mutex_destroy(&h->lock);
	free(h);
}

const char *hvk_identity(const struct hvk *h)
{
	return h->hello.identity;
}

uint32_t hvk_protocol_version(const struct hvk *h)
{
	return h->hello.version;
}

uint32_t hvk_flags(const struct hvk *h)
{
	return h->hello.flags;
}

uint64_t hvk_caps(const struct hvk *h)
{
	return h->hello.caps;
}

void hvk_set_timeout(struct hvk *h, int ms)
{
	pthread_mutex_lock(&h->lock);
	h->timeout_ms = ms;
	if (!h->run_timeout_set)
		h->run_timeout_ms = ms;
	pthread_mutex_unlock(&h->lock);
}

void hvk_set_run_interrupt_check(struct hvk *h, bool (*fn)(void))
{
	pthread_mutex_lock(&h->lock);
	h->run_interrupt_check = fn;
	pthread_mutex_unlock(&h->lock);
}

void hvk_set_run_timeout(struct hvk *h, int ms)
{
	pthread_mutex_lock(&h->lock);
	h->run_timeout_ms = ms;
	h->run_timeout_set = true;
	pthread_mutex_unlock(&h->lock);
}

void hvk_set_sync(struct hvk *h, unsigned int dirs)
{
	pthread_mutex_lock(&h->lock);
	h->sync = dirs & (HVK_SYNC_BEFORE_RUN | HVK_SYNC_AFTER_RUN | HVK_SYNC_FULL_PULL |
			  HVK_SYNC_PLAIN_RUN);
	pthread_mutex_unlock(&h->lock);
}

unsigned int hvk_get_sync(const struct hvk *h)
{
	return h->sync;
}

void hvk_stats(struct hvk *h, struct hvk_stats *out)
{
	pthread_mutex_lock(&h->lock);
	pthread_mutex_lock(&h->rx_mu);
	hvki_sync_decoder_stats(h);
	*out = h->st;
	pthread_mutex_unlock(&h->rx_mu);
	out->kicks = __atomic_load_n(&h->kicks_sent, __ATOMIC_RELAXED);
	out->kicks_early = __atomic_load_n(&h->kicks_early, __ATOMIC_RELAXED);
	out->bytes_out += __atomic_load_n(&h->kick_bytes, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&h->lock);
}

void hvk_set_idle_resync_ms(struct hvk *h, int ms)
{
	pthread_mutex_lock(&h->lock);
	h->idle_ms = ms > 0 ? ms : IDLE_RESYNC_MS;
	pthread_mutex_unlock(&h->lock);
}

int hvk_power_off(struct hvk *h)
{
	struct hvw_ioctl_resp resp;
	struct hvw_frame f;
	uint32_t seq;
	size_t n;
	int r;

	pthread_mutex_lock(&h->lock);
	seq = hvki_next_seq(h);
	n = hvw_encode(h->tx, sizeof(h->tx), HVW_POWER_OFF, seq, NULL, 0);
	r = hvki_transact(h, n, seq, HVW_IOCTL_RESP, h->timeout_ms, false, &f, "POWER_OFF");
	if (r == -ECONNRESET || r == 0)
		h->in_session = false; /* nobody is left to say BYE to */
	if (r == -ECONNRESET)
		r = 0; /* gone, as asked, before it could answer */
	else if (!r && hvw_parse_ioctl_resp(f.payload, f.len, &resp) < 0)
		r = fail(EPROTO, "POWER_OFF: malformed answer");
	else if (!r)
		r = hvki_ioctl_result(resp.result, "POWER_OFF");
	pthread_mutex_unlock(&h->lock);
	return ret_errno(r < 0 ? r : 0);
}
