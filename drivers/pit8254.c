// SPDX-License-Identifier: MIT
#include "drivers/pit8254.h"
#include "hv/lib/x86.h"

#define PIT_INPUT_HZ	  1193182u
#define PIT_CH0		  0x40
#define PIT_MODE	  0x43
#define PIT_CH0_LOHI_RATE 0x34 /* channel 0, lo/hi byte, mode 2 */

static volatile uint64_t ticks;

void pit_start(unsigned hz)
{
	uint16_t divisor = (uint16_t)(PIT_INPUT_HZ / hz);

	outb(PIT_MODE, PIT_CH0_LOHI_RATE);
	outb(PIT_CH0, divisor & 0xff);
	outb(PIT_CH0, divisor >> 8);
}

void pit_tick(void)
{
	ticks++;
}

uint64_t pit_ticks(void)
{
	return ticks;
}
