/*-------------------------------------------------------------------------
 *
 * batch.c
 *	  Running a batch of registration requests (see batch.h).
 *
 *	judge      every request, FR_BATCH_CHUNK at a time (judge.c)
 *	hash       the accepted ones' passwords, only now, under the hashing
 *	           budget (or take their imported hashes as they are)
 *	give ids   user, farm and farmer ids from the tables' sequences
 *	write      every accepted request in ONE internal subtransaction: one
 *	           set-based statement per chunk (registration.c's steps as
 *	           one statement of CTEs, steps.c)
 *
 * The subtransaction is kept whole or not at all, so a call leaves one
 * subtransaction id behind whatever its size.  When a chunk's statement
 * fails, that try is rolled back and the failing requests are found by
 * probes that always roll back: halving the chunk that failed (about
 * failures x 2 log2(chunk) statements), and one probe of each later chunk,
 * halved too if it fails.  A request that fails alone is settled by the
 * labeled steps, which name the step that failed and, on a unique
 * violation, the rule (registration.c); if the steps unexpectedly succeed,
 * that is kept.  Then the rest is written again, in one subtransaction.  A
 * race lost again in between starts another round; after FR_WRITE_ROUNDS,
 * the rest goes one chunk per subtransaction, which still bounds a call's
 * subtransaction ids by its chunks.
 *
 * Memory: the judge works in a context per chunk, and the statements bind
 * one chunk's arrays at a time (steps.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/sequence.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "batch.h"
#include "outbox.h"
#include "password.h"
#include "steps.h"

#define FR_WRITE_ROUNDS		3

int			farmreg_max_batch_requests = 10000;

/* What fr_run's bind callbacks see. */
typedef struct Writer
{
	FrProgram  *prog;
	FrRegRequest **reqs;
	int			n;
	int			chunk;			/* requests per unit in FR_RUN_SET_MANY */
} Writer;

/* ------------------------------------------------------------------------
 * Inputs of the steps
 * ------------------------------------------------------------------------
 */

static void
request_inputs(const FrProgram *prog, const FrRegRequest *req, int ordinal,
			   Datum *values, bool *nulls)
{
	const FrFieldValue *f = req->f;

	memset(nulls, 0, sizeof(bool) * FR_REG_NINPUTS);
	values[IN_N] = Int32GetDatum(ordinal);
	values[IN_USER_ID] = Int64GetDatum(req->ids[0]);
	values[IN_FARM_ID] = Int64GetDatum(req->ids[1]);
	values[IN_FARMER_ID] = Int64GetDatum(req->ids[2]);
	values[IN_USERNAME] = fr_field_text(&f[FR_FIELD_USERNAME]);
	values[IN_EMAIL] = fr_field_text(&f[FR_FIELD_EMAIL]);
	values[IN_NAME] = fr_field_text(&f[FR_FIELD_NAME]);
	values[IN_PASSWORD_HASH] = req->password_hash;
	values[IN_FARM_NAME] = PointerGetDatum(req->usda_name);
	values[IN_USDA_FARM_ID] = Int64GetDatum(req->usda_farm_id);
	values[IN_USDA_UID] = fr_field_text(&f[FR_FIELD_USDA_UID]);
	if (fr_judge_has_key(req))
	{
		bytea	   *digest = palloc(VARHDRSZ + FR_DIGEST_BYTES);

		SET_VARSIZE(digest, VARHDRSZ + FR_DIGEST_BYTES);
		memcpy(VARDATA(digest), req->digest, FR_DIGEST_BYTES);
		values[IN_KEY] = fr_field_text(&f[FR_FIELD_IDEMPOTENCY_KEY]);
		values[IN_REQUEST_DIGEST] = PointerGetDatum(digest);
	}
	else
	{
		values[IN_KEY] = values[IN_REQUEST_DIGEST] = (Datum) 0;
		nulls[IN_KEY] = nulls[IN_REQUEST_DIGEST] = true;
	}
	if (fr_registration_has_event(prog))
		values[IN_EVENT_PAYLOAD] =
			fr_outbox_registered_payload(req->ids, values[IN_USERNAME],
										 values[IN_EMAIL], values[IN_NAME],
										 values[IN_USDA_UID]);
	else
	{
		values[IN_EVENT_PAYLOAD] = (Datum) 0;
		nulls[IN_EVENT_PAYLOAD] = true;
	}
}

/* FR_RUN_STEPS, FR_RUN_SET_ONE: unit = one request. */
static void
bind_one(void *arg, int unit, Datum *values, bool *nulls)
{
	Writer	   *w = (Writer *) arg;

	request_inputs(w->prog, w->reqs[unit], 1, values, nulls);
}

