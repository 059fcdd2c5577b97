/*-------------------------------------------------------------------------
 *
 * password.c
 *	  argon2id password hashing through libsodium, costs from GUCs.
 *
 * The plaintext is only ever handed to libsodium: it is not logged, not
 * stored and not passed to SQL.  Hashes are libsodium's self-describing
 * strings ($argon2id$v=19$m=...,t=...,p=1$salt$hash), so a change of costs
 * applies to new hashes while old ones keep verifying.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"

#include "password.h"

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

/*
 * argon2id cannot be interrupted: a cancel, a timeout or a terminate that
 * arrives during it is served right after it, while the caller is still
 * inside fr_call_redacted (logfilter.c), so its message is filtered.
 */
bool
fr_password_hash(const char *password, size_t len,
				 char out[crypto_pwhash_argon2id_STRBYTES])
{
	bool		ok;

	ok = crypto_pwhash_argon2id_str(out, password, len,
									(unsigned long long) farmreg_password_opslimit,
									(size_t) farmreg_password_memlimit_kb * 1024) == 0;
	CHECK_FOR_INTERRUPTS();
	return ok;
}

bool
fr_password_verify(const char *hash, const char *password, size_t len)
{
	char		decoy[crypto_pwhash_argon2id_STRBYTES];

	if (hash != NULL)
	{
		bool		match = crypto_pwhash_argon2id_str_verify(hash, password, len) == 0;

		CHECK_FOR_INTERRUPTS();
		return match;
	}

	/*
	 * No such user: verify against a well-formed hash string with the current
	 * costs and an all-zero salt and digest.  libsodium does the full argon2id
	 * computation before comparing, which is the point; nothing can match.
	 */
	snprintf(decoy, sizeof(decoy),
			 "$argon2id$v=19$m=%d,t=%d,p=1$%s$%s",
			 farmreg_password_memlimit_kb, farmreg_password_opslimit,
			 "AAAAAAAAAAAAAAAAAAAAAA",
			 "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
	if (crypto_pwhash_argon2id_str_verify(decoy, password, len) == 0)
		elog(WARNING, "farmreg: a password matched the decoy hash");
	CHECK_FOR_INTERRUPTS();
	return false;
}
