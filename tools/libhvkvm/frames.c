// SPDX-License-Identifier: MIT
/*
 * libhvkvm: frames. Sequence numbers, the waiters and the thread that
 * reads the line for them, request/answer transactions, and frames sent
 * and collected without waiting.
 */
#include "tools/libhvkvm/internal.h"

static bool seq_in(uint32_t seq, const uint32_t *seqs, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		if (seqs[i] == seq)
			return true;
	return false;
}

/* A fresh request seq, never 0 (as hvw_seq_next(), but for any thread). */
uint32_t hvki_next_seq(struct hvk *h)
{
	uint32_t s;

	do
		s = __atomic_add_fetch(&h->seq, 1, __ATOMIC_SEQ_CST);
	while (!s);
	return s;
}

/* ---- Waiting for answers ---- */

/* The answer a thread last received: valid until its next request. */
static pthread_key_t answer_key;
static pthread_once_t answer_once = PTHREAD_ONCE_INIT;

static void answer_key_init(void)
{
	pthread_key_create(&answer_key, free);
}

static void keep_answer(uint8_t *payload)
{
	pthread_once(&answer_once, answer_key_init);
	free(pthread_getspecific(answer_key));
	pthread_setspecific(answer_key, payload);
}

/*
 * Register @w for an answer to one of @seqs, before the request goes out
 * (so that its answer cannot come first).
 */
void hvki_waiter_add(struct hvk *h, struct hvk_waiter *w, const uint32_t *seqs, unsigned int nseq)
{
	w->seqs = seqs;
	w->nseq = nseq;
	w->done = false;
	w->err = 0;
	w->payload = NULL;
	pthread_mutex_lock(&h->rx_mu);
	w->next = h->waiters;
	h->waiters = w;
	pthread_mutex_unlock(&h->rx_mu);
}

static void waiter_unlink(struct hvk *h, struct hvk_waiter *w)
{
	for (struct hvk_waiter **p = &h->waiters; *p; p = &(*p)->next)
		if (*p == w) {
			*p = w->next;
			return;
		}
}

/* A waiter that will not wait after all (its request did not go out). */
void hvki_waiter_cancel(struct hvk *h, struct hvk_waiter *w)
{
	pthread_mutex_lock(&h->rx_mu);
	waiter_unlink(h, w);
	pthread_mutex_unlock(&h->rx_mu);
	free(w->payload);
	w->payload = NULL;
}

/* A decoded frame to its waiter (rx_mu held). */
static void dispatch(struct hvk *h, const struct hvw_frame *f)
{
	if (f->seq == 0 && f->type == HVW_ERROR) {
		h->st.unsolicited_errors++;
		return;
	}
	for (struct hvk_waiter *w = h->waiters; w; w = w->next) {
		if (w->done || !seq_in(f->seq, w->seqs, w->nseq))
			continue;
		w->payload = malloc(f->len ? f->len : 1);
		if (w->payload)
			memcpy(w->payload, f->payload, f->len);
		else
			w->err = ENOMEM;
		w->type = f->type;
		w->seq = f->seq;
		w->len = f->len;
		w->done = true;
		h->st.responses++;
		pthread_cond_broadcast(&h->rx_cv);
		return;
	}
	h->st.stale_frames++;
}

void hvki_sync_decoder_stats(struct hvk *h)
{
	h->st.garbage_bytes = h->dec.bytes_discarded;
	h->st.crc_errors = h->dec.crc_errors;
}

/*
 * The reader: read the line and dispatch frames until @w is answered (0),
 * until @deadline (-ETIMEDOUT, no message), or a failure (negative errno,
 * with a message). Called and returns with rx_mu held; drops it while it
 * waits on the line.
 */
