/* SPDX-License-Identifier: MIT */
/* The VM-exit engine: one handler per basic exit reason. */
#ifndef VMX_EXIT_H
#define VMX_EXIT_H

struct vcpu;

enum exit_action {
	EXIT_RESUME,        /* handled: enter the guest again */
	EXIT_TO_CONTROLLER, /* kvm_run is filled: KVM_RUN returns */
};

enum exit_action vmx_handle_exit(struct vcpu *v, unsigned reason);

#endif
