// SPDX-License-Identifier: MIT
/*
 * Unit tests of the 8259 pair (hv/irqchip/pic.c) driven through its ports
 * as guests program it. Each test is named after the function of Linux
 * 6.1's arch/x86/kvm/i8259.c whose behaviour it checks.
 */
#include <stdint.h>
#include <string.h>

#include "abi/errno.h"
#include "hv/irqchip/pic.h"
#include "tests/unit/check.h"

#define MAXREC 64

static struct pic pic;
static bool out_level;
static unsigned nrise, nfall;
static bool accepts;
static unsigned acked[MAXREC];
static unsigned nacked;

static void fake_output(void *ctx, bool level)
{
	(void)ctx;
	if (level)
		nrise++;
	else
		nfall++;
	out_level = level;
}

static bool fake_accepts(void *ctx)
{
	(void)ctx;
	return accepts;
}

static void fake_acked(void *ctx, unsigned irq)
{
	(void)ctx;
	if (nacked < MAXREC)
		acked[nacked] = irq;
	nacked++;
}

static void setup(void)
{
	struct pic_config cfg = {
	    .output = fake_output,
	    .accepts_intr = fake_accepts,
	    .acked = fake_acked,
	    .ctx = &pic,
	};

	out_level = false;
	nrise = nfall = 0;
	nacked = 0;
	accepts = true;
	pic_init(&pic, &cfg);
}

static void outb(uint16_t port, uint8_t v)
{
	pic_ioport_write(&pic, port, 1, v);
}

static uint8_t inb(uint16_t port)
{
	uint32_t v = 0xdead;

	pic_ioport_read(&pic, port, 1, &v);
	return (uint8_t)v;
}

/* ICW1-ICW4 on both chips, cascade on IRQ2 (Linux's init_8259A, SeaBIOS). */
static void init_pair(uint8_t master_base, uint8_t slave_base, uint8_t master_icw4)
{
	outb(0x21, 0xff);
	outb(0xa1, 0xff);
	outb(0x20, 0x11);
	outb(0x21, master_base);
	outb(0x21, 0x04);
	outb(0x21, master_icw4);
	outb(0xa0, 0x11);
	outb(0xa1, slave_base);
	outb(0xa1, 0x02);
	outb(0xa1, 0x01);
}

static uint8_t read_irr(uint16_t cmd)
{
	outb(cmd, 0x0a);
	return inb(cmd);
}

static uint8_t read_isr(uint16_t cmd)
{
	uint8_t v;

	outb(cmd, 0x0b);
	v = inb(cmd);
	outb(cmd, 0x0a);
	return v;
}

static void t_created(void)
{
	setup();
	CHECK_EQ(pic.chips[0].elcr_mask, 0xf8);
	CHECK_EQ(pic.chips[1].elcr_mask, 0xde);
	CHECK_EQ(pic.chips[0].init_state, 0);
	CHECK_EQ(pic.chips[0].irq_base, 0);
	CHECK_EQ(inb(0x21), 0); /* nothing masked */
	CHECK(!pic_output(&pic));
	/* Unprogrammed, an IRQ is still delivered with vector base 0. */
	pic_set_irq(&pic, 3, 0, true);
	CHECK(pic_output(&pic));
	CHECK_EQ(pic_read_irq(&pic), 3);
}

static void t_linux_init(void)
{
	setup();
	init_pair(0x30, 0x38, 0x01);
	CHECK_EQ(pic.chips[0].init_state, 0);
	CHECK_EQ(pic.chips[1].init_state, 0);
	CHECK_EQ(pic.chips[0].irq_base, 0x30);
	CHECK_EQ(pic.chips[1].irq_base, 0x38);
	CHECK_EQ(pic.chips[0].init4, 1);
	CHECK_EQ(pic.chips[0].auto_eoi, 0);
	CHECK_EQ(inb(0x21), 0); /* ICW1 cleared IMR */
	outb(0x21, 0xf9);	/* timer masked, keyboard and cascade open */
	outb(0xa1, 0xff);
	CHECK_EQ(inb(0x21), 0xf9);
	CHECK_EQ(pic_set_irq(&pic, 0, 0, true), -1);
	CHECK(!pic_output(&pic));
	CHECK_EQ(pic_set_irq(&pic, 1, 0, true), 1);
	CHECK(pic_output(&pic));
	CHECK_EQ(nrise, 1);
	CHECK_EQ(pic_read_irq(&pic), 0x31);
	CHECK_EQ(read_isr(0x20), 0x02);
	CHECK(!pic_output(&pic));
	CHECK_EQ(nfall, 1);
	outb(0x20, 0x20);
	CHECK_EQ(read_isr(0x20), 0);
	CHECK_EQ(nacked, 1);
	CHECK_EQ(acked[0], 1);
}

