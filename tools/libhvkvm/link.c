// SPDX-License-Identifier: MIT
/*
 * libhvkvm: the line. Connecting (tcp, unix, serial; fd:N is taken as it
 * is in open.c), sending bytes, the write token and KICKs.
 */
#include "tools/libhvkvm/internal.h"

/* ---- Transport ---- */

/*
 * Wait for @events, at most until @deadline (-1: none) and at most @cap
 * ms (-1: no cap). 1: ready; 0: the wait ran out; negative errno.
 */
int hvki_wait_fd(struct hvk *h, short events, int64_t deadline, int cap)
{
	struct pollfd p = {.fd = h->fd, .events = events};
	int ms = cap;
	int r;

	if (deadline >= 0) {
		int64_t left = deadline - now_ms();

		if (left <= 0)
			return 0;
		if (ms < 0 || left < ms)
			ms = (int)left;
	}
	do
		r = poll(&p, 1, ms);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	return r > 0;
}

int hvki_send_bytes(struct hvk *h, const uint8_t *p, size_t n, int64_t deadline, const char *what)
{
	while (n) {
		ssize_t w;

		if (h->is_socket)
			w = send(h->fd, p, n, MSG_NOSIGNAL);
		else
			w = write(h->fd, p, n);
		if (w > 0) {
			p += w;
			n -= (size_t)w;
			__atomic_add_fetch(&h->st.bytes_out, (uint64_t)w, __ATOMIC_RELAXED);
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			int r = hvki_wait_fd(h, POLLOUT, deadline, -1);

			if (r == 0) {
				__atomic_add_fetch(&h->st.timeouts, 1, __ATOMIC_RELAXED);
				return fail(ETIMEDOUT, "%s: could not send: the channel is stuck",
					    what);
			}
			if (r < 0)
				return fail(-r, "%s: poll: %s", what, strerror(-r));
			continue;
		}
		if (w == 0)
			errno = EIO;
		return fail(errno, "%s: send: %s", what, strerror(errno));
	}
	return 0;
}

/* ---- The write token and KICKs ---- */

void hvki_wtoken_acquire(struct hvk *h)
{
	int zero = 0;

	while (!__atomic_compare_exchange_n(&h->wtoken, &zero, 1, false, __ATOMIC_SEQ_CST,
					    __ATOMIC_SEQ_CST)) {
		zero = 0;
		sched_yield();
	}
}

static bool kicks_pending(struct hvk *h)
{
	for (size_t i = 0; i < HVK_FD_MAX / 64; i++)
		if (__atomic_load_n(&h->kick_pending[i], __ATOMIC_SEQ_CST))
			return true;
	return false;
}

/* A small frame, async-signal-safe (no lock, no allocation, no message). */
static int kick_write(struct hvk *h, const uint8_t *p, size_t n)
{
	int64_t deadline = -1;

	while (n) {
		ssize_t w = h->is_socket ? send(h->fd, p, n, MSG_NOSIGNAL) : write(h->fd, p, n);

		if (w > 0) {
			p += w;
			n -= (size_t)w;
			__atomic_add_fetch(&h->kick_bytes, (uint64_t)w, __ATOMIC_RELAXED);
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			struct pollfd pf = {.fd = h->fd, .events = POLLOUT};
			struct timespec ts;
			int64_t now;

			clock_gettime(CLOCK_MONOTONIC, &ts);
			now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
			if (deadline < 0)
				deadline = now + KICK_SEND_MS;
			if (now >= deadline)
				return -ETIMEDOUT;
			poll(&pf, 1, (int)(deadline - now));
			continue;
		}
		return w < 0 ? -errno : -EIO;
	}
	return 0;
}

/*
 * With the token held: act on the pending kicks. A vCPU whose KVM_RUN
 * frame has left gets a KICK frame; one whose run is still being prepared
 * (pages pushed) gets immediate_exit in the frame it is about to send; a
 * vCPU not in KVM_RUN is left alone, as a signal would leave it.
 */
