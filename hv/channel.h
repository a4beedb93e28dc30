/* SPDX-License-Identifier: MIT */
/*
 * The controller channel: frames of abi/hvwire.h over a link, a 16550 UART
 * (channel=com2 by default) or a virtio-console (channel=virtio). Requests go to the KVM API (hv/kvm_api.c),
 * guest memory reads/writes to the VM's slots; each gets one response.
 */
#ifndef HV_CHANNEL_H
#define HV_CHANNEL_H

#include <stdbool.h>

#include "hv/cmdline.h"

/* Set up the link the options name; false when there is none to serve. */
bool channel_init(const struct hv_options *o);

/* The link's interrupt: move received bytes into the ring (IRQ context). */
void channel_irq(void);
/* The legacy IRQ line of the link, or -1 when it is polled. */
int channel_irq_line(void);
/* The timer tick: a polled link moves its received bytes into the ring. */
void channel_tick(void);

/*
 * Serve requests until the controller asks for HVW_POWER_OFF; between
 * requests the CPU halts with interrupts on (UART and timer wake it).
 */
void channel_serve(void);

#endif
