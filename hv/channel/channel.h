/* SPDX-License-Identifier: MIT */
/*
 * The controller channel: frames of abi/hvwire.h over a link, a 16550 UART
 * (channel=com2 by default) or a virtio-console (channel=virtio). Requests go to the KVM API
 * (hv/kvm/kvm_api.c), guest memory reads/writes to the VM's slots; each gets one response.
 *
 * The channel always answers. While a KVM_RUN is in progress (the serve
 * loop is inside vcpu_run()), what arrives is still decoded, from the
 * link's interrupt, the tick and the end of each preemption-timer slice:
 *  - a KICK stops the run at once (or, for a vCPU whose KVM_RUN is queued,
 *    makes that run return -EINTR when it starts, as a signal that came
 *    while a thread waited for the vCPU mutex does on Linux);
 *  - a HELLO (a new controller) or a BYE stops the run and is queued:
 *    served after it, it ends the session and destroys the session's VMs;
 *  - a CLOSE of the running VM stops the run and is queued, so the run's
 *    answer goes out first and the CLOSE then destroys the VM;
 *  - everything else is queued, a second KVM_RUN of the same vCPU too
 *    (Linux serialises KVM_RUN on the vCPU's mutex).
 * Queued requests are served oldest first once the run has returned and
 * its answer has gone out; the controller matches answers by seq. A
 * request that finds all CHANNEL_QUEUE_FRAMES slots taken is answered at
 * once, from interrupt context, with HVW_ERROR -EBUSY; nothing is dropped
 * and the line never stalls.
 */
#ifndef HV_CHANNEL_H
#define HV_CHANNEL_H

#include <stdbool.h>

#include "hv/lib/cmdline.h"

/*
 * Requests held during a run. Each slot takes a frame of any size (17
 * pages, allocated at channel_init: 544 KiB in all).
 */
#define CHANNEL_QUEUE_FRAMES 8

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
 * It is channel_serve_one() in a loop.
 */
void channel_serve(void);

/*
 * Serve at most one request: receive what has arrived, then answer the
 * oldest queued request, else the next decoded one. True if one was
 * answered, false if none is waiting (the caller may halt). Call with
 * interrupts off.
 *
 * It is also called from inside a KVM_RUN, between two VM entries of the
 * running vCPU (vcpu_slice_hook: a preemption-timer slice's end, an
 * external interrupt, each wait of a halted vCPU). There it serves only
 * the queued requests KVM would not hold behind the running vCPU, oldest
 * first: MEM_READ, MEM_WRITE, MEM_CHANGED, LIST, system-level ioctls, any
 * ioctl but KVM_RUN on another vCPU or VM, and on the running VM those
 * that raise interrupts or only read (KVM_IRQ_LINE(_STATUS),
 * KVM_SIGNAL_MSI, KVM_GET_IRQCHIP, KVM_CHECK_EXTENSION). The others (the
 * running vCPU's own ioctls, KVM_RUN, memory-slot and vCPU changes of the
 * running VM, CLOSE, HELLO, BYE, POWER_OFF) stay queued, in order, until
 * the run has returned.
 */
bool channel_serve_one(void);

#endif
