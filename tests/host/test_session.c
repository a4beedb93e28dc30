// SPDX-License-Identifier: MIT
/*
 * Controller sessions (hv/channel/channel.c) on the fake hardware: the
 * channel's server behind a fake COM2, fed whole frames, its answers
 * decoded. Checked: VMs made over the channel belong to the session and
 * go, with their pages, when a BYE or a new controller's HELLO ends it;
 * the boot controller's VMs (made through kvm_api_ioctl() directly) never
 * do; LIST tells exactly the live VMs; a relay's BYE with seq 0 is not
 * answered; malformed BYE and LIST frames are refused and change nothing;
 * the VM table holds KVM_API_MAX_VMS and refuses one more with ENOSPC.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "abi/errno.h"
#include "abi/hvwire.h"
#include "abi/kvm.h"
#include "boot/trap.h"
#include "drivers/pic8259.h"
#include "drivers/pit8254.h"
#include "drivers/uart16550.h"
#include "drivers/virtio_console.h"
#include "hv/channel/channel.h"
#include "hv/kvm/kvm_api.h"
#include "hv/lib/cmdline.h"
#include "hv/lib/mm.h"
#include "tests/host/fake.h"
#include "tests/host/harness.h"
#include "tests/unit/check.h"
#include "vmx/vm.h"

/* ---- the link: bytes in, frames out ------------------------------------ */

static uint8_t line_in[1 << 20];
static size_t in_len, in_pos;
static uint8_t *line_out;
static size_t out_len, out_cap;
static trap_handler irq_handler, tick_handler;

bool uart_init(struct uart *u, uint16_t port, uint32_t baud)
{
	memset(u, 0, sizeof(*u));
	u->port = port;
	u->baud = baud;
	u->present = true;
	return true;
}

int uart_getc(const struct uart *u)
{
	(void)u;
	return in_pos < in_len ? line_in[in_pos++] : -1;
}

void uart_write(const struct uart *u, const char *buf, size_t len)
{
	(void)u;
	if (out_len + len > out_cap) {
		out_cap = (out_len + len) * 2;
		line_out = realloc(line_out, out_cap);
		if (!line_out)
			abort();
	}
	memcpy(line_out + out_len, buf, len);
	out_len += len;
}

void uart_flush(const struct uart *u)
{
	(void)u;
}

void uart_enable_rx_irq(const struct uart *u)
{
	(void)u;
}

bool virtio_console_init(void)
{
	return false;
}

const char *virtio_console_name(void)
{
	return "none";
}

size_t virtio_console_receive(void (*put)(uint8_t), size_t max)
{
	(void)put;
	(void)max;
	return 0;
}

void virtio_console_write(const void *buf, size_t len)
{
	uart_write(NULL, buf, len);
}

void virtio_console_flush(void)
{
}

void pic_unmask(unsigned irq)
{
	(void)irq;
}

uint64_t pit_ticks(void)
{
	return fake_ticks;
}

void trap_register_irq(unsigned line, trap_handler fn)
{
	(void)line;
	irq_handler = fn;
}

void trap_register_tick(trap_handler fn)
{
	tick_handler = fn;
}

/* ---- requests and answers --------------------------------------------- */

static struct hvw_decoder answers;
static size_t out_fed;
static uint8_t frame[HVW_MAX_FRAME];
static uint8_t got_payload[HVW_MAX_PAYLOAD];
static struct hvw_frame got;
static uint32_t next_seq = 100;

/* The bytes reach the UART, its interrupt fires, the server serves all. */
static void deliver(const void *bytes, size_t n)
{
	if (in_len + n > sizeof(line_in))
		abort();
	memcpy(line_in + in_len, bytes, n);
	in_len += n;
	if (irq_handler)
		irq_handler();
	while (channel_serve_one())
		;
}

static void request(uint8_t type, uint32_t seq, const void *payload, uint32_t len)
{
	size_t n = hvw_encode(frame, sizeof(frame), type, seq, payload, len);

	if (!n)
		abort();
	deliver(frame, n);
}

