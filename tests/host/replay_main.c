// SPDX-License-Identifier: MIT
/*
 * Replays a fuzz target's committed inputs in the unit tests: every file of
 * tests/fuzz/seeds/<target>/ and tests/fuzz/regressions/<target>/ (crashes
 * found by `make fuzz`, kept once fixed) goes through the target's
 * LLVMFuzzerTestOneInput, built here without libFuzzer. A broken invariant
 * aborts, which the unit-test runner counts as a failure.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tests/unit/check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
extern const char fuzz_target_name[];

/* Files replayed from @kind/<target>, or -1 without the directory. */
static long replay_dir(const char *kind)
{
	char dir[256], path[512];
	struct dirent **names;
	long count = 0;
	int n;

	snprintf(dir, sizeof(dir), "tests/fuzz/%s/%s", kind, fuzz_target_name);
	n = scandir(dir, &names, NULL, alphasort);
	if (n < 0)
		return -1;
	for (int i = 0; i < n; i++) {
		struct stat st;
		uint8_t *data;
		FILE *f;

		snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
		free(names[i]);
		if (stat(path, &st) || !S_ISREG(st.st_mode))
			continue;
		data = malloc(st.st_size ? (size_t)st.st_size : 1);
		f = fopen(path, "rb");
		if (!data || !f || fread(data, 1, (size_t)st.st_size, f) != (size_t)st.st_size) {
			fprintf(stderr, "replay: cannot read %s\n", path);
			abort();
		}
		fclose(f);
		if (getenv("VERBOSE") && *getenv("VERBOSE"))
			fprintf(stderr, "replay %s (%lld bytes)\n", path, (long long)st.st_size);
		LLVMFuzzerTestOneInput(data, (size_t)st.st_size);
		free(data);
		count++;
	}
	free(names);
	return count;
}

static void test_seeds(void)
{
	long n = replay_dir("seeds");

	CHECK(n > 0);
	printf("%s: %ld seed(s) replayed\n", fuzz_target_name, n);
}

static void test_regressions(void)
{
	long n = replay_dir("regressions");

	printf("%s: %ld regression input(s) replayed\n", fuzz_target_name, n < 0 ? 0 : n);
}

static const struct check_test tests[] = {
    TEST_ENTRY(test_seeds),
    TEST_ENTRY(test_regressions),
};

CHECK_MAIN(tests)