static void t_seabios_cascade(void)
{
	setup();
	init_pair(0x08, 0x70, 0x01);
	CHECK_EQ(pic_set_irq(&pic, 8, 0, true), 1);
	CHECK_EQ(read_irr(0xa0), 0x01);
	CHECK_EQ(read_irr(0x20), 0x04); /* the cascade raised IRQ2 */
	CHECK(pic_output(&pic));
	CHECK_EQ(pic_read_irq(&pic), 0x70);
	CHECK_EQ(read_isr(0x20), 0x04);
	CHECK_EQ(read_isr(0xa0), 0x01);
	CHECK_EQ(read_irr(0x20), 0);
	outb(0xa0, 0x20);
	outb(0x20, 0x20);
	CHECK_EQ(read_isr(0x20), 0);
	CHECK_EQ(read_isr(0xa0), 0);
	CHECK_EQ(nacked, 2);
	CHECK_EQ(acked[0], 8);
	CHECK_EQ(acked[1], 2);
	pic_set_irq(&pic, 0, 0, true);
	CHECK_EQ(pic_read_irq(&pic), 0x08);
	pic_set_irq(&pic, 15, 0, true);
	outb(0x20, 0x20);
	CHECK_EQ(pic_read_irq(&pic), 0x77);
}

static void t_icw1_without_icw4(void)
{
	setup();
	init_pair(0x20, 0x28, 0x13); /* SFNM + auto-EOI */
	CHECK_EQ(pic.chips[0].auto_eoi, 1);
	CHECK_EQ(pic.chips[0].special_fully_nested_mode, 1);
	/* ICW1 with IC4 set keeps them until ICW4 comes. */
	outb(0x20, 0x11);
	CHECK_EQ(pic.chips[0].auto_eoi, 1);
	CHECK_EQ(pic.chips[0].init_state, 1);
	outb(0x21, 0x40);
	outb(0x21, 0x04);
	CHECK_EQ(pic.chips[0].init_state, 3);
	outb(0x21, 0x01);
	CHECK_EQ(pic.chips[0].auto_eoi, 0);
	/* Without IC4: dropped at once, ICW3 ends the sequence. */
	outb(0x20, 0x12); /* also single mode: ignored, ICW3 still expected */
	CHECK_EQ(pic.chips[0].special_fully_nested_mode, 0);
	CHECK_EQ(pic.chips[0].init_state, 1);
	outb(0x21, 0x57);
	CHECK_EQ(pic.chips[0].irq_base, 0x50);
	CHECK_EQ(pic.chips[0].init_state, 2);
	outb(0x21, 0x04);
	CHECK_EQ(pic.chips[0].init_state, 0);
	outb(0x21, 0xaa);
	CHECK_EQ(inb(0x21), 0xaa);
}

static void t_imr(void)
{
	setup();
	init_pair(0x20, 0x28, 0x01);
	outb(0x21, 0x02);
	CHECK_EQ(pic_set_irq(&pic, 1, 0, true), -1);
	CHECK(!pic_output(&pic));
	CHECK_EQ(read_irr(0x20), 0x02); /* requested, only masked */
	outb(0x21, 0x00);
	CHECK(pic_output(&pic));
	CHECK_EQ(nrise, 1);
	outb(0x21, 0x02);
	CHECK(!pic_output(&pic));
	CHECK_EQ(nfall, 1);
	outb(0x21, 0x00);
	CHECK_EQ(pic_read_irq(&pic), 0x21);
	/* A masked slave blocks the cascade. */
	outb(0xa1, 0xff);
	CHECK_EQ(pic_set_irq(&pic, 12, 0, true), -1);
	CHECK_EQ(read_irr(0x20), 0);
}

