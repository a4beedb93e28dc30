/* SPDX-License-Identifier: MIT */
/*
 * The harness of the remote KVM tests: the connection, VM and vCPU set-up,
 * runs and their exits, result reporting and the check macros. Each
 * t_*.c file (and kvm_remote_test.c) defines a table of cases; main()
 * in kvm_remote_test.c runs every table listed in its test_tables[].
 */
#ifndef TESTS_REMOTE_HARNESS_H
#define TESTS_REMOTE_HARNESS_H

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/mman.h>

#include "abi/hvwire.h"
#include "abi/kvm.h"
#include "tests/remote/guest.h"
#include "tools/libhvkvm.h"

/* ---- guest blobs (blobs.S) ---- */

struct blob {
	const uint8_t *p;
	size_t n;
};

#define DECLARE_BLOB(name) extern const uint8_t blob_##name[], blob_##name##_end[]
#define BLOB(name)	   ((struct blob){blob_##name, (size_t)(blob_##name##_end - blob_##name)})
DECLARE_BLOB(g_vectors);
DECLARE_BLOB(g_outloop);
DECLARE_BLOB(g_sregs);
DECLARE_BLOB(g_msr);
DECLARE_BLOB(g_fpu);
DECLARE_BLOB(g_dr);
DECLARE_BLOB(g_irq);
DECLARE_BLOB(g_mem);
DECLARE_BLOB(g_bench);
DECLARE_BLOB(g_bench_msr);
DECLARE_BLOB(g_msr_probe);
DECLARE_BLOB(g_msr_cpuid);
DECLARE_BLOB(g_mem_loop);
DECLARE_BLOB(g_channel_spin);
DECLARE_BLOB(g_hostile);

#define CR0_PE	     (1ull << 0)
#define CR0_MP	     (1ull << 1)
#define CR0_EM	     (1ull << 2)
#define CR0_TS	     (1ull << 3)
#define CR0_NW	     (1ull << 29)
#define CR0_CD	     (1ull << 30)
#define CR0_PG	     (1ull << 31)
#define CR4_PAE	     (1ull << 5)
#define CR4_OSFXSR   (1ull << 9)
#define EFER_LME     (1ull << 8)
#define EFER_LMA     (1ull << 10)
#define RFLAGS_FIXED 0x2ull
#define RFLAGS_IF    (1ull << 9)

#define HV_SYNC_ALL (HV_SYNC_X86_DEBUGREGS | HV_SYNC_X86_FPU | HV_SYNC_X86_MSRS)

/* ---- the connection and the VMs ---- */

/*
 * VMs the harness keeps at once (the hypervisor holds KVM_API_MAX_VMS, 64):
 * enough for the cases' vCPUs; older ones are closed to make room.
 */
#define MAX_VMS 7

#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		if (!(cond))                                                                       \
			return fail(__VA_ARGS__);                                                  \
	} while (0)

#define OK(var, what, call)                                                                        \
	do {                                                                                       \
		errno = 0;                                                                         \
		(var) = (call);                                                                    \
		if ((var) < 0)                                                                     \
			return fail("%s: -1/%s (%s)", (what), en(errno), hvk_last_error());        \
	} while (0)

#define ERRNO(what, call, err)                                                                     \
	do {                                                                                       \
		int r_, e_;                                                                        \
		errno = 0;                                                                         \
		r_ = (call);                                                                       \
		e_ = errno;                                                                        \
		if (r_ != -1 || e_ != (err))                                                       \
			return fail("%s: %s, expected -1/%s", (what), result_str(r_, e_),          \
				    en(err));                                                      \
	} while (0)

#define EQUALS(what, call, want)                                                                   \
	do {                                                                                       \
		int r_, e_;                                                                        \
		errno = 0;                                                                         \
		r_ = (call);                                                                       \
		e_ = errno;                                                                        \
		if (r_ != (want))                                                                  \
			return fail("%s: %s, expected %d", (what), result_str(r_, e_), (want));    \
	} while (0)

#define VM0(var)                                                                                   \
	do {                                                                                       \
		(var) = first_vm();                                                                \
		if (!(var))                                                                        \
			return T_FAIL;                                                             \
	} while (0)

#define SHARED_VCPU(v, blob, cr4)                                                                  \
	do {                                                                                       \
		int rc_ = vcpu_shared((v), BLOB(blob), (cr4));                                     \
		if (rc_ != T_PASS)                                                                 \
			return rc_;                                                                \
	} while (0)

#define NEED_SYNC(bit, name)                                                                       \
	do {                                                                                       \
		uint64_t m_ = sync_mask();                                                         \
		if (!(m_ & (bit)))                                                                 \
			return fail("KVM_CAP_SYNC_REGS (0x%llx) does not offer %s",                \
				    (unsigned long long)m_, (name));                               \
	} while (0)

#define RUN_EXPECT(v, want, what)                                                                  \
	do {                                                                                       \
		int rc_ = run_expect((v), (want), (what));                                         \
		if (rc_ != T_PASS)                                                                 \
			return rc_;                                                                \
	} while (0)

#define RUN_OUT(v, data, what)                                                                     \
	do {                                                                                       \
		int rc_ = run_out((v), (data), (what));                                            \
		if (rc_ != T_PASS)                                                                 \
			return rc_;                                                                \
	} while (0)

