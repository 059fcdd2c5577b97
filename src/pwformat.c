/*-------------------------------------------------------------------------
 *
 * pwformat.c
 *	  Stored password hashes of the formats a migration brings along (see
 *	  pwformat.h for the formats, their bounds and what verification does
 *	  with a password).
 *
 * The parser (fr_hash_parse and its per-format helpers) reads a hash
 * strictly, field by field, and computes nothing expensive: it is what an
 * import runs on every row, and what the fuzz target in fuzz/ holds to a
 * grammar written independently.  Verification, the re-hash rule and the
 * decoys all parse first; verification then hands only a string the parser
 * accepted to the library that owns the algorithm, so it answers -1 for
 * every string the parser rejects and, short of a library failure, for no
 * other.
 *
 * Nothing is static but constants, and every buffer is on the stack (at most
 * a struct crypt_data, 32 KiB), so any number of threads may call in at once.
 * Copies of a password are wiped before returning.
 *
 *-------------------------------------------------------------------------
 */
#include "pwformat.h"

#include <crypt.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <sodium.h>

#define STRINGIFY_(x) #x
#define STRINGIFY(x) STRINGIFY_(x)

/* What crypto_pwhash_argon2id_str writes: a 16-byte salt, a 32-byte digest. */
#define SODIUM_STR_SALT_BYTES	crypto_pwhash_argon2id_SALTBYTES
#define SODIUM_STR_DIGEST_BYTES 32

#define BCRYPT_LEN				60
#define BCRYPT_SALT_CHARS		22
#define BCRYPT_DIGEST_CHARS		31
#define SHA512CRYPT_DIGEST_CHARS 86
#define PBKDF2_DIGEST_BYTES		32
#define PBKDF2_DIGEST_CHARS		44	/* padded base64 of 32 bytes */

/*
 * Reasons.  Static, English, for a migration author; none contains '$' or
 * any part of the hash it is about.
 */
#define R_EMPTY			"the password hash is empty"
#define R_UNRECOGNIZED	"unrecognized password hash format: expected argon2id, argon2i, " \
						"bcrypt (2a, 2b, 2y), sha512-crypt or Django's pbkdf2_sha256"
#define R_ARGON2D		"argon2d hashes are not supported (argon2id and argon2i are)"
#define R_ARGON2_VERSION "an argon2 hash must give version 19 (v=19) after its type"
#define R_ARGON2_LAYOUT	"an argon2 hash must give m=, t= and p=, in that order, " \
						"then a salt and a digest, each field after a dollar sign"
#define R_ARGON2_NUMBER	"argon2 costs must be decimal numbers without leading zeros"
#define R_ARGON2_M		"argon2 memory (m) must be between " STRINGIFY(FR_ARGON2_M_MIN) \
						" and " STRINGIFY(FR_ARGON2_M_MAX) " KiB"
#define R_ARGON2_T		"argon2 passes (t) must be between " STRINGIFY(FR_ARGON2_T_MIN) \
						" and " STRINGIFY(FR_ARGON2_T_MAX)
#define R_ARGON2_P		"argon2 parallelism (p) must be between " STRINGIFY(FR_ARGON2_P_MIN) \
						" and " STRINGIFY(FR_ARGON2_P_MAX)
#define R_ARGON2_M_PER_LANE "argon2 memory (m) must be at least 8 KiB per lane (p)"
#define R_ARGON2_SALT	"an argon2 salt must be unpadded base64 of " \
						STRINGIFY(FR_ARGON2_SALT_MIN) " to " STRINGIFY(FR_ARGON2_SALT_MAX) " bytes"
#define R_ARGON2_DIGEST	"an argon2 digest must be unpadded base64 of " \
						STRINGIFY(FR_ARGON2_DIGEST_MIN) " to " STRINGIFY(FR_ARGON2_DIGEST_MAX) \
						" bytes, with nothing after it"
