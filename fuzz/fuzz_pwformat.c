/*-------------------------------------------------------------------------
 *
 * fuzz_pwformat.c
 *	  libFuzzer target for the stored-hash formats (src/pwformat.c).
 *
 * The raw input is a stored hash.  fr_hash_parse's verdict must be the
 * reference's below: the grammar of pwformat.h written again as POSIX
 * extended regular expressions (the character sets and fixed lengths of
 * pwformat.h are in them), with the numeric bounds (pwformat.h's constants) and the
 * base64 lengths and spare bits checked on what they capture, so a mistake
 * in the parser is unlikely to be shared by both.  The parameters it reports must be the
 * reference's too.  Then:
 *
 *	- check, parse and verify agree: an invalid string gives zero
 *	  parameters, a reason, verify -1 and needs_rehash true; a valid one no
 *	  reason and at most FR_HASH_MAX_LEN bytes;
 *	- reasons are static phrases (few, never changing, never inside the
 *	  input) of printable ASCII without '$', so they cannot quote the hash;
 *	- everything is deterministic and reads only its input (the input and an
 *	  exactly sized copy elsewhere give the same answers);
 *	- a valid hash with tiny costs (so that an execution stays cheap) is
 *	  verified against two passwords: never -1, which would mean the parser
 *	  accepted something the library refuses;
 *	- needs_rehash: true for all but argon2id; for argon2id with one lane, a
 *	  16-byte salt and a 32-byte digest, false at exactly its own costs and
 *	  true at others; true otherwise;
 *	- the decoy for the parameters of a valid hash parses back to them.
 *
 *-------------------------------------------------------------------------
 */
#define _POSIX_C_SOURCE 200809L

#include <regex.h>

#include <sodium.h>

#include "fuzz_common.h"
#include "pwformat.h"

/* ------------------------------------------------------------------------
 * The reference
 * ------------------------------------------------------------------------
 */

#define RE_ARGON2 \
	"^\\$argon2(id|i)\\$v=19\\$m=(0|[1-9][0-9]*),t=(0|[1-9][0-9]*),p=(0|[1-9][0-9]*)" \
	"\\$([A-Za-z0-9+/]*)\\$([A-Za-z0-9+/]*)$"
#define RE_BCRYPT \
	"^\\$2[aby]\\$(0[4-9]|[12][0-9]|3[01])\\$" \
	"[./A-Za-z0-9]{21}[.Oeu][./A-Za-z0-9]{30}[.CGKOSWaeimquy26]$"
#define RE_SHA512CRYPT \
	"^\\$6\\$(rounds=([1-9][0-9]*)\\$)?([./0-9A-Za-z]{1,16})\\$[./0-9A-Za-z]{85}[./01]$"
#define RE_PBKDF2 \
	"^pbkdf2_sha256\\$([1-9][0-9]*)\\$([!-#%-~]{1,64})\\$[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$"

static regex_t re_argon2,
			re_bcrypt,
			re_sha512crypt,
			re_pbkdf2;

static void
compile(regex_t *re, const char *pattern)
{
	if (regcomp(re, pattern, REG_EXTENDED) != 0)
	{
		fprintf(stderr, "cannot compile %s\n", pattern);
		abort();
	}
}

extern int	LLVMFuzzerInitialize(int *argc, char ***argv);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void) argc;
	(void) argv;
	if (sodium_init() < 0)
		abort();
	compile(&re_argon2, RE_ARGON2);
	compile(&re_bcrypt, RE_BCRYPT);
	compile(&re_sha512crypt, RE_SHA512CRYPT);
	compile(&re_pbkdf2, RE_PBKDF2);
	return 0;
}

/* A captured decimal number; more than 12 digits is "too big" (UINT64_MAX). */
static uint64_t
group_number(const char *s, const regmatch_t *m)
{
	uint64_t	v = 0;

	if (m->rm_eo - m->rm_so > 12)
		return UINT64_MAX;
	for (regoff_t i = m->rm_so; i < m->rm_eo; i++)
		v = v * 10 + (uint64_t) (s[i] - '0');
	return v;
}

static const char b64_alphabet[] =
"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/*
 * Bytes in the unpadded base64 field s[so..eo), or -1 when its length or
 * its last character's spare bits make it not canonical.
 */
static long
b64_bytes(const char *s, regoff_t so, regoff_t eo)
{
	long		n = (long) (eo - so);
	long		v;

	if (n % 4 == 1)
		return -1;
	if (n % 4 != 0)
	{
		v = (long) (strchr(b64_alphabet, s[eo - 1]) - b64_alphabet);
		if ((n % 4 == 2 && v % 16 != 0) || (n % 4 == 3 && v % 4 != 0))
			return -1;
	}
	return n * 6 / 8;
}