static int read_until(struct hvk *h, struct hvk_waiter *w, int64_t deadline, const char *what)
{
	int64_t last_rx = now_ms();
	struct hvw_frame f;
	ssize_t n;
	int r, err;

	for (;;) {
		while (!w->done && hvw_decoder_next(&h->dec, &f) == 1)
			dispatch(h, &f);
		hvki_sync_decoder_stats(h);
		if (w->done)
			return 0;
		if (h->in_off < h->in_len) {
			h->in_off +=
			    hvw_decoder_feed(&h->dec, h->in + h->in_off, h->in_len - h->in_off);
			continue;
		}
		pthread_mutex_unlock(&h->rx_mu);
		r = hvki_wait_fd(h, POLLIN, deadline, h->idle_ms);
		n = 0;
		err = 0;
		if (r > 0) {
			n = h->is_socket ? recv(h->fd, h->in, sizeof(h->in), 0)
					 : read(h->fd, h->in, sizeof(h->in));
			err = errno;
			if (h->is_tcp)
				setsockopt(h->fd, IPPROTO_TCP, TCP_QUICKACK, &(int){1},
					   sizeof(int));
		}
		pthread_mutex_lock(&h->rx_mu);
		if (r < 0)
			return fail(-r, "%s: poll: %s", what, strerror(-r));
		if (r == 0) {
			if (deadline >= 0 && now_ms() >= deadline)
				return -ETIMEDOUT;
			if (now_ms() - last_rx < h->idle_ms)
				continue;
			/*
			 * The line is idle with a partial frame candidate
			 * buffered: a false start in garbage whose length
			 * field promised more. Give up on it, byte by byte,
			 * and look at what follows.
			 */
			while (hvw_decoder_buffered(&h->dec)) {
				hvw_decoder_resync(&h->dec);
				h->st.idle_resyncs++;
				while (hvw_decoder_next(&h->dec, &f) == 1)
					dispatch(h, &f);
			}
			continue;
		}
		if (n == 0)
			return fail(ECONNRESET, "%s: the connection was closed", what);
		if (n < 0) {
			if (err == EINTR || err == EAGAIN || err == EWOULDBLOCK)
				continue;
			return fail(err, "%s: receive: %s", what, strerror(err));
		}
		h->st.bytes_in += (uint64_t)n;
		h->in_off = 0;
		h->in_len = (size_t)n;
		last_rx = now_ms();
	}
}

static void deadline_ts(int64_t deadline, struct timespec *ts)
{
	ts->tv_sec = (time_t)(deadline / 1000);
	ts->tv_nsec = (long)(deadline % 1000) * 1000000;
}

/*
 * Wait until @deadline for @w's answer, reading the line ourselves when
 * nobody else does. 0: done (check w->err); -ETIMEDOUT without a
 * message; another negative errno with one. On anything but a timeout of
 * an async waiter (@keep), @w is unlinked. rx_mu is taken here.
 */
/*
 * A KVM_RUN's wait with an interrupt check (hvk_set_run_interrupt_check):
 * when it says so, kick the run once, without rx_mu (the KICK goes out
 * under the write token).
 */
static void check_interrupt(struct hvk *h, struct hvk_waiter *w)
{
	if (w->kicked || !w->interrupted())
		return;
	w->kicked = true;
	pthread_mutex_unlock(&h->rx_mu);
	hvk_kick(h, w->kick_fd);
	pthread_mutex_lock(&h->rx_mu);
}