#define R_BCRYPT_2X		"bcrypt variant 2x (crypt_blowfish's mode for its old bug) is not supported"
#define R_BCRYPT_VARIANT "unrecognized bcrypt variant: expected 2a, 2b or 2y"
#define R_BCRYPT_LEN	"a bcrypt hash must be exactly 60 characters long"
#define R_BCRYPT_COST_FORM "a bcrypt cost must be two digits followed by a dollar sign"
#define R_BCRYPT_COST	"bcrypt cost must be between " STRINGIFY(FR_BCRYPT_COST_MIN) \
						" and " STRINGIFY(FR_BCRYPT_COST_MAX)
#define R_BCRYPT_CHARS	"a bcrypt salt and digest must be 53 characters from ./A-Za-z0-9"
#define R_BCRYPT_BITS	"a bcrypt salt or digest ends in a character that bcrypt never writes"
#define R_SHA512_ROUNDS_FORM "sha512-crypt rounds must be a decimal number without leading " \
						"zeros, followed by a dollar sign"
#define R_SHA512_ROUNDS	"sha512-crypt rounds must be between " \
						STRINGIFY(FR_SHA512CRYPT_ROUNDS_MIN) " and " \
						STRINGIFY(FR_SHA512CRYPT_ROUNDS_MAX)
#define R_SHA512_LAYOUT	"a sha512-crypt hash must have a salt and a digest separated by a dollar sign"
#define R_SHA512_SALT	"a sha512-crypt salt must be 1 to " STRINGIFY(FR_SHA512CRYPT_SALT_MAX) \
						" characters from ./0-9A-Za-z"
#define R_SHA512_DIGEST	"a sha512-crypt digest must be 86 characters from ./0-9A-Za-z, " \
						"with nothing after it"
#define R_SHA512_BITS	"a sha512-crypt digest ends in a character that sha512-crypt never writes"
#define R_PBKDF2_LAYOUT	"a pbkdf2_sha256 hash must be the algorithm, iterations, salt and " \
						"digest, separated by dollar signs"
#define R_PBKDF2_NUMBER	"pbkdf2 iterations must be a decimal number without leading zeros"
#define R_PBKDF2_ITER	"pbkdf2 iterations must be between " \
						STRINGIFY(FR_PBKDF2_ITERATIONS_MIN) " and " \
						STRINGIFY(FR_PBKDF2_ITERATIONS_MAX)
#define R_PBKDF2_SALT	"a pbkdf2 salt must be 1 to " STRINGIFY(FR_PBKDF2_SALT_MAX) \
						" printable ASCII characters other than the dollar sign"
#define R_PBKDF2_DIGEST	"a pbkdf2_sha256 digest must be the padded base64 of 32 bytes " \
						"(44 characters), with nothing after it"

static const char *const format_names[FR_HASH_NFORMATS] = {
	"invalid", "argon2id", "argon2i", "bcrypt", "sha512crypt", "pbkdf2_sha256"
};

/*
 * A parsed hash: the public parameters, and for PBKDF2 (the one format whose
 * library takes the pieces rather than the whole string) the salt text and
 * the decoded digest.
 */
typedef struct Parsed
{
	FrHashParams params;
	const char *salt;
	unsigned char digest[PBKDF2_DIGEST_BYTES];
} Parsed;

/* ------------------------------------------------------------------------
 * Characters and numbers
 * ------------------------------------------------------------------------
 */

/* Value of c in crypt's base64 alphabet ./0-9A-Za-z, or -1. */
static int
crypt64_value(unsigned char c)
{
	if (c == '.' || c == '/')
		return c - '.';
	if (c >= '0' && c <= '9')
		return c - '0' + 2;
	if (c >= 'A' && c <= 'Z')
		return c - 'A' + 12;
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 38;
	return -1;
}

/* Value of c in bcrypt's base64 alphabet ./A-Za-z0-9, or -1. */
static int
bcrypt64_value(unsigned char c)
{
	if (c == '.' || c == '/')
		return c - '.';
	if (c >= 'A' && c <= 'Z')
		return c - 'A' + 2;
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 28;
	if (c >= '0' && c <= '9')
		return c - '0' + 54;
	return -1;
}

/*
 * Reads the decimal number starting at *p (before end): one digit or more,
 * no leading zero.  Advances *p past the digits and stores the value in
 * *value, saturated at UINT64_MAX.  False when there is no digit or the
 * number has a leading zero.
 */