static void t_priority(void)
{
	setup();
	init_pair(0x20, 0x28, 0x01);
	pic_set_irq(&pic, 5, 0, true);
	pic_set_irq(&pic, 3, 0, true);
	CHECK_EQ(pic_read_irq(&pic), 0x23); /* lower number first */
	CHECK_EQ(read_isr(0x20), 0x08);
	CHECK(!pic_output(&pic)); /* 5 waits behind 3 in service */
	pic_set_irq(&pic, 1, 0, true);
	CHECK(pic_output(&pic)); /* 1 nests above 3 */
	CHECK_EQ(pic_read_irq(&pic), 0x21);
	CHECK_EQ(read_isr(0x20), 0x0a);
	/* Non-specific EOI retires the highest priority in service. */
	outb(0x20, 0x20);
	CHECK_EQ(read_isr(0x20), 0x08);
	CHECK(!pic_output(&pic));
	outb(0x20, 0x20);
	CHECK_EQ(read_isr(0x20), 0);
	CHECK(pic_output(&pic));
	CHECK_EQ(pic_read_irq(&pic), 0x25);
}

static void t_specific_eoi(void)
{
	setup();
	init_pair(0x20, 0x28, 0x01);
	pic_set_irq(&pic, 3, 0, true);
	pic_read_irq(&pic);
	pic_set_irq(&pic, 1, 0, true);
	pic_read_irq(&pic);
	CHECK_EQ(read_isr(0x20), 0x0a);
	outb(0x20, 0x63);
	CHECK_EQ(read_isr(0x20), 0x02);
	CHECK_EQ(acked[0], 3);
	/* Specific EOI of an IRQ not in service only acks. */
	outb(0x20, 0x66);
	CHECK_EQ(read_isr(0x20), 0x02);
	CHECK_EQ(nacked, 2);
	/* OCW2 0x40 is a no-op. */
	outb(0x20, 0x40);
	CHECK_EQ(read_isr(0x20), 0x02);
	CHECK_EQ(nacked, 2);
}

static void t_auto_eoi(void)
{
	setup();
	init_pair(0x20, 0x28, 0x03);
	CHECK_EQ(pic.chips[0].auto_eoi, 1);
	pic_set_irq(&pic, 4, 0, true);
	CHECK_EQ(pic_read_irq(&pic), 0x24);
	CHECK_EQ(read_isr(0x20), 0);
	CHECK_EQ(nacked, 1);
	CHECK_EQ(acked[0], 4);
	CHECK_EQ(pic.chips[0].priority_add, 0);
	/* Rotate in auto-EOI mode: the IRQ served becomes the lowest. */
	outb(0x20, 0x80);
	CHECK_EQ(pic.chips[0].rotate_on_auto_eoi, 1);
	pic_set_irq(&pic, 4, 0, false);
	pic_set_irq(&pic, 4, 0, true);
	CHECK_EQ(pic_read_irq(&pic), 0x24);
	CHECK_EQ(pic.chips[0].priority_add, 5);
	pic_set_irq(&pic, 3, 0, true);
	pic_set_irq(&pic, 6, 0, true);
	CHECK_EQ(pic_read_irq(&pic), 0x26); /* order now 5 6 7 0 1 2 3 4 */
	outb(0x20, 0x00);
	CHECK_EQ(pic.chips[0].rotate_on_auto_eoi, 0);
}

