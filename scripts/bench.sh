#!/usr/bin/env bash
# make bench: boot the bench guest under Bochs and print its table, then
# the remote I/O-emulation loop over the channel (tests/bench/kvm-remote-bench).
set -uo pipefail
BUILD=${BUILD:-build}
status=0

HV_SCENARIO_DIR=tests/bench python3 tests/run.py --keep -s exits >"$BUILD/bench.out" 2>&1 || {
	cat "$BUILD/bench.out"
	status=1
}
if [ $status -eq 0 ]; then
	log=$BUILD/test-logs/exits.bochs-spr/console.log
	echo "VM-exit round trips under Bochs sapphire_rapids (TSC ticks, min over the runs; ratio to the VMCALL floor):"
	tr -d '\r' <"$log" | sed -n 's/^.*\] bench: //p'
fi

echo
echo "Remote I/O-emulation loop over the com2 channel (Bochs, 115200 baud), per exit:"
if HV_SCENARIO_DIR=tests/bench python3 tests/run.py --keep -s kvm-remote-bench \
	>"$BUILD/bench-remote.out" 2>&1; then
	sed -n 's/^.*  | bench: //p' "$BUILD/test-logs/kvm-remote-bench.bochs-spr/hook.log"
else
	cat "$BUILD/bench-remote.out"
	hook=$BUILD/test-logs/kvm-remote-bench.bochs-spr/hook.log
	[ -f "$hook" ] && sed -n 's/^.*  | //p' "$hook" | tail -n 20
	status=1
fi
exit $status
