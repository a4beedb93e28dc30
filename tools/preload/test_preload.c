// SPDX-License-Identifier: MIT
/*
 * The preload shim without the hypervisor: kvm_hello (tests/preload/, a
 * program written for Linux's /dev/kvm alone) runs under
 * LD_PRELOAD=libhvkvm_preload.so with HVKVM_CONNECT=fd:N, N one end of a
 * socketpair whose other end is served here by a small fake hypervisor.
 * The fake answers the frames of abi/hvwire.h (HELLO, IOCTL, MEM_WRITE,
 * MEM_READ, CLOSE; no compact run, no MEM_CHANGED, so the library uses
 * its plain forms) and runs kvm_hello's real-mode guest by interpreting
 * the handful of instructions it has, with KVM's rules for OUT (RIP stays
 * at the OUT until the next KVM_RUN completes it), immediate_exit and HLT.
 *
 *	test_preload SHIM.so KVM_HELLO
 *
 * Prints kvm_hello's lines, "PASS name" / "FAIL name: why" for what the
 * fake saw, then "N passed, N failed"; exit status 1 if anything failed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "abi/hvwire.h"
#include "abi/kvm.h"

#define FAKE_VM	 7
#define FAKE_MEM (256 * 1024)
#define RUN_SIZE ((uint32_t)sizeof(struct kvm_run))

struct fake {
	int fd;
	/* What it saw. */
	char client[HVW_HELLO_CLIENT_LEN];
	unsigned int runs, closes, mem_writes, mem_reads, vms, vcpus;
	/* The VM. */
	bool slot_used;
	uint64_t slot_gpa, slot_size;
	uint8_t mem[FAKE_MEM];
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	bool out_pending;		    /* an OUT waits for its completion (RIP past it) */
	_Alignas(8) uint8_t vrun[2 * 4096]; /* kvm_run, then the I/O page */
	struct hvw_decoder dec;
	uint8_t rx[4096];
	uint8_t tx[HVW_MAX_FRAME];
	_Alignas(8) uint8_t arg[HVW_MAX_ARG];
};

static size_t answer(struct fake *f, uint32_t seq, int64_t result, const void *out, uint32_t len)
{
	struct hvw_ioctl_resp r = {.result = result, .arg = out, .arg_len = len};

	return hvw_encode_ioctl_resp(f->tx, sizeof(f->tx), seq, &r);
}

static bool in_slot(struct fake *f, uint64_t gpa, uint64_t len)
{
	return f->slot_used && gpa >= f->slot_gpa && len <= f->slot_size &&
	       gpa - f->slot_gpa <= f->slot_size - len;
}

static uint8_t *guest(struct fake *f, uint64_t gpa)
{
	return in_slot(f, gpa, 1) ? &f->mem[gpa - f->slot_gpa] : NULL;
}

static uint16_t imm16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

/*
 * KVM_RUN: complete a pending OUT, honour immediate_exit, then interpret
 * real-mode code until OUT or HLT: mov imm16 to DX (ba), mov imm8 to AL
 * (b0), out %al,(%dx) (ee), mov moffs16 to/from AL (a0/a2), hlt (f4).
 */
