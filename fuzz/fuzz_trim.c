/*-------------------------------------------------------------------------
 *
 * fuzz_trim.c
 *	  libFuzzer target for fr_trim and fr_utf8_length.
 *
 * fr_utf8_length(s, len): never more than len, and exactly the number of
 * characters of the reference decoder (a byte that starts no well-formed
 * sequence counting as one); additive over a split at a character boundary.
 *
 * fr_trim(s, len, &start): the slice [start, start + result) lies inside the
 * input; unless empty, its first and last characters are not White_Space;
 * what was cut off is White_Space only (the slice is exactly where the
 * reference trimming puts it); trimming the slice again changes nothing;
 * and an all-space input trims to nothing.
 *
 *-------------------------------------------------------------------------
 */
#include "fuzz_common.h"

static void
check_length(const uint8_t *data, size_t size)
{
	const char *s = (const char *) data;
	size_t		n = fr_utf8_length(s, size);
	size_t		split = 0;
	int32_t		cp;

	FZ_CHECK(n <= size, "fr_utf8_length greater than the byte length");
	FZ_CHECK(n == fz_utf8_count(data, size),
			 "fr_utf8_length disagrees with the reference count");
	FZ_CHECK(n == fr_utf8_length(s, size), "fr_utf8_length not deterministic");
	FZ_CHECK((size == 0) == (n == 0),
			 "fr_utf8_length zero for a non-empty input");

	/* split after the first half of the characters: the counts add up */
	for (size_t i = 0; i < n / 2; i++)
		split += fz_utf8_step(data + split, size - split, &cp);
	FZ_CHECK(fr_utf8_length(s, split) +
			 fr_utf8_length(s + split, size - split) == n,
			 "fr_utf8_length not additive at a character boundary");
}

/* The last character of s[0..len), len > 0, decoded forwards. */
static int32_t
last_char(const uint8_t *s, size_t len)
{
	int32_t		cp = -1;

	for (size_t i = 0; i < len;)
		i += fz_utf8_step(s + i, len - i, &cp);
	return cp;
}

static void
check_trim(const uint8_t *data, size_t size)
{
	const char *s = (const char *) data;
	size_t		start = (size_t) -1;
	size_t		len = fr_trim(s, size, &start);
	size_t		ref_start;
	size_t		ref_len;
	size_t		again_start = (size_t) -1;
	size_t		again_len;
	size_t		copy_start = (size_t) -1;
	char	   *copy;
	int32_t		cp;

	/* inside the input */
	FZ_CHECK(start <= size, "fr_trim start beyond the input");
	FZ_CHECK(len <= size - start, "fr_trim slice runs past the input");

	/* first and last characters are not white space */
	if (len > 0)
	{
		fz_utf8_step(data + start, len, &cp);
		FZ_CHECK(!fz_is_white_space(cp),
				 "fr_trim left white space at the start");
		FZ_CHECK(!fz_is_white_space(last_char(data + start, len)),
				 "fr_trim left white space at the end");
	}

	/* exactly the reference slice: only white space was cut, all of it */
	fz_reference_trim(data, size, &ref_start, &ref_len);
	FZ_CHECK(len == ref_len, "fr_trim kept a different length than the reference");
	if (len > 0)
		FZ_CHECK(start == ref_start,
				 "fr_trim started the slice elsewhere than the reference");

	/* idempotent */
	again_len = fr_trim(s + start, len, &again_start);
	FZ_CHECK(again_start == 0 && again_len == len,
			 "trimming the trimmed value again changed it");

	/* deterministic, and the same for a copy elsewhere in memory */
	copy = fz_copy(data, size);
	FZ_CHECK(fr_trim(copy, size, &copy_start) == len && copy_start == start,
			 "fr_trim depends on where the value lies in memory");
	FZ_CHECK(memcmp(copy, data, size) == 0, "fr_trim changed its input");
	free(copy);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_length(data, size);
	check_trim(data, size);
	return 0;
}
