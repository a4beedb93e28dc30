/* SPDX-License-Identifier: MIT */
/* Basic VM-exit reasons (SDM vol. 3C app. C): X(ID, number, "name"). */
#ifndef VMX_EXIT_REASONS_H
#define VMX_EXIT_REASONS_H

#define VMX_EXIT_REASONS(X)                                                                        \
	X(EXCEPTION_NMI, 0, "exception-or-nmi")                                                    \
	X(EXTERNAL_INTERRUPT, 1, "external-interrupt")                                             \
	X(TRIPLE_FAULT, 2, "triple-fault")                                                         \
	X(INIT, 3, "init")                                                                         \
	X(SIPI, 4, "sipi")                                                                         \
	X(IO_SMI, 5, "io-smi")                                                                     \
	X(OTHER_SMI, 6, "other-smi")                                                               \
	X(INTERRUPT_WINDOW, 7, "interrupt-window")                                                 \
	X(NMI_WINDOW, 8, "nmi-window")                                                             \
	X(TASK_SWITCH, 9, "task-switch")                                                           \
	X(CPUID, 10, "cpuid")                                                                      \
	X(GETSEC, 11, "getsec")                                                                    \
	X(HLT, 12, "hlt")                                                                          \
	X(INVD, 13, "invd")                                                                        \
	X(INVLPG, 14, "invlpg")                                                                    \
	X(RDPMC, 15, "rdpmc")                                                                      \
	X(RDTSC, 16, "rdtsc")                                                                      \
	X(RSM, 17, "rsm")                                                                          \
	X(VMCALL, 18, "vmcall")                                                                    \
	X(VMCLEAR, 19, "vmclear")                                                                  \
	X(VMLAUNCH, 20, "vmlaunch")                                                                \
	X(VMPTRLD, 21, "vmptrld")                                                                  \
	X(VMPTRST, 22, "vmptrst")                                                                  \
	X(VMREAD, 23, "vmread")                                                                    \
	X(VMRESUME, 24, "vmresume")                                                                \
	X(VMWRITE, 25, "vmwrite")                                                                  \
	X(VMXOFF, 26, "vmxoff")                                                                    \
	X(VMXON, 27, "vmxon")                                                                      \
	X(CR_ACCESS, 28, "cr-access")                                                              \
	X(DR_ACCESS, 29, "dr-access")                                                              \
	X(IO_INSTRUCTION, 30, "io")                                                                \
	X(RDMSR, 31, "rdmsr")                                                                      \
	X(WRMSR, 32, "wrmsr")                                                                      \
	X(INVALID_GUEST_STATE, 33, "entry-fail-guest-state")                                       \
	X(MSR_LOADING, 34, "entry-fail-msr-loading")                                               \
	X(MWAIT, 36, "mwait")                                                                      \
	X(MONITOR_TRAP_FLAG, 37, "monitor-trap-flag")                                              \
	X(MONITOR, 39, "monitor")                                                                  \
	X(PAUSE, 40, "pause")                                                                      \
	X(MCE_DURING_ENTRY, 41, "entry-fail-machine-check")                                        \
	X(TPR_BELOW_THRESHOLD, 43, "tpr-below-threshold")                                          \
	X(APIC_ACCESS, 44, "apic-access")                                                          \
	X(VIRTUALIZED_EOI, 45, "virtualized-eoi")                                                  \
	X(GDTR_IDTR, 46, "gdtr-idtr-access")                                                       \
	X(LDTR_TR, 47, "ldtr-tr-access")                                                           \
	X(EPT_VIOLATION, 48, "ept-violation")                                                      \
	X(EPT_MISCONFIG, 49, "ept-misconfig")                                                      \
	X(INVEPT, 50, "invept")                                                                    \
	X(RDTSCP, 51, "rdtscp")                                                                    \
	X(PREEMPTION_TIMER, 52, "preemption-timer")                                                \
	X(INVVPID, 53, "invvpid")                                                                  \
	X(WBINVD, 54, "wbinvd")                                                                    \
	X(XSETBV, 55, "xsetbv")                                                                    \
	X(APIC_WRITE, 56, "apic-write")                                                            \
	X(RDRAND, 57, "rdrand")                                                                    \
	X(INVPCID, 58, "invpcid")                                                                  \
	X(VMFUNC, 59, "vmfunc")                                                                    \
	X(ENCLS, 60, "encls")                                                                      \
	X(RDSEED, 61, "rdseed")                                                                    \
	X(PML_FULL, 62, "pml-full")                                                                \
	X(XSAVES, 63, "xsaves")                                                                    \
	X(XRSTORS, 64, "xrstors")                                                                  \
	X(SPP, 66, "spp")                                                                          \
	X(UMWAIT, 67, "umwait")                                                                    \
	X(TPAUSE, 68, "tpause")                                                                    \
	X(LOADIWKEY, 69, "loadiwkey")                                                              \
	X(BUS_LOCK, 74, "bus-lock")                                                                \
	X(NOTIFY, 75, "notify")

#define EXIT_REASON_ENUM(id, nr, name) EXIT_REASON_##id = nr,
enum vmx_exit_reason { VMX_EXIT_REASONS(EXIT_REASON_ENUM) EXIT_REASON_MAX = 76 };
#undef EXIT_REASON_ENUM

/* Bit 31 of the exit reason: the VM entry failed. */
#define EXIT_REASON_ENTRY_FAILURE (1u << 31)

const char *vmx_exit_reason_name(unsigned reason);

#endif