static void t_rotation(void)
{
	setup();
	init_pair(0x20, 0x28, 0x01);
	pic_set_irq(&pic, 1, 0, true);
	CHECK_EQ(pic_read_irq(&pic), 0x21);
	outb(0x20, 0xa0); /* rotate on non-specific EOI: 1 becomes the lowest */
	CHECK_EQ(pic.chips[0].priority_add, 2);
	CHECK_EQ(read_isr(0x20), 0);
	pic_set_irq(&pic, 0, 0, true);
	pic_set_irq(&pic, 3, 0, true);
	CHECK_EQ(pic_read_irq(&pic), 0x23); /* order 2 3 4 5 6 7 0 1 */
	outb(0x20, 0xe3);		    /* rotate on specific EOI of 3 */
	CHECK_EQ(pic.chips[0].priority_add, 4);
	CHECK_EQ(read_isr(0x20), 0);
	pic_set_irq(&pic, 5, 0, true);
	CHECK_EQ(pic_read_irq(&pic), 0x25); /* order 4 5 6 7 0 ... */
	outb(0x20, 0x20);
	outb(0x20, 0xc6); /* set priority: 6 lowest, 7 highest */
	CHECK_EQ(pic.chips[0].priority_add, 7);
	pic_set_irq(&pic, 7, 0, true);
	CHECK_EQ(pic_read_irq(&pic), 0x27);
	CHECK(!pic_output(&pic)); /* 0 ranks below 7 now */
	outb(0x20, 0x20);
	CHECK_EQ(pic_read_irq(&pic), 0x20);
}

static void t_spurious(void)
{
	setup();
	init_pair(0x08, 0x70, 0x01);
	CHECK_EQ(pic_read_irq(&pic), 0x0f); /* master IRQ7 */
	CHECK_EQ(read_isr(0x20), 0);
	/* Slave request withdrawn after the cascade edge latched IRQ2. */
	pic_set_irq(&pic, 11, 0, true);
	outb(0xa1, 0x08);
	CHECK(pic_output(&pic));
	CHECK_EQ(pic_read_irq(&pic), 0x77); /* slave IRQ7 */
	CHECK_EQ(read_isr(0x20), 0x04);
	CHECK_EQ(read_isr(0xa0), 0);
}

static void t_elcr_level(void)
{
	setup();
	init_pair(0x20, 0x28, 0x01);
	outb(0x4d0, 0xff);
	outb(0x4d1, 0xff);
	CHECK_EQ(inb(0x4d0), 0xf8);
	CHECK_EQ(inb(0x4d1), 0xde);
	outb(0x4d0, 0x20);
	outb(0x4d1, 0x00);
	CHECK_EQ(pic_set_irq(&pic, 5, 0, true), 1);
	CHECK_EQ(pic_set_irq(&pic, 5, 0, true), 0); /* IRR already set */
	CHECK_EQ(pic_read_irq(&pic), 0x25);
	CHECK_EQ(read_irr(0x20), 0x20); /* INTA keeps a level request */
	outb(0x20, 0x20);
	CHECK(pic_output(&pic)); /* line still high: requested again */
	CHECK_EQ(pic_read_irq(&pic), 0x25);
	pic_set_irq(&pic, 5, 0, false);
	CHECK_EQ(read_irr(0x20), 0);
	outb(0x20, 0x20);
	CHECK(!pic_output(&pic));
}

static void t_edge(void)
{
	setup();
	init_pair(0x20, 0x28, 0x01);
	CHECK_EQ(pic_set_irq(&pic, 3, 0, true), 1);
	CHECK_EQ(pic_set_irq(&pic, 3, 0, true), 1); /* held: no new edge */
	CHECK_EQ(pic_set_irq(&pic, 3, 0, false), 1);
	CHECK_EQ(read_irr(0x20), 0x08);		    /* an edge stays latched */
	CHECK_EQ(pic_set_irq(&pic, 3, 0, true), 0); /* new edge, IRR still set */
	CHECK_EQ(pic_read_irq(&pic), 0x23);
	CHECK_EQ(read_irr(0x20), 0);
	outb(0x20, 0x20);
	CHECK(!pic_output(&pic)); /* line high but no new edge */
}

static void t_poll(void)
{
	setup();
	init_pair(0x20, 0x28, 0x01);
	pic_set_irq(&pic, 5, 0, true);
	pic_set_irq(&pic, 3, 0, true);
	outb(0x20, 0x0c);
	CHECK_EQ(inb(0x20), 3);
	CHECK_EQ(pic.chips[0].poll, 0);
	CHECK_EQ(read_irr(0x20), 0x20);
	CHECK_EQ(read_isr(0x20), 0);
	CHECK_EQ(acked[0], 3);
	outb(0x20, 0x0c);
	CHECK_EQ(inb(0x21), 5); /* either port of the chip */
	outb(0x20, 0x0c);
	CHECK_EQ(inb(0x20), 7); /* nothing */
	CHECK_EQ(inb(0x21), 0); /* poll is over: IMR again */
	/* Polling the slave also retires the cascade on the master. */
	pic_set_irq(&pic, 10, 0, true);
	CHECK_EQ(read_irr(0x20), 0x04);
	outb(0xa0, 0x0c);
	CHECK_EQ(inb(0xa0), 2);
	CHECK_EQ(read_irr(0x20), 0);
	CHECK_EQ(read_irr(0xa0), 0);
	CHECK(!pic_output(&pic));
}

