/*-------------------------------------------------------------------------
 *
 * test_pwformat.c
 *	  Unit test of the stored-hash formats (src/pwformat.c), TAP output.
 *
 *	test_pwformat KAT_FILE
 *
 * Built with src/pwformat.c, libsodium, libxcrypt and OpenSSL and nothing
 * else (no PostgreSQL), under AddressSanitizer and UndefinedBehaviorSanitizer,
 * by test/suites/pwformat.sh, which first writes KAT_FILE with
 * test/unit/pwformat_kat.py: hashes made at test time by python3-bcrypt,
 * mkpasswd, hashlib.pbkdf2_hmac (in Django's format) and the argon2 tool,
 * never by farmreg.
 *
 * Five parts:
 *
 *	1. Known answers, for every hash in KAT_FILE: fr_hash_parse reports the
 *	   parameters the tool was asked for; the right password verifies (1),
 *	   wrong ones do not (0), and bcrypt's 72-byte rule holds; the rehash
 *	   lines of KAT_FILE give fr_hash_needs_rehash's truth table.
 *	2. Hashes spoiled from the known ones: every truncation, a NUL byte
 *	   over and before every byte, bytes after the end, a space before,
 *	   upper-case prefixes, other bcrypt variants.  Each must be
 *	   FR_HASH_INVALID (or, where the spoiled string is still well formed,
 *	   as a truncated argon2 digest can be, must not match the password).
 *	3. The edges of every rule, each invalid case next to the valid one it
 *	   differs from (cost 3 and 4, 31 and 32, iterations 0 and 1, the
 *	   ceilings and one past them, salt and digest lengths, stray bits,
 *	   alphabets, leading zeros, version), so that what is rejected is the
 *	   edge and nothing else; and strings that are no supported format.
 *	4. fr_hash_decoy: for the parameters of every known hash, a string that
 *	   parses to the same parameters and matches nothing tried; parameters
 *	   out of bounds give no decoy.
 *	5. Four threads verifying the cheap known hashes at once.
 *
 * Every invalid string is also held to: verify answers -1, needs_rehash
 * answers true, parse leaves all parameters zero, and the reason is a
 * non-empty line of printable ASCII with no '$' and no 16-byte piece of the
 * input.  Every input is an exactly sized heap copy without a terminating
 * NUL, so AddressSanitizer sees a read one byte too far.
 *
 * Each check prints "ok N - ..." or "not ok N - ..."; the plan "1..N" comes
 * last.  The exit status is 1 when any check failed.
 *
 *-------------------------------------------------------------------------
 */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "pwformat.h"
#include "tap.h"

static void *
xmalloc(size_t n)
{
	void	   *p = malloc(n > 0 ? n : 1);

	if (p == NULL)
	{
		fprintf(stderr, "out of memory\n");
		abort();
	}
	return p;
}

/* An exactly sized heap copy (no terminating NUL). */
static char *
copy_exact(const void *s, size_t n)
{
	char	   *c = xmalloc(n);

	if (n > 0)
		memcpy(c, s, n);
	return c;
}

/* A NUL-terminated heap copy, for keeping. */
static char *
copy_string(const void *s, size_t n)
{
	char	   *c = xmalloc(n + 1);

	if (n > 0)
		memcpy(c, s, n);
	c[n] = '\0';
	return c;
}

/* s for a message: printable ASCII kept, the rest as \xNN, cut at 100 bytes. */
static const char *
shown(const char *s, size_t n)
{
	static char buf[512];
	size_t		at = 0;

	for (size_t i = 0; i < n && at < 400; i++)
	{
		unsigned char c = (unsigned char) s[i];

		if (c >= 0x20 && c < 0x7F && c != '\\')
			buf[at++] = (char) c;
		else
			at += (size_t) snprintf(buf + at, sizeof(buf) - at, "\\x%02x", c);
	}
	if (at >= 400)
		at += (size_t) snprintf(buf + at, sizeof(buf) - at, "...");
	buf[at] = '\0';
	return buf;
}

/* ------------------------------------------------------------------------
 * The module's calls on exactly sized copies
 * ------------------------------------------------------------------------
 */

static FrHashFormat
parse_copy(const char *s, size_t n, FrHashParams *params, const char **reason)
{
	char	   *c = copy_exact(s, n);
	FrHashFormat f = fr_hash_parse(c, n, params, reason);

	free(c);
	return f;
}

static int
verify_copy(const char *s, size_t n, const void *pw, size_t pwlen)
{
	char	   *c = copy_exact(s, n);
	char	   *p = copy_exact(pw, pwlen);
	int			rc = fr_hash_verify(c, n, p, pwlen);

	free(c);
	free(p);
	return rc;
}

static bool
rehash_copy(const char *s, size_t n, unsigned long long ops, size_t mem)
{
	char	   *c = copy_exact(s, n);
	bool		rc = fr_hash_needs_rehash(c, n, ops, mem);

	free(c);
	return rc;
}

static bool
params_zero(const FrHashParams *p)
{
	return p->format == FR_HASH_INVALID && p->cost == 0 &&
		p->memory_kib == 0 && p->lanes == 0 && p->salt_len == 0 &&
		p->digest_len == 0;
}

static bool
params_equal(const FrHashParams *a, const FrHashParams *b)
{
	return a->format == b->format && a->cost == b->cost &&
		a->memory_kib == b->memory_kib && a->lanes == b->lanes &&
		a->salt_len == b->salt_len && a->digest_len == b->digest_len;
}

static const char *
params_text(const FrHashParams *p)
{
	static char buf[200];

	snprintf(buf, sizeof(buf), "%s cost %lu m %lu p %lu salt %lu digest %lu",
			 fr_hash_format_name(p->format), (unsigned long) p->cost,
			 (unsigned long) p->memory_kib, (unsigned long) p->lanes,
			 (unsigned long) p->salt_len, (unsigned long) p->digest_len);
	return buf;
}

/*
 * Whether the reason for rejecting s is a proper one: a non-empty line of
 * printable ASCII, no '$', no 16-byte piece of s.
 */
static bool
reason_ok(const char *reason, const char *s, size_t n)
{
	size_t		rlen;

	if (reason == NULL || reason[0] == '\0')
		return false;
	rlen = strlen(reason);
	for (size_t i = 0; i < rlen; i++)
	{
		if (reason[i] < 0x20 || reason[i] > 0x7E || reason[i] == '$')
			return false;
	}
	for (size_t i = 0; i + 16 <= n; i++)
	{
		for (size_t j = 0; j + 16 <= rlen; j++)
		{
			if (memcmp(reason + j, s + i, 16) == 0)
				return false;
		}
	}
	return true;
}

/*
 * s must be rejected, with every consequence: FR_HASH_INVALID from check and
 * parse, zero parameters, a proper reason, verify -1, needs_rehash true.
 * One TAP check.
 */
static bool
expect_invalid(const char *label, const char *s, size_t n)
{
	FrHashParams params;
	const char *reason = "unset";
	const char *reason2 = "unset";
	FrHashFormat f = parse_copy(s, n, &params, &reason);
	char	   *c = copy_exact(s, n);
	FrHashFormat f2 = fr_hash_check(c, n, &reason2);
	int			v;
	bool		r;
	bool		ok;

	free(c);
	v = verify_copy(s, n, "password", 8);
	r = rehash_copy(s, n, 2, 19456 * 1024);
	ok = f == FR_HASH_INVALID && f2 == FR_HASH_INVALID && params_zero(&params) &&
		reason == reason2 && reason_ok(reason, s, n) && v == -1 && r;
	if (!check(ok, "invalid: %s", label))
	{
		diag("input: %s", shown(s, n));
		diag("parse %s, check %s, params %s, reason %s, verify %d, needs_rehash %d",
			 fr_hash_format_name(f), fr_hash_format_name(f2),
			 params_text(&params), reason ? reason : "(null)", v, r);
	}
	return ok;
}

