/*-------------------------------------------------------------------------
 *
 * pwformat.h
 *	  Stored password hashes in the formats a migration brings along:
 *	  recognising them, bounding their costs, verifying a password against
 *	  them, and telling whether one should be re-hashed.
 *
 * Plain C11 over byte strings, like validate.h: no PostgreSQL headers, no
 * allocation of our own (the libraries allocate what they need), no global
 * state but constants, safe to call from several threads at once.  That lets
 * it be unit-tested and fuzzed outside the server.  No algorithm is written
 * here: argon2 is libsodium's, bcrypt and sha512-crypt are libxcrypt's
 * (crypt_rn), PBKDF2 is OpenSSL's (PKCS5_PBKDF2_HMAC); base64 is decoded by
 * libsodium.  The caller must have called sodium_init() once (the extension
 * does in _PG_init); libxcrypt and OpenSSL need no set-up.
 *
 * Accepted formats, parsed strictly: exactly these characters and lengths,
 * decimal numbers without sign, spaces or leading zeros, nothing after the
 * last field, no NUL byte anywhere.  A string that breaks any rule below is
 * FR_HASH_INVALID, with a reason.
 *
 *	argon2id, argon2i (PHC strings, as libsodium and the argon2 tool write them)
 *		$argon2id$v=19$m=M,t=T,p=P$SALT$DIGEST	(or $argon2i$...)
 *		version 19 only (v= is required); M in KiB, FR_ARGON2_M_MIN..MAX
 *		and at least 8 KiB per lane (M >= 8 * P); T FR_ARGON2_T_MIN..MAX;
 *		P FR_ARGON2_P_MIN..MAX, libsodium's own limit, so at most M / 8
 *		(524,288 at the memory ceiling); libsodium computes the lanes one
 *		after the other, so P does not change the cost, M and T do;
 *		SALT and DIGEST unpadded standard base64 (A-Za-z0-9+/) of 8..64 and
 *		16..64 bytes, with no stray bits in the last character.  The bounds
 *		on M and T are those of farmreg.password_memlimit and
 *		farmreg.password_opslimit, so every hash farmreg can write is one it
 *		can import.
 *
 *	bcrypt (crypt_blowfish, OpenBSD, PHP, Ruby's bcrypt, Node's bcrypt)
 *		$2a$CC$ + 22 salt + 31 digest characters, 60 in all; also $2b$ and
 *		$2y$ (the same algorithm in libxcrypt).  $2x$ (crypt_blowfish's
 *		compatibility mode for its old sign-extension bug) is refused.  CC is
 *		two digits, 04..31 (the cost is 2^CC rounds).  Alphabet ./A-Za-z0-9;
 *		the last salt character must be one of . O e u and the last digest
 *		character one of . C G K O S W a e i m q u y 2 6 (the others carry
 *		bits that bcrypt never writes; libxcrypt would re-encode them and the
 *		right password would not match).  $2a$ is computed as crypt_blowfish
 *		does (PHP, Ruby's bcrypt): for a password with a 0xFF byte, which
 *		UTF-8 never has, that differs from what OpenBSD-derived code (Python's
 *		bcrypt) wrote for $2a$, and such a hash does not verify.
 *
 *	sha512-crypt (glibc, libxcrypt, mkpasswd, PHP's CRYPT_SHA512)
 *		$6$SALT$DIGEST or $6$rounds=N$SALT$DIGEST; N without leading zeros,
 *		FR_SHA512CRYPT_ROUNDS_MIN..MAX (without rounds= the algorithm's
 *		default, 5000, applies); SALT 1..16 characters and DIGEST exactly 86
 *		characters of ./0-9A-Za-z, the last one . / 0 or 1.
 *
 *	Django's PBKDF2 (django.contrib.auth.hashers.PBKDF2PasswordHasher)
 *		pbkdf2_sha256$ITERATIONS$SALT$DIGEST; ITERATIONS
 *		FR_PBKDF2_ITERATIONS_MIN..MAX; SALT 1..64 printable ASCII characters
 *		other than '$' (used as it stands, as Django does; Django writes
 *		letters and digits); DIGEST the padded standard base64 of the 32-byte
 *		PBKDF2-HMAC-SHA256 output (44 characters, ending in '=').
 *
 * Cost ceilings, measured with bench/pwformat on the 2-core development VM
 * (AMD EPYC; CPU time of one verification, on a loaded machine):
 *	- PBKDF2 costs about 0.26 us an iteration whatever the password's length:
 *	  Django 5.2's default of 1,000,000 iterations about 0.27 s, the ceiling
 *	  of 5,000,000 about 1.3 s.
 *	- sha512-crypt costs 0.28 us a round for an 8-byte password, 0.48 us for
 *	  28 bytes and about 2 to 2.6 us for 511 (each round hashes the password
 *	  again): the default 5,000 rounds take 2.4 ms, passlib's 656,000 about
 *	  0.33 s, the ceiling of 1,000,000 about 0.5 s for a 28-byte password and
 *	  2.6 s at worst.
 *	- bcrypt's ceiling, cost 31, is the format's own: each step of cost
 *	  doubles the time (cost 10 about 60 ms, 12 about 0.25 s, 14 about 1 s),
 *	  so cost 31 would take some 36 hours; bcrypt uses 72 bytes of any
 *	  password, so length does not matter.
 *	- argon2 costs about 1.25 us per KiB of M and pass of T (19 MiB, t=2:
 *	  about 50 ms), and M of memory.
 * PBKDF2 and sha512-crypt are thus held to seconds.  bcrypt and argon2 keep
 * the bounds of their format and of farmreg's own settings, which allow far
 * slower hashes (bcrypt above cost 15; argon2 at 4 GiB and t=1000 would take
 * some 90 minutes): an import should refuse such costs if it must.
 *
 * Passwords are byte strings (farmreg hands over UTF-8).  What the
 * algorithms' libraries do with them, and therefore what verification does:
 *	- bcrypt uses only the first 72 bytes of a password, in every
 *	  implementation; only those are passed on, so a longer password
 *	  verifies as it did in the legacy system.
 *	- bcrypt and sha512-crypt take C strings: a password containing a NUL
 *	  byte (in the part that is used) never matches.  libxcrypt refuses
 *	  passphrases of CRYPT_MAX_PASSPHRASE_SIZE (512) bytes or more, so a
 *	  sha512-crypt hash never matches such a password.
 *	- argon2 and PBKDF2 take the bytes as they are.  PBKDF2 keys HMAC with
 *	  the password, and HMAC pads a key of up to 64 bytes with zeros, so
 *	  such a password and the same one with NUL bytes after it verify alike
 *	  (as in Django; PostgreSQL text never holds a NUL).
 *
 *-------------------------------------------------------------------------
 */
