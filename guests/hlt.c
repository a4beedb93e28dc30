// SPDX-License-Identifier: MIT
/*
 * HLT with IF=0 ends the guest (abi/hv_guest.h): the hypervisor logs
 * "vm <name>: halted" and this program never reaches done(). If the vCPU
 * resumes anyway, say so and report a failure.
 */
#include "guest.h"

void guest_main(void)
{
	puts("about to halt");
	cli_hlt();
	reportf("hlt ends the guest", false, "execution continued after HLT with IF=0");
	done();
}
