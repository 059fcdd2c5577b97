/*-------------------------------------------------------------------------
 *
 * fuzz_password.c
 *	  libFuzzer target for fr_check_password.
 *
 * Contract: 8-1024 characters, never trimmed; password_too_short below,
 * password_too_long above.  A character is a Unicode code point (a byte
 * that starts no well-formed UTF-8 sequence counts as one, as validate.h
 * says), so the rule is checked against an independent count, in particular
 * around its shortcut that rejects more than 4 * 1024 bytes unread.
 *
 *-------------------------------------------------------------------------
 */
#include "fuzz_common.h"

static const char *const password_codes[] = {
	FR_CODE_PASSWORD_TOO_SHORT,
	FR_CODE_PASSWORD_TOO_LONG
};

static const char *
reference_password(const uint8_t *s, size_t len)
{
	size_t		chars = fz_utf8_count(s, len);

	if (chars < 8)
		return FR_CODE_PASSWORD_TOO_SHORT;
	if (chars > 1024)
		return FR_CODE_PASSWORD_TOO_LONG;
	return NULL;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *) data;
	const char *code = fr_check_password(s, size);
	char	   *copy = fz_copy(data, size);

	fz_check_code(code, password_codes, 2, "password");
	FZ_CHECK(fz_same(code, fr_check_password(s, size)),
			 "password rule not deterministic");
	FZ_CHECK(fz_same(code, fr_check_password(copy, size)),
			 "password rule depends on where the value lies in memory");
	free(copy);

	if (code == NULL)
	{
		size_t		chars = fz_utf8_count(data, size);

		FZ_CHECK(chars >= FR_PASSWORD_MIN && chars <= FR_PASSWORD_MAX,
				 "accepted password outside 8-1024 characters");
		FZ_CHECK(size >= 8 && size <= 4 * 1024,
				 "accepted password outside 8-4096 bytes");
	}
	fz_check_verdict(code, reference_password(data, size), "password");
	return 0;
}