/* s must be accepted as format, with a NULL reason; one TAP check. */
static bool
expect_valid(const char *label, const char *s, size_t n, FrHashFormat format)
{
	FrHashParams params;
	const char *reason = "unset";
	FrHashFormat f = parse_copy(s, n, &params, &reason);
	bool		ok = f == format && params.format == format && reason == NULL;

	if (!check(ok, "valid %s: %s", fr_hash_format_name(format), label))
	{
		diag("input: %s", shown(s, n));
		diag("parse %s, reason %s", fr_hash_format_name(f), reason ? reason : "(null)");
	}
	return ok;
}

/*
 * s is either rejected (expect_invalid's consequences) or well formed, and
 * then does not match password (0).  For spoilt strings that may remain
 * well formed.  Returns whether it held, without a TAP check of its own.
 */
static bool
never_matches(const char *s, size_t n, const void *pw, size_t pwlen, bool cheap)
{
	FrHashParams params;
	const char *reason;
	FrHashFormat f = parse_copy(s, n, &params, &reason);

	if (f == FR_HASH_INVALID)
		return params_zero(&params) && reason_ok(reason, s, n) &&
			verify_copy(s, n, pw, pwlen) == -1 && rehash_copy(s, n, 2, 19456 * 1024);
	if (reason != NULL)
		return false;
	/* verifying would be slow: a well-formed spoilt string is enough */
	if (!cheap)
		return true;
	return verify_copy(s, n, pw, pwlen) == 0;
}

/* ------------------------------------------------------------------------
 * The known answers
 * ------------------------------------------------------------------------
 */

typedef struct Kat
{
	char	   *label;
	FrHashParams params;		/* as the tool was asked */
	unsigned char *password;
	size_t		pwlen;
	char	   *hash;			/* NUL-terminated, for building spoilt copies */
	size_t		hashlen;
} Kat;

typedef struct Rehash
{
	char	   *label;
	unsigned long long opslimit;
	size_t		memlimit;
	bool		expected;
	char	   *hash;
	size_t		hashlen;
} Rehash;

#define MAX_KATS 64
static Kat	kats[MAX_KATS];
static int	nkats = 0;
static Rehash rehashes[MAX_KATS * 2];
static int	nrehashes = 0;

static FrHashFormat
format_named(const char *name)
{
	for (int f = 1; f < FR_HASH_NFORMATS; f++)
	{
		if (strcmp(name, fr_hash_format_name((FrHashFormat) f)) == 0)
			return (FrHashFormat) f;
	}
	return FR_HASH_INVALID;
}

