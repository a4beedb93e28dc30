/* SPDX-License-Identifier: MIT */
/* Linux errno values, as the KVM interfaces return them (negated). */
#ifndef HV_ERRNO_H
#define HV_ERRNO_H

#define HV_EPERM  1
#define HV_ENOENT 2
#define HV_EINTR  4
#define HV_EIO	  5
#define HV_ENXIO  6
#define HV_E2BIG  7
#define HV_EBADF  9
#define HV_ENOMEM 12
#define HV_EFAULT 14
#define HV_EBUSY  16
#define HV_EEXIST 17
#define HV_ENODEV 19
#define HV_EINVAL 22
#define HV_ENOSPC 28
#define HV_ENOSYS 38
#define HV_ENOTTY 25

#endif
