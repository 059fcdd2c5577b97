/*-------------------------------------------------------------------------
 *
 * fuzz_common.h
 *	  Shared helpers for farmreg's libFuzzer targets (fuzz/fuzz_*.c).
 *
 * Every target hands the raw fuzz input, unchanged, to one rule of
 * src/validate.c and then holds the answer to account:
 *
 *	- the code returned is NULL or one of the codes that rule may return;
 *	- the rule is deterministic (same answer twice, and for a copy of the
 *	  input at another address) and leaves its input alone;
 *	- the answer agrees with a reference verdict computed here, written from
 *	  the README's field table and the Unicode standard rather than from validate.c, so
 *	  that a mistake is unlikely to be shared by both;
 *	- a value the rule accepts satisfies the contract's limits when they are
 *	  re-checked independently.
 *
 * A violated invariant prints what was expected on stderr and calls abort(),
 * which libFuzzer reports as a crash and saves the input of.  AddressSanitizer
 * catches reads outside the input (libFuzzer passes an exactly sized heap
 * buffer with no terminating NUL), UndefinedBehaviorSanitizer the rest.
 *
 * Everything is static inline so that each target can use what it needs
 * without -Wunused-function noise.
 *
 *-------------------------------------------------------------------------
 */
#ifndef FARMREG_FUZZ_COMMON_H
#define FARMREG_FUZZ_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "validate.h"

/* The entry point libFuzzer calls, once per input. */
extern int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * FZ_CHECK(cond, what): abort with a message when cond does not hold.
 */