static int
hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Decodes lowercase hex; false if it is not. */
static bool
unhex(const char *hex, unsigned char **out, size_t *len)
{
	size_t		n = strlen(hex);

	if (n % 2 != 0)
		return false;
	*out = xmalloc(n / 2);
	for (size_t i = 0; i < n / 2; i++)
	{
		int			hi = hex_value(hex[2 * i]);
		int			lo = hex_value(hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return false;
		(*out)[i] = (unsigned char) (hi * 16 + lo);
	}
	*len = n / 2;
	return true;
}

/* Splits line at tabs into at most max fields, in place; returns the count. */
static int
split_tabs(char *line, char **fields, int max)
{
	int			n = 0;
	char	   *p = line;

	while (n < max)
	{
		char	   *tab = strchr(p, '\t');

		fields[n++] = p;
		if (tab == NULL)
			break;
		*tab = '\0';
		p = tab + 1;
	}
	return n;
}

/* Reads KAT_FILE; false, with a diagnostic, when it is unusable. */
static bool
read_kats(const char *path)
{
	FILE	   *f = fopen(path, "r");
	static char line[16384];
	int			lineno = 0;

	if (f == NULL)
	{
		diag("cannot open %s", path);
		return false;
	}
	while (fgets(line, sizeof(line), f) != NULL)
	{
		char	   *fields[12];
		int			n;
		size_t		len = strlen(line);

		lineno++;
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		if (len == 0)
			continue;
		n = split_tabs(line, fields, 12);
		if (strcmp(fields[0], "kat") == 0 && n == 10 && nkats < MAX_KATS)
		{
			Kat		   *k = &kats[nkats];

			k->label = copy_string(fields[1], strlen(fields[1]));
			k->params.format = format_named(fields[2]);
			k->params.cost = (uint32_t) strtoul(fields[3], NULL, 10);
			k->params.memory_kib = (uint32_t) strtoul(fields[4], NULL, 10);
			k->params.lanes = (uint32_t) strtoul(fields[5], NULL, 10);
			k->params.salt_len = (uint32_t) strtoul(fields[6], NULL, 10);
			k->params.digest_len = (uint32_t) strtoul(fields[7], NULL, 10);
			if (k->params.format == FR_HASH_INVALID ||
				!unhex(fields[8], &k->password, &k->pwlen))
			{
				diag("%s:%d: unusable kat line", path, lineno);
				fclose(f);
				return false;
			}
			k->hashlen = strlen(fields[9]);
			k->hash = copy_string(fields[9], k->hashlen);
			nkats++;
		}
		else if (strcmp(fields[0], "rehash") == 0 && n == 6 &&
				 nrehashes < MAX_KATS * 2)
		{
			Rehash	   *r = &rehashes[nrehashes++];

			r->label = copy_string(fields[1], strlen(fields[1]));
			r->opslimit = strtoull(fields[2], NULL, 10);
			r->memlimit = (size_t) strtoull(fields[3], NULL, 10);
			r->expected = strcmp(fields[4], "1") == 0;
			r->hashlen = strlen(fields[5]);
			r->hash = copy_string(fields[5], r->hashlen);
		}
		else
		{
			diag("%s:%d: unrecognized line", path, lineno);
			fclose(f);
			return false;
		}
	}
	fclose(f);
	return true;
}

/* The first known hash of a format (they all have one). */
static const Kat *
kat_of(FrHashFormat format)
{
	for (int i = 0; i < nkats; i++)
	{
		if (kats[i].params.format == format)
			return &kats[i];
	}
	fprintf(stderr, "no known hash of format %s\n", fr_hash_format_name(format));
	abort();
}

/* Whether verifying against k costs a few milliseconds at most. */
static bool
kat_cheap(const Kat *k)
{
	switch (k->params.format)
	{
		case FR_HASH_ARGON2ID:
		case FR_HASH_ARGON2I:
			return (uint64_t) k->params.memory_kib * k->params.cost <= 4096;
		case FR_HASH_BCRYPT:
			return k->params.cost <= 5;
		case FR_HASH_SHA512CRYPT:
			return k->params.cost <= 5000;
		case FR_HASH_PBKDF2_SHA256:
			return k->params.cost <= 1000;
		case FR_HASH_INVALID:
			break;
	}
	return false;
}

/* password with one more byte c. */
static int
verify_appended(const Kat *k, unsigned char c)
{
	unsigned char *pw = xmalloc(k->pwlen + 1);
	int			rc;

	memcpy(pw, k->password, k->pwlen);
	pw[k->pwlen] = c;
	rc = verify_copy(k->hash, k->hashlen, pw, k->pwlen + 1);
	free(pw);
	return rc;
}

/* password with byte i flipped in its lowest bit. */
static int
verify_flipped(const Kat *k, size_t i)
{
	unsigned char *pw = (unsigned char *) copy_exact(k->password, k->pwlen);
	int			rc;

	pw[i] ^= 0x01;
	rc = verify_copy(k->hash, k->hashlen, pw, k->pwlen);
	free(pw);
	return rc;
}

static void
known_answers(void)
{
	for (int i = 0; i < nkats; i++)
	{
		const Kat  *k = &kats[i];
		FrHashParams got;
		const char *reason = "unset";
		FrHashFormat f = parse_copy(k->hash, k->hashlen, &got, &reason);
		bool		long_bcrypt = k->params.format == FR_HASH_BCRYPT &&
		k->pwlen >= FR_BCRYPT_PASSWORD_MAX;

		/* HMAC pads a key of up to 64 bytes with zeros */
		bool		hmac_pads = k->params.format == FR_HASH_PBKDF2_SHA256 &&
		k->pwlen + 1 <= 64;
		int			v;

		if (!check(f == k->params.format && reason == NULL &&
				   params_equal(&got, &k->params),
				   "%s: parsed as the tool was asked (%s)", k->label,
				   params_text(&k->params)))
			diag("got %s, reason %s", params_text(&got), reason ? reason : "(null)");
		check(fr_hash_check(k->hash, k->hashlen, NULL) == k->params.format,
			  "%s: fr_hash_check agrees, with reason NULL", k->label);

		v = verify_copy(k->hash, k->hashlen, k->password, k->pwlen);
		if (!check(v == 1, "%s: the right password matches", k->label))
			diag("verify %d; hash %s", v, k->hash);

		if (k->pwlen > 0)
		{
			v = verify_flipped(k, k->pwlen - 1);
			check(v == (long_bcrypt && k->pwlen > FR_BCRYPT_PASSWORD_MAX ? 1 : 0),
				  "%s: last byte changed: %s (verify %d)", k->label,
				  long_bcrypt && k->pwlen > FR_BCRYPT_PASSWORD_MAX ?
				  "still matches, beyond bcrypt's 72 bytes" : "no match", v);
			v = verify_flipped(k, 0);
			check(v == 0, "%s: first byte changed: no match (verify %d)", k->label, v);
			v = verify_copy(k->hash, k->hashlen, "", 0);
			check(v == 0, "%s: the empty password: no match (verify %d)", k->label, v);
		}
		else
		{
			v = verify_copy(k->hash, k->hashlen, "x", 1);
			check(v == 0, "%s: \"x\" for the empty password: no match (verify %d)",
				  k->label, v);
		}
		v = verify_appended(k, 'x');
		check(v == (long_bcrypt ? 1 : 0), "%s: one byte more: %s (verify %d)",
			  k->label, long_bcrypt ? "matches, beyond bcrypt's 72 bytes" : "no match", v);
		v = verify_appended(k, '\0');
		check(v == (long_bcrypt || hmac_pads ? 1 : 0), "%s: a NUL byte more: %s (verify %d)",
			  k->label, long_bcrypt ? "matches, beyond bcrypt's 72 bytes" :
			  hmac_pads ? "matches, HMAC pads short keys with zeros" : "no match", v);

		if (long_bcrypt)
		{
			v = verify_copy(k->hash, k->hashlen, k->password, FR_BCRYPT_PASSWORD_MAX);
			check(v == 1, "%s: its first 72 bytes match, as in every bcrypt (verify %d)",
				  k->label, v);
			v = verify_copy(k->hash, k->hashlen, k->password, FR_BCRYPT_PASSWORD_MAX - 1);
			check(v == 0, "%s: its first 71 bytes do not (verify %d)", k->label, v);
			v = verify_flipped(k, FR_BCRYPT_PASSWORD_MAX - 1);
			check(v == 0, "%s: byte 72 changed: no match (verify %d)", k->label, v);
		}
		if (k->params.format == FR_HASH_BCRYPT && k->pwlen > 1 && k->pwlen < 72)
		{
			unsigned char *pw = (unsigned char *) copy_exact(k->password, k->pwlen);

			pw[k->pwlen / 2] = '\0';
			v = verify_copy(k->hash, k->hashlen, pw, k->pwlen);
			check(v == 0, "%s: a NUL byte inside the password never matches (verify %d)",
				  k->label, v);
			v = verify_copy(k->hash, k->hashlen, pw, k->pwlen / 2);
			check(v == 0, "%s: nor does the part before that NUL (verify %d)",
				  k->label, v);
			free(pw);
		}
	}

	/* libxcrypt refuses passphrases of 512 bytes or more: no match, no error */
	{
		const Kat  *k = kat_of(FR_HASH_SHA512CRYPT);
		char	   *pw = xmalloc(600);
		int			v;

		memset(pw, 'a', 600);
		v = verify_copy(k->hash, k->hashlen, pw, 600);
		check(v == 0, "sha512-crypt and a 600-byte password: no match, not an error (verify %d)", v);
		v = verify_copy(k->hash, k->hashlen, pw, 511);
		check(v == 0, "sha512-crypt and a 511-byte password: no match (verify %d)", v);
		free(pw);
	}

	/*
	 * A password longer than a library takes: libsodium refuses more than
	 * 2^32 - 1 bytes (EFBIG) and OpenSSL more than INT_MAX, both before
	 * reading it, so a 1-byte buffer with a huge length is enough (bcrypt
	 * would read its 72 bytes: not tried).
	 */
	{
		static const char one[1] = {'x'};
		size_t		huge = (size_t) 1 << 32;
		const Kat  *a = kat_of(FR_HASH_ARGON2ID);
		const Kat  *p = kat_of(FR_HASH_PBKDF2_SHA256);
		const Kat  *c = kat_of(FR_HASH_SHA512CRYPT);
		int			v;

		v = fr_hash_verify(a->hash, a->hashlen, one, huge);
		check(v == -1, "argon2 and a password of 2^32 bytes: libsodium refuses, -1 (verify %d)", v);
		v = fr_hash_verify(p->hash, p->hashlen, one, huge);
		check(v == -1, "pbkdf2 and a password of 2^32 bytes: OpenSSL cannot take it, -1 (verify %d)", v);
		v = fr_hash_verify(c->hash, c->hashlen, one, huge);
		check(v == 0, "sha512-crypt and a password of 2^32 bytes: no match (verify %d)", v);
	}

	/* a NULL password is the empty one, when its length says so */
	{
		const Kat  *k = kat_of(FR_HASH_PBKDF2_SHA256);

		check(fr_hash_verify(k->hash, k->hashlen, NULL, 1) == -1,
			  "a NULL password with a length: -1");
	}

	for (int i = 0; i < nrehashes; i++)
	{
		const Rehash *r = &rehashes[i];
		bool		got = rehash_copy(r->hash, r->hashlen, r->opslimit, r->memlimit);

		check(got == r->expected, "needs_rehash(%s, t %llu, %zu bytes) is %s",
			  r->label, r->opslimit, r->memlimit, r->expected ? "true" : "false");
	}
	/* opslimit beyond 32 bits, memlimit not a number of KiB */
	{
		const Rehash *fresh = NULL;

		for (int i = 0; i < nrehashes && fresh == NULL; i++)
		{
			if (!rehashes[i].expected)
				fresh = &rehashes[i];
		}
		if (check(fresh != NULL,
				  "the known answers include an argon2id hash that needs no re-hash"))
		{
			check(rehash_copy(fresh->hash, fresh->hashlen,
							  fresh->opslimit + (1ULL << 32), fresh->memlimit),
				  "needs_rehash with opslimit + 2^32 is true");
			check(!rehash_copy(fresh->hash, fresh->hashlen,
							   fresh->opslimit, fresh->memlimit + 1023),
				  "needs_rehash with memlimit + 1023 bytes is false (libsodium counts KiB)");
		}
	}
}

/* ------------------------------------------------------------------------
 * Spoilt known hashes
 * ------------------------------------------------------------------------
 */

static void
spoilt(void)
{
	for (int i = 0; i < nkats; i++)
	{
		const Kat  *k = &kats[i];
		bool		argon2 = k->params.format == FR_HASH_ARGON2ID ||
		k->params.format == FR_HASH_ARGON2I;
		size_t		n = k->hashlen;
		char	   *buf = xmalloc(n + 2);
		bool		all = true;
		size_t		bad = 0;

		/* every truncation */
		for (size_t len = 0; len < n && all; len++)
		{
			if (argon2)
				all = never_matches(k->hash, len, k->password, k->pwlen, kat_cheap(k));
			else
				all = parse_copy(k->hash, len, NULL, NULL) == FR_HASH_INVALID &&
					verify_copy(k->hash, len, k->password, k->pwlen) == -1;
			bad = len;
		}
		if (!check(all, "%s: every truncation (0..%zu bytes) %s", k->label, n - 1,
				   argon2 ? "is rejected or matches nothing" : "is rejected"))
			diag("fails at %zu bytes: %s", bad, shown(k->hash, bad));

		/* a NUL byte over each byte, and before each byte */
		all = true;
		for (size_t at = 0; at < n && all; at++)
		{
			memcpy(buf, k->hash, n);
			buf[at] = '\0';
			all = parse_copy(buf, n, NULL, NULL) == FR_HASH_INVALID &&
				verify_copy(buf, n, k->password, k->pwlen) == -1;
			memcpy(buf, k->hash, at);
			buf[at] = '\0';
			memcpy(buf + at + 1, k->hash + at, n - at);
			all = all && parse_copy(buf, n + 1, NULL, NULL) == FR_HASH_INVALID &&
				verify_copy(buf, n + 1, k->password, k->pwlen) == -1;
			bad = at;
		}
		if (!check(all, "%s: a NUL byte over or before any of its %zu bytes is rejected",
				   k->label, n))
			diag("fails at byte %zu", bad);

		/* one byte after the end: outside every alphabet, or a letter */
		{
			const char *after = "\0\n $=:!x";

			for (size_t j = 0; j < 8; j++)
			{
				char		label[200];

				memcpy(buf, k->hash, n);
				buf[n] = after[j];
				snprintf(label, sizeof(label), "%s, then %s", k->label,
						 shown(after + j, 1));
				if (after[j] == 'x' && argon2)
					check(never_matches(buf, n + 1, k->password, k->pwlen, kat_cheap(k)),
						  "%s: rejected, or a longer digest that matches nothing", label);
				else
					expect_invalid(label, buf, n + 1);
			}
		}

		/* a space before, an upper-case prefix */
		{
			char		label[200];

			buf[0] = ' ';
			memcpy(buf + 1, k->hash, n);
			snprintf(label, sizeof(label), "a space, then %s", k->label);
			expect_invalid(label, buf, n + 1);

			memcpy(buf, k->hash, n);
			for (size_t j = 0; j < n && j < 14 && buf[j] != '\0'; j++)
			{
				if (j > 0 && buf[j] == '$')
					break;
				if (buf[j] >= 'a' && buf[j] <= 'z')
					buf[j] = (char) (buf[j] - 'a' + 'A');
			}
			snprintf(label, sizeof(label), "%s, its prefix in upper case", k->label);
			if (memcmp(buf, k->hash, n) != 0)
				expect_invalid(label, buf, n);
		}
		free(buf);
	}
}

/* ------------------------------------------------------------------------
 * Edges of the rules
 * ------------------------------------------------------------------------
 */

/* Builds printf-style into a heap string; *len gets its length. */
static char *build(size_t *len, const char *fmt,...) __attribute__((format(printf, 2, 3)));

static char *
build(size_t *len, const char *fmt,...)
{
	va_list		ap;
	char		tmp[4096];
	int			n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t) n >= sizeof(tmp))
		abort();
	*len = (size_t) n;
	return copy_string(tmp, (size_t) n);
}