static int flush_kicks(struct hvk *h)
{
	int r = 0;

	for (size_t w = 0; w < HVK_FD_MAX / 64; w++) {
		uint64_t bits = __atomic_exchange_n(&h->kick_pending[w], 0, __ATOMIC_SEQ_CST);

		while (bits) {
			unsigned int b = (unsigned int)__builtin_ctzll(bits);
			const struct hvk_fd *e = &h->fds[w * 64 + b];
			struct hvk_vcpu *v;
			uint8_t frame[HVW_FRAME_SIZE(HVW_KICK_LEN)];
			struct hvw_kick k;
			int state, e2;
			size_t n;

			bits &= bits - 1;
			if (e->kind != FD_VCPU)
				continue;
			v = e->vcpu;
			state = __atomic_load_n(&v->run_state, __ATOMIC_SEQ_CST);
			if (state == RUN_PREP) {
				__atomic_store_n(&v->kick_early, 1, __ATOMIC_SEQ_CST);
			} else if (state == RUN_SENT) {
				k.vm = v->vm->handle;
				k.vcpu = v->id;
				n = hvw_encode_kick(frame, sizeof(frame), 0, &k);
				e2 = kick_write(h, frame, n);
				if (e2 < 0 && !r)
					r = e2;
				else if (!e2)
					__atomic_add_fetch(&h->kicks_sent, 1, __ATOMIC_RELAXED);
			}
		}
	}
	return r;
}

/* Let go of the token, sending first what kicks came meanwhile. */
int hvki_wtoken_release(struct hvk *h)
{
	int r = 0, e, zero;

	for (;;) {
		e = flush_kicks(h);
		if (e < 0 && !r)
			r = e;
		__atomic_store_n(&h->wtoken, 0, __ATOMIC_SEQ_CST);
		if (!kicks_pending(h))
			return r;
		zero = 0;
		if (!__atomic_compare_exchange_n(&h->wtoken, &zero, 1, false, __ATOMIC_SEQ_CST,
						 __ATOMIC_SEQ_CST))
			return r; /* its holder sends them */
	}
}

int hvk_kick(struct hvk *h, int vcpu_fd)
{
	int saved = errno, idx, zero = 0, r;
	const struct hvk_fd *e;

	if (!hvk_is_pseudo_fd(vcpu_fd)) {
		errno = EBADF;
		return -1;
	}
	idx = vcpu_fd - HVK_FD_BASE;
	e = &h->fds[idx];
	if (e->kind != FD_VCPU || e->vcpu->vm->closed) {
		errno = EBADF;
		return -1;
	}
	if (!(h->hello.caps & HVW_CAP_KICK)) {
		errno = EOPNOTSUPP;
		return -1;
	}
	__atomic_fetch_or(&h->kick_pending[idx / 64], 1ull << (idx % 64), __ATOMIC_SEQ_CST);
	if (!__atomic_compare_exchange_n(&h->wtoken, &zero, 1, false, __ATOMIC_SEQ_CST,
					 __ATOMIC_SEQ_CST)) {
		errno = saved;
		return 0; /* the writer sends it when its frame is out */
	}
	r = hvki_wtoken_release(h);
	if (r < 0) {
		errno = -r;
		return -1;
	}
	errno = saved;
	return 0;
}

/* send_bytes with the write token held. */
int hvki_send_frame(struct hvk *h, const uint8_t *p, size_t n, int64_t deadline, const char *what)
{
	int r;

	hvki_wtoken_acquire(h);
	r = hvki_send_bytes(h, p, n, deadline, what);
	hvki_wtoken_release(h);
	return r;
}

/* ---- Connecting ---- */

int hvki_parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long v;

	if (!*s || *s == '-' || *s == '+')
		return -1;
	errno = 0;
	v = strtoul(s, &end, 0);
	if (errno || *end || v > max)
		return -1;
	*out = v;
	return 0;
}