static bool
read_number(const char **p, const char *end, uint64_t *value)
{
	const char *s = *p;
	uint64_t	v = 0;

	while (s < end && *s >= '0' && *s <= '9')
	{
		unsigned	d = (unsigned) (*s - '0');

		v = v > (UINT64_MAX - d) / 10 ? UINT64_MAX : v * 10 + d;
		s++;
	}
	if (s == *p || (**p == '0' && s - *p > 1))
		return false;
	*p = s;
	*value = v;
	return true;
}

/* Whether [*p, end) starts with lit; if so, advances *p past it. */
static bool
take(const char **p, const char *end, const char *lit)
{
	size_t		n = strlen(lit);

	if ((size_t) (end - *p) < n || memcmp(*p, lit, n) != 0)
		return false;
	*p += n;
	return true;
}

/* Whether s[0..len) starts with lit. */
static bool
starts_with(const char *s, size_t len, const char *lit)
{
	size_t		n = strlen(lit);

	return len >= n && memcmp(s, lit, n) == 0;
}

/*
 * Decodes s[0..n) as standard base64 (libsodium's variant says whether with
 * padding) into bin (at most binmax bytes): true when all of it is canonical
 * base64 (libsodium refuses stray bits in the last character and, with
 * padding, wrong padding).
 *
 * The characters are checked here first: libsodium 1.0.18's decoder takes
 * every byte from 0x80 to 0xFF for '/' (where char is signed, as on x86;
 * fixed in libsodium 1.0.22), and libsodium's argon2 verification
 * decodes the same way, so such a byte would pass for a '/'.
 */
static bool
decode_base64(const char *s, size_t n, unsigned char *bin, size_t binmax,
			  size_t *binlen, int variant)
{
	const char *b64_end;

	for (size_t i = 0; i < n; i++)
	{
		unsigned char c = (unsigned char) s[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			  (c >= '0' && c <= '9') || c == '+' || c == '/' || c == '='))
			return false;
	}
	if (sodium_base642bin(bin, binmax, s, n, NULL, binlen, &b64_end,
						  variant) != 0)
		return false;
	return b64_end == s + n;
}

/* ------------------------------------------------------------------------
 * The parsers.  Each gets the whole hash and the length of the prefix that
 * chose it, fills *out and returns the format, or returns FR_HASH_INVALID
 * with *reason set.
 * ------------------------------------------------------------------------
 */