#define VALID(label, format, ...) \
	do { size_t n_; char *s_ = build(&n_, __VA_ARGS__); \
		 expect_valid((label), s_, n_, (format)); free(s_); } while (0)
#define INVALID(label, ...) \
	do { size_t n_; char *s_ = build(&n_, __VA_ARGS__); \
		 expect_invalid((label), s_, n_); free(s_); } while (0)

/* n copies of c, in a static buffer (n < 200). */
static const char *
rep(char c, size_t n)
{
	static char bufs[4][200];
	static int	next = 0;
	char	   *b = bufs[next++ % 4];

	memset(b, c, n);
	b[n] = '\0';
	return b;
}

static void
edges_bcrypt(void)
{
	const Kat  *k = kat_of(FR_HASH_BCRYPT);
	char		tail[54];		/* the 53 characters after "$2b$04$" */
	char		t2[54];

	memcpy(tail, k->hash + 7, 53);
	tail[53] = '\0';

	VALID("cost 04", FR_HASH_BCRYPT, "$2b$04$%s", tail);
	INVALID("bcrypt cost 03", "$2b$03$%s", tail);
	INVALID("bcrypt cost 00", "$2b$00$%s", tail);
	VALID("cost 31 (parsed only: verifying would take a day)", FR_HASH_BCRYPT, "$2b$31$%s", tail);
	INVALID("bcrypt cost 32", "$2b$32$%s", tail);
	INVALID("bcrypt cost 99", "$2b$99$%s", tail);
	INVALID("bcrypt cost of one digit", "$2b$4$%s", tail);
	INVALID("bcrypt cost of one digit, 60 characters", "$2b$4$%s.", tail);
	INVALID("bcrypt cost of three digits", "$2b$004$%.52s", tail);
	INVALID("bcrypt cost with a sign", "$2b$+4$%s", tail);
	INVALID("bcrypt cost in hex", "$2b$0a$%s", tail);
	VALID("2a", FR_HASH_BCRYPT, "$2a$04$%s", tail);
	VALID("2y", FR_HASH_BCRYPT, "$2y$04$%s", tail);
	INVALID("bcrypt 2x", "$2x$04$%s", tail);
	INVALID("bcrypt 2c", "$2c$04$%s", tail);
	INVALID("bcrypt 2 without a letter", "$2$04$%s", tail);
	INVALID("bcrypt 2A", "$2A$04$%s", tail);
	INVALID("bcrypt 59 characters", "$2b$04$%.52s", tail);
	INVALID("bcrypt 61 characters", "$2b$04$%s.", tail);
	INVALID("bcrypt without the separator after the cost", "$2b$04.%s", tail);

	/* the alphabet: ./A-Za-z0-9, not + = - _ */
	memcpy(t2, tail, 54);
	t2[3] = '+';
	INVALID("bcrypt salt with +", "$2b$04$%s", t2);
	memcpy(t2, tail, 54);
	t2[40] = '-';
	INVALID("bcrypt digest with -", "$2b$04$%s", t2);
	memcpy(t2, tail, 54);
	t2[40] = '=';
	INVALID("bcrypt digest with =", "$2b$04$%s", t2);
	memcpy(t2, tail, 54);
	t2[10] = (char) 0xC3;
	INVALID("bcrypt salt with a non-ASCII byte", "$2b$04$%s", t2);

	/*
	 * spare bits: last salt character (index 21) . O e u; last digest . C G
	 * ...
	 */
	{
		const char *salt_ok = ".Oeu";
		const char *salt_bad = "/APfv9";
		const char *dig_ok = ".CGKOSWaeimquy26";
		const char *dig_bad = "/ABDHZbz0137";

		for (const char *c = salt_ok; *c; c++)
		{
			memcpy(t2, tail, 54);
			t2[21] = *c;
			VALID("bcrypt salt ending in a character with no spare bits",
				  FR_HASH_BCRYPT, "$2b$04$%s", t2);
		}
		for (const char *c = salt_bad; *c; c++)
		{
			memcpy(t2, tail, 54);
			t2[21] = *c;
			INVALID("bcrypt salt ending in a character with spare bits set", "$2b$04$%s", t2);
		}
		for (const char *c = dig_ok; *c; c++)
		{
			memcpy(t2, tail, 54);
			t2[52] = *c;
			VALID("bcrypt digest ending in a character with no spare bits",
				  FR_HASH_BCRYPT, "$2b$04$%s", t2);
		}
		for (const char *c = dig_bad; *c; c++)
		{
			memcpy(t2, tail, 54);
			t2[52] = *c;
			INVALID("bcrypt digest ending in a character with spare bits set", "$2b$04$%s", t2);
		}
	}
}