static size_t fake_run(struct fake *f, uint32_t seq, const uint8_t *arg, uint32_t len)
{
	struct kvm_run *run = (struct kvm_run *)f->vrun;
	uint32_t out = RUN_SIZE;

	f->runs++;
	if (len < RUN_SIZE)
		return answer(f, seq, -EFAULT, NULL, 0);
	run->immediate_exit = ((const struct kvm_run *)arg)->immediate_exit;
	if (f->out_pending) {
		f->regs.rip++;
		f->out_pending = false;
	}
	if (run->immediate_exit)
		return answer(f, seq, -EINTR, NULL, 0); /* exit_reason untouched */
	for (int steps = 0;; steps++) {
		uint64_t ip = f->sregs.cs.base + f->regs.rip;
		uint8_t *c = guest(f, ip), *m;

		if (!c || !in_slot(f, ip, 3) || steps > 100) {
			run->exit_reason = KVM_EXIT_INTERNAL_ERROR;
			break;
		}
		if (c[0] == 0xba) {
			f->regs.rdx = (f->regs.rdx & ~0xffffull) | imm16(c + 1);
			f->regs.rip += 3;
		} else if (c[0] == 0xb0) {
			f->regs.rax = (f->regs.rax & ~0xffull) | c[1];
			f->regs.rip += 2;
		} else if (c[0] == 0xa0 && (m = guest(f, f->sregs.ds.base + imm16(c + 1)))) {
			f->regs.rax = (f->regs.rax & ~0xffull) | *m;
			f->regs.rip += 3;
		} else if (c[0] == 0xa2 && (m = guest(f, f->sregs.ds.base + imm16(c + 1)))) {
			*m = (uint8_t)f->regs.rax;
			f->regs.rip += 3;
		} else if (c[0] == 0xee) {
			run->exit_reason = KVM_EXIT_IO;
			run->io.direction = KVM_EXIT_IO_OUT;
			run->io.size = 1;
			run->io.port = (uint16_t)f->regs.rdx;
			run->io.count = 1;
			run->io.data_offset = 4096;
			f->vrun[4096] = (uint8_t)f->regs.rax;
			f->out_pending = true;
			out++;
			break;
		} else if (c[0] == 0xf4) {
			f->regs.rip++;
			run->exit_reason = KVM_EXIT_HLT;
			break;
		} else {
			run->exit_reason = KVM_EXIT_INTERNAL_ERROR;
			break;
		}
	}
	memcpy(f->arg, f->vrun, RUN_SIZE);
	if (out > RUN_SIZE)
		f->arg[RUN_SIZE] = f->vrun[4096];
	return answer(f, seq, 0, f->arg, out);
}

static size_t fake_ioctl(struct fake *f, const struct hvw_frame *fr)
{
	struct hvw_ioctl_req rq;
	const struct hvw_ioctl_req_hdr *h = &rq.hdr;
	uint64_t v = 0;

	if (hvw_parse_ioctl_req(fr->payload, fr->len, &rq) < 0)
		return hvw_encode_error(f->tx, sizeof(f->tx), fr->seq, -EINVAL, "malformed");
	for (uint32_t i = 0; i < h->arg_len && i < 8; i++)
		v |= (uint64_t)rq.arg[i] << (8 * i);
	if (h->target != HVW_TARGET_SYSTEM && h->vm != FAKE_VM)
		return answer(f, fr->seq, -EBADF, NULL, 0);
	if (h->target == HVW_TARGET_VCPU && h->nr == KVM_RUN)
		return fake_run(f, fr->seq, rq.arg, h->arg_len);
	switch (h->nr) {
	case KVM_GET_API_VERSION:
		return answer(f, fr->seq, KVM_API_VERSION, NULL, 0);
	case KVM_CHECK_EXTENSION:
		return answer(f, fr->seq, v == KVM_CAP_USER_MEMORY, NULL, 0);
	case KVM_GET_VCPU_MMAP_SIZE:
		return answer(f, fr->seq, sizeof(f->vrun), NULL, 0);
	case KVM_CREATE_VM:
		f->vms++;
		return answer(f, fr->seq, FAKE_VM, NULL, 0);
	case KVM_CREATE_VCPU:
		f->vcpus++;
		f->sregs.cs.base = 0xffff0000;
		f->sregs.cs.selector = 0xf000;
		return answer(f, fr->seq, (int64_t)v, NULL, 0);
	case KVM_SET_USER_MEMORY_REGION: {
		struct kvm_userspace_memory_region m;

		memcpy(&m, rq.arg, sizeof(m));
		if (h->arg_len != sizeof(m) || m.memory_size > FAKE_MEM || m.slot)
			return answer(f, fr->seq, -EINVAL, NULL, 0);
		f->slot_used = m.memory_size != 0;
		f->slot_gpa = m.guest_phys_addr;
		f->slot_size = m.memory_size;
		return answer(f, fr->seq, 0, NULL, 0);
	}
	case KVM_GET_REGS:
		return answer(f, fr->seq, 0, &f->regs, sizeof(f->regs));
	case KVM_SET_REGS:
		memcpy(&f->regs, rq.arg, sizeof(f->regs));
		return answer(f, fr->seq, 0, NULL, 0);
	case KVM_GET_SREGS:
		return answer(f, fr->seq, 0, &f->sregs, sizeof(f->sregs));
	case KVM_SET_SREGS:
		memcpy(&f->sregs, rq.arg, sizeof(f->sregs));
		return answer(f, fr->seq, 0, NULL, 0);
	default:
		if (HV_IOC_DIR(h->nr) & HV_IOC_READ)
			return answer(f, fr->seq, -ENOTTY, rq.arg, h->arg_len);
		return answer(f, fr->seq, -ENOTTY, NULL, 0);
	}
}