#ifndef FARMREG_PWFORMAT_H
#define FARMREG_PWFORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum FrHashFormat
{
	FR_HASH_INVALID = 0,		/* malformed, unsupported, or costs out of
								 * bounds */
	FR_HASH_ARGON2ID,			/* $argon2id$v=19$m=..,t=..,p=..$salt$digest */
	FR_HASH_ARGON2I,			/* $argon2i$v=19$m=..,t=..,p=..$salt$digest */
	FR_HASH_BCRYPT,				/* $2a$ / $2b$ / $2y$ NN $ 53 characters */
	FR_HASH_SHA512CRYPT,		/* $6$[rounds=N$]salt$86 characters */
	FR_HASH_PBKDF2_SHA256		/* pbkdf2_sha256$iterations$salt$base64 */
} FrHashFormat;

#define FR_HASH_NFORMATS		6

/* Bounds, inclusive. */
#define FR_ARGON2_M_MIN			8	/* KiB: argon2's minimum, 8 per lane */
#define FR_ARGON2_M_MAX			4194304 /* KiB = 4 GiB,
										 * farmreg.password_memlimit's max */
#define FR_ARGON2_T_MIN			1
#define FR_ARGON2_T_MAX			1000	/* farmreg.password_opslimit's max */
#define FR_ARGON2_P_MIN			1
#define FR_ARGON2_P_MAX			16777215	/* 2^24 - 1, libsodium's limit */
#define FR_ARGON2_SALT_MIN		8	/* bytes */
#define FR_ARGON2_SALT_MAX		64
#define FR_ARGON2_DIGEST_MIN	16
#define FR_ARGON2_DIGEST_MAX	64
#define FR_BCRYPT_COST_MIN		4
#define FR_BCRYPT_COST_MAX		31
#define FR_BCRYPT_PASSWORD_MAX	72	/* bytes bcrypt uses */
#define FR_SHA512CRYPT_ROUNDS_MIN	1000
#define FR_SHA512CRYPT_ROUNDS_MAX	1000000
#define FR_SHA512CRYPT_ROUNDS_DEFAULT 5000	/* when rounds= is absent */
#define FR_SHA512CRYPT_SALT_MAX	16
#define FR_PBKDF2_ITERATIONS_MIN 1
#define FR_PBKDF2_ITERATIONS_MAX 5000000
#define FR_PBKDF2_SALT_MAX		64

