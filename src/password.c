/*-------------------------------------------------------------------------
 *
 * password.c
 *	  Making and checking password hashes (see password.h).
 *
 * The plaintext is only ever handed to libsodium, libxcrypt or OpenSSL: it
 * is not logged, not stored and not passed to SQL.  New hashes are
 * libsodium's self-describing argon2id strings
 * ($argon2id$v=19$m=...,t=...,p=1$salt$hash), so a change of costs applies
 * to new hashes while old ones keep verifying.
 *
 * Nothing between taking a place in the hashing budget and leaving it can
 * raise an error, so the place is always given back at once.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"

#include "hashbudget.h"
#include "password.h"
#include "pwformat.h"

int			farmreg_password_opslimit = FR_OPSLIMIT_DEFAULT;
int			farmreg_password_memlimit_kb = FR_MEMLIMIT_KB_DEFAULT;

void
fr_password_init(void)
{
	if (sodium_init() < 0)
		ereport(ERROR,
				(errcode(ERRCODE_SYSTEM_ERROR),
				 errmsg("could not initialize libsodium")));
}

bool
fr_password_hash(const char *password, size_t len, char out[FR_HASH_STRBYTES])
{
	int			rc;

	if (!fr_hashbudget_enter())
		return false;
	rc = crypto_pwhash_argon2id_str(out, password, len,
									(unsigned long long) farmreg_password_opslimit,
									(size_t) farmreg_password_memlimit_kb * 1024);
	fr_hashbudget_leave();
	if (rc != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory"),
				 errdetail("Could not hash a password with farmreg.password_opslimit %d and farmreg.password_memlimit %d kB.",
						   farmreg_password_opslimit, farmreg_password_memlimit_kb)));
	/* a cancel that came during the hash is served here, inside the call */
	CHECK_FOR_INTERRUPTS();
	return true;
}

/* A well-formed argon2id string at the configured costs that nothing matches. */
static void
current_decoy(char out[FR_HASH_STRBYTES])
{
	snprintf(out, FR_HASH_STRBYTES, "$argon2id$v=19$m=%d,t=%d,p=1$%s$%s",
			 farmreg_password_memlimit_kb, farmreg_password_opslimit,
			 "AAAAAAAAAAAAAAAAAAAAAA",
			 "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
}

bool
fr_password_verify(const char *hash, const char *decoy, const char *password,
				   size_t len)
{
	char		fallback[FR_HASH_STRBYTES];
	const char *check = hash;
	int			rc;

	if (check == NULL)
	{
		if (decoy == NULL)
		{
			current_decoy(fallback);
			decoy = fallback;
		}
		check = decoy;
	}

	if (!fr_hashbudget_enter())
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_RESOURCES),
				 errmsg("too many password checks at once"),
				 errdetail("farmreg.max_concurrent_hashes (%d) password computations are running, and none ended within farmreg.hash_wait (%d ms).",
						   farmreg_max_concurrent_hashes, farmreg_hash_wait_ms),
				 errhint("Retry the login in a moment.")));
	rc = fr_hash_verify(check, strlen(check), password, len);
	fr_hashbudget_leave();
	CHECK_FOR_INTERRUPTS();

	/* a decoy never admits anyone, even on the one-in-2^128 match */
	return hash != NULL && rc == 1;
}

bool
fr_password_needs_rehash(const char *hash)
{
	return fr_hash_needs_rehash(hash, strlen(hash),
								(unsigned long long) farmreg_password_opslimit,
								(size_t) farmreg_password_memlimit_kb * 1024);
}