static void t_ocw3_read_select(void)
{
	setup();
	init_pair(0x20, 0x28, 0x01);
	outb(0x21, 0x10);
	pic_set_irq(&pic, 4, 0, true);
	pic_set_irq(&pic, 6, 0, true);
	pic_read_irq(&pic);
	outb(0x20, 0x0b);
	CHECK_EQ(inb(0x20), 0x40);
	outb(0x20, 0x08); /* RR clear: selection kept */
	CHECK_EQ(inb(0x20), 0x40);
	outb(0x20, 0x0a);
	CHECK_EQ(inb(0x20), 0x10);
	CHECK_EQ(inb(0x21), 0x10);
}

static void t_special_mask(void)
{
	setup();
	init_pair(0x20, 0x28, 0x01);
	outb(0x20, 0x68);
	CHECK_EQ(pic.chips[0].special_mask, 1);
	pic_set_irq(&pic, 3, 0, true);
	pic_read_irq(&pic);
	pic_set_irq(&pic, 5, 0, true);
	/* KVM records it but keeps priority as in normal mask mode. */
	CHECK(!pic_output(&pic));
	outb(0x20, 0x48);
	CHECK_EQ(pic.chips[0].special_mask, 0);
	outb(0x20, 0x28); /* ESMM clear: unchanged */
	CHECK_EQ(pic.chips[0].special_mask, 0);
}

static void t_sfnm(void)
{
	setup();
	init_pair(0x20, 0x28, 0x11);
	pic_set_irq(&pic, 9, 0, true);
	CHECK_EQ(pic_read_irq(&pic), 0x29);
	pic_set_irq(&pic, 8, 0, true);
	CHECK(pic_output(&pic)); /* the slave's higher IRQ passes IRQ2 in service */
	CHECK_EQ(pic_read_irq(&pic), 0x28);
	CHECK_EQ(read_isr(0xa0), 0x03);
	/* Normal fully nested mode: it waits. */
	setup();
	init_pair(0x20, 0x28, 0x01);
	pic_set_irq(&pic, 9, 0, true);
	pic_read_irq(&pic);
	pic_set_irq(&pic, 8, 0, true);
	CHECK(!pic_output(&pic));
}

static void t_ports(void)
{
	uint32_t v;

	setup();
	init_pair(0x20, 0x28, 0x01);
	outb(0x21, 0x5a);
	v = 1;
	CHECK_EQ(pic_ioport_read(&pic, 0x20, 2, &v), 0);
	CHECK_EQ(v, 0);
	CHECK_EQ(pic_ioport_write(&pic, 0x20, 2, 0x11), 0); /* dropped */
	CHECK_EQ(pic.chips[0].init_state, 0);
	CHECK_EQ(pic_ioport_read(&pic, 0x21, 2, &v), -1); /* runs past 0x21 */
	CHECK_EQ(pic_ioport_read(&pic, 0x20, 4, &v), -1);
	CHECK_EQ(pic_ioport_read(&pic, 0x22, 1, &v), -1);
	CHECK_EQ(pic_ioport_read(&pic, 0x1f, 2, &v), -1);
	CHECK_EQ(pic_ioport_read(&pic, 0xa2, 1, &v), -1);
	CHECK_EQ(pic_ioport_read(&pic, 0x4d2, 1, &v), -1);
	CHECK_EQ(pic_ioport_write(&pic, 0x4d1, 2, 0), -1);
	CHECK_EQ(pic_ioport_read(&pic, 0x4d0, 2, &v), 0);
	CHECK_EQ(pic_ioport_read(&pic, 0xa1, 1, &v), 0);
	CHECK_EQ(pic_ioport_read(&pic, 0x21, 1, &v), 0);
	CHECK_EQ(v, 0x5a);
	CHECK_EQ(pic_ioport_write(&pic, 0x21, 1, 0x1ff), 0); /* a byte */
	CHECK_EQ(inb(0x21), 0xff);
	CHECK_EQ(pic_ioport_read(&pic, 0x21, 0xffffffffu, &v), -1);
	CHECK_EQ(pic_ioport_write(&pic, 0xffff, 1, 0), -1);
}

