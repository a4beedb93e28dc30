// SPDX-License-Identifier: MIT
/*
 * libhvkvm: errors and names (errno, exit reason and ioctl names).
 */
#include "tools/libhvkvm/internal.h"

/* ---- Errors ---- */

__thread char hvki_last_error[512];

const char *hvk_last_error(void)
{
	return hvki_last_error;
}

const char *hvk_errno_name(int err)
{
	static __thread char buf[16];

	switch (err) {
#define N(e)                                                                                       \
	case e:                                                                                    \
		return #e
		N(EPERM);
		N(ENOENT);
		N(ESRCH);
		N(EINTR);
		N(EIO);
		N(ENXIO);
		N(E2BIG);
		N(ENOEXEC);
		N(EBADF);
		N(EAGAIN);
		N(ENOMEM);
		N(EACCES);
		N(EFAULT);
		N(EBUSY);
		N(EEXIST);
		N(EXDEV);
		N(ENODEV);
		N(ENOTDIR);
		N(EISDIR);
		N(EINVAL);
		N(ENFILE);
		N(EMFILE);
		N(ENOTTY);
		N(EFBIG);
		N(ENOSPC);
		N(ESPIPE);
		N(EROFS);
		N(EPIPE);
		N(EDOM);
		N(ERANGE);
		N(EDEADLK);
		N(ENAMETOOLONG);
		N(ENOSYS);
		N(ENOTSUP);
		N(EPROTO);
		N(EOVERFLOW);
		N(EMSGSIZE);
		N(ECONNRESET);
		N(ECONNREFUSED);
		N(ETIMEDOUT);
		N(EHOSTUNREACH);
		N(ENOTCONN);
		N(EADDRNOTAVAIL);
		N(ENETUNREACH);
#undef N
	}
	snprintf(buf, sizeof(buf), "E%d", err);
	return buf;
}

const char *hvk_exit_name(uint32_t reason)
{
	static const char *const names[] = {
	    [KVM_EXIT_UNKNOWN] = "UNKNOWN",
	    [KVM_EXIT_EXCEPTION] = "EXCEPTION",
	    [KVM_EXIT_IO] = "IO",
	    [KVM_EXIT_HYPERCALL] = "HYPERCALL",
	    [KVM_EXIT_DEBUG] = "DEBUG",
	    [KVM_EXIT_HLT] = "HLT",
	    [KVM_EXIT_MMIO] = "MMIO",
	    [KVM_EXIT_IRQ_WINDOW_OPEN] = "IRQ_WINDOW_OPEN",
	    [KVM_EXIT_SHUTDOWN] = "SHUTDOWN",
	    [KVM_EXIT_FAIL_ENTRY] = "FAIL_ENTRY",
	    [KVM_EXIT_INTR] = "INTR",
	    [KVM_EXIT_SET_TPR] = "SET_TPR",
	    [KVM_EXIT_TPR_ACCESS] = "TPR_ACCESS",
	    [KVM_EXIT_NMI] = "NMI",
	    [KVM_EXIT_INTERNAL_ERROR] = "INTERNAL_ERROR",
	    [KVM_EXIT_SYSTEM_EVENT] = "SYSTEM_EVENT",
	    [KVM_EXIT_X86_RDMSR] = "X86_RDMSR",
	    [KVM_EXIT_X86_WRMSR] = "X86_WRMSR",
	    [KVM_EXIT_X86_BUS_LOCK] = "X86_BUS_LOCK",
	    [KVM_EXIT_NOTIFY] = "NOTIFY",
	};

	if (reason < sizeof(names) / sizeof(names[0]))
		return names[reason];
	return NULL;
}

/* The names of abi/kvm_ioctls.h's list. */
const char *hvk_ioctl_name(unsigned long request)
{
	return kvm_ioctl_name(request);
}
