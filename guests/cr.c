// SPDX-License-Identifier: MIT
/*
 * Control registers: the multiboot entry state, bits that must read back as
 * written, writes that must raise #GP (VMX is hidden, PG needs PE, ...),
 * CR0.WP against a read-only page, and a round trip through long mode
 * (EFER.LMA follows CR0.PG while EFER.LME is set).
 */
#include "guest.h"

#define CR4_RESERVED_31 (1u << 31)

struct cr_write {
	uint32_t val;
};

static void do_write_cr0(void *arg)
{
	write_cr0(((struct cr_write *)arg)->val);
}

static void do_write_cr4(void *arg)
{
	write_cr4(((struct cr_write *)arg)->val);
}

GUEST_INSN(store_scratch, "movl $scratch_page, %eax", "movl $0x5a5a5a5a, (%eax)");

/* Set or clear `bit` in CR0 (is_cr4 false) or CR4 and check the read-back. */
static void toggle(const char *name, bool is_cr4, uint32_t bit)
{
	uint32_t old = is_cr4 ? read_cr4() : read_cr0();
	struct cr_write w;
	char label[64];
	int pass;

	for (pass = 0; pass < 2; pass++) {
		w.val = pass == 0 ? old ^ bit : old;
		snprintf(label, sizeof(label), "%s %s", name, (w.val & bit) ? "set" : "clear");
		if (catch_exception(is_cr4 ? do_write_cr4 : do_write_cr0, &w) != NO_EXCEPTION) {
			reportf(label, false, "write 0x%x raised vector %d", w.val,
				last_trap.vector);
			return;
		}
		check_u32(label, is_cr4 ? read_cr4() : read_cr0(), w.val);
	}
}

/* A write that must raise #GP(0) and leave the register as it was. */
static void must_gp(const char *name, bool is_cr4, uint32_t val)
{
	uint32_t before = is_cr4 ? read_cr4() : read_cr0();
	struct cr_write w = {val};
	char label[64];

	expect_exception(name, VEC_GP, 0, NULL, is_cr4 ? do_write_cr4 : do_write_cr0, &w);
	snprintf(label, sizeof(label), "%s: register unchanged", name);
	if (!check_u32(label, is_cr4 ? read_cr4() : read_cr0(), before)) {
		w.val = before; /* the write was taken: undo it if we still can */
		catch_exception(is_cr4 ? do_write_cr4 : do_write_cr0, &w);
	}
}

static void entry_state(void)
{
	check_u32("cr entry eax multiboot magic", entry_eax, MB1_BOOTLOADER_MAGIC);
	reportf("cr entry cr0 pe=1 pg=0", (entry_cr0 & (CR0_PE | CR0_PG)) == CR0_PE, "cr0 0x%x",
		entry_cr0);
	reportf("cr entry eflags if=0 vm=0", !(entry_eflags & (EFLAGS_IF | EFLAGS_VM)),
		"eflags 0x%x", entry_eflags);
}

static void write_protect(void)
{
	uint32_t cr0 = read_cr0();
	uint32_t page = (uint32_t)scratch_page;

	paging_on();
	/*
	 * Read-only, with Dirty already set: Bochs 3.0 panics ("asked to set
	 * dirty on paging leaf entry with R/W bit clear") when a WP=0
	 * supervisor write must set D on a read-only entry, which real CPUs
	 * do. With D preset the write tests the same WP rule.
	 */
	paging_set_flags(page, PTE_P | PTE_D);
	write_cr0(read_cr0() | CR0_WP);
	if (expect_exception("cr0.wp=1 write to read-only page #PF", VEC_PF, 3, store_scratch_at,
			     store_scratch, NULL))
		check_u32("cr0.wp=1 #PF cr2", last_trap.cr2, page);
	write_cr0(read_cr0() & ~CR0_WP);
	expect_no_exception("cr0.wp=0 write to read-only page allowed", store_scratch, NULL);
	paging_set_flags(page, PTE_P | PTE_W);
	paging_off();
	write_cr0(cr0);
	check_u32("cr0.wp=0 store landed", *(volatile uint32_t *)scratch_page, 0x5a5a5a5a);
}

/* ---- long mode round trip ------------------------------------------------ */

static uint64_t lm_pml4[512] __attribute__((aligned(4096)));
static uint64_t lm_pdpt[512] __attribute__((aligned(4096)));
static uint64_t lm_pd[512] __attribute__((aligned(4096)));

/*
 * void long_mode_trip(uint32_t out[4]), with CR3 already set: PAE, LME,
 * PG (compatibility mode), far jump to the 64-bit segment, back to 32-bit
 * code, PG off, LME and PAE off. out[0] = EFER with paging on, out[1] = the
 * high half of a 64-bit constant shifted in 64-bit mode, out[2] = EFER
 * after paging went off, out[3] = CR0 at the end.
 */