static size_t fake_handle(struct fake *f, const struct hvw_frame *fr)
{
	struct hvw_hello_req hq;
	struct hvw_hello_resp hr = {.version = HVW_VERSION, .flags = HVW_HELLO_FLAG_VMX};
	struct hvw_mem_write w;
	struct hvw_mem_read_req r;
	struct hvw_close c;

	switch (fr->type) {
	case HVW_HELLO_REQ:
		if (hvw_parse_hello_req(fr->payload, fr->len, &hq) < 0)
			return hvw_encode_error(f->tx, sizeof(f->tx), fr->seq, -EINVAL, "hello");
		memcpy(f->client, hq.client, sizeof(f->client));
		hr.caps = HVW_CAP_KVM_IOCTL | HVW_CAP_MEMORY | HVW_CAP_CLOSE;
		snprintf(hr.identity, sizeof(hr.identity), "fake hv for the preload shim");
		return hvw_encode_hello_resp(f->tx, sizeof(f->tx), fr->seq, &hr);
	case HVW_IOCTL_REQ:
		return fake_ioctl(f, fr);
	case HVW_MEM_WRITE:
		if (hvw_parse_mem_write(fr->payload, fr->len, &w) < 0 || w.vm != FAKE_VM ||
		    !in_slot(f, w.gpa, w.len))
			return answer(f, fr->seq, -EFAULT, NULL, 0);
		memcpy(f->mem + (w.gpa - f->slot_gpa), w.data, w.len);
		f->mem_writes++;
		return answer(f, fr->seq, 0, NULL, 0);
	case HVW_MEM_READ_REQ:
		if (hvw_parse_mem_read_req(fr->payload, fr->len, &r) < 0 || r.vm != FAKE_VM ||
		    !in_slot(f, r.gpa, r.len))
			return hvw_encode_error(f->tx, sizeof(f->tx), fr->seq, -EFAULT, "mem_read");
		f->mem_reads++;
		return hvw_encode(f->tx, sizeof(f->tx), HVW_MEM_READ_RESP, fr->seq,
				  f->mem + (r.gpa - f->slot_gpa), r.len);
	case HVW_CLOSE:
		if (hvw_parse_close(fr->payload, fr->len, &c) < 0 || c.vm != FAKE_VM)
			return answer(f, fr->seq, -EBADF, NULL, 0);
		f->closes++;
		f->slot_used = false;
		return answer(f, fr->seq, 0, NULL, 0);
	default:
		return hvw_encode_error(f->tx, sizeof(f->tx), fr->seq, -ENOTTY, "unknown type");
	}
}

