/*-------------------------------------------------------------------------
 *
 * fuzz_email.c
 *	  libFuzzer target for fr_check_email.
 *
 * Contract: at most 254 characters, one @, a local part of 1-64, a dotted
 * domain of letters, digits and hyphens; email_blank when empty after
 * trimming, email_invalid otherwise.  email_already_claimed is a database
 * answer the pure rule must never give.
 *
 * Two checks of an answer:
 *
 *	1. An accepted address meets the contract's limits, re-checked here one
 *	   by one: ASCII only, exactly one @, local part 1-64 bytes, total at most
 *	   254, a domain of two or more labels made of [A-Za-z0-9-].
 *
 *	2. The whole verdict equals a reference acceptor.  Where the contract
 *	   leaves a choice open, the reference follows what validate.c documents
 *	   it chose: the local part is printable ASCII without the RFC 5322
 *	   specials ("(),:;<>@[\]) and without a leading, trailing or doubled
 *	   dot; a domain label is 1-63 characters and neither starts nor ends
 *	   with a hyphen; the last label is not all digits (10.0.0.1 is not a
 *	   domain).  So the reference catches good addresses rejected, too.
 *
 *-------------------------------------------------------------------------
 */
#include "fuzz_common.h"

static const char *const email_codes[] = {
	FR_CODE_EMAIL_BLANK,
	FR_CODE_EMAIL_INVALID
};

static bool
is_letter(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool
is_digit(uint8_t c)
{
	return c >= '0' && c <= '9';
}

/* One byte of a local part: printable ASCII that is not a special. */
static bool
local_byte_ok(uint8_t c)
{
	return c > ' ' && c < 0x7F && memchr("\"(),:;<>@[\\]", c, 12) == NULL;
}

/* One domain label, s[0..len). */
static bool
label_ok(const uint8_t *s, size_t len)
{
	if (len < 1 || len > 63 || s[0] == '-' || s[len - 1] == '-')
		return false;
	for (size_t i = 0; i < len; i++)
	{
		if (!is_letter(s[i]) && !is_digit(s[i]) && s[i] != '-')
			return false;
	}
	return true;
}

/* Whether the reference accepts s[0..len) as an address (len > 0). */
static bool
reference_accepts(const uint8_t *s, size_t len)
{
	const uint8_t *at;
	const uint8_t *domain;
	size_t		local_len;
	size_t		domain_len;
	size_t		labels = 0;
	size_t		label_start = 0;
	bool		last_has_letter = false;

	if (len > 254)
		return false;
	at = memchr(s, '@', len);
	if (at == NULL || memchr(at + 1, '@', len - (size_t) (at - s) - 1) != NULL)
		return false;

	/* local part */
	local_len = (size_t) (at - s);
	if (local_len < 1 || local_len > 64)
		return false;
	if (s[0] == '.' || s[local_len - 1] == '.')
		return false;
	for (size_t i = 0; i < local_len; i++)
	{
		if (!local_byte_ok(s[i]))
			return false;
		if (i > 0 && s[i] == '.' && s[i - 1] == '.')
			return false;
	}

	/* domain: split at each dot, the end closing the last label */
	domain = at + 1;
	domain_len = len - local_len - 1;
	for (size_t i = 0; i <= domain_len; i++)
	{
		if (i < domain_len && domain[i] != '.')
			continue;
		if (!label_ok(domain + label_start, i - label_start))
			return false;
		labels++;
		last_has_letter = false;
		for (size_t j = label_start; j < i; j++)
			last_has_letter |= is_letter(domain[j]);
		label_start = i + 1;
	}
	return labels >= 2 && last_has_letter;
}

/* The contract's limits, for an address the rule accepted. */
static void
check_accepted(const uint8_t *s, size_t len)
{
	size_t		ats = 0;
	size_t		at = 0;
	size_t		dots = 0;

	FZ_CHECK(len >= 3 && len <= FR_EMAIL_MAX,
			 "accepted email outside 3-254 bytes");
	for (size_t i = 0; i < len; i++)
	{
		FZ_CHECK(s[i] > ' ' && s[i] < 0x7F,
				 "accepted email with a byte that is not printable ASCII");
		if (s[i] == '@')
		{
			ats++;
			at = i;
		}
	}
	FZ_CHECK(ats == 1, "accepted email without exactly one @");
	FZ_CHECK(at >= 1 && at <= FR_EMAIL_LOCAL_MAX,
			 "accepted email with a local part outside 1-64");
	FZ_CHECK(fz_utf8_count(s, len) == len,
			 "accepted email is not one byte per character");
	for (size_t i = at + 1; i < len; i++)
	{
		FZ_CHECK(is_letter(s[i]) || is_digit(s[i]) || s[i] == '-' || s[i] == '.',
				 "accepted email with a domain byte outside [A-Za-z0-9.-]");
		dots += s[i] == '.';
	}
	FZ_CHECK(dots >= 1, "accepted email with an undotted domain");
	FZ_CHECK(s[at + 1] != '.' && s[len - 1] != '.',
			 "accepted email with an empty domain label");
}

static void
check_email(const char *s, size_t len)
{
	const uint8_t *u = (const uint8_t *) s;
	const char *code = fr_check_email(s, len);
	char	   *copy = fz_copy(u, len);
	const char *expected;

	fz_check_code(code, email_codes, 2, "email");
	FZ_CHECK(fz_same(code, fr_check_email(s, len)),
			 "email rule not deterministic");
	FZ_CHECK(fz_same(code, fr_check_email(copy, len)),
			 "email rule depends on where the value lies in memory");
	FZ_CHECK(memcmp(copy, s, len) == 0, "email rule changed its input");
	free(copy);

	if (code == NULL)
		check_accepted(u, len);
	if (len == 0)
		expected = FR_CODE_EMAIL_BLANK;
	else
		expected = reference_accepts(u, len) ? NULL : FR_CODE_EMAIL_INVALID;
	fz_check_verdict(code, expected, "email");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t		len;
	const char *trimmed;

	check_email((const char *) data, size);
	trimmed = fz_trimmed(data, size, &len);
	check_email(trimmed, len);
	return 0;
}