/*
 * No accepted hash is longer than this: the longest argon2 string,
 * "$argon2id$v=19$m=4194304,t=1000,p=524288$" (41) + 86 + "$" + 86.
 */
#define FR_HASH_MAX_LEN			214

/*
 * What a stored hash says about itself.  cost is, per format: argon2 the
 * passes (t), bcrypt the log2 cost (CC), sha512-crypt the rounds (5000 when
 * the hash names none), PBKDF2 the iterations.  memory_kib and lanes are
 * argon2's m and p (0 otherwise); salt_len and digest_len are in bytes for
 * argon2, in characters for the others (bcrypt: 22 and 31; sha512-crypt: the
 * salt and 86; PBKDF2: the salt and 32 bytes).
 */
typedef struct FrHashParams
{
	FrHashFormat format;
	uint32_t	cost;
	uint32_t	memory_kib;
	uint32_t	lanes;
	uint32_t	salt_len;
	uint32_t	digest_len;
} FrHashParams;

/*
 * Well-formedness and cost bounds of a stored hash, without computing
 * anything expensive.  Returns the format, or FR_HASH_INVALID with *reason
 * set to a short static English phrase for a migration author (e.g. "bcrypt
 * cost must be between 4 and 31").  The reason never quotes the hash: it is
 * one of a fixed set of constant phrases, none with a '$'.  *reason is NULL
 * for a valid hash; reason may be NULL.
 */
extern FrHashFormat fr_hash_check(const char *hash, size_t len,
								  const char **reason);

/*
 * fr_hash_check, and the hash's parameters in *params (all zero, with
 * format FR_HASH_INVALID, when it is invalid).  params and reason may be NULL.
 */
extern FrHashFormat fr_hash_parse(const char *hash, size_t len,
								  FrHashParams *params, const char **reason);

/*
 * 1 when password matches hash, 0 when it does not, -1 when hash is not a
 * valid stored hash (fr_hash_check says FR_HASH_INVALID) or a library could
 * not run (out of memory; a password longer than libsodium's 2^32 - 1 bytes
 * or OpenSSL's INT_MAX).  Digests are compared in constant time.  bcrypt and
 * sha512-crypt use a struct crypt_data (32 KiB) on the stack.
 *
 * libsodium 1.0.18 reports a failure to allocate argon2's memory as a
 * mismatch, so for argon2 an allocation failure answers 0.
 */
extern int	fr_hash_verify(const char *hash, size_t hashlen,
						   const char *password, size_t pwlen);

/*
 * True unless hash is exactly what crypto_pwhash_argon2id_str writes at
 * these costs: argon2id, libsodium's crypto_pwhash_argon2id_str_needs_rehash
 * says no (same t = opslimit and m = memlimit_bytes / 1024), and one lane,
 * a 16-byte salt and a 32-byte digest (libsodium's check ignores those, so
 * an imported p=4 argon2id would otherwise never be upgraded).  Always true
 * for every other format and for an invalid hash.
 */
extern bool fr_hash_needs_rehash(const char *hash, size_t len,
								 unsigned long long opslimit,
								 size_t memlimit_bytes);

/*
 * Writes into buf (NUL-terminated) a well-formed hash of params->format
 * with the costs, lanes and salt and digest lengths of params, a fixed salt
 * and an all-zero digest: verifying any password against it costs what
 * verifying against a real hash with those parameters costs.  For an
 * unknown login to take as long as a wrong password.  Returns its length,
 * or 0 when params are not those of a valid hash (fr_hash_parse's answer for
 * a valid hash always is) or buf is too small (FR_HASH_MAX_LEN + 1 always
 * suffices).
 */
extern size_t fr_hash_decoy(const FrHashParams *params, char *buf,
							size_t buflen);

/* "argon2id", "argon2i", "bcrypt", "sha512crypt", "pbkdf2_sha256", "invalid" */
extern const char *fr_hash_format_name(FrHashFormat format);

#endif							/* FARMREG_PWFORMAT_H */