int hvki_connect_tcp(const char *spec, int *fdp)
{
	char host[256];
	const char *colon = strrchr(spec, ':');
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
	struct addrinfo *res, *ai;
	unsigned long port;
	size_t hl;
	int fd = -1, err = 0, r, one = 1;

	if (!colon || hvki_parse_uint(colon + 1, 65535, &port) < 0)
		return fail(EINVAL, "tcp:%s: expected tcp:HOST:PORT", spec);
	hl = (size_t)(colon - spec);
	if (hl >= 2 && spec[0] == '[' && spec[hl - 1] == ']') {
		spec++;
		hl -= 2;
	}
	if (!hl || hl >= sizeof(host))
		return fail(EINVAL, "tcp:%s: expected tcp:HOST:PORT", spec);
	memcpy(host, spec, hl);
	host[hl] = 0;
	r = getaddrinfo(host, colon + 1, &hints, &res);
	if (r)
		return fail(r == EAI_SYSTEM ? errno : EHOSTUNREACH, "tcp:%s:%s: %s", host,
			    colon + 1, gai_strerror(r));
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0) {
			err = errno;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		err = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		return fail(err, "tcp:%s:%s: connect: %s", host, colon + 1, strerror(err));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	*fdp = fd;
	return 0;
}

int hvki_connect_unix(const char *path, int *fdp)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int fd, err;

	if (!*path || strlen(path) >= sizeof(a.sun_path))
		return fail(EINVAL, "unix:%s: bad socket path", path);
	strcpy(a.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return fail(errno, "unix:%s: socket: %s", path, strerror(errno));
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		err = errno;
		close(fd);
		return fail(err, "unix:%s: connect: %s", path, strerror(err));
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	*fdp = fd;
	return 0;
}

static const struct {
	unsigned long baud;
	speed_t speed;
} bauds[] = {
    {1200, B1200},	 {2400, B2400},	      {4800, B4800},	   {9600, B9600},
    {19200, B19200},	 {38400, B38400},     {57600, B57600},	   {115200, B115200},
    {230400, B230400},	 {460800, B460800},   {500000, B500000},   {576000, B576000},
    {921600, B921600},	 {1000000, B1000000}, {1152000, B1152000}, {1500000, B1500000},
    {2000000, B2000000}, {2500000, B2500000}, {3000000, B3000000}, {3500000, B3500000},
    {4000000, B4000000},
};

int hvki_open_serial(const char *spec, int *fdp, unsigned long *baudp)
{
	char path[512];
	const char *comma = strrchr(spec, ',');
	unsigned long baud = 115200;
	speed_t speed = 0;
	struct termios t;
	size_t pl = comma ? (size_t)(comma - spec) : strlen(spec);
	int fd, err;

	if (comma && hvki_parse_uint(comma + 1, 100000000, &baud) < 0)
		return fail(EINVAL, "%s: expected DEVICE[,BAUD]", spec);
	for (size_t i = 0; i < sizeof(bauds) / sizeof(bauds[0]); i++)
		if (bauds[i].baud == baud)
			speed = bauds[i].speed;
	if (!speed)
		return fail(EINVAL, "%s: %lu baud is not a speed the terminal driver knows", spec,
			    baud);
	if (!pl || pl >= sizeof(path))
		return fail(EINVAL, "%s: expected DEVICE[,BAUD]", spec);
	memcpy(path, spec, pl);
	path[pl] = 0;
	fd = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return fail(errno, "%s: %s", path, strerror(errno));
	if (tcgetattr(fd, &t) < 0) {
		err = errno;
		close(fd);
		return fail(err, "%s: not a serial device (%s)", path, strerror(err));
	}
	cfmakeraw(&t);
	t.c_cflag &= ~(tcflag_t)(CSIZE | PARENB | CSTOPB | CRTSCTS);
	t.c_cflag |= CS8 | CLOCAL | CREAD;
	t.c_iflag &= ~(tcflag_t)(IXON | IXOFF | IXANY);
	t.c_cc[VMIN] = 0;
	t.c_cc[VTIME] = 0;
	cfsetispeed(&t, speed);
	cfsetospeed(&t, speed);
	if (tcsetattr(fd, TCSANOW, &t) < 0) {
		err = errno;
		close(fd);
		return fail(err, "%s: cannot set %lu baud 8N1: %s", path, baud, strerror(err));
	}
	tcflush(fd, TCIOFLUSH);
	*fdp = fd;
	*baudp = baud;
	return 0;
}