static void t_sources(void)
{
	setup();
	init_pair(0x20, 0x28, 0x01);
	outb(0x4d0, 0x10);
	pic_set_irq(&pic, 4, 0, true);
	pic_set_irq(&pic, 4, 2, true);
	pic_set_irq(&pic, 4, 0, false);
	CHECK_EQ(read_irr(0x20), 0x10);
	pic_set_irq(&pic, 4, 2, false);
	CHECK_EQ(read_irr(0x20), 0);
	CHECK_EQ(pic_set_irq(&pic, 16, 0, true), -1);
	CHECK_EQ(pic_set_irq(&pic, 4, 64, true), -1);
	CHECK_EQ(pic_set_irq(&pic, 4, -1, true), -1);
	CHECK_EQ(read_irr(0x20), 0);
	pic_set_irq(&pic, 4, 7, true);
	pic_set_irq(&pic, 6, 7, true);
	pic_clear_source(&pic, 7);
	CHECK_EQ(pic.irq_states[4], 0);
	CHECK_EQ(pic.irq_states[6], 0);
	CHECK_EQ(read_irr(0x20), 0x50); /* IRR untouched */
	pic_clear_source(&pic, 99);
}

static void t_output_callback(void)
{
	setup();
	init_pair(0x20, 0x28, 0x01);
	pic_set_irq(&pic, 3, 0, true);
	pic_set_irq(&pic, 4, 0, true);
	CHECK_EQ(nrise, 1);
	CHECK_EQ(pic_read_irq(&pic), 0x23);
	CHECK_EQ(nfall, 1); /* 4 waits behind 3 */
	outb(0x20, 0x20);
	CHECK_EQ(nrise, 2);
	/* With auto-EOI, an INTA leaving another request ready rises again. */
	setup();
	init_pair(0x20, 0x28, 0x03);
	pic_set_irq(&pic, 3, 0, true);
	pic_set_irq(&pic, 4, 0, true);
	CHECK_EQ(pic_read_irq(&pic), 0x23);
	CHECK_EQ(nrise, 2);
	CHECK_EQ(nfall, 0);
	CHECK(out_level);
	CHECK_EQ(pic_read_irq(&pic), 0x24);
	CHECK_EQ(nfall, 1);
	CHECK(!out_level);
	pic_reset(&pic);
	CHECK_EQ(nfall, 1);
}

static void t_icw1_reset(void)
{
	setup();
	init_pair(0x20, 0x28, 0x01);
	outb(0x4d0, 0x08); /* IRQ3 level */
	pic_set_irq(&pic, 4, 0, true);
	CHECK_EQ(pic_read_irq(&pic), 0x24);
	pic_set_irq(&pic, 4, 0, false);
	pic_set_irq(&pic, 4, 0, true); /* a new edge behind the one in service */
	pic_set_irq(&pic, 5, 0, true);
	pic_set_irq(&pic, 3, 0, true);
	outb(0x20, 0xc2); /* priority_add 3, to see ICW1 clear it */
	CHECK_EQ(read_isr(0x20), 0x10);
	CHECK_EQ(read_irr(0x20), 0x38);
	nacked = 0;
	outb(0x20, 0x11);
	/* Level IRR kept, edge IRR dropped; ISR bits of the dropped edges cleared. */
	CHECK_EQ(pic.chips[0].irr, 0x08);
	CHECK_EQ(pic.chips[0].isr, 0x00);
	CHECK_EQ(nacked, 2);
	CHECK_EQ(acked[0], 4);
	CHECK_EQ(acked[1], 5);
	CHECK_EQ(pic.chips[0].irq_base, 0x20); /* kept until ICW2 */
	CHECK_EQ(pic.chips[0].priority_add, 0);
	CHECK_EQ(pic.chips[0].imr, 0);
	/* No vCPU accepting PIC interrupts: ISR is left alone. */
	setup();
	init_pair(0x20, 0x28, 0x01);
	pic_set_irq(&pic, 4, 0, true);
	pic_read_irq(&pic);
	pic_set_irq(&pic, 4, 0, false);
	pic_set_irq(&pic, 4, 0, true);
	accepts = false;
	nacked = 0;
	outb(0x20, 0x11);
	CHECK_EQ(pic.chips[0].isr, 0x10);
	CHECK_EQ(pic.chips[0].irr, 0);
	CHECK_EQ(nacked, 0);
}

