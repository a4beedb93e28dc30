#!/usr/bin/env bash
# make test: every stage runs even if an earlier one failed; each appends
# "<stage> <passed> <failed> <skipped>" to $BUILD/results.txt, and the last
# line printed is the total, "N passed, N failed, N skipped".
set -uo pipefail
BUILD=${BUILD:-build}
results=$BUILD/results.txt
mkdir -p "$BUILD"
: >"$results"
start=$(date +%s)

echo "== unit tests"
make --no-print-directory BUILD="$BUILD" unit-test || true

echo "== host client library (against a fake hypervisor)"
make --no-print-directory BUILD="$BUILD" tools-test | tail -n 3 || true

echo "== no SSE/x87 in the hypervisor image"
if scripts/check-no-fpu.sh "$BUILD/hv.elf"; then
	echo "nofpu 1 0 0" >>"$results"
else
	echo "nofpu 0 1 0" >>"$results"
fi

echo "== source format (.clang-format)"
if make --no-print-directory check-format; then
	echo "format 1 0 0" >>"$results"
else
	echo "format 0 1 0" >>"$results"
fi

echo "== make serve: the channel on a unix socket, one controller after another"
serve_out=$(python3 tests/serve_test.py "$BUILD" 2>&1)
echo "$serve_out"
echo "$serve_out" | awk '/^[0-9]+ passed, [0-9]+ failed$/ { p = $1; f = $3 }
	END { printf "serve %d %d 0\n", p, (p + f ? f : 1) }' >>"$results"

echo "== Linux 6.1's KVM selftests, unmodified, through the preload shim"
if scripts/kvm-selftests.sh; then
	st_out=$(python3 tests/selftests.py "$BUILD" 2>&1)
	echo "$st_out"
	echo "$st_out" | awk '/^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$/ { p = $1; f = $3; s = $5 }
		END { printf "selftests %d %d %d\n", p, (p + f + s ? f : 1), s }' >>"$results"
else
	echo "selftests 0 1 0" >>"$results"
fi

echo "== boot scenarios"
python3 tests/run.py --results "$results" ${SCENARIO_ARGS:-} || true

awk -v secs=$(($(date +%s) - start)) '
	{ p += $2; f += $3; s += $4; printf "  %-10s %d passed, %d failed, %d skipped\n", $1, $2, $3, $4 }
	END {
		printf "make test took %d s\n", secs
		printf "%d passed, %d failed, %d skipped\n", p, f, s
		exit (f > 0 || NR < 4)
	}' "$results"