static void
edges_sha512crypt(void)
{
	const char *digest = NULL;
	char		d2[87];

	/* a digest written by mkpasswd */
	for (int i = 0; i < nkats; i++)
	{
		if (kats[i].params.format == FR_HASH_SHA512CRYPT)
			digest = strrchr(kats[i].hash, '$') + 1;
	}
	if (digest == NULL || strlen(digest) != 86)
		abort();

	VALID("no rounds", FR_HASH_SHA512CRYPT, "$6$saltsalt$%s", digest);
	VALID("rounds 1000", FR_HASH_SHA512CRYPT, "$6$rounds=1000$saltsalt$%s", digest);
	INVALID("sha512-crypt rounds 999", "$6$rounds=999$saltsalt$%s", digest);
	INVALID("sha512-crypt rounds 0", "$6$rounds=0$saltsalt$%s", digest);
	VALID("rounds at the ceiling (parsed only)", FR_HASH_SHA512CRYPT,
		  "$6$rounds=%d$saltsalt$%s", FR_SHA512CRYPT_ROUNDS_MAX, digest);
	INVALID("sha512-crypt rounds one past the ceiling",
			"$6$rounds=%d$saltsalt$%s", FR_SHA512CRYPT_ROUNDS_MAX + 1, digest);
	INVALID("sha512-crypt rounds 999999999 (glibc's maximum)",
			"$6$rounds=999999999$saltsalt$%s", digest);
	INVALID("sha512-crypt rounds past 2^64",
			"$6$rounds=184467440737095516160$saltsalt$%s", digest);
	INVALID("sha512-crypt rounds with a leading zero", "$6$rounds=01000$saltsalt$%s", digest);
	INVALID("sha512-crypt rounds with a sign", "$6$rounds=+1000$saltsalt$%s", digest);
	INVALID("sha512-crypt rounds with a space", "$6$rounds= 1000$saltsalt$%s", digest);
	INVALID("sha512-crypt rounds empty", "$6$rounds=$saltsalt$%s", digest);
	INVALID("sha512-crypt rounds with a trailing letter", "$6$rounds=1000x$saltsalt$%s", digest);
	INVALID("sha512-crypt rounds in exponent form", "$6$rounds=1e4$saltsalt$%s", digest);
	INVALID("sha512-crypt rounds without their separator", "$6$rounds=1000saltsalt$%s", digest);
	INVALID("sha512-crypt rounds= twice", "$6$rounds=1000$rounds=1000$saltsalt$%s", digest);
	VALID("1-character salt", FR_HASH_SHA512CRYPT, "$6$s$%s", digest);
	VALID("16-character salt", FR_HASH_SHA512CRYPT, "$6$%s$%s", rep('s', 16), digest);
	INVALID("sha512-crypt empty salt", "$6$$%s", digest);
	INVALID("sha512-crypt 17-character salt", "$6$%s$%s", rep('s', 17), digest);
	INVALID("sha512-crypt salt with +", "$6$salt+alt$%s", digest);
	INVALID("sha512-crypt salt with :", "$6$salt:alt$%s", digest);
	INVALID("sha512-crypt salt with a newline", "$6$salt\nalt$%s", digest);
	INVALID("sha512-crypt without a digest", "$6$saltsalt");
	INVALID("sha512-crypt with an empty digest", "$6$saltsalt$");
	INVALID("sha512-crypt 85-character digest", "$6$saltsalt$%.85s", digest);
	INVALID("sha512-crypt 87-character digest", "$6$saltsalt$%s.", digest);
	INVALID("sha512-crypt digest then a separator", "$6$saltsalt$%s$", digest);
	memcpy(d2, digest, 87);
	d2[40] = '+';
	INVALID("sha512-crypt digest with +", "$6$saltsalt$%s", d2);
	/* the last character holds 2 bits: . / 0 1 */
	for (const char *c = "./01"; *c; c++)
	{
		memcpy(d2, digest, 87);
		d2[85] = *c;
		VALID("digest ending in a character with no spare bits",
			  FR_HASH_SHA512CRYPT, "$6$saltsalt$%s", d2);
	}
	for (const char *c = "23AZaz"; *c; c++)
	{
		memcpy(d2, digest, 87);
		d2[85] = *c;
		INVALID("sha512-crypt digest ending in a character with spare bits set",
				"$6$saltsalt$%s", d2);
	}
	INVALID("sha256-crypt", "$5$saltsalt$%.43s", digest);
	INVALID("md5-crypt", "$1$saltsalt$%.22s", digest);
	INVALID("yescrypt", "$y$j9T$saltsalt$%.43s", digest);
}

