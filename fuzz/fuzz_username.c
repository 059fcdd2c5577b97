/*-------------------------------------------------------------------------
 *
 * fuzz_username.c
 *	  libFuzzer target for fr_check_username.
 *
 * Contract: 3-32 characters of A-Z a-z 0-9 _ . -; an empty value (NULL,
 * empty, or only white space before trimming) is username_blank, anything
 * else that breaks the rule username_invalid.  username_taken is a database
 * answer the pure rule must never give.
 *
 * The rule is called on the raw input and, as the SQL entry points call it
 * (fr_field_set in args.c), on the input after trimming.
 *
 *-------------------------------------------------------------------------
 */
#include "fuzz_common.h"

static const char *const username_codes[] = {
	FR_CODE_USERNAME_BLANK,
	FR_CODE_USERNAME_INVALID
};

/* The contract's character set, spelled out rather than computed. */
static bool
username_char(uint8_t c)
{
	return strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				  "abcdefghijklmnopqrstuvwxyz"
				  "0123456789_.-", c) != NULL && c != '\0';
}

/* The verdict the contract gives for s[0..len). */
static const char *
reference_username(const uint8_t *s, size_t len)
{
	if (len == 0)
		return FR_CODE_USERNAME_BLANK;
	if (len < 3 || len > 32)
		return FR_CODE_USERNAME_INVALID;
	for (size_t i = 0; i < len; i++)
	{
		if (!username_char(s[i]))
			return FR_CODE_USERNAME_INVALID;
	}
	return NULL;
}

static void
check_username(const char *s, size_t len)
{
	const uint8_t *u = (const uint8_t *) s;
	const char *code = fr_check_username(s, len);
	char	   *copy = fz_copy(u, len);

	fz_check_code(code, username_codes, 2, "username");
	FZ_CHECK(fz_same(code, fr_check_username(s, len)),
			 "username rule not deterministic");
	FZ_CHECK(fz_same(code, fr_check_username(copy, len)),
			 "username rule depends on where the value lies in memory");
	FZ_CHECK(memcmp(copy, s, len) == 0, "username rule changed its input");
	free(copy);

	if (code == NULL)
	{
		/* accepted: 3-32 bytes, each of the set, hence as many characters */
		FZ_CHECK(len >= FR_USERNAME_MIN && len <= FR_USERNAME_MAX,
				 "accepted username outside 3-32 bytes");
		for (size_t i = 0; i < len; i++)
			FZ_CHECK(username_char(u[i]),
					 "accepted username with a byte outside [A-Za-z0-9_.-]");
		FZ_CHECK(fz_utf8_count(u, len) == len,
				 "accepted username is not one byte per character");
	}
	FZ_CHECK(fz_same(code, FR_CODE_USERNAME_BLANK) == (len == 0),
			 "username_blank given for a non-empty value or missing for an empty one");
	fz_check_verdict(code, reference_username(u, len), "username");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t		len;
	const char *trimmed;

	check_username((const char *) data, size);
	trimmed = fz_trimmed(data, size, &len);
	check_username(trimmed, len);
	return 0;
}