static FrHashFormat
parse_argon2(const char *s, size_t len, size_t prefix, FrHashFormat format,
			 Parsed *out, const char **reason)
{
	const char *p = s + prefix;
	const char *end = s + len;
	const char *dollar;
	uint64_t	version,
				m,
				t,
				lanes;
	unsigned char bin[FR_ARGON2_SALT_MAX > FR_ARGON2_DIGEST_MAX ?
					  FR_ARGON2_SALT_MAX : FR_ARGON2_DIGEST_MAX];
	size_t		salt_len,
				digest_len;

	if (!take(&p, end, "v=") || !read_number(&p, end, &version) ||
		version != 19)
	{
		*reason = R_ARGON2_VERSION;
		return FR_HASH_INVALID;
	}
	if (!take(&p, end, "$m="))
	{
		*reason = R_ARGON2_LAYOUT;
		return FR_HASH_INVALID;
	}
	if (!read_number(&p, end, &m))
	{
		*reason = R_ARGON2_NUMBER;
		return FR_HASH_INVALID;
	}
	if (!take(&p, end, ",t="))
	{
		*reason = R_ARGON2_LAYOUT;
		return FR_HASH_INVALID;
	}
	if (!read_number(&p, end, &t))
	{
		*reason = R_ARGON2_NUMBER;
		return FR_HASH_INVALID;
	}
	if (!take(&p, end, ",p="))
	{
		*reason = R_ARGON2_LAYOUT;
		return FR_HASH_INVALID;
	}
	if (!read_number(&p, end, &lanes))
	{
		*reason = R_ARGON2_NUMBER;
		return FR_HASH_INVALID;
	}
	if (!take(&p, end, "$") ||
		(dollar = memchr(p, '$', (size_t) (end - p))) == NULL)
	{
		*reason = R_ARGON2_LAYOUT;
		return FR_HASH_INVALID;
	}
	if (m < FR_ARGON2_M_MIN || m > FR_ARGON2_M_MAX)
	{
		*reason = R_ARGON2_M;
		return FR_HASH_INVALID;
	}
	if (t < FR_ARGON2_T_MIN || t > FR_ARGON2_T_MAX)
	{
		*reason = R_ARGON2_T;
		return FR_HASH_INVALID;
	}
	if (lanes < FR_ARGON2_P_MIN || lanes > FR_ARGON2_P_MAX)
	{
		*reason = R_ARGON2_P;
		return FR_HASH_INVALID;
	}
	if (m < 8 * lanes)
	{
		*reason = R_ARGON2_M_PER_LANE;
		return FR_HASH_INVALID;
	}
	if (!decode_base64(p, (size_t) (dollar - p), bin, FR_ARGON2_SALT_MAX,
					   &salt_len, sodium_base64_VARIANT_ORIGINAL_NO_PADDING) ||
		salt_len < FR_ARGON2_SALT_MIN)
	{
		*reason = R_ARGON2_SALT;
		return FR_HASH_INVALID;
	}
	p = dollar + 1;
	if (!decode_base64(p, (size_t) (end - p), bin, FR_ARGON2_DIGEST_MAX,
					   &digest_len, sodium_base64_VARIANT_ORIGINAL_NO_PADDING) ||
		digest_len < FR_ARGON2_DIGEST_MIN)
	{
		*reason = R_ARGON2_DIGEST;
		return FR_HASH_INVALID;
	}

	out->params.cost = (uint32_t) t;
	out->params.memory_kib = (uint32_t) m;
	out->params.lanes = (uint32_t) lanes;
	out->params.salt_len = (uint32_t) salt_len;
	out->params.digest_len = (uint32_t) digest_len;
	return format;
}

/* s starts with $2a$, $2b$ or $2y$. */
static FrHashFormat
parse_bcrypt(const char *s, size_t len, Parsed *out, const char **reason)
{
	unsigned	cost;

	if (len != BCRYPT_LEN)
	{
		*reason = R_BCRYPT_LEN;
		return FR_HASH_INVALID;
	}
	if (s[4] < '0' || s[4] > '9' || s[5] < '0' || s[5] > '9' || s[6] != '$')
	{
		*reason = R_BCRYPT_COST_FORM;
		return FR_HASH_INVALID;
	}
	cost = (unsigned) (s[4] - '0') * 10 + (unsigned) (s[5] - '0');
	if (cost < FR_BCRYPT_COST_MIN || cost > FR_BCRYPT_COST_MAX)
	{
		*reason = R_BCRYPT_COST;
		return FR_HASH_INVALID;
	}
	for (size_t i = 7; i < BCRYPT_LEN; i++)
	{
		if (bcrypt64_value((unsigned char) s[i]) < 0)
		{
			*reason = R_BCRYPT_CHARS;
			return FR_HASH_INVALID;
		}
	}

	/*
	 * The salt is 16 bytes in 22 characters (4 bits spare in the last), the
	 * digest 23 bytes in 31 (2 bits spare): bcrypt writes the spare bits as
	 * zeros and re-encodes the salt it read, so other values never match.
	 */
	if (bcrypt64_value((unsigned char) s[7 + BCRYPT_SALT_CHARS - 1]) % 16 != 0 ||
		bcrypt64_value((unsigned char) s[BCRYPT_LEN - 1]) % 4 != 0)
	{
		*reason = R_BCRYPT_BITS;
		return FR_HASH_INVALID;
	}

	out->params.cost = cost;
	out->params.salt_len = BCRYPT_SALT_CHARS;
	out->params.digest_len = BCRYPT_DIGEST_CHARS;
	return FR_HASH_BCRYPT;
}