static void t_state(void)
{
	struct kvm_pic_state m, s, t;

	setup();
	init_pair(0x08, 0x70, 0x01);
	outb(0x21, 0x12);
	outb(0x4d1, 0x0c);
	pic_set_irq(&pic, 9, 0, true);
	pic_read_irq(&pic);
	pic_get_state(&pic, 0, &m);
	pic_get_state(&pic, 1, &s);
	CHECK_EQ(m.irq_base, 0x08);
	CHECK_EQ(m.imr, 0x12);
	CHECK_EQ(m.isr, 0x04);
	CHECK_EQ(s.irq_base, 0x70);
	CHECK_EQ(s.isr, 0x02);
	CHECK_EQ(s.elcr, 0x0c);
	CHECK_EQ(s.elcr_mask, 0xde);
	setup();
	CHECK_EQ(pic_set_state(&pic, 0, &m), 0);
	CHECK_EQ(pic_set_state(&pic, 1, &s), 0);
	pic_get_state(&pic, 0, &t);
	CHECK(memcmp(&m, &t, sizeof(m)) == 0);
	pic_get_state(&pic, 1, &t);
	CHECK(memcmp(&s, &t, sizeof(s)) == 0);
	/* Bad chip numbers. */
	CHECK_EQ(pic_set_state(&pic, 2, &m), -HV_EINVAL);
	CHECK_EQ(pic_set_state(&pic, 0xffffffffu, &m), -HV_EINVAL);
	memset(&t, 0x55, sizeof(t));
	pic_get_state(&pic, 2, &t);
	CHECK_EQ(t.irr | t.imr | t.elcr_mask, 0);
	/* A state with a request pending raises the output at once. */
	m.irr = 0x01;
	m.imr = 0;
	m.isr = 0;
	CHECK_EQ(pic_set_state(&pic, 0, &m), 0);
	CHECK(pic_output(&pic));
	CHECK_EQ(nrise, 1);
}

static void t_state_hostile(void)
{
	struct kvm_pic_state s;
	int v;

	setup();
	memset(&s, 0xff, sizeof(s));
	CHECK_EQ(pic_set_state(&pic, 0, &s), 0);
	CHECK_EQ(pic_set_state(&pic, 1, &s), 0);
	CHECK(!pic_output(&pic)); /* all masked */
	/* irq_base 0xff + 7 wraps to a byte. */
	v = pic_read_irq(&pic);
	CHECK_EQ(v, (0xff + 7) & 0xff);
	/* init_state 0xff: data writes do nothing. */
	outb(0x21, 0x00);
	CHECK_EQ(pic.chips[0].imr, 0xff);
	/* elcr_mask 0xff lets every bit through. */
	outb(0x4d0, 0x07);
	CHECK_EQ(inb(0x4d0), 0x07);
	/* poll 0xff: one poll read, then normal. */
	s.poll = 0xff;
	s.init_state = 0;
	s.imr = 0;
	s.isr = 0;
	s.irr = 0x80;
	s.priority_add = 0xff;
	CHECK_EQ(pic_set_state(&pic, 0, &s), 0);
	CHECK_EQ(inb(0x20), 7);
	CHECK_EQ(pic.chips[0].poll, 0);
}

/* Fixed-seed xorshift64* so a failure replays. */
static uint64_t rng = 0x243f6a8885a308d3ull;

static uint64_t rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1dull;
}