/* The next answer into got (its payload copied); false when there is none. */
static bool answer(void)
{
	struct hvw_frame f;

	for (;;) {
		if (hvw_decoder_next(&answers, &f) == 1) {
			got = f;
			memcpy(got_payload, f.payload, f.len);
			got.payload = got_payload;
			return true;
		}
		if (out_fed == out_len)
			return false;
		out_fed += hvw_decoder_feed(&answers, line_out + out_fed, out_len - out_fed);
	}
}

/* An IOCTL_RESP's result, or a value no ioctl returns when it is not one. */
static int64_t result_of(uint32_t seq)
{
	struct hvw_ioctl_resp r;

	if (!answer() || got.seq != seq || got.type != HVW_IOCTL_RESP ||
	    hvw_parse_ioctl_resp(got.payload, got.len, &r) < 0)
		return -100000;
	return r.result;
}

/* The errno of an HVW_ERROR answer with @seq, or 0 when it is not one. */
static int32_t error_of(uint32_t seq)
{
	struct hvw_error e;

	if (!answer() || got.seq != seq || got.type != HVW_ERROR ||
	    hvw_parse_error(got.payload, got.len, &e) < 0)
		return 0;
	return e.err;
}

static int64_t ioctl_req(uint16_t target, uint32_t vm, unsigned long nr, const void *arg,
			 uint32_t len)
{
	struct hvw_ioctl_req_hdr h = {
	    .nr = (uint32_t)nr, .target = target, .vm = vm, .arg_len = len};
	uint32_t seq = next_seq++;
	size_t n = hvw_encode_ioctl_req(frame, sizeof(frame), seq, &h, arg);

	deliver(frame, n);
	return result_of(seq);
}

static int64_t create_vm(void)
{
	return ioctl_req(HVW_TARGET_SYSTEM, 0, KVM_CREATE_VM, NULL, 0);
}

static int64_t create_vcpu(uint32_t vm, uint64_t id)
{
	return ioctl_req(HVW_TARGET_VM, vm, KVM_CREATE_VCPU, &id, sizeof(id));
}

static int64_t add_slot(uint32_t vm, uint64_t size)
{
	struct kvm_userspace_memory_region r = {.memory_size = size,
						.userspace_addr = 0x7f0000000000ull};

	return ioctl_req(HVW_TARGET_VM, vm, KVM_SET_USER_MEMORY_REGION, &r, sizeof(r));
}

static void hello(const char *client)
{
	uint8_t p[HVW_HELLO_REQ_LEN] = {1, 0, 0, 0, 1};

	snprintf((char *)p + 8, HVW_HELLO_CLIENT_LEN, "%s", client);
	request(HVW_HELLO_REQ, next_seq++, p, sizeof(p));
}

/* BYE with @seq: the number of VMs destroyed (answered unless seq is 0). */
static int64_t bye(uint32_t seq, uint32_t reason)
{
	uint8_t p[HVW_BYE_LEN] = {0};

	memcpy(p, &reason, 4);
	request(HVW_BYE, seq, p, sizeof(p));
	return seq ? result_of(seq) : 0;
}

static struct hvw_list_resp listed;
static struct hvw_vm_entry entries[KVM_API_MAX_VMS];

/* LIST into listed/entries; false unless a well-formed LIST_RESP came. */
static bool list(void)
{
	uint8_t p[HVW_LIST_REQ_LEN] = {0};
	uint32_t seq = next_seq++;

	request(HVW_LIST_REQ, seq, p, sizeof(p));
	if (!answer() || got.seq != seq || got.type != HVW_LIST_RESP ||
	    hvw_parse_list_resp(got.payload, got.len, &listed) < 0 ||
	    listed.count > KVM_API_MAX_VMS)
		return false;
	for (uint32_t i = 0; i < listed.count; i++)
		hvw_list_entry(&listed, i, &entries[i]);
	return true;
}

/* ---- set-up ----------------------------------------------------------- */

static uint64_t base_pages; /* held once the channel is up, before any VM */