/* s starts with $6$. */
static FrHashFormat
parse_sha512crypt(const char *s, size_t len, Parsed *out, const char **reason)
{
	const char *p = s + 3;
	const char *end = s + len;
	const char *dollar;
	uint64_t	rounds = FR_SHA512CRYPT_ROUNDS_DEFAULT;
	size_t		salt_len;

	if (take(&p, end, "rounds="))
	{
		if (!read_number(&p, end, &rounds) || !take(&p, end, "$"))
		{
			*reason = R_SHA512_ROUNDS_FORM;
			return FR_HASH_INVALID;
		}
		if (rounds < FR_SHA512CRYPT_ROUNDS_MIN ||
			rounds > FR_SHA512CRYPT_ROUNDS_MAX)
		{
			*reason = R_SHA512_ROUNDS;
			return FR_HASH_INVALID;
		}
	}
	dollar = memchr(p, '$', (size_t) (end - p));
	if (dollar == NULL)
	{
		*reason = R_SHA512_LAYOUT;
		return FR_HASH_INVALID;
	}
	salt_len = (size_t) (dollar - p);
	if (salt_len < 1 || salt_len > FR_SHA512CRYPT_SALT_MAX)
	{
		*reason = R_SHA512_SALT;
		return FR_HASH_INVALID;
	}
	for (size_t i = 0; i < salt_len; i++)
	{
		if (crypt64_value((unsigned char) p[i]) < 0)
		{
			*reason = R_SHA512_SALT;
			return FR_HASH_INVALID;
		}
	}
	p = dollar + 1;
	if (end - p != SHA512CRYPT_DIGEST_CHARS)
	{
		*reason = R_SHA512_DIGEST;
		return FR_HASH_INVALID;
	}
	for (size_t i = 0; i < SHA512CRYPT_DIGEST_CHARS; i++)
	{
		if (crypt64_value((unsigned char) p[i]) < 0)
		{
			*reason = R_SHA512_DIGEST;
			return FR_HASH_INVALID;
		}
	}
	/* the 64th byte alone fills the last two characters: 8 bits in 12 */
	if (crypt64_value((unsigned char) p[SHA512CRYPT_DIGEST_CHARS - 1]) >= 4)
	{
		*reason = R_SHA512_BITS;
		return FR_HASH_INVALID;
	}

	out->params.cost = (uint32_t) rounds;
	out->params.salt_len = (uint32_t) salt_len;
	out->params.digest_len = SHA512CRYPT_DIGEST_CHARS;
	return FR_HASH_SHA512CRYPT;
}

/* s starts with pbkdf2_sha256$. */
static FrHashFormat
parse_pbkdf2(const char *s, size_t len, size_t prefix, Parsed *out,
			 const char **reason)
{
	const char *p = s + prefix;
	const char *end = s + len;
	const char *dollar;
	uint64_t	iterations;
	size_t		salt_len;
	size_t		digest_len;

	if (!read_number(&p, end, &iterations))
	{
		*reason = R_PBKDF2_NUMBER;
		return FR_HASH_INVALID;
	}
	if (!take(&p, end, "$") ||
		(dollar = memchr(p, '$', (size_t) (end - p))) == NULL)
	{
		*reason = R_PBKDF2_LAYOUT;
		return FR_HASH_INVALID;
	}
	if (iterations < FR_PBKDF2_ITERATIONS_MIN ||
		iterations > FR_PBKDF2_ITERATIONS_MAX)
	{
		*reason = R_PBKDF2_ITER;
		return FR_HASH_INVALID;
	}
	salt_len = (size_t) (dollar - p);
	if (salt_len < 1 || salt_len > FR_PBKDF2_SALT_MAX)
	{
		*reason = R_PBKDF2_SALT;
		return FR_HASH_INVALID;
	}
	for (size_t i = 0; i < salt_len; i++)
	{
		/* printable ASCII; the '$' cannot occur (the salt ends at the first) */
		if (p[i] < '!' || p[i] > '~')
		{
			*reason = R_PBKDF2_SALT;
			return FR_HASH_INVALID;
		}
	}
	out->salt = p;
	p = dollar + 1;
	if (end - p != PBKDF2_DIGEST_CHARS ||
		!decode_base64(p, PBKDF2_DIGEST_CHARS, out->digest, sizeof(out->digest),
					   &digest_len, sodium_base64_VARIANT_ORIGINAL) ||
		digest_len != PBKDF2_DIGEST_BYTES)
	{
		*reason = R_PBKDF2_DIGEST;
		return FR_HASH_INVALID;
	}

	out->params.cost = (uint32_t) iterations;
	out->params.salt_len = (uint32_t) salt_len;
	out->params.digest_len = PBKDF2_DIGEST_BYTES;
	return FR_HASH_PBKDF2_SHA256;
}