/* The reference verdict for the NUL-terminated s, with the parameters. */
static FrHashFormat
reference(const char *s, FrHashParams *p)
{
	regmatch_t	m[8];

	memset(p, 0, sizeof(*p));
	if (regexec(&re_argon2, s, 7, m, 0) == 0)
	{
		uint64_t	mem = group_number(s, &m[2]);
		uint64_t	t = group_number(s, &m[3]);
		uint64_t	lanes = group_number(s, &m[4]);
		long		salt = b64_bytes(s, m[5].rm_so, m[5].rm_eo);
		long		digest = b64_bytes(s, m[6].rm_so, m[6].rm_eo);

		if (mem < FR_ARGON2_M_MIN || mem > FR_ARGON2_M_MAX ||
			t < FR_ARGON2_T_MIN || t > FR_ARGON2_T_MAX ||
			lanes < FR_ARGON2_P_MIN || lanes > FR_ARGON2_P_MAX || mem < 8 * lanes ||
			salt < FR_ARGON2_SALT_MIN || salt > FR_ARGON2_SALT_MAX ||
			digest < FR_ARGON2_DIGEST_MIN || digest > FR_ARGON2_DIGEST_MAX)
			return FR_HASH_INVALID;
		p->format = m[1].rm_eo - m[1].rm_so == 2 ? FR_HASH_ARGON2ID : FR_HASH_ARGON2I;
		p->cost = (uint32_t) t;
		p->memory_kib = (uint32_t) mem;
		p->lanes = (uint32_t) lanes;
		p->salt_len = (uint32_t) salt;
		p->digest_len = (uint32_t) digest;
		return p->format;
	}
	if (regexec(&re_bcrypt, s, 2, m, 0) == 0)
	{
		p->format = FR_HASH_BCRYPT;
		p->cost = (uint32_t) group_number(s, &m[1]);
		p->salt_len = 22;
		p->digest_len = 31;
		return p->format;
	}
	if (regexec(&re_sha512crypt, s, 4, m, 0) == 0)
	{
		uint64_t	rounds = m[2].rm_so < 0 ? 5000 : group_number(s, &m[2]);

		if (rounds < FR_SHA512CRYPT_ROUNDS_MIN || rounds > FR_SHA512CRYPT_ROUNDS_MAX)
			return FR_HASH_INVALID;
		p->format = FR_HASH_SHA512CRYPT;
		p->cost = (uint32_t) rounds;
		p->salt_len = (uint32_t) (m[3].rm_eo - m[3].rm_so);
		p->digest_len = 86;
		return p->format;
	}
	if (regexec(&re_pbkdf2, s, 3, m, 0) == 0)
	{
		uint64_t	iterations = group_number(s, &m[1]);

		if (iterations < FR_PBKDF2_ITERATIONS_MIN || iterations > FR_PBKDF2_ITERATIONS_MAX)
			return FR_HASH_INVALID;
		p->format = FR_HASH_PBKDF2_SHA256;
		p->cost = (uint32_t) iterations;
		p->salt_len = (uint32_t) (m[2].rm_eo - m[2].rm_so);
		p->digest_len = 32;
		return p->format;
	}
	return FR_HASH_INVALID;
}

/* ------------------------------------------------------------------------
 * The invariants
 * ------------------------------------------------------------------------
 */

static bool
same_params(const FrHashParams *a, const FrHashParams *b)
{
	return a->format == b->format && a->cost == b->cost &&
		a->memory_kib == b->memory_kib && a->lanes == b->lanes &&
		a->salt_len == b->salt_len && a->digest_len == b->digest_len;
}

/*
 * Reasons are static phrases: every one seen is remembered with its text,
 * which must never change (a phrase formatted into a static buffer would),
 * there are few of them (one allocated or built per call would not be), and
 * none lies inside the input.  They are printable ASCII without '$'.
 */
#define MAX_REASONS 64

static const char *seen_reason[MAX_REASONS];
static char seen_text[MAX_REASONS][200];
static int	nseen = 0;

static void
check_reason(const char *reason, const uint8_t *data, size_t size)
{
	size_t		n;
	int			i;

	FZ_CHECK(reason != NULL && reason[0] != '\0', "an invalid hash without a reason");
	FZ_CHECK(!(reason >= (const char *) data && reason < (const char *) data + size),
			 "a reason pointing into the hash");
	n = strlen(reason);
	FZ_CHECK(n < sizeof(seen_text[0]), "a reason of 200 characters or more");
	for (size_t k = 0; k < n; k++)
		FZ_CHECK(reason[k] >= 0x20 && reason[k] <= 0x7E && reason[k] != '$',
				 "a reason with a '$' or a byte that is not printable ASCII");
	for (i = 0; i < nseen; i++)
	{
		if (seen_reason[i] == reason)
		{
			FZ_CHECK(strcmp(seen_text[i], reason) == 0,
					 "a reason whose text changed: not a static phrase");
			return;
		}
	}
	FZ_CHECK(nseen < MAX_REASONS, "more than 64 different reasons: not static phrases");
	seen_reason[nseen] = reason;
	memcpy(seen_text[nseen], reason, n + 1);
	nseen++;
}

