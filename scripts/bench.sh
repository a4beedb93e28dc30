#!/usr/bin/env bash
# make bench: boot the bench guest under Bochs and print its table, then
# the remote I/O-emulation loop over the channel and its MSR part (RDMSR passed
# through vs denied by the filter, user-space MSR exits) (tests/bench/kvm-remote-bench),
# then one Linux selftest's wall time and bytes on the wire.
set -uo pipefail
BUILD=${BUILD:-build}
status=0

HV_SCENARIO_DIR=tests/bench python3 tests/run.py --keep -s exits >"$BUILD/bench.out" 2>&1 || {
	cat "$BUILD/bench.out"
	status=1
}
HV_SCENARIO_DIR=tests/bench python3 tests/run.py --keep -s exits-noapicv >>"$BUILD/bench.out" 2>&1 || {
	cat "$BUILD/bench.out"
	status=1
}
if [ $status -eq 0 ]; then
	log=$BUILD/test-logs/exits.bochs-spr/console.log
	echo "VM-exit round trips under Bochs sapphire_rapids (TSC ticks, min over the runs; ratio to the VMCALL floor),"
	echo "without an irqchip (bench) and with one (bench-irqchip: also self-IPI and LAPIC timer, per CPUID exit),"
	echo "with APIC virtualisation (the default):"
	tr -d '\r' <"$log" | sed -n 's/^\[\([a-z-]*\)\] bench: /\1: /p'
	echo "and with apicv=off (every APIC access emulated):"
	tr -d '\r' <"$BUILD/test-logs/exits-noapicv.bochs-spr/console.log" |
		sed -n 's/^\[\([a-z-]*\)\] bench: /\1: /p'
fi

echo
echo "Remote I/O-emulation loop over the com2 channel (Bochs, 115200 baud), per exit,"
echo "then RDMSR passed through vs denied by the filter (guest TSC ticks), user-space MSR exits:"
if HV_SCENARIO_DIR=tests/bench python3 tests/run.py --keep -s kvm-remote-bench \
	>"$BUILD/bench-remote.out" 2>&1; then
	sed -n 's/^.*  | bench: //p' "$BUILD/test-logs/kvm-remote-bench.bochs-spr/hook.log"
else
	cat "$BUILD/bench-remote.out"
	hook=$BUILD/test-logs/kvm-remote-bench.bochs-spr/hook.log
	[ -f "$hook" ] && sed -n 's/^.*  | //p' "$hook" | tail -n 20
	status=1
fi

echo
echo "One of Linux 6.1's KVM selftests (x86_64/sync_regs_test) through the preload shim:"
if scripts/kvm-selftests.sh >/dev/null &&
	python3 tests/selftests.py "$BUILD" sync_regs_test >"$BUILD/bench-selftest.out" 2>&1; then
	logs=$BUILD/selftests/logs
	sed -n 's/^\[selftests.py: exit status 0, \(.*\) s\]$/  wall time of the program: \1 s/p' "$logs/sync_regs_test.log"
	tr -d '\r' <"$logs/sync_regs_test.hv.log" |
		awk '/hello from .preload:/ { t = 1 }
			t && /^run.py: channel: the controller left/ {
				sub(/^.*left \(/, ""); sub(/\)$/, ""); print "  on the wire: " $0; exit }'
else
	cat "$BUILD/bench-selftest.out"
	status=1
fi
exit $status
