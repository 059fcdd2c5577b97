/*-------------------------------------------------------------------------
 *
 * farmreg_bench_hash.c
 *	  bench_argon2id(password, opslimit, memlimit_kb): the argon2id hash that
 *	  farmreg computes, callable from SQL, for the benchmark's peers only.
 *
 * farmreg hashes every accepted password with libsodium's
 * crypto_pwhash_argon2id_str (src/password.c).  PostgreSQL has no argon2id of
 * its own, so without this function the PL/pgSQL peer, the client-side
 * transaction and the floor would store a hash they never paid for.  With it
 * every variant of `make bench` computes the same hash, with the same library
 * call and the same costs, inside the server.
 *
 * Not part of farmreg: scripts/bench.sh builds and installs it next to the
 * extension and declares the SQL function in its own database.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sodium.h>

#include "fmgr.h"
#include "utils/builtins.h"

PG_MODULE_MAGIC;

PG_FUNCTION_INFO_V1(bench_argon2id);

void		_PG_init(void);

void
_PG_init(void)
{
	if (sodium_init() < 0)
		ereport(ERROR,
				(errcode(ERRCODE_SYSTEM_ERROR),
				 errmsg("could not initialize libsodium")));
}

Datum
bench_argon2id(PG_FUNCTION_ARGS)
{
	text	   *password = PG_GETARG_TEXT_PP(0);
	int32		opslimit = PG_GETARG_INT32(1);
	int32		memlimit_kb = PG_GETARG_INT32(2);
	char		out[crypto_pwhash_argon2id_STRBYTES];

	if (opslimit < 1 || memlimit_kb < 8)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("argon2id needs opslimit >= 1 and memlimit >= 8 kB")));
	if (crypto_pwhash_argon2id_str(out, VARDATA_ANY(password),
								   VARSIZE_ANY_EXHDR(password),
								   (unsigned long long) opslimit,
								   (size_t) memlimit_kb * 1024) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("could not hash the password")));
	PG_RETURN_TEXT_P(cstring_to_text(out));
}
