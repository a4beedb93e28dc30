/* SPDX-License-Identifier: MIT */
/*
 * abi/kvm.h against the system's Linux KVM headers (linux-libc-dev).
 *
 * test_kvm_abi_linux.c and test_kvm_abi_ours.c each measure the list in
 * kvm_abi_fields.h against one of the two headers; here the two tables are
 * compared row by row: struct sizes and alignments, the offset, size,
 * alignment and kind of every member (element size and kind for arrays),
 * every constant's value and C type, every ioctl number. Each table is also
 * checked for coverage: the members and declared holes listed for a struct,
 * and for every nested aggregate with listed members, must account for all
 * its bytes. A member missing from the list cannot go unchecked that way.
 *
 * One PASS/FAIL line per group (a struct, or a family of constants), naming
 * every mismatching row, then "N passed, N failed"; the exit status is
 * non-zero when anything failed.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "tests/unit/kvm_abi_fields.h"

#define WHY_MAX 4096

struct why {
	char text[WHY_MAX];
	size_t len;
	unsigned count;
};

static void why_add(struct why *w, const char *fmt, ...)
{
	va_list ap;
	int n;

	w->count++;
	if (w->len + 2 >= sizeof(w->text))
		return;
	if (w->len) {
		w->text[w->len++] = ';';
		w->text[w->len++] = ' ';
	}
	va_start(ap, fmt);
	n = vsnprintf(w->text + w->len, sizeof(w->text) - w->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		w->len +=
		    (size_t)n < sizeof(w->text) - w->len ? (size_t)n : sizeof(w->text) - w->len - 1;
}

static unsigned long long facts_compared;

/* One fact of one row; records a mismatch "name: fact ours vs Linux". */
static void fact(struct why *w, const char *name, const char *what, unsigned long long ours,
		 unsigned long long linux_, int as_char)
{
	facts_compared++;
	if (ours == linux_)
		return;
	if (as_char)
		why_add(w, "%s: %s '%c' here, '%c' in Linux", name, what, (int)ours, (int)linux_);
	else
		why_add(w, "%s: %s %llu (0x%llx) here, %llu (0x%llx) in Linux", name, what, ours,
			ours, linux_, linux_);
}

static void compare_row(struct why *w, const struct kvm_abi_row *o, const struct kvm_abi_row *l)
{
	const char *n = l->name;

	if (strcmp(o->name, l->name) || strcmp(o->group, l->group) || o->what != l->what) {
		why_add(w, "tables out of step: '%s' vs '%s'", o->name, l->name);
		return;
	}
	switch (l->what) {
	case 'S':
		fact(w, n, "sizeof", o->size, l->size, 0);
		fact(w, n, "alignof", o->align, l->align, 0);
		break;
	case 'F':
		fact(w, n, "offset", o->off, l->off, 0);
		fact(w, n, "size", o->size, l->size, 0);
		fact(w, n, "alignment", o->align, l->align, 0);
		fact(w, n, "kind", o->kind, l->kind, 1);
		break;
	case 'A':
		fact(w, n, "offset", o->off, l->off, 0);
		fact(w, n, "size", o->size, l->size, 0);
		fact(w, n, "alignment", o->align, l->align, 0);
		fact(w, n, "element size", o->esize, l->esize, 0);
		fact(w, n, "element kind", o->ekind, l->ekind, 1);
		break;
	case 'H':
		fact(w, n, "offset", o->off, l->off, 0);
		fact(w, n, "size", o->size, l->size, 0);
		break;
	case 'X':
		fact(w, n, "offset", o->off, l->off, 0);
		fact(w, n, "alignment", o->align, l->align, 0);
		fact(w, n, "element size", o->esize, l->esize, 0);
		fact(w, n, "element kind", o->ekind, l->ekind, 1);
		break;
	case 'C':
		fact(w, n, "value", o->value, l->value, 0);
		facts_compared++;
		if (o->ctype != l->ctype)
			why_add(w, "%s: type %s here, %s in Linux", n, KVM_ABI_CTYPE_NAME(o->ctype),
				KVM_ABI_CTYPE_NAME(l->ctype));
		break;
	default:
		why_add(w, "%s: unknown row kind '%c'", n, l->what);
	}
}

/* Is @row a direct member of the aggregate named @parent ("kvm_run",
 * "kvm_run.io")? */