static void setup(void)
{
	static bool up;
	struct hv_options o;

	h_machine(FAKE_MODEL_SKYLAKE);
	if (!up) {
		memset(&o, 0, sizeof(o));
		o.channel.kind = HV_CHANNEL_UART;
		o.channel.port = 0x2f8;
		if (!channel_init(&o))
			abort();
		hvw_decoder_init(&answers);
		base_pages = fake_mm_pages_in_use();
		up = true;
	}
	for (uint32_t h = 1; h <= KVM_API_MAX_VMS; h++)
		kvm_api_destroy_vm(h);
	logcap_reset();
}

/* A boot controller's VM: made through the KVM API, not the channel. */
static uint32_t boot_vm(void)
{
	struct kvm_userspace_memory_region r = {.memory_size = 0x10000};
	uint64_t id = 0;
	long vm = h_sys(KVM_CREATE_VM, NULL, 0);

	if (vm <= 0 || h_vm((uint32_t)vm, KVM_SET_USER_MEMORY_REGION, &r, sizeof(r)) ||
	    h_vm((uint32_t)vm, KVM_CREATE_VCPU, &id, sizeof(id)))
		return 0;
	return (uint32_t)vm;
}

/* ---- tests ------------------------------------------------------------ */

static void test_hello_advertises_sessions(void)
{
	struct hvw_hello_resp r;

	setup();
	hello("session-test");
	CHECK(answer());
	CHECK_EQ(got.type, HVW_HELLO_RESP);
	CHECK_EQ(hvw_parse_hello_resp(got.payload, got.len, &r), 0);
	CHECK(r.caps & HVW_CAP_SESSION);
}

static void test_bye_reclaims_the_session(void)
{
	uint64_t free0;
	uint32_t boot, session;
	int64_t a, b;

	setup();
	boot = boot_vm();
	CHECK(boot);
	CHECK_EQ(kvm_api_vm_owner(boot), KVM_API_OWNER_BOOT);
	hello("session-test");
	CHECK(answer() && got.type == HVW_HELLO_RESP);
	free0 = pmm_free_pages(&hv_pmm);
	a = create_vm();
	CHECK(a > 0);
	CHECK_EQ(add_slot((uint32_t)a, 1 << 20), 0);
	CHECK_EQ(create_vcpu((uint32_t)a, 0), 0);
	CHECK_EQ(create_vcpu((uint32_t)a, 5), 5);
	b = create_vm();
	CHECK(b > 0);
	CHECK(pmm_free_pages(&hv_pmm) < free0);

	/* LIST: the boot VM and the session's two, in handle order. */
	CHECK(list());
	session = listed.session;
	CHECK(session != HVW_OWNER_BOOT);
	CHECK_EQ(listed.count, 3);
	CHECK_EQ(listed.max_vms, KVM_API_MAX_VMS);
	CHECK_EQ(listed.max_vcpus, VM_MAX_VCPUS);
	CHECK_EQ(listed.free_pages, pmm_free_pages(&hv_pmm));
	CHECK_EQ(entries[0].handle, boot);
	CHECK_EQ(entries[0].owner, HVW_OWNER_BOOT);
	CHECK_EQ(entries[0].vcpus, 1);
	CHECK_EQ(entries[0].memory, 0x10000);
	CHECK_EQ(entries[1].handle, a);
	CHECK_EQ(entries[1].owner, session);
	CHECK_EQ(entries[1].vcpus, 2);
	CHECK_EQ(entries[1].memory, 1 << 20);
	CHECK_STR(entries[1].name, kvm_api_vm((uint32_t)a)->name);
	CHECK_EQ(entries[2].handle, b);
	CHECK_EQ(entries[2].owner, session);
	CHECK_EQ(entries[2].vcpus, 0);

	/* BYE: both of the session's VMs go, with every page; the boot VM stays. */
	CHECK_EQ(bye(next_seq++, HVW_BYE_CLOSING), 2);
	CHECK(!kvm_api_vm((uint32_t)a) && !kvm_api_vm((uint32_t)b));
	CHECK(kvm_api_vm(boot));
	CHECK_EQ(pmm_free_pages(&hv_pmm), free0);
	CHECK_LOGGED(LOG_INFO, "session", "ended (BYE)", "reclaimed", "2 vCPU(s)");
	CHECK(list());
	CHECK_EQ(listed.count, 1);
	CHECK_EQ(entries[0].handle, boot);
	CHECK_EQ(listed.session, session + 1);

	/* Another BYE: nothing left to reclaim. */
	CHECK_EQ(bye(next_seq++, HVW_BYE_CLOSING), 0);
	CHECK(kvm_api_vm(boot));
	CHECK_EQ(kvm_api_destroy_vm(boot), 0);
	CHECK_EQ(fake_mm_pages_in_use(), base_pages);
}