/* The format's prefix chooses the parser. */
static FrHashFormat
parse(const char *s, size_t len, Parsed *out, const char **reason)
{
	FrHashFormat format;

	memset(out, 0, sizeof(*out));
	*reason = NULL;

	if (s == NULL || len == 0)
	{
		*reason = R_EMPTY;
		return FR_HASH_INVALID;
	}
	if (starts_with(s, len, "$argon2id$"))
		format = parse_argon2(s, len, 10, FR_HASH_ARGON2ID, out, reason);
	else if (starts_with(s, len, "$argon2i$"))
		format = parse_argon2(s, len, 9, FR_HASH_ARGON2I, out, reason);
	else if (starts_with(s, len, "$argon2d$"))
	{
		*reason = R_ARGON2D;
		format = FR_HASH_INVALID;
	}
	else if (starts_with(s, len, "$2a$") || starts_with(s, len, "$2b$") ||
			 starts_with(s, len, "$2y$"))
		format = parse_bcrypt(s, len, out, reason);
	else if (starts_with(s, len, "$2x$"))
	{
		*reason = R_BCRYPT_2X;
		format = FR_HASH_INVALID;
	}
	else if (starts_with(s, len, "$2"))
	{
		*reason = R_BCRYPT_VARIANT;
		format = FR_HASH_INVALID;
	}
	else if (starts_with(s, len, "$6$"))
		format = parse_sha512crypt(s, len, out, reason);
	else if (starts_with(s, len, "pbkdf2_sha256$"))
		format = parse_pbkdf2(s, len, 14, out, reason);
	else
	{
		*reason = R_UNRECOGNIZED;
		format = FR_HASH_INVALID;
	}

	if (format == FR_HASH_INVALID)
		memset(out, 0, sizeof(*out));
	else
		out->params.format = format;
	return format;
}

FrHashFormat
fr_hash_parse(const char *hash, size_t len, FrHashParams *params,
			  const char **reason)
{
	Parsed		parsed;
	const char *why;
	FrHashFormat format = parse(hash, len, &parsed, &why);

	if (params != NULL)
		*params = parsed.params;
	if (reason != NULL)
		*reason = why;
	return format;
}

FrHashFormat
fr_hash_check(const char *hash, size_t len, const char **reason)
{
	return fr_hash_parse(hash, len, NULL, reason);
}

const char *
fr_hash_format_name(FrHashFormat format)
{
	if ((unsigned) format >= FR_HASH_NFORMATS)
		return format_names[FR_HASH_INVALID];
	return format_names[format];
}

/* ------------------------------------------------------------------------
 * Verification
 * ------------------------------------------------------------------------
 */

/* libsodium takes the whole hash, NUL-terminated. */
static int
verify_argon2(FrHashFormat format, const char *hash, size_t len,
			  const char *password, size_t pwlen)
{
	char		str[FR_HASH_MAX_LEN + 1];
	int			rc;

	memcpy(str, hash, len);
	str[len] = '\0';
	errno = 0;
	if (format == FR_HASH_ARGON2ID)
		rc = crypto_pwhash_argon2id_str_verify(str, password, pwlen);
	else
		rc = crypto_pwhash_argon2i_str_verify(str, password, pwlen);
	if (rc == 0)
		return 1;
	/* a mismatch sets EINVAL; an allocation failure before hashing ENOMEM */
	return errno == EINVAL ? 0 : -1;
}

/*
 * libxcrypt takes the hash as its setting and re-computes it; the password
 * and the hash go in the fields of struct crypt_data meant for them.
 */
