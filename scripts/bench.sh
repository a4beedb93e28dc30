#!/usr/bin/env bash
# make bench: boot the bench guest under Bochs and print its table.
set -euo pipefail
BUILD=${BUILD:-build}
HV_SCENARIO_DIR=tests/bench python3 tests/run.py --keep -s exits >"$BUILD/bench.out" 2>&1 || {
	cat "$BUILD/bench.out"
	exit 1
}
log=$BUILD/test-logs/exits.bochs-spr/console.log
echo "VM-exit round trips under Bochs sapphire_rapids (TSC ticks, min over the runs; ratio to the VMCALL floor):"
tr -d '\r' <"$log" | sed -n 's/^.*\] bench: //p'