#define NEW_VCPU(v, blob, cr4)                                                                     \
	do {                                                                                       \
		int rc_ = vcpu_new((v), BLOB(blob), (cr4));                                        \
		if (rc_ != T_PASS)                                                                 \
			return rc_;                                                                \
	} while (0)

#define RUN_REFUSED(v, err, what)                                                                  \
	do {                                                                                       \
		int rc_ = run_refused((v), (err), (what));                                         \
		if (rc_ != T_PASS)                                                                 \
			return rc_;                                                                \
	} while (0)

#define TRY(call)                                                                                  \
	do {                                                                                       \
		int rc_ = (call);                                                                  \
		if (rc_ != T_PASS)                                                                 \
			return rc_;                                                                \
	} while (0)

struct vm {
	int fd;
	uint8_t *mem; /* G_MEM_SIZE bytes, slot 0 at GPA 0 */
	int nvcpus;
};

struct vcpu {
	int fd;
	int id;
	struct kvm_run *run;
	struct vm *vm;
};

extern struct hvk *H;
extern int KVM;
extern bool VMX;
extern bool verbose;
extern struct vm vms[MAX_VMS];
extern int nvms;
extern struct vcpu last_vcpu;
extern bool have_last_vcpu;

/* ---- results and cases ---- */

enum { T_PASS, T_FAIL, T_SKIP };
extern char why[1024];

enum need { ANY, NEEDS_VMX, NO_VMX };

struct test {
	const char *name;
	int (*fn)(void);
	enum need need;
};

/* A table of cases, ended by a row whose name is NULL. */
#define TEST_END                                                                                   \
	{                                                                                          \
		NULL, NULL, ANY                                                                    \
	}

/* The tables (kvm_remote_test.c runs them in this order). */
extern const struct test vcpu_tests[]; /* t_vcpu.c */

/* The tables of the t_*.c files. */
extern const struct test memory_tests[];  /* t_memory.c */
extern const struct test msr_tests[];	  /* t_msr.c */
extern const struct test channel_tests[]; /* t_channel.c */
extern const struct test hostile_tests[]; /* t_hostile.c */
extern const struct test session_tests[]; /* t_session.c */

__attribute__((format(printf, 1, 2))) int fail(const char *fmt, ...);
__attribute__((format(printf, 1, 2))) int skip(const char *fmt, ...);
const char *en(int e);
const char *result_str(int r, int e);
int ioc(int fd, unsigned long req, const void *arg);
int ioc_int(int fd, unsigned long req, unsigned long arg);
void put16(uint8_t *mem, uint32_t gpa, uint16_t v);
void put32(uint8_t *mem, uint32_t gpa, uint32_t v);
uint32_t get32(const uint8_t *p);
int vm_new(struct vm **out);
struct vm *first_vm(void);
/*
 * A new session (hvk_end_session: a BYE): every VM this connection made is
 * destroyed and forgotten, the harness's too, so that no fd of a VM the
 * hypervisor no longer has can name a handle a new VM gets. Call it after
 * anything that ended the session behind the library's back (a HELLO sent
 * as a frame). The number of VMs the BYE destroyed, or -1 with errno.
 */
int new_session(void);
void real_seg(struct kvm_segment *s, uint8_t type);
int vcpu_reset(struct vcpu *v, uint64_t cr4);
void load(struct vcpu *v, struct blob b);
int vcpu_new(struct vcpu *v, struct blob b, uint64_t cr4);
int vcpu_shared(struct vcpu *v, struct blob b, uint64_t cr4);
const char *exit_str(const struct kvm_run *run);
int run_out(struct vcpu *v, uint32_t *data, const char *what);
int run_expect(struct vcpu *v, uint32_t want, const char *what);
int get_rip(struct vcpu *v, uint64_t *rip);
int run_refused(struct vcpu *v, int err, const char *what);
int clear_guest(struct vcpu *v, uint64_t gpa, size_t len);
int read_guest(struct vcpu *v, uint64_t gpa, void *buf, size_t len);
uint64_t sync_mask(void);
/* KVM_GET/SET_MSRS of n entries (copied in and out): the ioctl's result. */
int msrs_ioctl(struct vcpu *v, unsigned long req, struct kvm_msr_entry *e, uint32_t n);
/* KVM_GET_MSRS of one MSR, which must be read. */
int get_msr(struct vcpu *v, uint32_t msr, uint64_t *val);

/* ---- KVM_RUN in a thread, so that no run can hang the suite ---- */
struct runner {
	struct vcpu *v;
	pthread_t t;
	bool started;
	volatile int done;
	int r, e; /* hvk_ioctl's result and errno */
};

void sleep_ms(int ms);
/* hvk_stats()'s request count: frames sent so far. */
uint64_t requests_sent(void);
/* Start @v's KVM_RUN; back once its frame went out (60 s at most). */
int runner_start(struct runner *rn, struct vcpu *v);
/* Whether the run returned within @ms. */
bool runner_wait(struct runner *rn, int ms);
/* Wait for the run's return without a KICK (the test ends it otherwise). */
void runner_join(struct runner *rn);
/* End the run: KICK it every 200 ms until it returns (false after 90 s). */
bool runner_stop(struct runner *rn);

#endif
