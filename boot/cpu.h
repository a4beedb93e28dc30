/* SPDX-License-Identifier: MIT */
/* Identity and features of the boot CPU. */
#ifndef BOOT_CPU_H
#define BOOT_CPU_H

/* Log vendor, family/model/stepping, brand and the features we care about. */
void cpu_report(void);

#endif