static void
edges_pbkdf2(void)
{
	const Kat  *k = kat_of(FR_HASH_PBKDF2_SHA256);
	const char *digest = strrchr(k->hash, '$') + 1; /* 44 characters */
	char		d2[45];
	static const char b64[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

	if (strlen(digest) != 44)
		abort();
	VALID("1 iteration", FR_HASH_PBKDF2_SHA256, "pbkdf2_sha256$1$salt$%s", digest);
	INVALID("pbkdf2 0 iterations", "pbkdf2_sha256$0$salt$%s", digest);
	VALID("iterations at the ceiling (parsed only)", FR_HASH_PBKDF2_SHA256,
		  "pbkdf2_sha256$%d$salt$%s", FR_PBKDF2_ITERATIONS_MAX, digest);
	INVALID("pbkdf2 iterations one past the ceiling",
			"pbkdf2_sha256$%d$salt$%s", FR_PBKDF2_ITERATIONS_MAX + 1, digest);
	INVALID("pbkdf2 10^9 iterations", "pbkdf2_sha256$1000000000$salt$%s", digest);
	INVALID("pbkdf2 iterations past 2^64",
			"pbkdf2_sha256$99999999999999999999999$salt$%s", digest);
	INVALID("pbkdf2 iterations with a leading zero", "pbkdf2_sha256$01000$salt$%s", digest);
	INVALID("pbkdf2 iterations 00", "pbkdf2_sha256$00$salt$%s", digest);
	INVALID("pbkdf2 iterations with a sign", "pbkdf2_sha256$+1000$salt$%s", digest);
	INVALID("pbkdf2 iterations with a space", "pbkdf2_sha256$ 1000$salt$%s", digest);
	INVALID("pbkdf2 iterations with an underscore", "pbkdf2_sha256$1_000$salt$%s", digest);
	INVALID("pbkdf2 iterations empty", "pbkdf2_sha256$$salt$%s", digest);
	INVALID("pbkdf2 iterations negative", "pbkdf2_sha256$-1$salt$%s", digest);
	VALID("1-character salt", FR_HASH_PBKDF2_SHA256, "pbkdf2_sha256$1$s$%s", digest);
	VALID("64-character salt", FR_HASH_PBKDF2_SHA256, "pbkdf2_sha256$1$%s$%s", rep('s', 64), digest);
	VALID("salt of every punctuation character but $", FR_HASH_PBKDF2_SHA256,
		  "pbkdf2_sha256$1$!\"#%%&'()*+,-./09:;<=>?@AZ[\\]^_`az{|}~$%s", digest);
	INVALID("pbkdf2 empty salt", "pbkdf2_sha256$1$$%s", digest);
	INVALID("pbkdf2 65-character salt", "pbkdf2_sha256$1$%s$%s", rep('s', 65), digest);
	INVALID("pbkdf2 salt with a space", "pbkdf2_sha256$1$sa lt$%s", digest);
	INVALID("pbkdf2 salt with a tab", "pbkdf2_sha256$1$sa\tlt$%s", digest);
	INVALID("pbkdf2 salt with DEL", "pbkdf2_sha256$1$sa\x7flt$%s", digest);
	INVALID("pbkdf2 salt with a non-ASCII byte", "pbkdf2_sha256$1$sa\xc3\xb1lt$%s", digest);
	INVALID("pbkdf2 salt with a $ (five fields)", "pbkdf2_sha256$1$sa$lt$%s", digest);
	INVALID("pbkdf2 without a digest", "pbkdf2_sha256$1$salt");
	INVALID("pbkdf2 with an empty digest", "pbkdf2_sha256$1$salt$");
	INVALID("pbkdf2 digest without its padding", "pbkdf2_sha256$1$salt$%.43s", digest);
	INVALID("pbkdf2 digest with two padding characters", "pbkdf2_sha256$1$salt$%.43s==", digest);
	INVALID("pbkdf2 digest of 33 bytes", "pbkdf2_sha256$1$salt$%.43sAAAA", digest);
	INVALID("pbkdf2 digest of 31 bytes", "pbkdf2_sha256$1$salt$%.40sAA==", digest);
	INVALID("pbkdf2 digest then a separator", "pbkdf2_sha256$1$salt$%s$", digest);
	INVALID("pbkdf2 digest in hex (64 characters)", "pbkdf2_sha256$1$salt$%s", rep('a', 64));
	memcpy(d2, digest, 45);
	d2[10] = '-';
	INVALID("pbkdf2 digest in URL-safe base64 (-)", "pbkdf2_sha256$1$salt$%s", d2);
	memcpy(d2, digest, 45);
	d2[10] = '_';
	INVALID("pbkdf2 digest in URL-safe base64 (_)", "pbkdf2_sha256$1$salt$%s", d2);
	memcpy(d2, digest, 45);
	d2[10] = (char) 0x80;
	INVALID("pbkdf2 digest with byte 0x80 (libsodium 1.0.18 reads it as /)",
			"pbkdf2_sha256$1$salt$%s", d2);
	memcpy(d2, digest, 45);
	d2[43] = (char) 0xBD;
	INVALID("pbkdf2 digest with byte 0xbd for its padding", "pbkdf2_sha256$1$salt$%s", d2);
	memcpy(d2, digest, 45);
	d2[10] = '.';
	INVALID("pbkdf2 digest with .", "pbkdf2_sha256$1$salt$%s", d2);
	/* the 43rd character holds 4 bits and 2 spare ones */
	memcpy(d2, digest, 45);
	d2[42] = b64[(strchr(b64, digest[42]) - b64) ^ 1];
	INVALID("pbkdf2 digest with a spare bit set", "pbkdf2_sha256$1$salt$%s", d2);
	d2[42] = b64[(strchr(b64, digest[42]) - b64) & ~3];
	VALID("digest with the spare bits clear", FR_HASH_PBKDF2_SHA256, "pbkdf2_sha256$1$salt$%s", d2);
	INVALID("pbkdf2_sha1", "pbkdf2_sha1$1$salt$%.28s", digest);
	INVALID("pbkdf2_sha256 in upper case", "PBKDF2_SHA256$1$salt$%s", digest);
	INVALID("Django's argon2 wrapper", "argon2$argon2id$v=19$m=102400,t=2,p=8$c2FsdHNhbHQ$%.43s", digest);
	INVALID("Django's bcrypt wrapper", "bcrypt_sha256$$2b$12$%.53s", rep('a', 53));
}

static void
edges_argon2(void)
{
	/* salts and digests of n bytes: runs of 'A' (zero bits, no stray ones) */
#define B(nbytes) rep('A', ((nbytes) * 4 + 2) / 3)
	const char *s16 = "c29tZXNhbHQxMjM0";	/* "somesalt1234" */
	const char *d32;
	const char *id = "$argon2id$v=19$";

	d32 = "sk6uiFhuoD7BI8ZqF6FHDm5xoEyXz+XR61iomFJjszY";

	VALID("m 8 t 1 p 1", FR_HASH_ARGON2ID, "%sm=8,t=1,p=1$%s$%s", id, s16, d32);
	VALID("argon2i m 8 t 1 p 1", FR_HASH_ARGON2I, "$argon2i$v=19$m=8,t=1,p=1$%s$%s", s16, d32);
	INVALID("argon2 m 7", "%sm=7,t=1,p=1$%s$%s", id, s16, d32);
	INVALID("argon2 m 0", "%sm=0,t=1,p=1$%s$%s", id, s16, d32);
	VALID("m at the ceiling (parsed only)", FR_HASH_ARGON2ID, "%sm=%d,t=1,p=1$%s$%s",
		  id, FR_ARGON2_M_MAX, s16, d32);
	INVALID("argon2 m one past the ceiling", "%sm=%d,t=1,p=1$%s$%s", id, FR_ARGON2_M_MAX + 1, s16, d32);
	INVALID("argon2 m past 2^32", "%sm=4294967297,t=1,p=1$%s$%s", id, s16, d32);
	INVALID("argon2 t 0", "%sm=8,t=0,p=1$%s$%s", id, s16, d32);
	VALID("t at the ceiling (parsed only)", FR_HASH_ARGON2ID, "%sm=8,t=%d,p=1$%s$%s",
		  id, FR_ARGON2_T_MAX, s16, d32);
	INVALID("argon2 t one past the ceiling", "%sm=8,t=%d,p=1$%s$%s", id, FR_ARGON2_T_MAX + 1, s16, d32);
	INVALID("argon2 p 0", "%sm=8,t=1,p=0$%s$%s", id, s16, d32);
	VALID("m 16 p 2", FR_HASH_ARGON2ID, "%sm=16,t=1,p=2$%s$%s", id, s16, d32);
	INVALID("argon2 m 15 p 2 (under 8 KiB a lane)", "%sm=15,t=1,p=2$%s$%s", id, s16, d32);
	VALID("p 524288 at the memory ceiling (parsed only)", FR_HASH_ARGON2ID,
		  "%sm=4194304,t=1,p=524288$%s$%s", id, s16, d32);
	INVALID("argon2 p 524289 at the memory ceiling", "%sm=4194304,t=1,p=524289$%s$%s", id, s16, d32);
	INVALID("argon2 p past libsodium's limit", "%sm=4194304,t=1,p=%d$%s$%s",
			id, FR_ARGON2_P_MAX + 1, s16, d32);
	INVALID("argon2 m with a leading zero", "%sm=019456,t=2,p=1$%s$%s", id, s16, d32);
	INVALID("argon2 t with a leading zero", "%sm=8,t=01,p=1$%s$%s", id, s16, d32);
	INVALID("argon2 p with a leading zero", "%sm=8,t=1,p=01$%s$%s", id, s16, d32);
	INVALID("argon2 t with a sign", "%sm=8,t=+1,p=1$%s$%s", id, s16, d32);
	INVALID("argon2 m empty", "%sm=,t=1,p=1$%s$%s", id, s16, d32);
	INVALID("argon2 parameters out of order", "%st=1,m=8,p=1$%s$%s", id, s16, d32);
	INVALID("argon2 without p", "%sm=8,t=1$%s$%s", id, s16, d32);
	INVALID("argon2 with a keyid", "%sm=8,t=1,p=1,keyid=AAAA$%s$%s", id, s16, d32);
	INVALID("argon2 with a space after a comma", "%sm=8, t=1,p=1$%s$%s", id, s16, d32);
	INVALID("argon2 version 16", "$argon2id$v=16$m=8,t=1,p=1$%s$%s", s16, d32);
	INVALID("argon2 version 019", "$argon2id$v=019$m=8,t=1,p=1$%s$%s", s16, d32);
	INVALID("argon2 without a version (argon2 1.0 strings)", "$argon2id$m=8,t=1,p=1$%s$%s", s16, d32);
	INVALID("argon2d", "$argon2d$v=19$m=8,t=1,p=1$%s$%s", s16, d32);
	INVALID("argon2 of no type", "$argon2$v=19$m=8,t=1,p=1$%s$%s", s16, d32);
	INVALID("argon2ID", "$argon2ID$v=19$m=8,t=1,p=1$%s$%s", s16, d32);
	VALID("8-byte salt", FR_HASH_ARGON2ID, "%sm=8,t=1,p=1$%s$%s", id, B(8), d32);
	INVALID("argon2 7-byte salt", "%sm=8,t=1,p=1$%s$%s", id, B(7), d32);
	VALID("64-byte salt", FR_HASH_ARGON2ID, "%sm=8,t=1,p=1$%s$%s", id, B(64), d32);
	INVALID("argon2 65-byte salt", "%sm=8,t=1,p=1$%s$%s", id, B(65), d32);
	VALID("16-byte digest", FR_HASH_ARGON2ID, "%sm=8,t=1,p=1$%s$%s", id, s16, B(16));
	INVALID("argon2 15-byte digest", "%sm=8,t=1,p=1$%s$%s", id, s16, B(15));
	VALID("64-byte digest", FR_HASH_ARGON2ID, "%sm=8,t=1,p=1$%s$%s", id, s16, B(64));
	INVALID("argon2 65-byte digest", "%sm=8,t=1,p=1$%s$%s", id, s16, B(65));
	INVALID("argon2 empty salt", "%sm=8,t=1,p=1$$%s", id, d32);
	INVALID("argon2 empty digest", "%sm=8,t=1,p=1$%s$", id, s16);
	INVALID("argon2 without a digest", "%sm=8,t=1,p=1$%s", id, s16);
	INVALID("argon2 padded salt", "%sm=8,t=1,p=1$%s==$%s", id, "c29tZXNhbHQ", d32);
	INVALID("argon2 padded digest", "%sm=8,t=1,p=1$%s$%s=", id, s16, d32);
	INVALID("argon2 salt in URL-safe base64", "%sm=8,t=1,p=1$c29tZXNh-HQxMjM0$%s", id, d32);
	INVALID("argon2 digest in URL-safe base64",
			"%sm=8,t=1,p=1$%s$sk6uiFhuoD7BI8ZqF6FHDm5xoEyXz_XR61iomFJjszY", id, s16);
	/* libsodium 1.0.18 decodes every byte from 0x80 up as '/' */
	INVALID("argon2 salt with byte 0x80 for a /", "%sm=8,t=1,p=1$c29tZXNh" "\x80" "HQxMjM0$%s", id, d32);
	INVALID("argon2 digest with byte 0xff for a /",
			"%sm=8,t=1,p=1$%s$sk6uiFhuoD7BI8ZqF6FHDm5xoEyXz" "\xff" "XR61iomFJjszY", id, s16);
	INVALID("argon2 salt with byte 0xd4", "%sm=8,t=1,p=1$c29tZXNh" "\xd4" "HQxMjM0$%s", id, d32);
	INVALID("argon2 salt of 4k+1 characters", "%sm=8,t=1,p=1$%s$%s", id, rep('A', 13), d32);
	/* stray bits: 22 characters hold 16 bytes and 4 spare bits */
	VALID("salt ending with no stray bits", FR_HASH_ARGON2ID, "%sm=8,t=1,p=1$%sA$%s", id, rep('A', 21), d32);
	INVALID("argon2 salt ending with a stray bit", "%sm=8,t=1,p=1$%sB$%s", id, rep('A', 21), d32);
	VALID("digest ending with no stray bits", FR_HASH_ARGON2ID, "%sm=8,t=1,p=1$%s$%sQ", id, s16, rep('A', 21));
	INVALID("argon2 digest ending with a stray bit", "%sm=8,t=1,p=1$%s$%sR", id, s16, rep('A', 21));
	INVALID("argon2 digest then a separator", "%sm=8,t=1,p=1$%s$%s$", id, s16, d32);
	INVALID("argon2 digest then a field", "%sm=8,t=1,p=1$%s$%s$%s", id, s16, d32, d32);

	/* the longest string accepted */
	{
		size_t		n;
		char	   *s = build(&n, "%sm=4194304,t=1000,p=524288$%s$%s", id, B(64), B(64));

		check(n == FR_HASH_MAX_LEN, "the longest accepted string is FR_HASH_MAX_LEN (%d) long (%zu)",
			  FR_HASH_MAX_LEN, n);
		expect_valid("the longest string accepted", s, n, FR_HASH_ARGON2ID);
		free(s);
	}
#undef B
}

static void
edges_other(void)
{
	static const char *const others[] = {
		"plaintext password",
		"$",
		"$$",
		"$2",
		"$2b",
		"$2b$",
		"$2b$04$",
		"$6",
		"$6$",
		"$argon2id",
		"$argon2id$",
		"$argon2id$v=19",
		"$argon2i$",
		"pbkdf2_sha256",
		"pbkdf2_sha256$",
		"pbkdf2_sha256$$$",
		"pbkdf2_sha256$1$$",
		"md5$salt$0123456789abcdef0123456789abcdef",
		"sha1$salt$0123456789abcdef0123456789abcdef01234567",
		"unsalted_md5$$0123456789abcdef0123456789abcdef",
		"0123456789abcdef0123456789abcdef",
		"{SSHA}c2FsdHNhbHRzYWx0c2FsdHNhbHQ=",
		"*",
		"!",
		"!$6$saltsalt$",
		"$7$CU..../....saltsalt$0123456789",
		"$scrypt$ln=16,r=8,p=1$c2FsdA$c2FsdA",
		"$pbkdf2-sha256$29000$c2FsdA$c2FsdA",
	};

	expect_invalid("the empty string", "", 0);
	{
		FrHashParams params;
		const char *reason = "unset";

		check(fr_hash_parse(NULL, 0, &params, &reason) == FR_HASH_INVALID &&
			  reason_ok(reason, "", 0) && params_zero(&params),
			  "a NULL hash is invalid, with a reason");
		check(fr_hash_verify(NULL, 0, "password", 8) == -1, "verify of a NULL hash: -1");
		check(fr_hash_needs_rehash(NULL, 0, 2, 19456 * 1024), "needs_rehash of a NULL hash: true");
		check(fr_hash_check("$2b$04$", 7, NULL) == FR_HASH_INVALID,
			  "fr_hash_check with a NULL reason pointer");
	}
	for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++)
		expect_invalid(others[i], others[i], strlen(others[i]));

	/* 64 kB of a valid-looking start */
	{
		size_t		n = 65536;
		char	   *s = xmalloc(n);

		memset(s, 'A', n);
		memcpy(s, "$argon2id$v=19$m=8,t=1,p=1$", 27);
		expect_invalid("an argon2 string of 64 kB", s, n);
		memset(s, '9', n);
		memcpy(s, "pbkdf2_sha256$", 14);
		expect_invalid("pbkdf2 iterations of 65522 digits", s, n);
		free(s);
	}

	check(strcmp(fr_hash_format_name(FR_HASH_ARGON2ID), "argon2id") == 0 &&
		  strcmp(fr_hash_format_name(FR_HASH_ARGON2I), "argon2i") == 0 &&
		  strcmp(fr_hash_format_name(FR_HASH_BCRYPT), "bcrypt") == 0 &&
		  strcmp(fr_hash_format_name(FR_HASH_SHA512CRYPT), "sha512crypt") == 0 &&
		  strcmp(fr_hash_format_name(FR_HASH_PBKDF2_SHA256), "pbkdf2_sha256") == 0 &&
		  strcmp(fr_hash_format_name(FR_HASH_INVALID), "invalid") == 0 &&
		  strcmp(fr_hash_format_name((FrHashFormat) 99), "invalid") == 0,
		  "format names");
}

