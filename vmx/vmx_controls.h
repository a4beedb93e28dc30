/* SPDX-License-Identifier: MIT */
/*
 * VMX control and capability bits (Intel SDM vol. 3C, ch. 25 and app. A):
 * the one list of them. Each X(ID, bit, "name") row expands into a constant
 * VMX_<GROUP>_<ID> and into the name tables that the capability report uses.
 */
#ifndef VMX_VMX_CONTROLS_H
#define VMX_VMX_CONTROLS_H

#define VMX_PIN_CONTROLS(X)                                                                        \
	X(EXT_INTR_EXITING, 0, "external-interrupt-exiting")                                       \
	X(NMI_EXITING, 3, "nmi-exiting")                                                           \
	X(VIRTUAL_NMIS, 5, "virtual-nmis")                                                         \
	X(PREEMPTION_TIMER, 6, "preemption-timer")                                                 \
	X(POSTED_INTR, 7, "posted-interrupts")

#define VMX_PROC_CONTROLS(X)                                                                       \
	X(INTR_WINDOW_EXITING, 2, "interrupt-window-exiting")                                      \
	X(TSC_OFFSETTING, 3, "tsc-offsetting")                                                     \
	X(HLT_EXITING, 7, "hlt-exiting")                                                           \
	X(INVLPG_EXITING, 9, "invlpg-exiting")                                                     \
	X(MWAIT_EXITING, 10, "mwait-exiting")                                                      \
	X(RDPMC_EXITING, 11, "rdpmc-exiting")                                                      \
	X(RDTSC_EXITING, 12, "rdtsc-exiting")                                                      \
	X(CR3_LOAD_EXITING, 15, "cr3-load-exiting")                                                \
	X(CR3_STORE_EXITING, 16, "cr3-store-exiting")                                              \
	X(TERTIARY_CONTROLS, 17, "tertiary-controls")                                              \
	X(CR8_LOAD_EXITING, 19, "cr8-load-exiting")                                                \
	X(CR8_STORE_EXITING, 20, "cr8-store-exiting")                                              \
	X(TPR_SHADOW, 21, "tpr-shadow")                                                            \
	X(NMI_WINDOW_EXITING, 22, "nmi-window-exiting")                                            \
	X(MOV_DR_EXITING, 23, "mov-dr-exiting")                                                    \
	X(UNCOND_IO_EXITING, 24, "unconditional-io-exiting")                                       \
	X(IO_BITMAPS, 25, "io-bitmaps")                                                            \
	X(MONITOR_TRAP_FLAG, 27, "monitor-trap-flag")                                              \
	X(MSR_BITMAPS, 28, "msr-bitmaps")                                                          \
	X(MONITOR_EXITING, 29, "monitor-exiting")                                                  \
	X(PAUSE_EXITING, 30, "pause-exiting")                                                      \
	X(SECONDARY_CONTROLS, 31, "secondary-controls")

#define VMX_PROC2_CONTROLS(X)                                                                      \
	X(VIRT_APIC_ACCESSES, 0, "virtualize-apic-accesses")                                       \
	X(EPT, 1, "ept")                                                                           \
	X(DESC_TABLE_EXITING, 2, "descriptor-table-exiting")                                       \
	X(RDTSCP, 3, "rdtscp")                                                                     \
	X(VIRT_X2APIC, 4, "virtualize-x2apic")                                                     \
	X(VPID, 5, "vpid")                                                                         \
	X(WBINVD_EXITING, 6, "wbinvd-exiting")                                                     \
	X(UNRESTRICTED_GUEST, 7, "unrestricted-guest")                                             \
	X(APIC_REG_VIRT, 8, "apic-register-virtualization")                                        \
	X(VIRT_INTR_DELIVERY, 9, "virtual-interrupt-delivery")                                     \
	X(PAUSE_LOOP_EXITING, 10, "pause-loop-exiting")                                            \
	X(RDRAND_EXITING, 11, "rdrand-exiting")                                                    \
	X(INVPCID, 12, "invpcid")                                                                  \
	X(VMFUNC, 13, "vm-functions")                                                              \
	X(VMCS_SHADOWING, 14, "vmcs-shadowing")                                                    \
	X(ENCLS_EXITING, 15, "encls-exiting")                                                      \
	X(RDSEED_EXITING, 16, "rdseed-exiting")                                                    \
	X(PML, 17, "page-modification-logging")                                                    \
	X(EPT_VE, 18, "ept-violation-#ve")                                                         \
	X(PT_CONCEAL, 19, "conceal-vmx-from-pt")                                                   \
	X(XSAVES, 20, "xsaves")                                                                    \
	X(MODE_BASED_EPT_EXEC, 22, "mode-based-ept-execute")                                       \
	X(SPP, 23, "sub-page-write-permissions")                                                   \
	X(PT_USE_GPA, 24, "pt-uses-guest-physical")                                                \
	X(TSC_SCALING, 25, "tsc-scaling")                                                          \
	X(USER_WAIT_PAUSE, 26, "user-wait-and-pause")                                              \
	X(ENCLV_EXITING, 28, "enclv-exiting")

#define VMX_PROC3_CONTROLS(X)                                                                      \
	X(LOADIWKEY_EXITING, 0, "loadiwkey-exiting")                                               \
	X(HLAT, 1, "hypervisor-managed-linear-translation")                                        \
	X(EPT_PAGING_WRITE, 2, "ept-paging-write-control")                                         \
	X(GUEST_PAGING_VERIFY, 3, "guest-paging-verification")                                     \
	X(IPI_VIRT, 4, "ipi-virtualization")                                                       \
	X(VIRT_SPEC_CTRL, 7, "virtualize-ia32-spec-ctrl")