static int waiter_wait(struct hvk *h, struct hvk_waiter *w, int64_t deadline, bool keep,
		       const char *what)
{
	int r = 0;

	pthread_mutex_lock(&h->rx_mu);
	while (!w->done) {
		/* With an interrupt check, wake at least every HVK_RUN_CHECK_MS. */
		int64_t until = deadline;
		bool sliced = false;

		if (w->interrupted && !w->kicked) {
			int64_t slice = now_ms() + HVK_RUN_CHECK_MS;

			if (until < 0 || slice < until) {
				until = slice;
				sliced = true;
			}
		}
		if (!h->reading) {
			h->reading = true;
			r = read_until(h, w, until, what);
			h->reading = false;
			/* Someone else may read now (and our buffer may hold their answer). */
			pthread_cond_broadcast(&h->rx_cv);
			if (r == -ETIMEDOUT && sliced) {
				r = 0;
				check_interrupt(h, w);
				continue;
			}
			if (r < 0)
				break;
			continue;
		}
		if (until < 0) {
			pthread_cond_wait(&h->rx_cv, &h->rx_mu);
		} else {
			struct timespec ts;

			deadline_ts(until, &ts);
			if (pthread_cond_timedwait(&h->rx_cv, &h->rx_mu, &ts) == ETIMEDOUT &&
			    !w->done) {
				if (sliced) {
					check_interrupt(h, w);
					continue;
				}
				r = -ETIMEDOUT;
				break;
			}
		}
		if (w->interrupted && !w->done)
			check_interrupt(h, w);
	}
	if (w->done)
		r = 0;
	if (!(keep && r == -ETIMEDOUT))
		waiter_unlink(h, w);
	pthread_mutex_unlock(&h->rx_mu);
	return r;
}

/*
 * The answer in @w as the frame *@f (its payload is the thread's until its
 * next request) if it is a @want; else the request's failure (an HVW_ERROR
 * answer, a wrong type) as a negative errno with a message.
 */
static int take_answer(struct hvk *h, struct hvk_waiter *w, uint8_t want, struct hvw_frame *f,
		       const char *what)
{
	struct hvw_error e;

	if (w->err)
		return fail(w->err, "%s: no memory for the answer", what);
	keep_answer(w->payload);
	f->type = w->type;
	f->seq = w->seq;
	f->len = w->len;
	f->payload = w->payload;
	w->payload = NULL;
	if (f->type == want)
		return 0;
	if (f->type == HVW_ERROR) {
		__atomic_add_fetch(&h->st.error_answers, 1, __ATOMIC_RELAXED);
		if (hvw_parse_error(f->payload, f->len, &e) < 0)
			return fail(EPROTO, "%s: malformed ERROR answer", what);
		return fail(-e.err, "%s: refused by the hypervisor: %s (%s, %s)", what, e.text,
			    hvk_errno_name(-e.err), strerror(-e.err));
	}
	return fail(EPROTO, "%s: answered with %s, expected %s", what, hvw_type_name(f->type),
		    hvw_type_name(want));
}

/*
 * Wait until @deadline for the answer to one of @seqs (@w registered with
 * waiter_add before the request went out): 0 with the frame in *@f,
 * -ETIMEDOUT without a message, or another negative errno with one.
 */
int hvki_await(struct hvk *h, struct hvk_waiter *w, uint8_t want, int64_t deadline,
	       struct hvw_frame *f, const char *what)
{
	int r = waiter_wait(h, w, deadline, false, what);

	if (r < 0) {
		free(w->payload);
		w->payload = NULL;
		return r;
	}
	return take_answer(h, w, want, f, what);
}

/*
 * Send the @n-byte frame in h->tx (its seq is @seq) and wait for its @want
 * answer for @timeout_ms (<= 0: for ever). On a serial line the time the
 * request and the largest answer take to cross it is added. With
 * @unlocked, h->lock (held by the caller) is dropped while it waits: for
 * requests whose answer touches no library state, so that other threads'
 * requests go out meanwhile.
 */
int hvki_transact(struct hvk *h, size_t n, uint32_t seq, uint8_t want, int timeout_ms,
		  bool unlocked, struct hvw_frame *f, const char *what)
{
	int64_t deadline = deadline_in(timeout_ms);
	struct hvk_waiter w = {.own_seq = seq};
	int r;

	if (deadline >= 0 && h->baud)
		deadline += (int64_t)((n + HVW_MAX_FRAME) * 10 * 1000 / h->baud);

	if (!n)
		return fail(EINVAL, "%s: the request does not fit a frame", what);
	hvki_waiter_add(h, &w, &w.own_seq, 1);
	r = hvki_send_frame(h, h->tx, n, deadline, what);
	if (r < 0) {
		hvki_waiter_cancel(h, &w);
		return r;
	}
	__atomic_add_fetch(&h->st.requests, 1, __ATOMIC_RELAXED);
	if (unlocked)
		pthread_mutex_unlock(&h->lock);
	r = hvki_await(h, &w, want, deadline, f, what);
	if (unlocked)
		pthread_mutex_lock(&h->lock);
	if (r == -ETIMEDOUT) {
		__atomic_add_fetch(&h->st.timeouts, 1, __ATOMIC_RELAXED);
		return fail(ETIMEDOUT, "%s: no answer within %d ms", what, timeout_ms);
	}
	return r;
}