static void test_hello_reclaims_the_previous_session(void)
{
	uint32_t boot, first;
	int64_t a, c;

	setup();
	boot = boot_vm();
	CHECK(boot);
	hello("first");
	CHECK(answer() && got.type == HVW_HELLO_RESP);
	a = create_vm();
	CHECK(a > 0);
	CHECK_EQ(create_vcpu((uint32_t)a, 0), 0);
	CHECK(list());
	first = listed.session;
	/* A new controller: the first one's VM goes, the boot VM stays. */
	hello("second");
	CHECK(answer() && got.type == HVW_HELLO_RESP);
	CHECK(!kvm_api_vm((uint32_t)a));
	CHECK_LOGGED(LOG_INFO, "ended (a new controller said HELLO)", "reclaimed", "1 vCPU(s)");
	CHECK(list());
	CHECK_EQ(listed.count, 1);
	CHECK_EQ(entries[0].handle, boot);
	CHECK(listed.session != first);
	/* The second controller's VM is its own. */
	c = create_vm();
	CHECK(c > 0);
	CHECK_EQ(kvm_api_vm_owner((uint32_t)c), listed.session);
	/* A relay's BYE (seq 0, the controller is gone): no answer, the VM goes. */
	out_fed = out_len;
	hvw_decoder_init(&answers);
	bye(0, HVW_BYE_GONE);
	CHECK(!answer());
	CHECK(!kvm_api_vm((uint32_t)c));
	CHECK(kvm_api_vm(boot));
	CHECK_EQ(kvm_api_destroy_vm(boot), 0);
	CHECK_EQ(fake_mm_pages_in_use(), base_pages);
}

static void test_malformed_bye_and_list_change_nothing(void)
{
	uint8_t p[16] = {0};
	uint32_t seq;
	int64_t a;

	setup();
	hello("hostile");
	CHECK(answer() && got.type == HVW_HELLO_RESP);
	a = create_vm();
	CHECK(a > 0);
	for (uint32_t len = 0; len < sizeof(p); len++) {
		if (len == HVW_BYE_LEN)
			continue;
		seq = next_seq++;
		request(HVW_BYE, seq, p, len);
		CHECK_EQ(error_of(seq), -HV_EINVAL);
		seq = next_seq++;
		request(HVW_LIST_REQ, seq, p, len);
		CHECK_EQ(error_of(seq), -HV_EINVAL);
	}
	p[0] = HVW_BYE_REASON_MAX + 1; /* an unknown reason; LIST: flags */
	seq = next_seq++;
	request(HVW_BYE, seq, p, HVW_BYE_LEN);
	CHECK_EQ(error_of(seq), -HV_EINVAL);
	seq = next_seq++;
	request(HVW_LIST_REQ, seq, p, HVW_LIST_REQ_LEN);
	CHECK_EQ(error_of(seq), -HV_EINVAL);
	p[0] = 0;
	p[5] = 1; /* reserved */
	seq = next_seq++;
	request(HVW_BYE, seq, p, HVW_BYE_LEN);
	CHECK_EQ(error_of(seq), -HV_EINVAL);
	seq = next_seq++;
	request(HVW_LIST_REQ, seq, p, HVW_LIST_REQ_LEN);
	CHECK_EQ(error_of(seq), -HV_EINVAL);
	/* Malformed with seq 0: one ERROR with seq 0, as for a KICK. */
	request(HVW_BYE, 0, p, 3);
	CHECK_EQ(error_of(0), -HV_EINVAL);
	CHECK(!answer());
	/* Malformed HELLOs end no session either. */
	seq = next_seq++;
	request(HVW_HELLO_REQ, seq, p, 4);
	CHECK_EQ(error_of(seq), -HV_EINVAL);
	CHECK(kvm_api_vm((uint32_t)a));
	CHECK(list());
	CHECK_EQ(listed.count, 1);
	CHECK_EQ(entries[0].handle, a);
	CHECK_EQ(bye(next_seq++, HVW_BYE_CLOSING), 1);
	CHECK_EQ(fake_mm_pages_in_use(), base_pages);
}