static int
verify_crypt(const char *hash, size_t len, const char *password, size_t pwlen)
{
	struct crypt_data data;
	const char *computed;
	int			rc;

	/* C strings: what libxcrypt cannot be given, it cannot match */
	if (pwlen >= sizeof(data.input) || memchr(password, '\0', pwlen) != NULL)
		return 0;

	memset(&data, 0, sizeof(data));
	memcpy(data.input, password, pwlen);
	data.input[pwlen] = '\0';
	memcpy(data.setting, hash, len);
	data.setting[len] = '\0';

	computed = crypt_rn(data.input, data.setting, &data, (int) sizeof(data));
	if (computed == NULL)
		rc = -1;
	else if (strlen(computed) != len)
		rc = 0;
	else
		rc = sodium_memcmp(computed, hash, len) == 0 ? 1 : 0;

	sodium_memzero(data.input, sizeof(data.input));
	sodium_memzero(data.output, sizeof(data.output));
	return rc;
}

static int
verify_pbkdf2(const Parsed *parsed, const char *password, size_t pwlen)
{
	unsigned char computed[PBKDF2_DIGEST_BYTES];
	int			rc;

	if (pwlen > INT_MAX)
		return -1;
	if (PKCS5_PBKDF2_HMAC(password, (int) pwlen,
						  (const unsigned char *) parsed->salt,
						  (int) parsed->params.salt_len,
						  (int) parsed->params.cost, EVP_sha256(),
						  PBKDF2_DIGEST_BYTES, computed) != 1)
		return -1;
	rc = CRYPTO_memcmp(computed, parsed->digest, PBKDF2_DIGEST_BYTES) == 0 ? 1 : 0;
	OPENSSL_cleanse(computed, sizeof(computed));
	return rc;
}

int
fr_hash_verify(const char *hash, size_t hashlen, const char *password,
			   size_t pwlen)
{
	Parsed		parsed;
	const char *reason;
	FrHashFormat format = parse(hash, hashlen, &parsed, &reason);

	if (password == NULL)
	{
		if (pwlen != 0)
			return -1;
		password = "";
	}

	switch (format)
	{
		case FR_HASH_ARGON2ID:
		case FR_HASH_ARGON2I:
			return verify_argon2(format, hash, hashlen, password, pwlen);
		case FR_HASH_BCRYPT:
			/* bcrypt uses the first 72 bytes; libxcrypt takes 511 at most */
			return verify_crypt(hash, hashlen, password,
								pwlen < FR_BCRYPT_PASSWORD_MAX ?
								pwlen : FR_BCRYPT_PASSWORD_MAX);
		case FR_HASH_SHA512CRYPT:
			return verify_crypt(hash, hashlen, password, pwlen);
		case FR_HASH_PBKDF2_SHA256:
			return verify_pbkdf2(&parsed, password, pwlen);
		case FR_HASH_INVALID:
			break;
	}
	return -1;
}

bool
fr_hash_needs_rehash(const char *hash, size_t len, unsigned long long opslimit,
					 size_t memlimit_bytes)
{
	FrHashParams params;
	char		str[FR_HASH_MAX_LEN + 1];

	if (fr_hash_parse(hash, len, &params, NULL) != FR_HASH_ARGON2ID)
		return true;
	if (params.lanes != 1 || params.salt_len != SODIUM_STR_SALT_BYTES ||
		params.digest_len != SODIUM_STR_DIGEST_BYTES)
		return true;
	memcpy(str, hash, len);
	str[len] = '\0';
	/* 1: other costs; -1: libsodium could not tell -- re-hash either way */
	return crypto_pwhash_argon2id_str_needs_rehash(str, opslimit,
												   memlimit_bytes) != 0;
}

/* ------------------------------------------------------------------------
 * Decoys
 * ------------------------------------------------------------------------
 */

/* Appends n copies of c to buf at *at (bounded by buflen); false if full. */
static bool
append_chars(char *buf, size_t buflen, size_t *at, char c, size_t n)
{
	if (buflen - *at <= n)
		return false;
	memset(buf + *at, c, n);
	*at += n;
	buf[*at] = '\0';
	return true;
}