static uint16_t pick_port(void)
{
	static const uint16_t ports[] = {0x20, 0x21, 0xa0, 0xa1, 0x4d0, 0x4d1, 0x22, 0x4d2};

	return (rnd() % 8) ? ports[rnd() % 8] : (uint16_t)rnd();
}

static unsigned pick_len(void)
{
	static const unsigned lens[] = {0, 1, 2, 3, 4, 0xffffffffu};

	return (rnd() % 4) ? 1 : lens[rnd() % 6];
}

static void t_fuzz(void)
{
	struct kvm_pic_state s;
	unsigned i;
	uint32_t v;
	uint64_t r;
	int vec;

	setup();
	for (i = 0; i < 200000; i++) {
		switch (rnd() % 8) {
		case 0:
		case 1:
			pic_ioport_read(&pic, pick_port(), pick_len(), &v);
			break;
		case 2:
		case 3:
			pic_ioport_write(&pic, pick_port(), pick_len(), (uint32_t)rnd());
			break;
		case 4:
			pic_set_irq(&pic, (unsigned)(rnd() % 20), (int)(rnd() % 70) - 2, rnd() & 1);
			break;
		case 5:
			accepts = rnd() & 1;
			vec = pic_read_irq(&pic);
			CHECK(vec >= 0 && vec <= 0xff);
			break;
		case 6:
			if (rnd() % 8)
				break;
			r = rnd();
			memcpy(&s, &r, 8);
			r = rnd();
			memcpy((char *)&s + 8, &r, 8);
			pic_set_state(&pic, (unsigned)(rnd() % 4), &s);
			break;
		default:
			pic_get_state(&pic, (unsigned)(rnd() % 4), &s);
			break;
		}
		/* The last level reported is the output. */
		CHECK_EQ(out_level, pic_output(&pic));
	}
}

static const struct check_test tests[] = {
    {"kvm_pic_init: created unprogrammed, ELCR masks 0xf8/0xde", t_created},
    {"pic_ioport_write: ICW1-ICW4 as Linux programs them (0x30/0x38)", t_linux_init},
    {"kvm_pic_read_irq: SeaBIOS bases 0x08/0x70, slave vectors through IRQ2", t_seabios_cascade},
    {"pic_ioport_write: ICW1 without IC4 skips ICW4, drops AEOI/SFNM", t_icw1_without_icw4},
    {"pic_set_irq1: OCW1 masks requests (IRR still latched)", t_imr},
    {"pic_get_irq: priority by IRQ number, nesting above the one in service", t_priority},
    {"pic_ioport_write: specific EOI and no-op OCW2", t_specific_eoi},
    {"pic_intack: auto-EOI and rotate in auto-EOI mode", t_auto_eoi},
    {"pic_ioport_write: rotate on (non-)specific EOI, set priority", t_rotation},
    {"kvm_pic_read_irq: spurious IRQ7 on master and on slave", t_spurious},
    {"pic_set_irq1: ELCR level mode, request held while the line is high", t_elcr_level},
    {"pic_set_irq1: edge mode latches rising edges only", t_edge},
    {"pic_poll_read: OCW3 poll mode on master and slave", t_poll},
    {"pic_ioport_read: OCW3 selects IRR or ISR, data port reads IMR", t_ocw3_read_select},
    {"pic_ioport_write: OCW3 special mask recorded, priority unchanged", t_special_mask},
    {"pic_get_irq: special fully nested mode lets the slave nest", t_sfnm},
    {"picdev_read/picdev_write: byte accesses on the six ports only", t_ports},
    {"kvm_pic_set_irq: sources OR-ed, bad IRQ or source refused", t_sources},
    {"pic_irq_request: output callback on each change", t_output_callback},
    {"kvm_pic_reset: what ICW1 keeps and clears", t_icw1_reset},
    {"kvm_vm_ioctl_get/set_irqchip: PIC state round trip, bad chip", t_state},
    {"kvm_vm_ioctl_set_irqchip: any PIC state is taken and stays harmless", t_state_hostile},
    {"fuzz: random ports, lines, INTAs and states (fixed seed)", t_fuzz},
};

CHECK_MAIN(tests)
