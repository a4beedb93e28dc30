// SPDX-License-Identifier: MIT
/*
 * A small printf: %d %i %u %x %X %p %s %c %%, the l and ll (and z) length
 * modifiers, the '-' and '0' flags and a field width.
 */
#include "guest.h"

struct sink {
	char *buf; /* NULL: to COM1 */
	size_t size, len;
};

static void emit(struct sink *s, char c)
{
	if (!s->buf)
		putchar(c);
	else if (s->len + 1 < s->size)
		s->buf[s->len] = c;
	s->len++;
}

static void emit_padded(struct sink *s, const char *str, size_t n, int width, bool left, char pad)
{
	int fill = width > (int)n ? width - (int)n : 0;

	/* A zero pad goes after the sign. */
	if (!left && pad == '0' && n && *str == '-') {
		emit(s, *str++);
		n--;
	}
	if (!left)
		while (fill--)
			emit(s, pad);
	while (n--)
		emit(s, *str++);
	if (left)
		while (fill-- > 0)
			emit(s, ' ');
}

/* Digits of v in `base` into the end of buf; returns the first digit. */
static char *format_u64(char *end, uint64_t v, unsigned base, bool upper)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char *p = end;

	do {
		uint32_t r;

		if (base == 16) {
			r = (uint32_t)v & 15;
			v >>= 4;
		} else {
			v = div_u64_rem(v, base, &r);
		}
		*--p = digits[r];
	} while (v);
	return p;
}

static int format(struct sink *s, const char *fmt, va_list ap)
{
	char tmp[24];

	for (; *fmt; fmt++) {
		bool left = false, upper = false, is_signed = false;
		char pad = ' ';
		int width = 0, longs = 0;
		unsigned base = 10;
		uint64_t v;
		char *p, *end = tmp + sizeof(tmp);

		if (*fmt != '%') {
			emit(s, *fmt);
			continue;
		}
		fmt++;
		for (;; fmt++) {
			if (*fmt == '-')
				left = true;
			else if (*fmt == '0')
				pad = '0';
			else
				break;
		}
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (*fmt++ - '0');
		for (;; fmt++) {
			if (*fmt == 'l')
				longs++;
			else if (*fmt != 'z')
				break;
		}
		switch (*fmt) {
		case '\0':
			return (int)s->len;
		case 'c':
			tmp[0] = (char)va_arg(ap, int);
			emit_padded(s, tmp, 1, width, left, ' ');
			continue;
		case 's': {
			const char *str = va_arg(ap, const char *);

			if (!str)
				str = "(null)";
			emit_padded(s, str, strlen(str), width, left, ' ');
			continue;
		}
		case 'p':
			v = (uint32_t)va_arg(ap, void *);
			p = format_u64(end, v, 16, false);
			while (p > end - 8)
				*--p = '0';
			*--p = 'x';
			*--p = '0';
			emit_padded(s, p, (size_t)(end - p), width, left, ' ');
			continue;
		case 'd':
		case 'i':
			is_signed = true;
			break;
		case 'u':
			break;
		case 'X':
			upper = true;
			/* fall through */
		case 'x':
			base = 16;
			break;
		default: /* '%' and anything unknown: print it */
			emit(s, *fmt);
			continue;
		}
		if (longs >= 2)
			v = va_arg(ap, uint64_t);
		else
			v = va_arg(ap, uint32_t); /* int and long are 32-bit here */
		if (is_signed) {
			int64_t sv = longs >= 2 ? (int64_t)v : (int32_t)v;

			p = format_u64(end, sv < 0 ? -(uint64_t)sv : (uint64_t)sv, 10, false);
			if (sv < 0)
				*--p = '-';
		} else {
			p = format_u64(end, v, base, upper);
		}
		emit_padded(s, p, (size_t)(end - p), width, left, pad);
	}
	return (int)s->len;
}

int vprintf(const char *fmt, va_list ap)
{
	struct sink s = {0};

	return format(&s, fmt, ap);
}

int printf(const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vprintf(fmt, ap);
	va_end(ap);
	return n;
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct sink s = {.buf = buf, .size = size};
	int n = format(&s, fmt, ap);

	if (size)
		buf[s.len < size ? s.len : size - 1] = '\0';
	return n;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}