/* FR_RUN_SET_MANY: unit = a chunk of requests, an array per input. */
static void
bind_chunk(void *arg, int unit, Datum *values, bool *nulls)
{
	Writer	   *w = (Writer *) arg;
	int			first = unit * w->chunk;
	int			m = Min(w->chunk, w->n - first);
	Datum	   *elems = palloc(sizeof(Datum) * FR_REG_NINPUTS * m);
	bool	   *elnulls = palloc(sizeof(bool) * FR_REG_NINPUTS * m);

	for (int j = 0; j < m; j++)
		request_inputs(w->prog, w->reqs[first + j], j + 1, elems + j * FR_REG_NINPUTS,
					   elnulls + j * FR_REG_NINPUTS);

	for (int i = 0; i < FR_REG_NINPUTS; i++)
	{
		Oid			type = w->prog->inputs[i].type;
		Datum	   *column = palloc(sizeof(Datum) * m);
		bool	   *colnulls = palloc(sizeof(bool) * m);
		int			dims[1] = {m};
		int			lbs[1] = {1};
		int16		typlen;
		bool		typbyval;
		char		typalign;

		for (int j = 0; j < m; j++)
		{
			column[j] = elems[j * FR_REG_NINPUTS + i];
			colnulls[j] = elnulls[j * FR_REG_NINPUTS + i];
		}
		get_typlenbyvalalign(type, &typlen, &typbyval, &typalign);
		values[i] = PointerGetDatum(construct_md_array(column, colnulls, 1, dims, lbs,
													   type, typlen, typbyval,
													   typalign));
		nulls[i] = false;
	}
}

/* ------------------------------------------------------------------------
 * Writing, and finding what failed
 * ------------------------------------------------------------------------
 */

static void
mark_written(FrRegRequest *req)
{
	req->settled = true;
	req->out.ok = true;
	memcpy(req->out.ids, req->ids, sizeof(req->ids));
}

/* Runs reqs[0..n) as one statement (one unit); keep or probe. */
static bool
run_set(Writer *w, FrRegRequest **reqs, int n, bool keep, FrFailure *failure)
{
	Writer		sub = {w->prog, reqs, n, n};

	return fr_run(w->prog, n == 1 ? FR_RUN_SET_ONE : FR_RUN_SET_MANY, 1,
				  n == 1 ? bind_one : bind_chunk, &sub, keep, failure);
}

static bool
probe(Writer *w, FrRegRequest **reqs, int n)
{
	FrFailure	failure;

	return run_set(w, reqs, n, false, &failure);
}

/* A request that fails alone: the labeled steps say where and why. */
static void
settle(Writer *w, FrRegRequest *req)
{
	Writer		one = {w->prog, &req, 1, 1};
	FrFailure	failure;
	const FrUniqueRule *rule = NULL;
	const char *step;
	ErrorData  *error;

	if (fr_run(w->prog, FR_RUN_STEPS, 1, bind_one, &one, true, &failure))
	{
		mark_written(req);
		return;
	}
	req->settled = true;
	step = w->prog->steps[failure.step]->label;
	error = failure.error;
	if (error->sqlerrcode == ERRCODE_UNIQUE_VIOLATION)
		rule = fr_rule_for_constraint(error->constraint_name);

	if (rule == NULL)
	{
		/*
		 * The full error goes to the log, with the step.  The log filter
		 * (logfilter.c) covers it: the row values of a "Failing row
		 * contains (...)" detail, which would quote the password hash, are
		 * redacted.
		 */
		ereport(LOG,
				(errcode(error->sqlerrcode),
				 errmsg("farmreg: registration failed in step \"%s\": %s",
						step, error->message),
				 error->detail ? errdetail_internal("%s", error->detail) : 0,
				 error->hint ? errhint("%s", error->hint) : 0,
				 error->context ? errcontext("%s", error->context) : 0,
				 errhidestmt(true)));
		fr_outcome_general(&req->out, step, FR_CODE_INTERNAL_ERROR,
						   error->sqlerrcode);
		return;
	}

	/*
	 * Another session won a race since the judge looked.  If it registered
	 * under our idempotency key (it committed: we waited for it on the
	 * index), its result is ours.
	 */
	if (fr_judge_has_key(req))
	{
		if (fr_judge_key_answers(req))
			return;

		/*
		 * The key's own conflict, or any conflict under a transaction
		 * snapshot (REPEATABLE READ, SERIALIZABLE) that cannot see the
		 * winner's key: the request may well be the winner's, and a retry of
		 * the transaction will know.
		 */
		if (rule == &fr_unique_rules[FR_RULE_KEY] || IsolationUsesXactSnapshot())
			ereport(ERROR,
					(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
					 errmsg("could not serialize access due to a concurrent registration with the same idempotency key"),
					 errhint("Retry the transaction.")));
	}
	req->out.failed_step = step;
	req->out.codes[rule->field] = rule->code;
}

/* reqs[0..n) fail together: find each one that fails, and settle it. */
static void
isolate(Writer *w, FrRegRequest **reqs, int n)
{
	int			half = n / 2;
	bool		first_fails;

	if (n == 1)
	{
		settle(w, reqs[0]);
		return;
	}
	first_fails = !probe(w, reqs, half);
	if (first_fails)
		isolate(w, reqs, half);
	/* if the first half passes, the failure is in the second */
	if (!first_fails || !probe(w, reqs + half, n - half))
		isolate(w, reqs + half, n - half);
}