/* Costs at which one verification takes a millisecond or so. */
static bool
tiny(const FrHashParams *p)
{
	switch (p->format)
	{
		case FR_HASH_ARGON2ID:
		case FR_HASH_ARGON2I:
			return (uint64_t) p->memory_kib * p->cost <= 1024;
		case FR_HASH_BCRYPT:
			return p->cost <= 5;
		case FR_HASH_SHA512CRYPT:
		case FR_HASH_PBKDF2_SHA256:
			return p->cost <= 2000;
		case FR_HASH_INVALID:
			break;
	}
	return false;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *) data;
	char	   *copy = fz_copy(data, size);
	char	   *cstr = malloc(size + 1);
	FrHashParams params,
				params2,
				expected;
	const char *reason,
			   *reason2;
	FrHashFormat format,
				ref;

	if (cstr == NULL)
		abort();
	memcpy(cstr, data, size);
	cstr[size] = '\0';

	format = fr_hash_parse(s, size, &params, &reason);
	FZ_CHECK(fr_hash_parse(copy, size, &params2, &reason2) == format &&
			 same_params(&params, &params2) && reason == reason2,
			 "parse not deterministic, or depends on where the hash lies");
	FZ_CHECK(fr_hash_check(s, size, &reason2) == format && reason2 == reason,
			 "fr_hash_check and fr_hash_parse disagree");
	FZ_CHECK(params.format == format, "params.format is not the format returned");

	/* a NUL byte anywhere is no hash; else the grammar decides */
	if (memchr(data, '\0', size) != NULL)
		ref = FR_HASH_INVALID;
	else
		ref = reference(cstr, &expected);
	if (ref == FR_HASH_INVALID)
		memset(&expected, 0, sizeof(expected));
	if (format != ref)
	{
		fprintf(stderr, "parse says %s, the grammar says %s (reason: %s)\n",
				fr_hash_format_name(format), fr_hash_format_name(ref),
				reason ? reason : "none");
		fz_fail(__FILE__, __LINE__, "format == ref", "verdict differs from the grammar");
	}
	FZ_CHECK(same_params(&params, &expected), "parameters differ from the grammar's");

	if (format == FR_HASH_INVALID)
	{
		check_reason(reason, data, size);
		FZ_CHECK(fr_hash_verify(s, size, "password", 8) == -1,
				 "verify of an invalid hash is not -1");
		FZ_CHECK(fr_hash_needs_rehash(s, size, 2, 19456 * 1024),
				 "an invalid hash needs no re-hash");
	}
	else
	{
		char		decoy[FR_HASH_MAX_LEN + 1];
		size_t		n;
		FrHashParams got;

		FZ_CHECK(reason == NULL, "a valid hash with a reason");
		FZ_CHECK(size <= FR_HASH_MAX_LEN, "a valid hash longer than FR_HASH_MAX_LEN");

		if (format != FR_HASH_ARGON2ID)
			FZ_CHECK(fr_hash_needs_rehash(s, size, 2, 19456 * 1024),
					 "a hash other than argon2id needs no re-hash");
		else if (params.lanes == 1 && params.salt_len == 16 && params.digest_len == 32)
		{
			FZ_CHECK(!fr_hash_needs_rehash(s, size, params.cost,
										   (size_t) params.memory_kib * 1024),
					 "argon2id needs a re-hash at its own costs");
			FZ_CHECK(fr_hash_needs_rehash(s, size, params.cost + 1,
										  (size_t) params.memory_kib * 1024) &&
					 fr_hash_needs_rehash(s, size, params.cost,
										  (size_t) params.memory_kib * 1024 + 1024),
					 "argon2id needs no re-hash at other costs");
		}
		else
			FZ_CHECK(fr_hash_needs_rehash(s, size, params.cost,
										  (size_t) params.memory_kib * 1024),
					 "argon2id not in libsodium's shape needs no re-hash");

		n = fr_hash_decoy(&params, decoy, sizeof(decoy));
		FZ_CHECK(n > 0 && fr_hash_parse(decoy, n, &got, NULL) == format &&
				 same_params(&got, &params),
				 "the decoy for a valid hash's parameters does not parse back to them");

		if (tiny(&params))
		{
			int			v1 = fr_hash_verify(s, size, "password", 8);
			int			v2 = fr_hash_verify(copy, size, "", 0);

			FZ_CHECK(v1 == 0 || v1 == 1, "verify of a valid hash is not 0 or 1");
			FZ_CHECK(v2 == 0 || v2 == 1, "verify of a valid hash is not 0 or 1 (empty password)");
			FZ_CHECK(fr_hash_verify(copy, size, "password", 8) == v1,
					 "verify not deterministic");
		}
	}
	FZ_CHECK(memcmp(copy, data, size) == 0, "the input changed");

	free(copy);
	free(cstr);
	return 0;
}