void long_mode_trip(uint32_t *out);
asm(".pushsection .text\n"
    ".globl long_mode_trip\n"
    "long_mode_trip:\n\t"
    "pushl %edi\n\t"
    "movl 8(%esp), %edi\n\t"
    "movl %cr4, %eax\n\torl $0x20, %eax\n\tmovl %eax, %cr4\n\t"
    "movl $0xc0000080, %ecx\n\trdmsr\n\torl $0x100, %eax\n\twrmsr\n\t"
    "movl %cr0, %eax\n\torl $0x80000000, %eax\n\tmovl %eax, %cr0\n\t"
    "movl $0xc0000080, %ecx\n\trdmsr\n\tmovl %eax, 0(%edi)\n\t"
    "ljmp $" __stringify(
	SEL_CODE64) ", $1f\n"
		    ".code64\n"
		    "1:\tmovl %esp, %esp\n\t"
		    "movl %edi, %edi\n\t"
		    "movabsq $0x0123456789abcdef, %rax\n\t"
		    "shrq $32, %rax\n\t"
		    "movl %eax, 4(%rdi)\n\t"
		    "pushq $" __stringify(
			SEL_CODE32) "\n\t"
				    "movl $2f, %eax\n\t"
				    "pushq %rax\n\t"
				    "lretq\n"
				    ".code32\n"
				    "2:\tmovl %cr0, %eax\n\tandl $0x7fffffff, %eax\n\tmovl %eax, "
				    "%cr0\n\t"
				    "movl $0xc0000080, %ecx\n\trdmsr\n\tmovl %eax, 8(%edi)\n\t"
				    "andl $~0x100, %eax\n\twrmsr\n\t"
				    "movl %cr4, %eax\n\tandl $~0x20, %eax\n\tmovl %eax, %cr4\n\t"
				    "movl %cr0, %eax\n\tmovl %eax, 12(%edi)\n\t"
				    "popl %edi\n\t"
				    "ret\n"
				    ".popsection");

static void long_mode(void)
{
	uint32_t out[4] = {0, 0, 0, 0};
	uint32_t cr3 = read_cr3();

	if (!(cpuid(0x80000001, 0).edx & CPUID81_EDX_LM)) {
		skip("cr long mode round trip", "CPUID.80000001:EDX.LM clear");
		return;
	}
	for (uint32_t i = 0; i < 512; i++)
		lm_pd[i] = (uint64_t)i << 21 | 0x83; /* 2 MiB, present, writable */
	lm_pdpt[0] = (uint32_t)lm_pd | 3;
	lm_pml4[0] = (uint32_t)lm_pdpt | 3;
	write_cr3((uint32_t)lm_pml4);
	long_mode_trip(out);
	write_cr3(cr3);
	reportf("cr long mode: efer.lma set by cr0.pg",
		(out[0] & (EFER_LME | EFER_LMA)) == (EFER_LME | EFER_LMA),
		"EFER 0x%x with paging on", out[0]);
	check_u32("cr long mode: 64-bit code ran", out[1], 0x01234567);
	reportf("cr long mode: efer.lma cleared with cr0.pg",
		(out[2] & (EFER_LME | EFER_LMA)) == EFER_LME, "EFER 0x%x after paging off", out[2]);
	reportf("cr long mode: back in protected mode", (out[3] & (CR0_PE | CR0_PG)) == CR0_PE,
		"cr0 0x%x", out[3]);
	check_u64("cr long mode: efer restored", rdmsr(MSR_EFER) & (EFER_LME | EFER_LMA), 0);
}

/* With EFER.LME=1 and CR4.PAE=0, setting CR0.PG is #GP(0). */
static void long_mode_needs_pae(void)
{
	uint64_t efer = rdmsr(MSR_EFER);

	if (!(cpuid(0x80000001, 0).edx & CPUID81_EDX_LM))
		return;
	write_cr4(read_cr4() & ~CR4_PAE);
	wrmsr(MSR_EFER, efer | EFER_LME);
	must_gp("cr0.pg with efer.lme and cr4.pae=0 #GP", false, read_cr0() | CR0_PG);
	wrmsr(MSR_EFER, efer);
	check_u64("cr efer.lma still clear", rdmsr(MSR_EFER) & EFER_LMA, 0);
}

void guest_main(void)
{
	struct cpuid_regs f1 = cpuid(1, 0);

	entry_state();
	printf("cr: cr0 0x%x cr4 0x%x\n", read_cr0(), read_cr4());

	toggle("cr0.wp", false, CR0_WP);
	if (f1.edx & CPUID1_EDX_PGE)
		toggle("cr4.pge", true, CR4_PGE);
	else
		skip("cr4.pge", "CPUID.1:EDX.PGE clear");
	if (f1.edx & CPUID1_EDX_FXSR)
		toggle("cr4.osfxsr", true, CR4_OSFXSR);
	else
		skip("cr4.osfxsr", "CPUID.1:EDX.FXSR clear");
	if (f1.edx & CPUID1_EDX_PAE)
		toggle("cr4.pae", true, CR4_PAE);

	write_protect();
	long_mode();

	/*
	 * Writes that must raise #GP, least destructive first: an emulator that
	 * wrongly accepts one may not survive it (QEMU 7.2's TCG takes PG
	 * without PE and loops forever on a CR4 write that should #GP).
	 */
	must_gp("cr0 nw=1 cd=0 #GP", false, (read_cr0() | CR0_NW) & ~CR0_CD);
	long_mode_needs_pae();
	must_gp("cr0 pg=1 pe=0 #GP", false, (read_cr0() | CR0_PG) & ~CR0_PE);
	must_gp("cr4.vmxe #GP (vmx hidden)", true, read_cr4() | CR4_VMXE);
	must_gp("cr4 reserved bit 31 #GP", true, read_cr4() | CR4_RESERVED_31);
}