/* Drops the settled requests from reqs[0..*n). */
static void
drop_settled(FrRegRequest **reqs, int *n)
{
	int			kept = 0;

	for (int i = 0; i < *n; i++)
	{
		if (!reqs[i]->settled)
			reqs[kept++] = reqs[i];
	}
	*n = kept;
}

static void
write_accepted(FrProgram *prog, FrRegRequest **pending, int npending)
{
	Writer		w = {prog, pending, npending, FR_BATCH_CHUNK};

	for (int round = 0; npending > 0 && round < FR_WRITE_ROUNDS; round++)
	{
		int			nunits = (npending + FR_BATCH_CHUNK - 1) / FR_BATCH_CHUNK;
		FrFailure	failure;
		bool		ok;

		w.n = npending;
		if (npending == 1)
			ok = fr_run(prog, FR_RUN_SET_ONE, 1, bind_one, &w, true, &failure);
		else
			ok = fr_run(prog, FR_RUN_SET_MANY, nunits, bind_chunk, &w, true, &failure);
		if (ok)
		{
			for (int i = 0; i < npending; i++)
				mark_written(pending[i]);
			return;
		}

		/* the chunks before the failing one passed: probe the others */
		for (int u = failure.unit; u < nunits; u++)
		{
			FrRegRequest **chunk = pending + u * FR_BATCH_CHUNK;
			int			m = Min(FR_BATCH_CHUNK, npending - u * FR_BATCH_CHUNK);

			if (u == failure.unit || !probe(&w, chunk, m))
				isolate(&w, chunk, m);
		}
		drop_settled(pending, &npending);
	}

	/* still losing races: a subtransaction per chunk */
	for (int start = 0; start < npending; start += FR_BATCH_CHUNK)
	{
		FrRegRequest **chunk = pending + start;
		int			m = Min(FR_BATCH_CHUNK, npending - start);

		while (m > 0)
		{
			FrFailure	failure;

			if (run_set(&w, chunk, m, true, &failure))
			{
				for (int i = 0; i < m; i++)
					mark_written(chunk[i]);
				break;
			}
			isolate(&w, chunk, m);
			drop_settled(chunk, &m);
		}
	}
}

/* ------------------------------------------------------------------------
 * The batch
 * ------------------------------------------------------------------------
 */

static Oid
sequence_oid(const char *name)
{
	Oid			relid = get_relname_relid(name, get_namespace_oid("farmreg", false));

	if (!OidIsValid(relid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("sequence \"farmreg.%s\" does not exist", name)));
	return relid;
}

/* Hashes (or takes the imported hash of) an accepted request.  False: busy. */
static bool
hash_password(FrRegRequest *req)
{
	const FrFieldValue *imported = &req->f[FR_FIELD_PASSWORD_HASH];
	char		hash[FR_HASH_STRBYTES];

	if (!imported->is_null)
	{
		/* stored exactly as given; nothing to compute */
		req->password_hash = fr_field_text(imported);
		return true;
	}
	if (!fr_password_hash(req->f[FR_FIELD_PASSWORD].utf8,
						  req->f[FR_FIELD_PASSWORD].len, hash))
		return false;
	req->password_hash = CStringGetTextDatum(hash);
	return true;
}

void
fr_batch_run(FrRegVersion version, FrRegRequest *reqs, int n)
{
	FrJudge    *judge = fr_judge_create(reqs, n);
	FrRegRequest **accepted = palloc(sizeof(FrRegRequest *) * Max(n, 1));
	int			naccepted = 0;
	bool		with_keys = false;
	Oid			seqs[3] = {InvalidOid, InvalidOid, InvalidOid};

	for (int first = 0; first < n; first += FR_BATCH_CHUNK)
		fr_judge(judge, first, Min(FR_BATCH_CHUNK, n - first));

	for (int i = 0; i < n; i++)
	{
		FrRegRequest *req = &reqs[i];

		if (!req->accepted)
			continue;
		CHECK_FOR_INTERRUPTS();
		if (!hash_password(req))
		{
			req->accepted = false;
			fr_outcome_general(&req->out, FR_STEP_HASH_PASSWORD,
							   FR_CODE_TRY_AGAIN_LATER, 0);
			continue;
		}
		if (!OidIsValid(seqs[0]))
		{
			seqs[0] = sequence_oid("users_id_seq");
			seqs[1] = sequence_oid("farms_id_seq");
			seqs[2] = sequence_oid("farmers_id_seq");
		}
		for (int s = 0; s < 3; s++)
			req->ids[s] = nextval_internal(seqs[s], false);
		with_keys |= fr_judge_has_key(req);
		accepted[naccepted++] = req;
	}

	write_accepted(fr_registration_program(version, with_keys), accepted,
				   naccepted);

	/* a repeat of an earlier request's key shares its result */
	for (int i = 0; i < n; i++)
	{
		if (reqs[i].follows >= 0)
			reqs[i].out = reqs[reqs[i].follows].out;
	}
	pfree(accepted);
}