/* Appends the base64 (libsodium variant) of n zero bytes. */
static bool
append_zero_base64(char *buf, size_t buflen, size_t *at, size_t n, int variant)
{
	static const unsigned char zeros[FR_ARGON2_SALT_MAX > FR_ARGON2_DIGEST_MAX ?
									 FR_ARGON2_SALT_MAX : FR_ARGON2_DIGEST_MAX];

	if (n > sizeof(zeros) || buflen - *at < sodium_base64_encoded_len(n, variant))
		return false;
	sodium_bin2base64(buf + *at, buflen - *at, zeros, n, variant);
	*at += strlen(buf + *at);
	return true;
}

/* Appends a formatted prefix; false if it does not fit. */
static bool
append_prefix(size_t buflen, size_t *at, int written)
{
	if (written < 0 || (size_t) written >= buflen - *at)
		return false;
	*at += (size_t) written;
	return true;
}

size_t
fr_hash_decoy(const FrHashParams *params, char *buf, size_t buflen)
{
	size_t		at = 0;
	bool		ok = false;
	const int	b64 = sodium_base64_VARIANT_ORIGINAL_NO_PADDING;

	if (params == NULL || buf == NULL || buflen == 0)
		return 0;
	buf[0] = '\0';

	switch (params->format)
	{
		case FR_HASH_ARGON2ID:
		case FR_HASH_ARGON2I:
			ok = append_prefix(buflen, &at,
							   snprintf(buf, buflen, "$%s$v=19$m=%lu,t=%lu,p=%lu$",
										fr_hash_format_name(params->format),
										(unsigned long) params->memory_kib,
										(unsigned long) params->cost,
										(unsigned long) params->lanes)) &&
				append_zero_base64(buf, buflen, &at, params->salt_len, b64) &&
				append_chars(buf, buflen, &at, '$', 1) &&
				append_zero_base64(buf, buflen, &at, params->digest_len, b64);
			break;
		case FR_HASH_BCRYPT:
			ok = params->cost <= 99 &&
				append_prefix(buflen, &at,
							  snprintf(buf, buflen, "$2b$%02lu$",
									   (unsigned long) params->cost)) &&
				append_chars(buf, buflen, &at, '.',
							 BCRYPT_SALT_CHARS + BCRYPT_DIGEST_CHARS);
			break;
		case FR_HASH_SHA512CRYPT:
			if (params->cost == FR_SHA512CRYPT_ROUNDS_DEFAULT)
				ok = append_prefix(buflen, &at, snprintf(buf, buflen, "$6$"));
			else
				ok = append_prefix(buflen, &at,
								   snprintf(buf, buflen, "$6$rounds=%lu$",
											(unsigned long) params->cost));
			ok = ok && params->salt_len <= FR_SHA512CRYPT_SALT_MAX &&
				append_chars(buf, buflen, &at, '.', params->salt_len) &&
				append_chars(buf, buflen, &at, '$', 1) &&
				append_chars(buf, buflen, &at, '.', SHA512CRYPT_DIGEST_CHARS);
			break;
		case FR_HASH_PBKDF2_SHA256:
			ok = params->salt_len <= FR_PBKDF2_SALT_MAX &&
				append_prefix(buflen, &at,
							  snprintf(buf, buflen, "pbkdf2_sha256$%lu$",
									   (unsigned long) params->cost)) &&
				append_chars(buf, buflen, &at, 'a', params->salt_len) &&
				append_chars(buf, buflen, &at, '$', 1) &&
				append_zero_base64(buf, buflen, &at, PBKDF2_DIGEST_BYTES,
								   sodium_base64_VARIANT_ORIGINAL);
			break;
		case FR_HASH_INVALID:
			break;
	}

	/* the parser has the last word on whether the parameters were valid */
	if (ok)
	{
		FrHashParams got;

		ok = fr_hash_parse(buf, at, &got, NULL) == params->format &&
			got.cost == params->cost && got.memory_kib == params->memory_kib &&
			got.lanes == params->lanes && got.salt_len == params->salt_len &&
			got.digest_len == params->digest_len;
	}
	if (!ok)
	{
		buf[0] = '\0';
		return 0;
	}
	return at;
}
