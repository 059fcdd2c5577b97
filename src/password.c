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

#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"

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
current_decoy(char out[FR_HASH_MAX_LEN + 1])
{
	FrHashParams params = {
		.format = FR_HASH_ARGON2ID,
		.cost = (uint32_t) farmreg_password_opslimit,
		.memory_kib = (uint32_t) farmreg_password_memlimit_kb,
		.lanes = 1,
		.salt_len = crypto_pwhash_argon2id_SALTBYTES,
		.digest_len = 32,
	};

	if (fr_hash_decoy(&params, out, FR_HASH_MAX_LEN + 1) == 0)
		elog(ERROR, "could not make a decoy hash at the configured costs");
}

bool
fr_password_verify(const char *hash, const char *decoy, const char *password,
				   size_t len)
{
	char		fallback[FR_HASH_MAX_LEN + 1];
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

/*
 * password_hash_info(hash, OUT format, OUT rehash_at_next_login): what a
 * stored hash is, and whether the next successful login replaces it (not
 * argon2id at this session's farmreg.password_* costs).  Reads nothing but
 * its argument and reveals nothing a hash does not say about itself.
 */
PG_FUNCTION_INFO_V1(farmreg_password_hash_info);

Datum
farmreg_password_hash_info(PG_FUNCTION_ARGS)
{
	text	   *hash = PG_GETARG_TEXT_PP(0);
	const char *s = VARDATA_ANY(hash);
	size_t		len = VARSIZE_ANY_EXHDR(hash);
	TupleDesc	tupdesc;
	Datum		values[2];
	bool		nulls[2] = {false, false};

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	values[0] = CStringGetTextDatum(fr_hash_format_name(fr_hash_check(s, len, NULL)));
	values[1] = BoolGetDatum(fr_hash_needs_rehash(s, len,
												  (unsigned long long) farmreg_password_opslimit,
												  (size_t) farmreg_password_memlimit_kb * 1024));
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc),
													  values, nulls)));
}