#define FZ_CHECK(cond, what) \
	do { \
		if (!(cond)) \
			fz_fail(__FILE__, __LINE__, #cond, (what)); \
	} while (0)

static inline void fz_fail(const char *file, int line, const char *cond,
						   const char *what) __attribute__((noreturn));

static inline void
fz_fail(const char *file, int line, const char *cond, const char *what)
{
	fprintf(stderr,
			"farmreg fuzz: invariant violated at %s:%d\n"
			"  what:  %s\n"
			"  check: %s\n",
			file, line, what, cond);
	abort();
}

/* A code for messages: "(accepted)" for NULL. */
static inline const char *
fz_show(const char *code)
{
	return code ? code : "(accepted)";
}

/* Two answers are the same: both NULL, or equal strings. */
static inline bool
fz_same(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

/*
 * Checks that code is NULL or one of the n codes in allowed[]; rule names
 * the rule for the message.
 */
static inline void
fz_check_code(const char *code, const char *const *allowed, int n,
			  const char *rule)
{
	static char msg[256];

	if (code == NULL)
		return;
	for (int i = 0; i < n; i++)
	{
		if (strcmp(code, allowed[i]) == 0)
			return;
	}
	snprintf(msg, sizeof(msg),
			 "%s rule returned code \"%.100s\", not one it may return",
			 rule, code);
	fz_fail(__FILE__, __LINE__, "code in allowed[]", msg);
}

/*
 * Checks a rule's answer against the reference verdict.
 */
static inline void
fz_check_verdict(const char *got, const char *expected, const char *rule)
{
	static char msg[256];

	if (fz_same(got, expected))
		return;
	snprintf(msg, sizeof(msg), "%s rule answered %s, the contract says %s",
			 rule, fz_show(got), fz_show(expected));
	fz_fail(__FILE__, __LINE__, "fz_same(got, expected)", msg);
}

/*
 * A heap copy of the input, exactly len bytes (one byte for an empty input,
 * so that the pointer is never NULL): AddressSanitizer then catches a read of
 * even one byte past the end of the copy too.
 */
static inline char *
fz_copy(const uint8_t *data, size_t len)
{
	char	   *copy = malloc(len > 0 ? len : 1);

	if (copy == NULL)
		abort();
	if (len > 0)
		memcpy(copy, data, len);
	return copy;
}

/* ------------------------------------------------------------------------
 * Reference UTF-8, after the Unicode standard's table of well-formed byte
 * sequences (Unicode 15, chapter 3, table 3-7):
 *
 *	U+0000..U+007F		00..7F
 *	U+0080..U+07FF		C2..DF	80..BF
 *	U+0800..U+0FFF		E0		A0..BF	80..BF
 *	U+1000..U+CFFF		E1..EC	80..BF	80..BF
 *	U+D000..U+D7FF		ED		80..9F	80..BF
 *	U+E000..U+FFFF		EE..EF	80..BF	80..BF
 *	U+10000..U+3FFFF	F0		90..BF	80..BF	80..BF
 *	U+40000..U+FFFFF	F1..F3	80..BF	80..BF	80..BF
 *	U+100000..U+10FFFF	F4		80..8F	80..BF	80..BF
 *
 * validate.h counts a byte that does not start such a sequence as one
 * character of its own; so does the reference.
 * ------------------------------------------------------------------------
 */

/*
 * Length of the well-formed sequence starting at s[0] (n > 0 bytes
 * available) with its code point in *cp, or 0 when there is none.
 */
static inline size_t
fz_utf8_sequence(const uint8_t *s, size_t n, int32_t *cp)
{
	uint8_t		b0 = s[0];
	uint8_t		lo = 0x80;		/* range of the second byte */
	uint8_t		hi = 0xBF;
	size_t		need;
	int32_t		v;

	if (b0 <= 0x7F)
	{
		*cp = b0;
		return 1;
	}
	if (b0 >= 0xC2 && b0 <= 0xDF)
		need = 2;
	else if (b0 == 0xE0)
	{
		need = 3;
		lo = 0xA0;
	}
	else if ((b0 >= 0xE1 && b0 <= 0xEC) || b0 == 0xEE || b0 == 0xEF)
		need = 3;
	else if (b0 == 0xED)
	{
		need = 3;
		hi = 0x9F;
	}
	else if (b0 == 0xF0)
	{
		need = 4;
		lo = 0x90;
	}
	else if (b0 >= 0xF1 && b0 <= 0xF3)
		need = 4;
	else if (b0 == 0xF4)
	{
		need = 4;
		hi = 0x8F;
	}
	else
		return 0;

	if (n < need || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < need; i++)
	{
		if (s[i] < 0x80 || s[i] > 0xBF)
			return 0;
	}

	/* the payload bits of the lead byte, then six per continuation byte */
	v = b0 & (0xFF >> (need + 1));
	for (size_t i = 1; i < need; i++)
		v = (v << 6) | (s[i] & 0x3F);
	*cp = v;
	return need;
}

/*
 * One step of decoding: the bytes the next character takes, with its code
 * point in *cp, or -1 in *cp for a byte that starts no well-formed sequence.
 */
static inline size_t
fz_utf8_step(const uint8_t *s, size_t n, int32_t *cp)
{
	size_t		k = fz_utf8_sequence(s, n, cp);

	if (k > 0)
		return k;
	*cp = -1;
	return 1;
}

/* Characters in s[0..n), as validate.h defines them. */
static inline size_t
fz_utf8_count(const uint8_t *s, size_t n)
{
	size_t		count = 0;

	for (size_t i = 0; i < n; count++)
	{
		int32_t		cp;

		i += fz_utf8_step(s + i, n - i, &cp);
	}
	return count;
}

/* Whether s[0..n) is entirely well-formed UTF-8. */
static inline bool
fz_utf8_valid(const uint8_t *s, size_t n)
{
	for (size_t i = 0; i < n;)
	{
		int32_t		cp;
		size_t		k = fz_utf8_sequence(s + i, n - i, &cp);

		if (k == 0)
			return false;
		i += k;
	}
	return true;
}

/*
 * Unicode White_Space (PropList.txt, unchanged since Unicode 6.3, when
 * U+180E MONGOLIAN VOWEL SEPARATOR left it): 25 code points.
 */
static const int32_t fz_white_space[] = {
	0x0009, 0x000A, 0x000B, 0x000C, 0x000D, /* TAB LF VT FF CR */
	0x0020,						/* SPACE */
	0x0085,						/* NEXT LINE */
	0x00A0,						/* NO-BREAK SPACE */
	0x1680,						/* OGHAM SPACE MARK */
	0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, /* EN QUAD .. */
	0x2006, 0x2007, 0x2008, 0x2009, 0x200A, /* .. HAIR SPACE */
	0x2028,						/* LINE SEPARATOR */
	0x2029,						/* PARAGRAPH SEPARATOR */
	0x202F,						/* NARROW NO-BREAK SPACE */
	0x205F,						/* MEDIUM MATHEMATICAL SPACE */
	0x3000						/* IDEOGRAPHIC SPACE */
};

#define FZ_N_WHITE_SPACE (sizeof(fz_white_space) / sizeof(fz_white_space[0]))

static inline bool
fz_is_white_space(int32_t cp)
{
	for (size_t i = 0; i < FZ_N_WHITE_SPACE; i++)
	{
		if (fz_white_space[i] == cp)
			return true;
	}
	return false;
}

/*
 * What a name may not hold (the README's field table): controls (C0, DEL, C1,
 * and the line and paragraph separators) and the bidirectional
 * embeddings, overrides and isolates.
 */
static inline bool
fz_is_name_forbidden(int32_t cp)
{
	return cp <= 0x1F || (cp >= 0x7F && cp <= 0x9F) || cp == 0x2028 ||
		cp == 0x2029 || (cp >= 0x202A && cp <= 0x202E) ||
		(cp >= 0x2066 && cp <= 0x2069);
}

/*
 * Invisible on their own: Default_Ignorable_Code_Point, as listed in
 * Unicode 15's DerivedCoreProperties.txt (27 ranges, 4,174 code points),
 * and U+2800 BRAILLE PATTERN BLANK.
 */
static const int32_t fz_invisible[][2] = {
	{0x00AD, 0x00AD}, {0x034F, 0x034F}, {0x061C, 0x061C}, {0x115F, 0x1160},
	{0x17B4, 0x17B5}, {0x180B, 0x180D}, {0x180E, 0x180E}, {0x180F, 0x180F},
	{0x200B, 0x200F}, {0x202A, 0x202E}, {0x2060, 0x2064}, {0x2065, 0x2065},
	{0x2066, 0x206F}, {0x2800, 0x2800}, {0x3164, 0x3164}, {0xFE00, 0xFE0F},
	{0xFEFF, 0xFEFF}, {0xFFA0, 0xFFA0}, {0xFFF0, 0xFFF8}, {0x1BCA0, 0x1BCA3},
	{0x1D173, 0x1D17A}, {0xE0000, 0xE0000}, {0xE0001, 0xE0001},
	{0xE0002, 0xE001F}, {0xE0020, 0xE007F}, {0xE0080, 0xE00FF},
	{0xE0100, 0xE01EF}, {0xE01F0, 0xE0FFF}
};

#define FZ_N_INVISIBLE (sizeof(fz_invisible) / sizeof(fz_invisible[0]))

static inline bool
fz_is_invisible(int32_t cp)
{
	for (size_t i = 0; i < FZ_N_INVISIBLE; i++)
	{
		if (cp >= fz_invisible[i][0] && cp <= fz_invisible[i][1])
			return true;
	}
	return false;
}

/*
 * Where fr_field_set's trimming (args.c) must leave a value: *start and
 * *len of the value without its leading and trailing White_Space code
 * points, found by decoding the whole input forwards once.
 */
static inline void
fz_reference_trim(const uint8_t *s, size_t n, size_t *start, size_t *len)
{
	size_t		first = n;		/* start of the first non-space character */
	size_t		end = n;		/* end of the last non-space character */
	bool		seen = false;

	for (size_t i = 0; i < n;)
	{
		int32_t		cp;
		size_t		k = fz_utf8_step(s + i, n - i, &cp);

		if (!fz_is_white_space(cp))
		{
			if (!seen)
				first = i;
			seen = true;
			end = i + k;
		}
		i += k;
	}
	*start = first;
	*len = seen ? end - first : 0;
}

/*
 * The value args.c would hand to a rule: the input trimmed with the
 * function under test, fr_trim (which fuzz_trim.c checks on its own).
 */
static inline const char *
fz_trimmed(const uint8_t *data, size_t size, size_t *len)
{
	size_t		start = 0;

	*len = fr_trim((const char *) data, size, &start);
	FZ_CHECK(start <= size && *len <= size - start,
			 "fr_trim returned a slice outside its input");
	return (const char *) data + start;
}

#endif							/* FARMREG_FUZZ_COMMON_H */