/* The table holds KVM_API_MAX_VMS, each up to VM_MAX_VCPUS; a BYE empties it. */
static void test_limits_and_a_full_table_reclaimed(void)
{
	uint64_t ids[] = {VM_MAX_VCPUS - 1, 0, VM_MAX_VCPUS, ~0ull};
	int64_t vm = 0;

	setup();
	hello("limits");
	CHECK(answer() && got.type == HVW_HELLO_RESP);
	for (unsigned i = 0; i < KVM_API_MAX_VMS; i++) {
		vm = create_vm();
		CHECK(vm > 0 && vm <= KVM_API_MAX_VMS);
	}
	CHECK_EQ(create_vm(), -HV_ENOSPC);
	CHECK_EQ(create_vcpu((uint32_t)vm, ids[0]), (int64_t)ids[0]);
	CHECK_EQ(create_vcpu((uint32_t)vm, ids[1]), 0);
	CHECK_EQ(create_vcpu((uint32_t)vm, ids[2]), -HV_EINVAL);
	CHECK_EQ(create_vcpu((uint32_t)vm, ids[3]), -HV_EINVAL);
	CHECK(list());
	CHECK_EQ(listed.count, KVM_API_MAX_VMS);
	CHECK_EQ(bye(next_seq++, HVW_BYE_CLOSING), KVM_API_MAX_VMS);
	CHECK(list());
	CHECK_EQ(listed.count, 0);
	CHECK_EQ(fake_mm_pages_in_use(), base_pages);
}

/* Memory runs out before the vCPU limit: ENOMEM, and nothing is lost. */
static void test_vcpus_until_memory_runs_out(void)
{
	int64_t vm, rc = 0;
	uint64_t id;

	setup();
	hello("memory");
	CHECK(answer() && got.type == HVW_HELLO_RESP);
	vm = create_vm();
	CHECK(vm > 0);
	fake_mm_set_limit(fake_mm_pages_in_use() + 100);
	for (id = 0; id < VM_MAX_VCPUS; id++) {
		rc = create_vcpu((uint32_t)vm, id);
		if (rc < 0)
			break;
	}
	CHECK(id > 0 && id < VM_MAX_VCPUS);
	CHECK_EQ(rc, -HV_ENOMEM);
	fake_mm_set_limit(65536);
	CHECK_EQ(create_vcpu((uint32_t)vm, id), (int64_t)id);
	CHECK_EQ(bye(next_seq++, HVW_BYE_CLOSING), 1);
	CHECK_EQ(fake_mm_pages_in_use(), base_pages);
}

static const struct check_test tests[] = {
    TEST_ENTRY(test_hello_advertises_sessions),
    TEST_ENTRY(test_bye_reclaims_the_session),
    TEST_ENTRY(test_hello_reclaims_the_previous_session),
    TEST_ENTRY(test_malformed_bye_and_list_change_nothing),
    TEST_ENTRY(test_limits_and_a_full_table_reclaimed),
    TEST_ENTRY(test_vcpus_until_memory_runs_out),
};

int main(void)
{
	return check_main(tests, sizeof(tests) / sizeof(tests[0]));
}