/* ---- Frames without waiting ---- */

int hvk_send_frame(struct hvk *h, uint8_t type, const void *payload, uint32_t len,
		   uint32_t *seq_out)
{
	struct hvk_waiter *w = NULL;
	uint32_t seq = 0;
	uint8_t *frame;
	size_t n;
	int r;

	if (len > HVW_MAX_PAYLOAD)
		return ret_errno(fail(E2BIG, "send %s: %u payload bytes, at most %u",
				      hvw_type_name(type), len, HVW_MAX_PAYLOAD));
	frame = malloc(HVW_FRAME_SIZE(len));
	if (type != HVW_KICK)
		w = calloc(1, sizeof(*w));
	if (!frame || (type != HVW_KICK && !w)) {
		free(frame);
		free(w);
		return ret_errno(fail(ENOMEM, "send %s: out of memory", hvw_type_name(type)));
	}
	/* A KICK is never answered and goes out with seq 0. */
	if (w) {
		seq = hvki_next_seq(h);
		w->own_seq = seq;
		w->async = true;
		hvki_waiter_add(h, w, &w->own_seq, 1);
	}
	n = hvw_encode(frame, HVW_FRAME_SIZE(len), type, seq, payload, len);
	r = hvki_send_frame(h, frame, n, deadline_in(h->timeout_ms), hvw_type_name(type));
	free(frame);
	if (r < 0) {
		if (w) {
			hvki_waiter_cancel(h, w);
			free(w);
		}
		return ret_errno(r);
	}
	if (w)
		__atomic_add_fetch(&h->st.requests, 1, __ATOMIC_RELAXED);
	if (seq_out)
		*seq_out = seq;
	return 0;
}

int hvk_wait_frame(struct hvk *h, uint32_t seq, int timeout_ms, uint8_t *type, void *buf,
		   uint32_t cap)
{
	struct hvk_waiter *w = NULL;
	char what[48];
	uint32_t len;
	int r;

	snprintf(what, sizeof(what), "answer to seq %u", seq);
	pthread_mutex_lock(&h->rx_mu);
	for (struct hvk_waiter *p = h->waiters; p && !w; p = p->next)
		if (p->async && p->own_seq == seq)
			w = p;
	pthread_mutex_unlock(&h->rx_mu);
	if (!w || !seq)
		return ret_errno(fail(ENOENT, "%s: no such request waiting", what));
	if (timeout_ms < 0)
		timeout_ms = h->timeout_ms;
	/* 0: what has already arrived (a moment's poll of the line). */
	r = waiter_wait(h, w, deadline_in(timeout_ms ? timeout_ms : 1), true, what);
	if (r == -ETIMEDOUT)
		return ret_errno(fail(ETIMEDOUT, "%s: not yet (waited %d ms)", what, timeout_ms));
	if (r < 0) {
		/* The line failed: the request is gone with it. */
		free(w->payload);
		free(w);
		return ret_errno(r);
	}
	if (w->err) {
		r = w->err;
		free(w);
		return ret_errno(fail(r, "%s: no memory for the answer", what));
	}
	len = w->len;
	if (type)
		*type = w->type;
	memcpy(buf, w->payload, len < cap ? len : cap);
	free(w->payload);
	free(w);
	if (len > cap)
		return ret_errno(
		    fail(EMSGSIZE, "%s: %u payload bytes, room for %u", what, len, cap));
	return (int)len;
}