/* ------------------------------------------------------------------------
 * Decoys
 * ------------------------------------------------------------------------
 */

static void
decoys(void)
{
	char		buf[FR_HASH_MAX_LEN + 1];

	for (int i = 0; i < nkats; i++)
	{
		const Kat  *k = &kats[i];
		size_t		n = fr_hash_decoy(&k->params, buf, sizeof(buf));
		FrHashParams got;
		int			v;

		if (!check(n > 0 && n == strlen(buf) &&
				   parse_copy(buf, n, &got, NULL) == k->params.format &&
				   params_equal(&got, &k->params),
				   "decoy for %s: well formed, same parameters", k->label))
		{
			diag("decoy %s", shown(buf, n));
			continue;
		}
		v = verify_copy(buf, n, k->password, k->pwlen);
		check(v == 0, "decoy for %s: the password does not match it (verify %d)", k->label, v);
		check(fr_hash_decoy(&k->params, buf, n) == 0,
			  "decoy for %s: a buffer one byte short gives none", k->label);
	}

	{
		static const FrHashParams bad[] = {
			{FR_HASH_INVALID, 0, 0, 0, 0, 0},
			{FR_HASH_BCRYPT, 3, 0, 0, 22, 31},
			{FR_HASH_BCRYPT, 32, 0, 0, 22, 31},
			{FR_HASH_BCRYPT, 10, 0, 0, 21, 31},
			{FR_HASH_SHA512CRYPT, 999, 0, 0, 16, 86},
			{FR_HASH_SHA512CRYPT, FR_SHA512CRYPT_ROUNDS_MAX + 1, 0, 0, 16, 86},
			{FR_HASH_SHA512CRYPT, 5000, 0, 0, 17, 86},
			{FR_HASH_SHA512CRYPT, 5000, 0, 0, 0, 86},
			{FR_HASH_PBKDF2_SHA256, 0, 0, 0, 22, 32},
			{FR_HASH_PBKDF2_SHA256, FR_PBKDF2_ITERATIONS_MAX + 1, 0, 0, 22, 32},
			{FR_HASH_PBKDF2_SHA256, 1000, 0, 0, 65, 32},
			{FR_HASH_PBKDF2_SHA256, 1000, 0, 0, 22, 31},
			{FR_HASH_ARGON2ID, 2, 7, 1, 16, 32},
			{FR_HASH_ARGON2ID, 2, 15, 2, 16, 32},
			{FR_HASH_ARGON2ID, 0, 19456, 1, 16, 32},
			{FR_HASH_ARGON2ID, 1001, 19456, 1, 16, 32},
			{FR_HASH_ARGON2I, 2, FR_ARGON2_M_MAX + 1, 1, 16, 32},
			{FR_HASH_ARGON2I, 2, 19456, 1, 7, 32},
			{FR_HASH_ARGON2I, 2, 19456, 1, 16, 65},
			{(FrHashFormat) 42, 2, 19456, 1, 16, 32},
		};
		bool		none = true;

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		{
			if (fr_hash_decoy(&bad[i], buf, sizeof(buf)) != 0 || buf[0] != '\0')
			{
				none = false;
				diag("a decoy for %s", params_text(&bad[i]));
			}
		}
		check(none, "no decoy for parameters out of bounds (%zu sets)",
			  sizeof(bad) / sizeof(bad[0]));
		check(fr_hash_decoy(NULL, buf, sizeof(buf)) == 0 &&
			  fr_hash_decoy(&kats[0].params, NULL, 100) == 0 &&
			  fr_hash_decoy(&kats[0].params, buf, 0) == 0,
			  "no decoy without parameters or buffer");
	}
}