#define VMX_EXIT_CONTROLS(X)                                                                       \
	X(SAVE_DEBUG_CONTROLS, 2, "save-debug-controls")                                           \
	X(HOST_ADDR_SPACE_SIZE, 9, "host-address-space-size")                                      \
	X(LOAD_PERF_GLOBAL_CTRL, 12, "load-perf-global-ctrl")                                      \
	X(ACK_INTR_ON_EXIT, 15, "acknowledge-interrupt-on-exit")                                   \
	X(SAVE_PAT, 18, "save-pat")                                                                \
	X(LOAD_PAT, 19, "load-pat")                                                                \
	X(SAVE_EFER, 20, "save-efer")                                                              \
	X(LOAD_EFER, 21, "load-efer")                                                              \
	X(SAVE_PREEMPTION_TIMER, 22, "save-preemption-timer")                                      \
	X(CLEAR_BNDCFGS, 23, "clear-bndcfgs")                                                      \
	X(PT_CONCEAL, 24, "conceal-vmx-from-pt")                                                   \
	X(CLEAR_RTIT_CTL, 25, "clear-rtit-ctl")                                                    \
	X(LOAD_CET, 28, "load-cet-state")                                                          \
	X(LOAD_PKRS, 29, "load-pkrs")

#define VMX_ENTRY_CONTROLS(X)                                                                      \
	X(LOAD_DEBUG_CONTROLS, 2, "load-debug-controls")                                           \
	X(IA32E_MODE_GUEST, 9, "ia32e-mode-guest")                                                 \
	X(ENTRY_TO_SMM, 10, "entry-to-smm")                                                        \
	X(DEACT_DUAL_MONITOR, 11, "deactivate-dual-monitor")                                       \
	X(LOAD_PERF_GLOBAL_CTRL, 13, "load-perf-global-ctrl")                                      \
	X(LOAD_PAT, 14, "load-pat")                                                                \
	X(LOAD_EFER, 15, "load-efer")                                                              \
	X(LOAD_BNDCFGS, 16, "load-bndcfgs")                                                        \
	X(PT_CONCEAL, 17, "conceal-vmx-from-pt")                                                   \
	X(LOAD_RTIT_CTL, 18, "load-rtit-ctl")                                                      \
	X(LOAD_CET, 20, "load-cet-state")                                                          \
	X(LOAD_PKRS, 22, "load-pkrs")

/* IA32_VMX_EPT_VPID_CAP (bits 32+ are the VPID capabilities). */
#define VMX_EPT_VPID_CAPS(X)                                                                       \
	X(EPT_EXEC_ONLY, 0, "ept-execute-only")                                                    \
	X(EPT_PWL4, 6, "ept-4-level-walk")                                                         \
	X(EPT_PWL5, 7, "ept-5-level-walk")                                                         \
	X(EPT_UC, 8, "ept-uc")                                                                     \
	X(EPT_WB, 14, "ept-wb")                                                                    \
	X(EPT_2MB, 16, "ept-2mb-pages")                                                            \
	X(EPT_1GB, 17, "ept-1gb-pages")                                                            \
	X(INVEPT, 20, "invept")                                                                    \
	X(EPT_AD, 21, "ept-accessed-dirty")                                                        \
	X(EPT_ADV_EXIT_INFO, 22, "ept-advanced-exit-info")                                         \
	X(EPT_SSS, 23, "ept-supervisor-shadow-stack")                                              \
	X(INVEPT_SINGLE, 25, "invept-single-context")                                              \
	X(INVEPT_ALL, 26, "invept-all-context")                                                    \
	X(INVVPID, 32, "invvpid")                                                                  \
	X(INVVPID_ADDR, 40, "invvpid-individual-address")                                          \
	X(INVVPID_SINGLE, 41, "invvpid-single-context")                                            \
	X(INVVPID_ALL, 42, "invvpid-all-context")                                                  \
	X(INVVPID_SINGLE_GLOBALS, 43, "invvpid-single-context-retaining-globals")

/*
 * Constants VMX_<GROUP>_<ID>. Some exceed INT_MAX; GCC (gnu11) then gives
 * the enum a 64-bit type, which is what we want.
 */
#define VMX_BIT(group, id, bit)	     VMX_##group##_##id = 1ull << (bit),
#define VMX_PIN_BIT(id, bit, name)   VMX_BIT(PIN, id, bit)
#define VMX_PROC_BIT(id, bit, name)  VMX_BIT(PROC, id, bit)
#define VMX_PROC2_BIT(id, bit, name) VMX_BIT(PROC2, id, bit)
#define VMX_PROC3_BIT(id, bit, name) VMX_BIT(PROC3, id, bit)
#define VMX_EXIT_BIT(id, bit, name)  VMX_BIT(EXIT, id, bit)
#define VMX_ENTRY_BIT(id, bit, name) VMX_BIT(ENTRY, id, bit)
#define VMX_CAP_BIT(id, bit, name)   VMX_BIT(CAP, id, bit)

enum vmx_pin_control { VMX_PIN_CONTROLS(VMX_PIN_BIT) };
enum vmx_proc_control { VMX_PROC_CONTROLS(VMX_PROC_BIT) };
enum vmx_proc2_control { VMX_PROC2_CONTROLS(VMX_PROC2_BIT) };
enum vmx_proc3_control { VMX_PROC3_CONTROLS(VMX_PROC3_BIT) };
enum vmx_exit_control { VMX_EXIT_CONTROLS(VMX_EXIT_BIT) };
enum vmx_entry_control { VMX_ENTRY_CONTROLS(VMX_ENTRY_BIT) };
enum vmx_ept_vpid_cap { VMX_EPT_VPID_CAPS(VMX_CAP_BIT) };

#endif
