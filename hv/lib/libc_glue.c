/* SPDX-License-Identifier: MIT */
/*
 * The "system calls" newlib's libc needs in the freestanding hypervisor.
 *
 * newlib (built by scripts/newlib.sh with --disable-newlib-supplied-syscalls)
 * reaches the outside world only through these functions, via its _write_r,
 * _sbrk_r, ... wrappers, which copy errno into the reentrancy structure.
 * There are no files: descriptors 0, 1 and 2 are the console (stdin always
 * at end of file) and every other descriptor is invalid (EBADF).
 *
 * Buffering: _fstat reports the console as a character device and _isatty
 * says yes, so newlib makes stdout line buffered (__smakebuf_r). Each line
 * thus appears as soon as its '\n' is printed, in one console_write() call,
 * so lines from different places do not interleave mid-line the way they
 * would if stdout were unbuffered (nano printf then writes byte by byte).
 * The cost: text without a final '\n' waits for the next newline or an
 * fflush(stdout), so a panic path should fflush(stdout) before halting.
 * stderr stays unbuffered (newlib's default) and is written immediately.
 *
 * Not thread safe: _sbrk and the stdio state assume one CPU at a time
 * (newlib's default locks are no-ops).
 */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "hv/lib/console.h"

/* Halts the CPU for good; implemented elsewhere in the hypervisor. */
void hv_halt(void) __attribute__((noreturn));

/* newlib declares these only while it is compiled itself. */
int _write(int fd, const void *buf, size_t len);
int _read(int fd, void *buf, size_t len);
int _close(int fd);
int _fstat(int fd, struct stat *st);
int _isatty(int fd);
off_t _lseek(int fd, off_t off, int whence);
void *_sbrk(ptrdiff_t incr);
int _kill(int pid, int sig);
int _getpid(void);
void _exit(int status) __attribute__((noreturn));

/* Descriptors 0 (stdin), 1 (stdout) and 2 (stderr): the console. */
static int is_console(int fd)
{
	return fd >= 0 && fd <= 2;
}

int _write(int fd, const void *buf, size_t len)
{
	if (fd != 1 && fd != 2) {
		errno = EBADF;
		return -1;
	}
	if (len > INT_MAX) /* newlib retries with the rest */
		len = INT_MAX;
	console_write(buf, len);
	return (int)len;
}

int _read(int fd, void *buf, size_t len)
{
	(void)buf;
	(void)len;
	if (!is_console(fd)) {
		errno = EBADF;
		return -1;
	}
	return 0; /* no console input: always end of file */
}

int _close(int fd)
{
	if (!is_console(fd)) {
		errno = EBADF;
		return -1;
	}
	return 0;
}

int _fstat(int fd, struct stat *st)
{
	if (!is_console(fd)) {
		errno = EBADF;
		return -1;
	}
	memset(st, 0, sizeof(*st));
	st->st_mode = S_IFCHR; /* a terminal: stdout becomes line buffered */
	return 0;
}

int _isatty(int fd)
{
	if (!is_console(fd)) {
		errno = EBADF;
		return 0;
	}
	return 1;
}

off_t _lseek(int fd, off_t off, int whence)
{
	(void)off;
	(void)whence;
	errno = is_console(fd) ? ESPIPE : EBADF;
	return -1;
}

/*
 * malloc's memory: a fixed array in .bss (zeroed by the boot code with the
 * rest of .bss). 1 MiB covers newlib's own needs (stdio structures and
 * buffers, a few KiB) with plenty to spare for small hypervisor
 * allocations; big or page-aligned memory comes from the page allocator,
 * not from malloc.
 */
#define HV_LIBC_HEAP_SIZE (1024 * 1024)

static unsigned char heap[HV_LIBC_HEAP_SIZE] __attribute__((aligned(16)));
static size_t heap_used; /* the break is heap + heap_used */

void *_sbrk(ptrdiff_t incr)
{
	void *old = heap + heap_used;

	if (incr >= 0) {
		if ((size_t)incr > HV_LIBC_HEAP_SIZE - heap_used) {
			errno = ENOMEM;
			return (void *)-1;
		}
		heap_used += (size_t)incr;
	} else {
		/* malloc gives memory back with a negative increment. */
		size_t dec = (size_t)0 - (size_t)incr;
		if (dec > heap_used) {
			errno = EINVAL;
			return (void *)-1;
		}
		heap_used -= dec;
	}
	return old;
}

/* There are no processes and no signals. abort() calls _kill(_getpid(),
 * SIGABRT) and, when that returns, _exit(1). */
int _kill(int pid, int sig)
{
	(void)pid;
	(void)sig;
	errno = EINVAL;
	return -1;
}

int _getpid(void)
{
	return 1;
}

/* exit() (after running atexit handlers and flushing stdio), abort() and
 * _Exit() end here. */
void _exit(int status)
{
	(void)status;
	hv_halt();
}
