/* SPDX-License-Identifier: MIT */
/*
 * Exit statuses the hypervisor reports when it ends a run under an emulator.
 *
 * Shared by the hypervisor (drivers/debug_exit.c writes them) and the host
 * test runner (tests/run.py reads this file to learn the values). QEMU's
 * isa-debug-exit device turns a value v written to port 0xf4 into the process
 * exit status (v << 1) | 1; Bochs has no such device, so the hypervisor also
 * prints "hv: exit <name> (0x<v>)" before it asks Bochs to quit.
 */
#ifndef ABI_HV_EXIT_H
#define ABI_HV_EXIT_H

#define HV_EXIT_SUCCESS 0x10 /* booted, everything requested ran */
#define HV_EXIT_FAILURE 0x11 /* a requested step failed (message on console) */
#define HV_EXIT_NO_VMX	0x12 /* booted, but VT-x is missing or disabled */
#define HV_EXIT_PANIC	0x13 /* a hypervisor fault: exception dump printed */

#endif
