/*-------------------------------------------------------------------------
 *
 * fuzz_name.c
 *	  libFuzzer target for the free-text rules: fr_check_name and
 *	  fr_check_usda_uid.
 *
 * Contract: a name is 1-200 characters (name_blank when empty after
 * trimming, name_too_long past 200), then name_invalid when it holds a
 * control, a bidirectional embedding, override or isolate, or a byte that
 * is not well-formed UTF-8, or when nothing in it is visible (only
 * White_Space and invisible characters: fuzz_common.h); a usda_uid only has
 * to be present (usda_uid_blank), whether it names a farm is the database's
 * answer.  Checked on the raw input and on the input trimmed as args.c
 * (fr_field_set) trims it.
 *
 *-------------------------------------------------------------------------
 */
#include "fuzz_common.h"

static const char *const name_codes[] = {
	FR_CODE_NAME_BLANK,
	FR_CODE_NAME_TOO_LONG,
	FR_CODE_NAME_INVALID
};

static const char *const usda_uid_codes[] = {
	FR_CODE_USDA_UID_BLANK
};

static const char *
reference_name(const uint8_t *s, size_t len)
{
	bool		visible = false;

	if (len == 0)
		return FR_CODE_NAME_BLANK;
	if (fz_utf8_count(s, len) > 200)
		return FR_CODE_NAME_TOO_LONG;
	for (size_t i = 0; i < len;)
	{
		int32_t		cp;

		i += fz_utf8_step(s + i, len - i, &cp);
		if (cp < 0 || fz_is_name_forbidden(cp))
			return FR_CODE_NAME_INVALID;
		if (!fz_is_white_space(cp) && !fz_is_invisible(cp))
			visible = true;
	}
	return visible ? NULL : FR_CODE_NAME_INVALID;
}

static void
check_free_text(const char *s, size_t len)
{
	const uint8_t *u = (const uint8_t *) s;
	const char *name = fr_check_name(s, len);
	const char *uid = fr_check_usda_uid(s, len);
	char	   *copy = fz_copy(u, len);

	fz_check_code(name, name_codes, 3, "name");
	fz_check_code(uid, usda_uid_codes, 1, "usda_uid");
	FZ_CHECK(fz_same(name, fr_check_name(s, len)),
			 "name rule not deterministic");
	FZ_CHECK(fz_same(name, fr_check_name(copy, len)),
			 "name rule depends on where the value lies in memory");
	FZ_CHECK(fz_same(uid, fr_check_usda_uid(copy, len)),
			 "usda_uid rule not deterministic");
	FZ_CHECK(memcmp(copy, s, len) == 0, "a free-text rule changed its input");
	free(copy);

	if (name == NULL)
	{
		size_t		chars = fz_utf8_count(u, len);

		FZ_CHECK(chars >= 1 && chars <= FR_NAME_MAX,
				 "accepted name outside 1-200 characters");
		FZ_CHECK(fz_utf8_valid(u, len), "accepted name is not well-formed UTF-8");
		for (size_t i = 0; i < len;)
		{
			int32_t		cp;

			i += fz_utf8_step(u + i, len - i, &cp);
			FZ_CHECK(!fz_is_name_forbidden(cp),
					 "accepted name holds a control or a bidi control");
		}
	}
	fz_check_verdict(name, reference_name(u, len), "name");
	fz_check_verdict(uid, len == 0 ? FR_CODE_USDA_UID_BLANK : NULL, "usda_uid");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t		len;
	const char *trimmed;

	check_free_text((const char *) data, size);
	trimmed = fz_trimmed(data, size, &len);
	check_free_text(trimmed, len);
	return 0;
}
