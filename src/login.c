/*-------------------------------------------------------------------------
 *
 * login.c
 *	  verify_password(login, password): the user's id when the login (a
 *	  username or an email, ignoring ASCII case) and the password match,
 *	  else NULL.
 *
 * The login is looked up through the same unique indexes and folding as the
 * registration's rules (registration.c, probe.c).  Then:
 *
 *	- a known user: the password is checked against the stored hash,
 *	  whatever its format (pwformat.c).  After a match, on a primary in a
 *	  read-write transaction, a hash that is not argon2id at the current
 *	  costs is replaced by one that is, in the same call: compare-and-set on
 *	  the old hash (a concurrent login or deregistration wins, nothing is
 *	  lost), in a subtransaction of its own, never raising for it (a failure
 *	  is logged, without any hash, and the login still succeeds).
 *	- an unknown login costs what a wrong password costs: it is checked
 *	  against the stored hash of some user, picked by a digest of the login
 *	  (the same user for the same login, so repeating it shows no spread),
 *	  and so with that user's algorithm and costs; in an empty table, a decoy
 *	  at the configured costs.
 *
 * Every password computation goes through the hashing budget; over budget
 * this raises SQLSTATE 53000, never NULL (password.c).  Works on a hot
 * standby (it only verifies there).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sodium.h>

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "utils/builtins.h"

#include "fields.h"
#include "logfilter.h"
#include "password.h"
#include "probe.h"
#include "registration.h"
#include "spiutil.h"
#include "steps.h"

PG_FUNCTION_INFO_V1(farmreg_verify_password);

static SPIPlanPtr decoy_plan = NULL;

/* the first user at or after a point chosen by the login, between min and max id */
static const char *const decoy_sql =
"SELECT u.password_hash FROM farmreg.users AS u,"
"       (SELECT pg_catalog.min(m.id) AS lo, pg_catalog.max(m.id) AS hi"
"          FROM farmreg.users AS m) AS b"
" WHERE u.id >= b.lo OPERATOR(pg_catalog.+)"
"       ($1 OPERATOR(pg_catalog.%) (b.hi OPERATOR(pg_catalog.-) b.lo OPERATOR(pg_catalog.+) 1))"
" ORDER BY u.id LIMIT 1";

/* The stored hash an unknown login is checked against, or NULL. */
static char *
decoy_for(const FrFieldValue *login)
{
	uint64		pick;
	Datum		arg;
	char	   *hash = NULL;
	int			rc;

	crypto_generichash((unsigned char *) &pick, sizeof(pick),
					   (const unsigned char *) login->utf8, login->len, NULL, 0);
	arg = Int64GetDatum((int64) (pick >> 1));
	if (decoy_plan == NULL)
	{
		Oid			argtypes[1] = {INT8OID};

		decoy_plan = fr_spi_prepare(decoy_sql, 1, argtypes);
	}
	rc = fr_spi_execute(decoy_plan, &arg, NULL, true, 1);
	if (rc != SPI_OK_SELECT)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("login lookup failed: %s", SPI_result_code_string(rc))));
	if (SPI_processed == 1)
		hash = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	SPI_freetuptable(SPI_tuptable);
	return hash;
}

/* The upgrade of a hash after a match: compare-and-set on the old one. */
enum
{
	RH_ID, RH_OLD, RH_NEW, RH_NINPUTS
};

static const FrInput rehash_inputs[RH_NINPUTS] = {
	[RH_ID] = {"id", INT8OID},
	[RH_OLD] = {"old_hash", TEXTOID},
	[RH_NEW] = {"new_hash", TEXTOID},
};

static const FrStep rehash_step = {
	.label = "rehash_password",
	.sql = "UPDATE farmreg.users AS u SET password_hash = r.new_hash FROM r"
	" WHERE u.id = r.id AND u.password_hash = r.old_hash",
};

static const FrStep *const rehash_steps[] = {&rehash_step};

static FrProgram rehash_program = {
	.name = "the password upgrade",
	.inputs = rehash_inputs,
	.ninputs = RH_NINPUTS,
	.steps = rehash_steps,
	.nsteps = 1,
};

typedef struct Rehash
{
	int64		id;
	const char *old_hash;
	const char *new_hash;
} Rehash;

static void
bind_rehash(void *arg, int unit, Datum *values, bool *nulls)
{
	Rehash	   *r = (Rehash *) arg;

	values[RH_ID] = Int64GetDatum(r->id);
	values[RH_OLD] = CStringGetTextDatum(r->old_hash);
	values[RH_NEW] = CStringGetTextDatum(r->new_hash);
	memset(nulls, 0, sizeof(bool) * RH_NINPUTS);
}

static void
upgrade_hash(int64 id, const char *old_hash, const FrFieldValue *password)
{
	char		hash[FR_HASH_STRBYTES];
	Rehash		r = {id, old_hash, hash};
	FrFailure	failure;

	if (RecoveryInProgress() || XactReadOnly || !fr_password_needs_rehash(old_hash))
		return;
	/* over budget: the login stands, the upgrade waits for the next one */
	if (!fr_password_hash(password->utf8, password->len, hash))
		return;
	if (!fr_run(&rehash_program, FR_RUN_STEPS, 1, bind_rehash, &r, true, &failure))
		ereport(LOG,
				(errcode(failure.error->sqlerrcode),
				 errmsg("farmreg: could not upgrade the password hash of user %lld: %s",
						(long long) id, failure.error->message),
				 errhidestmt(true)));
}

static Datum
verify_password(FunctionCallInfo fcinfo)
{
	FrFieldValue login;
	FrFieldValue password;
	const FrUniqueRule *rule;
	Snapshot	snap;
	FrProbe		p;
	char	   *hash = NULL;
	char	   *decoy = NULL;
	int64		id = 0;
	bool		match;

	fr_field_from_arg(fcinfo, 0, true, &login);
	fr_field_from_arg(fcinfo, 1, false, &password);

	/* usernames cannot hold an '@' and emails must */
	rule = &fr_unique_rules[memchr(login.utf8, '@', login.len) != NULL ?
							FR_RULE_EMAIL : FR_RULE_USERNAME];

	fr_spi_connect();
	snap = fr_probe_snapshot();
	fr_probe_open(&p, rule->index, snap);
	if (fr_probe_find(&p, fr_rule_fold(rule, &login)))
	{
		bool		isnull;

		id = DatumGetInt64(fr_probe_get(&p, fr_probe_attnum(&p, "id"), &isnull));
		hash = TextDatumGetCString(fr_probe_get(&p, fr_probe_attnum(&p, "password_hash"),
												&isnull));
	}
	fr_probe_close(&p);
	fr_probe_unsnapshot(snap);

	if (hash == NULL)
		decoy = decoy_for(&login);
	match = fr_password_verify(hash, decoy, password.utf8, password.len);
	if (match)
		upgrade_hash(id, hash, &password);
	SPI_finish();

	if (match)
		PG_RETURN_INT64(id);
	PG_RETURN_NULL();
}

Datum
farmreg_verify_password(PG_FUNCTION_ARGS)
{
	return fr_call_redacted(verify_password, fcinfo);
}
