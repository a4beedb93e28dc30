// SPDX-License-Identifier: MIT
/*
 * hv_main: from the 64-bit entry (boot/entry.S) to "hv: ready".
 *
 * Order matters: the console comes first (COM1, the defaults) so that every
 * later step can report; the command line may then move it.
 */
#include <stdint.h>
#include <stdio.h>

#include "abi/hv_exit.h"
#include "boot/cpu.h"
#include "boot/multiboot2.h"
#include "boot/trap.h"
#include "drivers/debug_exit.h"
#include "drivers/pic8259.h"
#include "drivers/pit8254.h"
#include "hv/loader/boot_guests.h"
#include "hv/channel/channel.h"
#include "hv/lib/cmdline.h"
#include "hv/lib/console.h"
#include "hv/lib/halt.h"
#include "hv/kvm/kvm_api_selftest.h"
#include "hv/lib/log.h"
#include "hv/lib/tsc.h"
#include "hv/lib/mm.h"
#include "hv/lib/x86.h"
#include "vmx/vmx.h"

/* The boot page tables identity-map this much; the allocator stays below. */
#define IDENTITY_MAP_END (4ull << 30)
/* Below this: IVT, BDA, EBDA, option ROMs and BIOS. Never handed out. */
#define LOW_MEMORY_END (1ull << 20)
#define HV_TICK_HZ     1000
/* The info block is read through the identity map; bound what we trust. */
#define MB2_INFO_MAX (1u << 20)

extern char _image_start[], _image_end[];
extern uint64_t boot_tsc; /* boot/entry.S: TSC at the GRUB hand-off */

static struct hv_options opts;
static struct mb2_info mb;

static void *identity(uint64_t pa)
{
	return (void *)(uintptr_t)pa;
}

static void apply_console_options(void)
{
	log_set_level(opts.loglevel);
	if (opts.console.port == CONSOLE_DEFAULT_PORT && opts.console.baud == CONSOLE_DEFAULT_BAUD)
		return;
	if (!console_init(opts.console.port, opts.console.baud)) {
		console_init(CONSOLE_DEFAULT_PORT, CONSOLE_DEFAULT_BAUD);
		log_warn("hv: no UART at console port 0x%x; staying on COM1", opts.console.port);
	}
}

static int memory_init(void)
{
	/* image + info block + modules + framebuffer */
	struct phys_range reserved[1 + 1 + MB2_MAX_MODULES + 1];
	unsigned n = 0;

	reserved[n++] = (struct phys_range){(uint64_t)_image_start, (uint64_t)_image_end};
	n +=
	    pmm_collect_mb2_reserved(&mb, reserved + n, sizeof(reserved) / sizeof(reserved[0]) - n);
	for (unsigned i = 0; i < n; i++)
		log_debug("hv: reserved [0x%llx-0x%llx) from the page allocator",
			  (unsigned long long)reserved[i].base,
			  (unsigned long long)reserved[i].end);

	struct pmm_config cfg = {
	    .regions = mb.regions,
	    .n_regions = mb.n_regions,
	    .reserved = reserved,
	    .n_reserved = n,
	    .min_addr = LOW_MEMORY_END,
	    /* Not mapped yet: keep the allocator inside the boot identity map. */
	    .max_addr = IDENTITY_MAP_END,
	    .phys_to_virt = identity,
	};
	if (pmm_init(&hv_pmm, &cfg) < 0)
		return -1;
	pmm_dump(&hv_pmm);
	return 0;
}

static uint8_t virtualization_init(const struct hv_options *opts)
{
	if (vmx_probe() == VMX_AVAILABLE && vmx_init() == 0) {
		if (!opts->apicv)
			vmx_disable_apicv();
		return HV_EXIT_SUCCESS;
	}
	log_info("hv: continuing without VMX: no guest can run on this machine");
	return HV_EXIT_NO_VMX;
}

void hv_main(uint32_t magic, uint32_t info_phys)
{
	uint8_t status;

	console_init(CONSOLE_DEFAULT_PORT, CONSOLE_DEFAULT_BAUD);
	cpu_tables_init();
	pic_remap_and_mask();
	/*
	 * The host tick. The hypervisor runs with interrupts off; a tick is
	 * taken when a guest's run exits for it (external-interrupt exiting).
	 */
	pit_start(HV_TICK_HZ);
	pic_unmask(PIT_IRQ);
	options_defaults(&opts);
	/* Through newlib's stdio on purpose: proves the route to the UART. */
	printf("\nhv: hypervisor starting (image 0x%llx-0x%llx, %llu KiB)\n",
	       (unsigned long long)(uintptr_t)_image_start,
	       (unsigned long long)(uintptr_t)_image_end,
	       (unsigned long long)(_image_end - _image_start) / 1024);

	if (magic != MB2_BOOTLOADER_MAGIC) {
		log_err("hv: not started by a multiboot2 loader (EAX=0x%x, expected 0x%x)", magic,
			MB2_BOOTLOADER_MAGIC);
		hv_stop(HV_EXIT_FAILURE);
	}
	if (mb2_parse(identity(info_phys), MB2_INFO_MAX, info_phys, &mb) < 0) {
		log_err("hv: multiboot2 info at 0x%x is unusable", info_phys);
		hv_stop(HV_EXIT_FAILURE);
	}
	options_parse(&opts, mb.has_cmdline ? mb.cmdline : "");
	hv_set_exit_on_stop(opts.on_done == HV_ON_DONE_EXIT);
	apply_console_options();
	log_info("hv: multiboot2 info at 0x%x, %u bytes, %u problem(s)", info_phys, mb.total_size,
		 mb.problems);
	options_dump(&opts);
	mb2_dump(&mb);

	if (memory_init() < 0) {
		log_err("hv: no usable memory for the page allocator");
		hv_stop(HV_EXIT_FAILURE);
	}

	cpu_report();
	tsc_init();
	status = virtualization_init(&opts);

	if (opts.selftest == HV_SELFTEST_KVMAPI) {
		if (kvm_api_selftest() < 0)
			status = HV_EXIT_FAILURE;
	} else if (opts.selftest == HV_SELFTEST_VMENTRY) {
		if (status == HV_EXIT_SUCCESS && boot_guests_entry_failure_selftest() < 0)
			status = HV_EXIT_FAILURE;
	} else if (opts.selftest != HV_SELFTEST_NONE) {
		trap_selftest(opts.selftest);
	}

	/* Printed at every log level: scripts and people wait for it. */
	console_printf("hv: ready (boot took %llu TSC ticks since the GRUB hand-off)\n",
		       (unsigned long long)(rdtsc() - boot_tsc));
	if (status == HV_EXIT_SUCCESS && boot_guests_run(&mb))
		status = HV_EXIT_FAILURE;
	log_info("hv: %llu host timer ticks taken", (unsigned long long)pit_ticks());
	/* Staying up means serving the controller channel, if there is one. */
	if (opts.on_done != HV_ON_DONE_EXIT && channel_init(&opts))
		channel_serve();
	hv_stop(status);
}