static int is_child(const char *row, const char *parent)
{
	size_t pl = strlen(parent);

	return !strncmp(row, parent, pl) && row[pl] == '.' && !strchr(row + pl + 1, '.');
}

static unsigned long long containers_checked;

/*
 * The members and holes listed under rows[c] (a struct, or an aggregate
 * member) must cover each of its bytes. They may overlap (unions).
 */
static void check_cover(struct why *w, const char *side, const struct kvm_abi_row *rows, size_t b,
			size_t e, size_t c)
{
	size_t idx[256], n = 0, i, j;
	unsigned long long base = rows[c].what == 'S' ? 0 : rows[c].off;
	unsigned long long end = base;

	for (i = b; i < e; i++)
		if (rows[i].what != 'S' && is_child(rows[i].name, rows[c].name)) {
			if (n == sizeof(idx) / sizeof(idx[0])) {
				why_add(w, "%s: too many members", rows[c].name);
				return;
			}
			idx[n++] = i;
		}
	if (!n)
		return; /* a named struct type, covered by its own group */
	containers_checked++;

	for (i = 1; i < n; i++) /* insertion sort by offset, stable */
		for (j = i; j > 0 && rows[idx[j]].off < rows[idx[j - 1]].off; j--) {
			size_t t = idx[j];

			idx[j] = idx[j - 1];
			idx[j - 1] = t;
		}
	for (i = 0; i < n; i++) {
		const struct kvm_abi_row *m = &rows[idx[i]];

		if (m->off > end)
			why_add(w, "%s (%s): bytes %llu..%llu before %s are not listed",
				rows[c].name, side, end - base, m->off - base - 1, m->name);
		if (m->off + m->size > end)
			end = m->off + m->size;
	}
	if (end - base != rows[c].size)
		why_add(w, "%s (%s): listed members end at byte %llu of %llu", rows[c].name, side,
			end - base, rows[c].size);
}

static void check_group_cover(struct why *w, const char *side, const struct kvm_abi_row *rows,
			      size_t b, size_t e)
{
	size_t c;

	if (rows[b].what != 'S')
		return;
	for (c = b; c < e; c++)
		if (rows[c].what == 'S' || (rows[c].what == 'F' && rows[c].kind == 'a'))
			check_cover(w, side, rows, b, e, c);
}

int main(void)
{
	const struct kvm_abi_row *l = kvm_abi_linux, *o = kvm_abi_ours;
	size_t n = kvm_abi_linux_len, b, e, i;
	unsigned passed = 0, failed = 0;
	unsigned nstruct = 0, nmember = 0, nhole = 0, nconst = 0, nioctl = 0;

	if (kvm_abi_ours_len != n) {
		printf("FAIL tables: %zu rows here, %zu in Linux\n", kvm_abi_ours_len, n);
		printf("0 passed, 1 failed\n");
		return 1;
	}

	for (b = 0; b < n; b = e) {
		struct why w = {.len = 0, .count = 0};

		for (e = b; e < n && !strcmp(l[e].group, l[b].group); e++) {
			compare_row(&w, &o[e], &l[e]);
			if (l[e].what == 'S')
				nstruct++;
			else if (l[e].what == 'H')
				nhole++;
			else if (l[e].what == 'C' && !strcmp(l[e].group, "ioctl numbers"))
				nioctl++;
			else if (l[e].what == 'C')
				nconst++;
			else
				nmember++;
		}
		/* A group split in two would be reported twice, half each. */
		for (i = e; i < n; i++)
			if (!strcmp(l[i].group, l[b].group)) {
				why_add(&w, "group rows not contiguous (%s)", l[i].name);
				break;
			}
		check_group_cover(&w, "Linux", l, b, e);
		check_group_cover(&w, "here", o, b, e);

		if (w.count) {
			printf("FAIL %s: %u problem(s): %s%s\n", l[b].group, w.count, w.text,
			       w.len + 2 >= sizeof(w.text) ? " ..." : "");
			failed++;
		} else {
			printf("PASS %s (%zu rows)\n", l[b].group, e - b);
			passed++;
		}
	}

	printf("compared %zu rows: %u structs, %u members, %u holes, "
	       "%u constants, %u ioctl numbers; %llu facts; %llu aggregates "
	       "checked for coverage in each table\n",
	       n, nstruct, nmember, nhole, nconst, nioctl, facts_compared, containers_checked / 2);
	printf("%u passed, %u failed\n", passed, failed);
	return failed ? 1 : 0;
}
