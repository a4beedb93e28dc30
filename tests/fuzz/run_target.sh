#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# One fuzz target's run for `make fuzz` (tests/fuzz/fuzz.mk):
#
#   run_target.sh TARGET OUT SEEDS REGRESSIONS SECONDS "LIBFUZZER FLAGS"
#
# Replays the regression inputs (any failure fails the run), seeds
# OUT/corpus/TARGET from SEEDS (files only), fuzzes OUT/fuzz_TARGET for
# SECONDS, prints libFuzzer's final statistics and one summary line, and
# appends "TARGET executions cov ft corpus seconds" to OUT/stats.txt. A
# crash, leak, timeout or OOM is copied to REGRESSIONS and fails the run.
set -u
t=$1 out=$2 seeds=$3 regs=$4 secs=$5 flags=$6
bin=$out/fuzz_$t corpus=$out/corpus/$t art=$out/artifacts/$t log=$out/fuzz_$t.log

mkdir -p "$corpus" "$art"
find "$seeds" -maxdepth 1 -type f -exec cp {} "$corpus/" \; 2>/dev/null
mapfile -t reg_files < <(find "$regs" -maxdepth 1 -type f 2>/dev/null | sort)
if [ ${#reg_files[@]} -gt 0 ]; then
	if ! "$bin" "${reg_files[@]}" >"$out/regressions_$t.log" 2>&1; then
		tail -n 40 "$out/regressions_$t.log"
		echo "fuzz $t: FAILED: a regression input in $regs fails again"
		exit 1
	fi
	echo "fuzz $t: ${#reg_files[@]} regression input(s) pass"
fi
echo "fuzz $t: fuzzing for ${secs}s (log: $log)"
rm -f "$art"/*
# shellcheck disable=SC2086 # the flags are words
"$bin" -max_total_time="$secs" -print_final_stats=1 -artifact_prefix="$art/" $flags \
	"$corpus" >"$log" 2>&1
rc=$?
grep -E '^#[0-9]+[[:space:]]+DONE|^stat::' "$log"
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -n 1)
cov=$(echo "$done_line" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
ft=$(echo "$done_line" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
corp=$(echo "$done_line" | sed -n 's/.* corp: \([0-9]*\).*/\1/p')
echo "$t ${execs:-?} ${cov:-?} ${ft:-?} ${corp:-?} $secs" >>"$out/stats.txt"
found=$(find "$art" -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' \
	-o -name 'oom-*' \))
if [ $rc -ne 0 ] || [ -n "$found" ]; then
	tail -n 60 "$log"
	mkdir -p "$regs"
	for a in $found; do
		cp "$a" "$regs/"
		echo "fuzz $t: new regression input $regs/$(basename "$a")"
	done
	echo "fuzz $t: FAILED (status $rc) after ${execs:-?} executions"
	exit 1
fi
echo "fuzz $t: ${execs:-?} executions in ${secs}s, cov ${cov:-?}, ft ${ft:-?}," \
	"corpus ${corp:-?} inputs, no crash"
