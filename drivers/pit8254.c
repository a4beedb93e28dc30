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

#define PIT_CH2		     0x42
#define PIT_CH2_LOHI_ONESHOT 0xb0 /* channel 2, lo/hi byte, mode 0 */
#define PORT_B		     0x61 /* bit 0: channel 2 gate, bit 1: speaker, bit 5: OUT2 */
#define CAL_MS		     10

uint64_t pit_measure_tsc_khz(void)
{
	uint16_t count = (uint16_t)(PIT_INPUT_HZ / (1000 / CAL_MS));
	uint8_t port_b = inb(PORT_B);
	uint64_t t0, t1;
	uint32_t spins = 0;

	outb(PORT_B, (uint8_t)((port_b & ~0x02) | 0x01)); /* gate on, speaker off */
	outb(PIT_MODE, PIT_CH2_LOHI_ONESHOT);
	outb(PIT_CH2, count & 0xff);
	outb(PIT_CH2, count >> 8); /* counting starts: OUT2 low until 0 */
	t0 = rdtsc();
	while (!(inb(PORT_B) & 0x20) && ++spins < 50000000u)
		;
	t1 = rdtsc();
	outb(PORT_B, port_b);
	return spins >= 50000000u ? 0 : (t1 - t0) / CAL_MS;
}

void pit_tick(void)
{
	ticks++;
}

uint64_t pit_ticks(void)
{
	return ticks;
}