static void *fake_main(void *arg)
{
	struct fake *f = arg;
	struct hvw_frame fr;
	ssize_t n;

	for (;;) {
		n = recv(f->fd, f->rx, sizeof(f->rx), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		for (size_t off = 0; off < (size_t)n;) {
			off += hvw_decoder_feed(&f->dec, f->rx + off, (size_t)n - off);
			while (hvw_decoder_next(&f->dec, &fr) == 1) {
				size_t m = fake_handle(f, &fr);

				for (size_t done = 0; done < m;) {
					ssize_t w =
					    send(f->fd, f->tx + done, m - done, MSG_NOSIGNAL);

					if (w < 0 && errno == EINTR)
						continue;
					if (w <= 0)
						return NULL;
					done += (size_t)w;
				}
			}
		}
	}
	return NULL;
}

/* ---- The checks ---- */

static int passed, failed;

static void check(const char *name, bool ok, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void check(const char *name, bool ok, const char *fmt, ...)
{
	va_list ap;

	if (ok) {
		printf("PASS %s\n", name);
		passed++;
		return;
	}
	printf("FAIL %s: ", name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	failed++;
}

/*
 * Run @prog with @env (NULL-terminated); its stdout and stderr go to
 * @out (up to @cap bytes, NUL-terminated) and, line by line, to ours
 * with "  | " in front. The exit status, or -1.
 */
static int run_child(const char *prog, char **env, int keep_fd, char *out, size_t cap)
{
	char *argv[] = {(char *)prog, NULL};
	char scratch[4096];
	size_t len = 0;
	int pipefd[2], status;
	pid_t pid;
	ssize_t n;

	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return -1;
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		dup2(pipefd[1], 1);
		dup2(pipefd[1], 2);
		if (keep_fd >= 0)
			fcntl(keep_fd, F_SETFD, 0);
		execve(prog, argv, env);
		_exit(127);
	}
	close(pipefd[1]);
	while ((n = read(pipefd[0], out + len, cap - 1 - len)) > 0) {
		len += (size_t)n;
		if (len == cap - 1) /* full: keep the start, drain the rest */
			while (read(pipefd[0], scratch, sizeof(scratch)) > 0)
				;
	}
	out[len] = 0;
	close(pipefd[0]);
	if (waitpid(pid, &status, 0) < 0)
		return -1;
	for (char *l = out, *e; *l; l = e) {
		e = strchrnul(l, '\n');
		printf("  | %.*s\n", (int)(e - l), l);
		if (*e)
			e++;
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int main(int argc, char **argv)
{
	static struct fake fake;
	static char out[65536];
	char shim[4096], preload[4200], connect[64];
	char *env[4];
	pthread_t th;
	int sv[2], rc;

	if (argc != 3) {
		fprintf(stderr, "usage: %s SHIM.so KVM_HELLO\n", argv[0]);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!realpath(argv[1], shim)) {
		perror(argv[1]);
		return 2;
	}
	snprintf(preload, sizeof(preload), "LD_PRELOAD=%s", shim);

	/* Without HVKVM_CONNECT: ENOENT and one line naming the variable. */
	env[0] = preload;
	env[1] = NULL;
	printf("# %s %s\n", preload, argv[2]);
	rc = run_child(argv[2], env, -1, out, sizeof(out));
	check("no HVKVM_CONNECT: open(/dev/kvm) fails with ENOENT",
	      rc == 1 && strstr(out, "FAIL open /dev/kvm: No such file or directory"),
	      "exit status %d", rc);
	check("no HVKVM_CONNECT: stderr names the variable", strstr(out, "set HVKVM_CONNECT to"),
	      "no message");

	/* With the fake on the other end of a socketpair. */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		perror("socketpair");
		return 2;
	}
	fake.fd = sv[1];
	hvw_decoder_init(&fake.dec);
	if (pthread_create(&th, NULL, fake_main, &fake)) {
		fprintf(stderr, "pthread_create failed\n");
		return 2;
	}
	snprintf(connect, sizeof(connect), "HVKVM_CONNECT=fd:%d", sv[0]);
	env[1] = connect;
	env[2] = NULL;
	printf("# %s %s %s\n", preload, connect, argv[2]);
	rc = run_child(argv[2], env, sv[0], out, sizeof(out));
	check("kvm_hello under the shim: 0 failed, exit status 0",
	      rc == 0 && strstr(out, " passed, 0 failed\n"), "exit status %d", rc);
	check("HELLO client is preload:kvm_hello", !strcmp(fake.client, "preload:kvm_hello"),
	      "'%s'", fake.client);
	check("one VM, one vCPU, four runs", fake.vms == 1 && fake.vcpus == 1 && fake.runs == 4,
	      "%u VMs, %u vCPUs, %u runs", fake.vms, fake.vcpus, fake.runs);
	check("guest memory pushed and pulled", fake.mem_writes > 0 && fake.mem_reads > 0,
	      "%u writes, %u reads", fake.mem_writes, fake.mem_reads);
	check("the VM closed once, when its last fd went", fake.closes == 1, "%u CLOSEs",
	      fake.closes);
	shutdown(sv[0], SHUT_RDWR);
	close(sv[0]);
	pthread_join(th, NULL);
	close(sv[1]);
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