/* ------------------------------------------------------------------------
 * Threads
 * ------------------------------------------------------------------------
 */

#define NTHREADS 4
#define ROUNDS 3

static void *
thread_main(void *arg)
{
	int		   *failures = arg;

	for (int r = 0; r < ROUNDS; r++)
	{
		for (int i = 0; i < nkats; i++)
		{
			const Kat  *k = &kats[i];

			if (!kat_cheap(k))
				continue;
			if (fr_hash_verify(k->hash, k->hashlen, (const char *) k->password, k->pwlen) != 1)
				(*failures)++;
			if (fr_hash_verify(k->hash, k->hashlen, "wrong password", 14) != 0)
				(*failures)++;
		}
	}
	return NULL;
}

static void
threads(void)
{
	pthread_t	tids[NTHREADS];
	int			failures[NTHREADS] = {0};
	int			started = 0;
	int			total = 0;
	int			cheap = 0;

	for (int i = 0; i < nkats; i++)
		cheap += kat_cheap(&kats[i]);
	for (int t = 0; t < NTHREADS; t++)
	{
		if (pthread_create(&tids[t], NULL, thread_main, &failures[t]) == 0)
			started++;
		else
			break;
	}
	for (int t = 0; t < started; t++)
	{
		pthread_join(tids[t], NULL);
		total += failures[t];
	}
	check(started == NTHREADS && total == 0 && cheap >= 10,
		  "%d threads, %d rounds over %d cheap known hashes at once: every answer right (%d wrong)",
		  started, ROUNDS, cheap, total);
}

int
main(int argc, char **argv)
{
	if (sodium_init() < 0)
	{
		printf("not ok 1 - sodium_init\n1..1\n");
		return 1;
	}
	if (argc != 2 || !read_kats(argv[1]))
	{
		printf("not ok 1 - known answers read from %s\n1..1\n", argc > 1 ? argv[1] : "(no file given)");
		return 1;
	}
	check(nkats >= 25 && nrehashes >= nkats, "%d known hashes and %d rehash cases read from %s",
		  nkats, nrehashes, argv[1]);
	{
		int			per[FR_HASH_NFORMATS] = {0};
		bool		each = true;

		for (int i = 0; i < nkats; i++)
			per[kats[i].params.format]++;
		for (int f = 1; f < FR_HASH_NFORMATS; f++)
			each = each && per[f] >= 2;
		check(each, "at least two known hashes of every format");
	}

	known_answers();
	spoilt();
	edges_bcrypt();
	edges_sha512crypt();
	edges_pbkdf2();
	edges_argon2();
	edges_other();
	decoys();
	threads();

	for (int i = 0; i < nkats; i++)
	{
		free(kats[i].label);
		free(kats[i].password);
		free(kats[i].hash);
	}
	for (int i = 0; i < nrehashes; i++)
	{
		free(rehashes[i].label);
		free(rehashes[i].hash);
	}
	printf("1..%d\n", tests_run);
	return tests_failed == 0 ? 0 : 1;
}
