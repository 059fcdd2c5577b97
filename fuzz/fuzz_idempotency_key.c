/*-------------------------------------------------------------------------
 *
 * fuzz_idempotency_key.c
 *	  libFuzzer target for fr_check_idempotency_key, with is_null both ways.
 *
 * Contract: the key is NULL (no key: always fine, whatever bytes the pointer
 * happens to point at), or 1-255 printable characters after trimming;
 * idempotency_key_invalid otherwise.  idempotency_key_reused is a database
 * answer the pure rule must never give.
 *
 * "Printable", as validate.h has it: well-formed UTF-8 with no C0 or C1
 * control, no DEL, and no LINE / PARAGRAPH SEPARATOR.  The count of 255 is
 * in characters, which the rule shortcuts with a 4 * 255 byte limit; the
 * reference counts for real.
 *
 *-------------------------------------------------------------------------
 */
#include "fuzz_common.h"

static const char *const key_codes[] = {
	FR_CODE_IDEMPOTENCY_KEY_INVALID
};

/* Characters a key may not hold. */
static bool
unprintable(int32_t cp)
{
	return cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F) ||
		cp == 0x2028 || cp == 0x2029;
}

/* The reference verdict for a present key s[0..len). */
static const char *
reference_key(const uint8_t *s, size_t len)
{
	size_t		chars = 0;

	if (len == 0 || !fz_utf8_valid(s, len))
		return FR_CODE_IDEMPOTENCY_KEY_INVALID;
	for (size_t i = 0; i < len; chars++)
	{
		int32_t		cp;

		i += fz_utf8_step(s + i, len - i, &cp);
		if (unprintable(cp))
			return FR_CODE_IDEMPOTENCY_KEY_INVALID;
	}
	return chars <= 255 ? NULL : FR_CODE_IDEMPOTENCY_KEY_INVALID;
}

static void
check_key(const char *s, size_t len)
{
	const uint8_t *u = (const uint8_t *) s;
	const char *code = fr_check_idempotency_key(s, len, false);
	char	   *copy = fz_copy(u, len);

	/* no key: accepted, whatever the bytes */
	FZ_CHECK(fr_check_idempotency_key(s, len, true) == NULL,
			 "a NULL key (is_null) was not accepted");
	FZ_CHECK(fr_check_idempotency_key(copy, len, true) == NULL,
			 "a NULL key (is_null) was not accepted");

	fz_check_code(code, key_codes, 1, "idempotency_key");
	FZ_CHECK(fz_same(code, fr_check_idempotency_key(s, len, false)),
			 "idempotency_key rule not deterministic");
	FZ_CHECK(fz_same(code, fr_check_idempotency_key(copy, len, false)),
			 "idempotency_key rule depends on where the value lies in memory");
	FZ_CHECK(memcmp(copy, s, len) == 0, "idempotency_key rule changed its input");
	free(copy);

	if (code == NULL)
	{
		size_t		chars = fz_utf8_count(u, len);

		FZ_CHECK(chars >= 1 && chars <= FR_KEY_MAX,
				 "accepted key outside 1-255 characters");
		FZ_CHECK(fz_utf8_valid(u, len), "accepted key that is not UTF-8");
	}
	fz_check_verdict(code, reference_key(u, len), "idempotency_key");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t		len;
	const char *trimmed;

	/* args.c passes "" for SQL NULL; NULL itself must not be read */
	FZ_CHECK(fr_check_idempotency_key(NULL, 0, true) == NULL,
			 "a NULL key (is_null) was not accepted");

	check_key((const char *) data, size);
	trimmed = fz_trimmed(data, size, &len);
	check_key(trimmed, len);
	return 0;
}
