/*-------------------------------------------------------------------------
 *
 * register.c
 *	  Farm-admin registration: register_farm_admin() and, in batches,
 *	  register_farm_admins().
 *
 * A registration is the static step program below (create_user ->
 * create_farm -> create_farmer -> record_idempotency_key -> append_event)
 * plus the map from unique constraints to error codes; steps.c runs it.
 * Around it, for every request:
 *
 *	read + trim the fields (NULL = blank)
 *	field rules (validate.c), then ONE lookup query for everything the
 *	database knows: taken username / email, the USDA record and whether it is
 *	claimed, and the idempotency key
 *	key seen with the same request -> its stored result; another request ->
 *	idempotency_key_reused
 *	any error -> a result with every field's error, failed_step = validate
 *	hash the password (only now), run the steps, map what failed
 *
 * A batch judges each request exactly so, plus the requests before it in the
 * same batch (the first one wins), looking a chunk up in one query, hashes
 * only the accepted ones, and writes a chunk at a time: one set-based
 * statement in one subtransaction per chunk, not per request.  If that
 * statement fails, the chunk runs again request by request through the
 * steps; the request that fails is taken out and the rest run again, so it
 * rolls back only itself and gets its own result.
 *
 * Versions: 1.0's SQL declares the entry points without the _1_1 suffix,
 * whose program has no append_event step (1.0 has no events table); 1.1
 * declares the _1_1 ones.  One library serves databases at either version.
 *
 * Passwords: the plaintext goes to libsodium and nowhere else.  No SQL sees
 * it, and errors escaping these functions have their STATEMENT hidden.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/numeric.h"

#include "args.h"
#include "logfilter.h"
#include "catalog.h"
#include "password.h"
#include "steps.h"
#include "validate.h"

PG_FUNCTION_INFO_V1(farmreg_register_farm_admin);
PG_FUNCTION_INFO_V1(farmreg_register_farm_admin_1_1);
PG_FUNCTION_INFO_V1(farmreg_register_farm_admins_1_1);

/*
 * The registration program.
 */
enum
{
	IN_USERNAME,
	IN_EMAIL,
	IN_NAME,
	IN_PASSWORD_HASH,
	IN_FARM_NAME,
	IN_USDA_FARM_ID,
	IN_KEY,
	IN_DIGEST,
	IN_USDA_UID,
	N_INPUTS
};

enum
{
	STEP_CREATE_USER,
	STEP_CREATE_FARM,
	STEP_CREATE_FARMER,
	STEP_RECORD_KEY,
	STEP_APPEND_EVENT,
	N_STEPS
};

#define INPUT(i, t)	{FR_ARG_INPUT, (i), (t)}
#define STEP_ID(s)	{FR_ARG_STEP, (s), INT8OID}

static const FrStep registration_steps[N_STEPS] = {
	[STEP_CREATE_USER] = {
		.label = "create_user",
		.sql = "INSERT INTO farmreg.users (username, email, name, password_hash)"
		" VALUES ($1, $2, $3, $4) RETURNING id",
		.args = {INPUT(IN_USERNAME, TEXTOID), INPUT(IN_EMAIL, TEXTOID),
		INPUT(IN_NAME, TEXTOID), INPUT(IN_PASSWORD_HASH, TEXTOID)},
		.nargs = 4,
		.returns_id = true,
		.skip_unless_input = -1,
	},
	[STEP_CREATE_FARM] = {
		/* the farm's name is its USDA record's, read by the lookup */
		.label = "create_farm",
		.sql = "INSERT INTO farmreg.farms (name, usda_farm_id)"
		" VALUES ($1, $2) RETURNING id",
		.args = {INPUT(IN_FARM_NAME, TEXTOID), INPUT(IN_USDA_FARM_ID, INT8OID)},
		.nargs = 2,
		.returns_id = true,
		.skip_unless_input = -1,
	},
	[STEP_CREATE_FARMER] = {
		.label = "create_farmer",
		.sql = "INSERT INTO farmreg.farmers (user_id, farm_id, is_admin)"
		" VALUES ($1, $2, true) RETURNING id",
		.args = {STEP_ID(STEP_CREATE_USER), STEP_ID(STEP_CREATE_FARM)},
		.nargs = 2,
		.returns_id = true,
		.skip_unless_input = -1,
	},
	[STEP_RECORD_KEY] = {
		/*
		 * Late, so a keyed registration costs one write more than an unkeyed
		 * one.  Two sessions sending the same key with the same request
		 * collide on the username first, another request on this key; either
		 * way the loser waits for the winner's commit and then finds the key.
		 */
		.label = "record_idempotency_key",
		.sql = "INSERT INTO farmreg.idempotency_keys"
		" (key, request_digest, user_id, farm_id, farmer_id)"
		" VALUES ($1, $2, $3, $4, $5)",
		.args = {INPUT(IN_KEY, TEXTOID), INPUT(IN_DIGEST, BYTEAOID),
			STEP_ID(STEP_CREATE_USER), STEP_ID(STEP_CREATE_FARM),
		STEP_ID(STEP_CREATE_FARMER)},
		.nargs = 5,
		.returns_id = false,
		.skip_unless_input = IN_KEY,
	},
	[STEP_APPEND_EVENT] = {
		/* the outbox (1.1): in the same subtransaction as the rows */
		.label = "append_event",
		.sql = "INSERT INTO farmreg.events (type, user_id, payload)"
		" VALUES ('farm_admin_registered', $1, pg_catalog.jsonb_build_object("
		"'user_id', $1, 'farm_id', $2, 'farmer_id', $3, 'username', $4,"
		" 'email', $5, 'name', $6, 'usda_uid', $7))",
		.args = {STEP_ID(STEP_CREATE_USER), STEP_ID(STEP_CREATE_FARM),
			STEP_ID(STEP_CREATE_FARMER), INPUT(IN_USERNAME, TEXTOID),
			INPUT(IN_EMAIL, TEXTOID), INPUT(IN_NAME, TEXTOID),
		INPUT(IN_USDA_UID, TEXTOID)},
		.nargs = 7,
		.returns_id = false,
		.skip_unless_input = -1,
	},
};

/* A unique violation that another session caused between check and insert. */
static const FrConstraintCode registration_constraints[] = {
	{"users_username_lower_key", "username", FR_CODE_USERNAME_TAKEN},
	{"users_email_lower_key", "email", FR_CODE_EMAIL_ALREADY_CLAIMED},
	{"farms_usda_farm_id_key", "usda_uid", FR_CODE_FARM_ALREADY_CLAIMED},
	{"idempotency_keys_pkey", "idempotency_key", FR_CODE_IDEMPOTENCY_KEY_REUSED},
};

static FrProgram registration_1_0 = {
	.name = "register_farm_admin",
	.steps = registration_steps,
	.nsteps = STEP_APPEND_EVENT,	/* all but the event */
	.constraints = registration_constraints,
	.nconstraints = lengthof(registration_constraints),
};

static FrProgram registration_1_1 = {
	.name = "register_farm_admin",
	.steps = registration_steps,
	.nsteps = N_STEPS,
	.constraints = registration_constraints,
	.nconstraints = lengthof(registration_constraints),
};

/*
 * A batch's fast path: a whole chunk of accepted requests in one statement,
 * the same writes as the steps above, set-based.  If it fails, the chunk is
 * run again request by request through registration_1_1, which finds the
 * request that failed and its step.
 */
/* the element type of each input's array, by IN_* */
static const Oid chunk_elem_types[N_INPUTS] = {
	TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, INT8OID, TEXTOID, BYTEAOID, TEXTOID
};

static void take_chunk_rows(FrRequest *run, SPITupleTable *rows, uint64 nrows);

static const FrStep chunk_steps[] = {
	{
		.label = "register_chunk",
		.sql = "WITH r AS ("
		"  SELECT * FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2),"
		"                           pg_catalog.unnest($3), pg_catalog.unnest($4),"
		"                           pg_catalog.unnest($5), pg_catalog.unnest($6),"
		"                           pg_catalog.unnest($7), pg_catalog.unnest($8),"
		"                           pg_catalog.unnest($9))"
		"    WITH ORDINALITY AS r (username, email, name, password_hash, farm_name,"
		"                          usda_farm_id, key, digest, usda_uid, n)"
		"), u AS ("
		"  INSERT INTO farmreg.users (username, email, name, password_hash)"
		"  SELECT username, email, name, password_hash FROM r ORDER BY n"
		"  RETURNING id, username"
		"), f AS ("
		"  INSERT INTO farmreg.farms (name, usda_farm_id)"
		"  SELECT farm_name, usda_farm_id FROM r ORDER BY n"
		"  RETURNING id, usda_farm_id"
		"), uf AS ("
		"  SELECT r.*, u.id AS user_id, f.id AS farm_id"
		"    FROM r JOIN u USING (username) JOIN f USING (usda_farm_id)"
		"), fm AS ("
		"  INSERT INTO farmreg.farmers (user_id, farm_id, is_admin)"
		"  SELECT user_id, farm_id, true FROM uf ORDER BY n"
		"  RETURNING id, user_id"
		"), done AS ("
		"  SELECT uf.*, fm.id AS farmer_id FROM uf JOIN fm USING (user_id)"
		"), k AS ("
		"  INSERT INTO farmreg.idempotency_keys"
		"         (key, request_digest, user_id, farm_id, farmer_id)"
		"  SELECT key, digest, user_id, farm_id, farmer_id FROM done"
		"   WHERE key IS NOT NULL"
		"), e AS ("
		"  INSERT INTO farmreg.events (type, user_id, payload)"
		"  SELECT 'farm_admin_registered', user_id, pg_catalog.jsonb_build_object("
		"         'user_id', user_id, 'farm_id', farm_id, 'farmer_id', farmer_id,"
		"         'username', username, 'email', email, 'name', name,"
		"         'usda_uid', usda_uid)"
		"    FROM done ORDER BY n"
		")"
		" SELECT n, user_id, farm_id, farmer_id FROM done",
		.args = {INPUT(IN_USERNAME, TEXTARRAYOID), INPUT(IN_EMAIL, TEXTARRAYOID),
			INPUT(IN_NAME, TEXTARRAYOID), INPUT(IN_PASSWORD_HASH, TEXTARRAYOID),
			INPUT(IN_FARM_NAME, TEXTARRAYOID), INPUT(IN_USDA_FARM_ID, INT8ARRAYOID),
			INPUT(IN_KEY, TEXTARRAYOID), INPUT(IN_DIGEST, BYTEAARRAYOID),
		INPUT(IN_USDA_UID, TEXTARRAYOID)},
		.nargs = N_INPUTS,
		.returns_rows = true,
		.skip_unless_input = -1,
	},
};

static FrProgram registration_chunk_1_1 = {
	.name = "register_farm_admins",
	.steps = chunk_steps,
	.nsteps = lengthof(chunk_steps),
	.constraints = registration_constraints,
	.nconstraints = lengthof(registration_constraints),
};

/*
 * Everything the database knows about requests, in one round trip: for each,
 * whether its username or email is taken, its USDA record and whether that is
 * claimed, and what its idempotency key stored.  A NULL (a field whose format
 * is already wrong) matches nothing.  One request at a time binds scalars, a
 * batch binds arrays; a request without an idempotency key (most of them)
 * does not pay for the join to the key table.
 */
#define LOOKUP_SQL(source, key_columns, key_join) \
"SELECT r.n," \
"       EXISTS (SELECT FROM farmreg.users AS u" \
"                WHERE pg_catalog.lower(u.username) = pg_catalog.lower(r.username))," \
"       EXISTS (SELECT FROM farmreg.users AS u" \
"                WHERE pg_catalog.lower(u.email) = pg_catalog.lower(r.email))," \
"       f.id, f.name," \
"       EXISTS (SELECT FROM farmreg.farms AS fm WHERE fm.usda_farm_id = f.id)," \
key_columns \
"  FROM " source \
"  LEFT JOIN farmreg.usda_farms AS f ON f.usda_uid = r.usda_uid" \
key_join

#define LOOKUP_ONE \
"(SELECT 1::bigint AS n, $1::text AS username, $2::text AS email," \
"        $3::text AS usda_uid, $4::text AS key) AS r"
#define LOOKUP_MANY \
"ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2)," \
"           pg_catalog.unnest($3), pg_catalog.unnest($4))" \
"  WITH ORDINALITY AS r (username, email, usda_uid, key, n)"
#define NO_KEY_COLUMNS " NULL::bytea, NULL::bigint, NULL::bigint, NULL::bigint"
#define KEY_COLUMNS " k.request_digest, k.user_id, k.farm_id, k.farmer_id"
#define KEY_JOIN "  LEFT JOIN farmreg.idempotency_keys AS k ON k.key = r.key"

/* by [many][with a key] */
static const char *const lookup_sql[2][2] = {
	{LOOKUP_SQL(LOOKUP_ONE, NO_KEY_COLUMNS, ""),
	LOOKUP_SQL(LOOKUP_ONE, KEY_COLUMNS, KEY_JOIN)},
	{LOOKUP_SQL(LOOKUP_MANY, NO_KEY_COLUMNS, ""),
	LOOKUP_SQL(LOOKUP_MANY, KEY_COLUMNS, KEY_JOIN)},
};

static SPIPlanPtr lookup_plans[2][2];

/* Columns of lookup_sql. */
enum
{
	LK_ORDINAL = 1,
	LK_USERNAME_TAKEN,
	LK_EMAIL_TAKEN,
	LK_USDA_FARM_ID,
	LK_USDA_NAME,
	LK_FARM_CLAIMED,
	LK_KEY_DIGEST,
	LK_KEY_USER_ID,
	LK_KEY_FARM_ID,
	LK_KEY_FARMER_ID
};

#define DIGEST_BYTES	crypto_generichash_BYTES
#define N_RESULT_COLS	8

/* A batch runs this many accepted requests per subtransaction. */
#define BATCH_CHUNK		256

typedef struct Lookup
{
	bool		username_taken;
	bool		email_taken;
	bool		usda_found;
	int64		usda_farm_id;
	text	   *usda_name;
	bool		farm_claimed;
	bool		key_found;
	bool		key_matches;
	int64		key_ids[3];
} Lookup;

typedef struct Outcome
{
	bool		ok;
	int64		ids[3];			/* user, farm, farmer */
	const char *failed_step;
	const char *codes[FR_NFIELDS];	/* a field's error, or NULL */
	const char *internal_sqlstate;	/* set for internal_error */
} Outcome;

typedef struct Request
{
	FrFieldValue f[FR_NFIELDS];
	unsigned char digest[DIGEST_BYTES];
	Lookup		lk;
	Outcome		out;
	int			follows;		/* batch: same key and request as this one */
	Datum		values[N_INPUTS];
	bool		nulls[N_INPUTS];
} Request;

/* Catalog copy for the codes of a call's results, read in one query. */
typedef struct Copy
{
	int			n;
	const char *codes[2 * FR_NFIELDS + 8];
	char	   *messages[2 * FR_NFIELDS + 8];
} Copy;

/* BLAKE2b of the request's identity: username, name, email, usda_uid. */
static void
request_digest(Request *req)
{
	static const FrField parts[] = {
		FR_FIELD_USERNAME, FR_FIELD_NAME, FR_FIELD_EMAIL, FR_FIELD_USDA_UID
	};
	crypto_generichash_state state;

	crypto_generichash_init(&state, NULL, 0, DIGEST_BYTES);
	for (int i = 0; i < (int) lengthof(parts); i++)
	{
		const FrFieldValue *f = &req->f[parts[i]];
		uint64		len = f->len;
		unsigned char lenbytes[8];

		/* length-prefixed, so ("ab","c") and ("a","bc") differ */
		for (int b = 0; b < 8; b++)
			lenbytes[b] = (unsigned char) (len >> (8 * b));
		crypto_generichash_update(&state, lenbytes, sizeof(lenbytes));
		crypto_generichash_update(&state, (const unsigned char *) f->utf8, f->len);
	}
	crypto_generichash_final(&state, req->digest, DIGEST_BYTES);
}

static bool
get_bool(HeapTuple row, TupleDesc desc, int col)
{
	bool		isnull;
	Datum		d = SPI_getbinval(row, desc, col, &isnull);

	return !isnull && DatumGetBool(d);
}

static bool
get_int8(HeapTuple row, TupleDesc desc, int col, int64 *out)
{
	bool		isnull;
	Datum		d = SPI_getbinval(row, desc, col, &isnull);

	if (!isnull)
		*out = DatumGetInt64(d);
	return !isnull;
}

static bool
key_given(const Request *req)
{
	return !req->f[FR_FIELD_IDEMPOTENCY_KEY].is_null &&
		req->out.codes[FR_FIELD_IDEMPOTENCY_KEY] == NULL;
}

/* One row of the lookup into req->lk. */
static void
read_lookup(Request *req, HeapTuple row, TupleDesc desc)
{
	Lookup	   *lk = &req->lk;
	bool		isnull;
	Datum		d;

	memset(lk, 0, sizeof(*lk));
	lk->username_taken = get_bool(row, desc, LK_USERNAME_TAKEN);
	lk->email_taken = get_bool(row, desc, LK_EMAIL_TAKEN);
	lk->usda_found = get_int8(row, desc, LK_USDA_FARM_ID, &lk->usda_farm_id);
	if (lk->usda_found)
		lk->usda_name = DatumGetTextPCopy(SPI_getbinval(row, desc, LK_USDA_NAME,
														&isnull));
	lk->farm_claimed = get_bool(row, desc, LK_FARM_CLAIMED);

	d = SPI_getbinval(row, desc, LK_KEY_DIGEST, &isnull);
	if (!isnull)
	{
		bytea	   *stored = DatumGetByteaPP(d);

		lk->key_found = true;
		lk->key_matches = VARSIZE_ANY_EXHDR(stored) == DIGEST_BYTES &&
			memcmp(VARDATA_ANY(stored), req->digest, DIGEST_BYTES) == 0;
		get_int8(row, desc, LK_KEY_USER_ID, &lk->key_ids[0]);
		get_int8(row, desc, LK_KEY_FARM_ID, &lk->key_ids[1]);
		get_int8(row, desc, LK_KEY_FARMER_ID, &lk->key_ids[2]);
	}
}

/* The field of each request as text, NULL if it is not to be looked up. */
static bool
lookup_arg(Request *req, int arg, bool key_only, Datum *value)
{
	static const FrField fields[4] = {
		FR_FIELD_USERNAME, FR_FIELD_EMAIL, FR_FIELD_USDA_UID, FR_FIELD_IDEMPOTENCY_KEY
	};

	if (arg == 3 ? !key_given(req) :
		key_only || req->out.codes[fields[arg]] != NULL)
		return false;
	*value = fr_field_text(&req->f[fields[arg]]);
	return true;
}

/*
 * Runs the lookup for reqs[0..n) into their lk.  Fields whose format is
 * wrong are passed as NULL (no lookup for them); key_only asks about the
 * keys alone.
 */
static void
lookup(Request **reqs, int n, bool key_only)
{
	int			many = n > 1;
	int			with_key = 0;
	Datum		args[4];
	char		nulls[4];
	int			rc;

	for (int i = 0; i < n && !with_key; i++)
		with_key = key_given(reqs[i]);
	if (lookup_plans[many][with_key] == NULL)
	{
		Oid			argtypes[4];

		for (int a = 0; a < 4; a++)
			argtypes[a] = many ? TEXTARRAYOID : TEXTOID;
		lookup_plans[many][with_key] =
			fr_spi_prepare(lookup_sql[many][with_key], 4, argtypes);
	}

	for (int a = 0; a < 4; a++)
	{
		if (!many)
			nulls[a] = lookup_arg(reqs[0], a, key_only, &args[a]) ? ' ' : 'n';
		else
		{
			Datum	   *elems = palloc(sizeof(Datum) * n);
			bool	   *elnulls = palloc(sizeof(bool) * n);
			int			dims[1] = {n};
			int			lbs[1] = {1};

			for (int i = 0; i < n; i++)
				elnulls[i] = !lookup_arg(reqs[i], a, key_only, &elems[i]);
			args[a] = PointerGetDatum(construct_md_array(elems, elnulls, 1, dims, lbs,
														 TEXTOID, -1, false,
														 TYPALIGN_INT));
			nulls[a] = ' ';
		}
	}

	rc = fr_spi_execute(lookup_plans[many][with_key], args, nulls, false, 0);
	if (rc != SPI_OK_SELECT || SPI_processed != (uint64) n)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("registration lookup failed: %s",
						SPI_result_code_string(rc))));
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		HeapTuple	row = SPI_tuptable->vals[r];
		int64		ordinal = 0;

		get_int8(row, SPI_tuptable->tupdesc, LK_ORDINAL, &ordinal);
		if (ordinal < 1 || ordinal > n)
			ereport(ERROR,
					(errcode(ERRCODE_INTERNAL_ERROR),
					 errmsg("registration lookup returned an unknown request")));
		read_lookup(reqs[ordinal - 1], row, SPI_tuptable->tupdesc);
	}
	SPI_freetuptable(SPI_tuptable);
}

/* The result of a key seen before: its stored result, or key reuse. */
static void
answer_from_key(Request *req)
{
	if (req->lk.key_matches)
	{
		req->out.ok = true;
		memcpy(req->out.ids, req->lk.key_ids, sizeof(req->out.ids));
	}
	else
	{
		req->out.codes[FR_FIELD_IDEMPOTENCY_KEY] = FR_CODE_IDEMPOTENCY_KEY_REUSED;
		req->out.failed_step = "validate";
	}
}

/* The field rules, before anything is looked up. */
static void
check_fields(Request *req)
{
	const FrFieldValue *f = req->f;
	Outcome    *out = &req->out;

	out->codes[FR_FIELD_USERNAME] =
		fr_check_username(f[FR_FIELD_USERNAME].utf8, f[FR_FIELD_USERNAME].len);
	out->codes[FR_FIELD_PASSWORD] =
		fr_check_password(f[FR_FIELD_PASSWORD].utf8, f[FR_FIELD_PASSWORD].len);
	out->codes[FR_FIELD_NAME] =
		fr_check_name(f[FR_FIELD_NAME].utf8, f[FR_FIELD_NAME].len);
	out->codes[FR_FIELD_EMAIL] =
		fr_check_email(f[FR_FIELD_EMAIL].utf8, f[FR_FIELD_EMAIL].len);
	out->codes[FR_FIELD_USDA_UID] =
		fr_check_usda_uid(f[FR_FIELD_USDA_UID].utf8, f[FR_FIELD_USDA_UID].len);
	out->codes[FR_FIELD_IDEMPOTENCY_KEY] =
		fr_check_idempotency_key(f[FR_FIELD_IDEMPOTENCY_KEY].utf8,
								 f[FR_FIELD_IDEMPOTENCY_KEY].len,
								 f[FR_FIELD_IDEMPOTENCY_KEY].is_null);

	/* the request's identity matters only to compare it with a key's */
	if (key_given(req))
		request_digest(req);
}

/*
 * What the lookup found, as codes.  Returns false when the request is
 * answered already by its idempotency key (the stored result, or key reuse
 * beside any format errors: the rows the key registered would only show up
 * as conflicts).  Otherwise out.codes holds every field's error, if any.
 */
static bool
judge_lookup(Request *req)
{
	Outcome    *out = &req->out;

	if (req->lk.key_found)
	{
		answer_from_key(req);
		return false;
	}
	if (out->codes[FR_FIELD_USERNAME] == NULL && req->lk.username_taken)
		out->codes[FR_FIELD_USERNAME] = FR_CODE_USERNAME_TAKEN;
	if (out->codes[FR_FIELD_EMAIL] == NULL && req->lk.email_taken)
		out->codes[FR_FIELD_EMAIL] = FR_CODE_EMAIL_ALREADY_CLAIMED;
	if (out->codes[FR_FIELD_USDA_UID] == NULL)
	{
		if (!req->lk.usda_found)
			out->codes[FR_FIELD_USDA_UID] = FR_CODE_INVALID_USDA_UID;
		else if (req->lk.farm_claimed)
			out->codes[FR_FIELD_USDA_UID] = FR_CODE_FARM_ALREADY_CLAIMED;
	}
	return true;
}

static bool
has_errors(const Outcome *out)
{
	for (int i = 0; i < FR_NFIELDS; i++)
	{
		if (out->codes[i] != NULL)
			return true;
	}
	return false;
}

static void
set_internal_error(Request *req, const char *step, int sqlerrcode)
{
	req->out.failed_step = step;
	req->out.internal_sqlstate = unpack_sql_state(sqlerrcode);
}

/*
 * Hashes the password of an accepted request (only now: rejected requests
 * never pay for it) and binds the program's inputs.  False when the hash
 * could not be made, with the outcome set.
 */
static bool
bind_inputs(Request *req)
{
	const FrFieldValue *f = req->f;
	char		hash[crypto_pwhash_argon2id_STRBYTES];

	if (!fr_password_hash(f[FR_FIELD_PASSWORD].utf8, f[FR_FIELD_PASSWORD].len,
						  hash))
	{
		const char *step = registration_steps[STEP_CREATE_USER].label;

		ereport(LOG,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("farmreg: registration failed in step \"%s\": could not hash the password with opslimit %d and memlimit %d kB",
						step, farmreg_password_opslimit,
						farmreg_password_memlimit_kb),
				 errhidestmt(true)));
		set_internal_error(req, step, ERRCODE_OUT_OF_MEMORY);
		return false;
	}

	memset(req->nulls, 0, sizeof(req->nulls));
	req->values[IN_USERNAME] = fr_field_text(&f[FR_FIELD_USERNAME]);
	req->values[IN_EMAIL] = fr_field_text(&f[FR_FIELD_EMAIL]);
	req->values[IN_NAME] = fr_field_text(&f[FR_FIELD_NAME]);
	req->values[IN_PASSWORD_HASH] = CStringGetTextDatum(hash);
	req->values[IN_FARM_NAME] = PointerGetDatum(req->lk.usda_name);
	req->values[IN_USDA_FARM_ID] = Int64GetDatum(req->lk.usda_farm_id);
	req->values[IN_USDA_UID] = fr_field_text(&f[FR_FIELD_USDA_UID]);
	if (f[FR_FIELD_IDEMPOTENCY_KEY].is_null)
	{
		req->nulls[IN_KEY] = req->nulls[IN_DIGEST] = true;
		req->values[IN_KEY] = req->values[IN_DIGEST] = (Datum) 0;
	}
	else
	{
		bytea	   *digest = palloc(VARHDRSZ + DIGEST_BYTES);

		SET_VARSIZE(digest, VARHDRSZ + DIGEST_BYTES);
		memcpy(VARDATA(digest), req->digest, DIGEST_BYTES);
		req->values[IN_KEY] = fr_field_text(&f[FR_FIELD_IDEMPOTENCY_KEY]);
		req->values[IN_DIGEST] = PointerGetDatum(digest);
	}
	return true;
}

static void
take_ids(Request *req, const FrRequest *run)
{
	req->out.ok = true;
	req->out.ids[0] = run->ids[STEP_CREATE_USER];
	req->out.ids[1] = run->ids[STEP_CREATE_FARM];
	req->out.ids[2] = run->ids[STEP_CREATE_FARMER];
}

/* What a failed run means for the request that failed. */
static void
take_failure(Request *req, const FrProgram *prog, const FrFailure *failure)
{
	const char *step = prog->steps[failure->step].label;

	if (failure->conflict == NULL)
	{
		ereport(LOG,
				(errcode(failure->error->sqlerrcode),
				 errmsg("farmreg: registration failed in step \"%s\": %s",
						step, failure->error->message),
				 failure->error->detail ?
				 errdetail_internal("%s", failure->error->detail) : 0,
				 failure->error->hint ? errhint("%s", failure->error->hint) : 0,
				 failure->error->context ?
				 errcontext("%s", failure->error->context) : 0,
				 errhidestmt(true)));
		set_internal_error(req, step, failure->error->sqlerrcode);
		return;
	}

	/*
	 * Another session won a race since our lookup.  If it registered under
	 * our idempotency key (it committed: we waited for it on the index), its
	 * result is ours.
	 */
	if (key_given(req))
	{
		lookup(&req, 1, true);
		if (req->lk.key_found)
		{
			answer_from_key(req);
			return;
		}
		/*
		 * The key's own conflict, or any conflict under a transaction
		 * snapshot (REPEATABLE READ, SERIALIZABLE) that cannot see the
		 * winner's key: the request may well be the winner's, and a retry of
		 * the transaction will know.
		 */
		if (strcmp(failure->conflict->code, FR_CODE_IDEMPOTENCY_KEY_REUSED) == 0 ||
			IsolationUsesXactSnapshot())
			ereport(ERROR,
					(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
					 errmsg("could not serialize access due to a concurrent registration with the same idempotency key"),
					 errhint("Retry the transaction.")));
	}
	req->out.failed_step = step;
	for (int i = 0; i < FR_NFIELDS; i++)
	{
		if (strcmp(fr_field_names[i], failure->conflict->field) == 0)
			req->out.codes[i] = failure->conflict->code;
	}
}

/* The chunk being run by the fast path, for take_chunk_rows. */
typedef struct Chunk
{
	Request   **reqs;
	int			n;
} Chunk;

/* Each row of the chunk statement: ordinality, user, farm and farmer ids. */
static void
take_chunk_rows(FrRequest *run, SPITupleTable *rows, uint64 nrows)
{
	Chunk	   *chunk = (Chunk *) run->arg;

	if (nrows != (uint64) chunk->n)
		ereport(ERROR,
				(errcode(ERRCODE_CARDINALITY_VIOLATION),
				 errmsg("a chunk of %d registrations wrote " UINT64_FORMAT,
						chunk->n, nrows)));
	for (uint64 r = 0; r < nrows; r++)
	{
		Request    *req;
		bool		isnull;
		int64		n = DatumGetInt64(SPI_getbinval(rows->vals[r], rows->tupdesc, 1,
												  &isnull));

		if (isnull || n < 1 || n > chunk->n)
			ereport(ERROR,
					(errcode(ERRCODE_INTERNAL_ERROR),
					 errmsg("a chunk of registrations returned an unknown request")));
		req = chunk->reqs[n - 1];
		req->out.ok = true;
		for (int c = 0; c < 3; c++)
			req->out.ids[c] = DatumGetInt64(SPI_getbinval(rows->vals[r], rows->tupdesc,
														  c + 2, &isnull));
	}
}

/* One input of the chunk statement: an array of the requests' values. */
static Datum
chunk_array(Request **reqs, int n, int input, Oid elemtype)
{
	Datum	   *elems = palloc(sizeof(Datum) * n);
	bool	   *nulls = palloc(sizeof(bool) * n);
	int			dims[1] = {n};
	int			lbs[1] = {1};
	int16		typlen;
	bool		typbyval;
	char		typalign;

	for (int i = 0; i < n; i++)
	{
		elems[i] = reqs[i]->values[input];
		nulls[i] = reqs[i]->nulls[input];
	}
	get_typlenbyvalalign(elemtype, &typlen, &typbyval, &typalign);
	return PointerGetDatum(construct_md_array(elems, nulls, 1, dims, lbs, elemtype,
											  typlen, typbyval, typalign));
}

/*
 * The fast path: the chunk reqs[0..n) in one statement and one
 * subtransaction.  False when anything failed; nothing of the chunk remains
 * then, and no outcome was set.
 */
static bool
run_chunk(Request **reqs, int n)
{
	Datum		values[N_INPUTS];
	bool		nulls[N_INPUTS] = {0};
	Chunk		chunk = {.reqs = reqs,.n = n};
	FrRequest	run = {.values = values,.nulls = nulls,
	.take_rows = take_chunk_rows,.arg = &chunk};
	FrFailure	failure;

	/* one array per input of a registration, in the same order */
	for (int i = 0; i < N_INPUTS; i++)
		values[i] = chunk_array(reqs, n, i, chunk_elem_types[i]);
	if (fr_run_steps(&registration_chunk_1_1, &run, 1, &failure))
		return true;
	for (int i = 0; i < n; i++)
		reqs[i]->out.ok = false;
	return false;
}

/*
 * Runs the accepted requests reqs[0..n), BATCH_CHUNK per subtransaction:
 * each chunk in one statement, or, if that fails, request by request through
 * the registration's own steps.  When one request fails there, it is taken
 * out and the rest of its chunk runs again.
 */
static void
run_requests(FrProgram *prog, Request **reqs, int n)
{
	FrRequest  *runs = palloc0(sizeof(FrRequest) * Min(n, BATCH_CHUNK));
	int		   *live = palloc(sizeof(int) * Min(n, BATCH_CHUNK));

	for (int start = 0; start < n; start += BATCH_CHUNK)
	{
		int			nlive = 0;

		CHECK_FOR_INTERRUPTS();
		if (run_chunk(reqs + start, Min(BATCH_CHUNK, n - start)))
			continue;

		for (int i = start; i < n && i < start + BATCH_CHUNK; i++)
			live[nlive++] = i;
		while (nlive > 0)
		{
			FrFailure	failure;

			for (int j = 0; j < nlive; j++)
			{
				runs[j].values = reqs[live[j]]->values;
				runs[j].nulls = reqs[live[j]]->nulls;
			}
			if (fr_run_steps(prog, runs, nlive, &failure))
			{
				for (int j = 0; j < nlive; j++)
					take_ids(reqs[live[j]], &runs[j]);
				break;
			}
			take_failure(reqs[live[failure.request]], prog, &failure);
			nlive--;
			memmove(&live[failure.request], &live[failure.request + 1],
					sizeof(int) * (nlive - failure.request));
		}
	}
}

/* Adds the codes of an outcome to the set whose copy is to be read. */
static void
copy_want(Copy *copy, const Outcome *out)
{
	const char *codes[FR_NFIELDS + 1];
	int			n = 0;

	for (int i = 0; i < FR_NFIELDS; i++)
	{
		if (out->codes[i] != NULL)
			codes[n++] = out->codes[i];
	}
	if (out->internal_sqlstate != NULL)
		codes[n++] = FR_CODE_INTERNAL_ERROR;

	for (int i = 0; i < n; i++)
	{
		bool		seen = false;

		for (int j = 0; j < copy->n && !seen; j++)
			seen = strcmp(copy->codes[j], codes[i]) == 0;
		if (!seen && copy->n < (int) lengthof(copy->codes))
			copy->codes[copy->n++] = codes[i];
	}
}

static const char *
copy_for(const Copy *copy, const char *code)
{
	for (int j = 0; j < copy->n; j++)
	{
		if (strcmp(copy->codes[j], code) == 0)
			return copy->messages[j];
	}
	return NULL;
}

/* Adds "key": value (a JSON null for a NULL value) to an object. */
static void
push_pair(JsonbParseState **state, const char *key, const char *value)
{
	JsonbValue	k;
	JsonbValue	v;

	k.type = jbvString;
	k.val.string.val = (char *) key;
	k.val.string.len = strlen(key);
	pushJsonbValue(state, WJB_KEY, &k);
	if (value == NULL)
		v.type = jbvNull;
	else
	{
		v.type = jbvString;
		v.val.string.val = (char *) value;
		v.val.string.len = strlen(value);
	}
	pushJsonbValue(state, WJB_VALUE, &v);
}

/* The eight columns of farmreg.registration_result for an outcome. */
static void
result_values(const Outcome *out, const Copy *copy, Datum *values, bool *nulls)
{
	JsonbParseState *state = NULL;
	JsonbValue *array;
	const char *first = NULL;

	pushJsonbValue(&state, WJB_BEGIN_ARRAY, NULL);
	for (int i = 0; i <= FR_NFIELDS; i++)
	{
		const char *field = i < FR_NFIELDS ? fr_field_names[i] : NULL;
		const char *code = i < FR_NFIELDS ? out->codes[i] :
			out->internal_sqlstate ? FR_CODE_INTERNAL_ERROR : NULL;

		if (code == NULL)
			continue;
		if (first == NULL)
			first = code;
		pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
		push_pair(&state, "field", field);
		push_pair(&state, "code", code);
		push_pair(&state, "message", copy_for(copy, code));
		if (field == NULL)
			push_pair(&state, "sqlstate", out->internal_sqlstate);
		pushJsonbValue(&state, WJB_END_OBJECT, NULL);
	}
	array = pushJsonbValue(&state, WJB_END_ARRAY, NULL);

	memset(nulls, 0, sizeof(bool) * N_RESULT_COLS);
	values[0] = BoolGetDatum(out->ok);
	for (int i = 0; i < 3; i++)
	{
		values[1 + i] = Int64GetDatum(out->ids[i]);
		nulls[1 + i] = !out->ok;
	}
	nulls[4] = nulls[6] = true;
	if (!out->ok && first != NULL)
	{
		const char *message = copy_for(copy, first);

		values[4] = CStringGetTextDatum(first);
		nulls[4] = false;
		if (message != NULL)
		{
			values[6] = CStringGetTextDatum(message);
			nulls[6] = false;
		}
	}
	nulls[5] = out->failed_step == NULL;
	if (out->failed_step != NULL)
		values[5] = CStringGetTextDatum(out->failed_step);
	values[7] = JsonbPGetDatum(JsonbValueToJsonb(array));
}

static void
read_copy(Copy *copy, const char *locale)
{
	fr_catalog_lookup(copy->codes, copy->n, locale, false, copy->messages);
}

/*
 * The blessed descriptor of farmreg.registration_result, looked up once per
 * call site (the query's FmgrInfo) rather than once per call.
 */
static TupleDesc
result_tupdesc(FunctionCallInfo fcinfo)
{
	if (fcinfo->flinfo->fn_extra == NULL)
	{
		TupleDesc	tupdesc;
		MemoryContext oldcxt;

		if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("function returning record called in context that cannot accept type record")));
		oldcxt = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
		fcinfo->flinfo->fn_extra = BlessTupleDesc(CreateTupleDescCopy(tupdesc));
		MemoryContextSwitchTo(oldcxt);
	}
	return (TupleDesc) fcinfo->flinfo->fn_extra;
}

/* One registration; connected to SPI. */
static void
register_one(FrProgram *prog, Request *req)
{
	FrRequest	run = {.values = req->values,.nulls = req->nulls};
	FrFailure	failure;

	check_fields(req);
	lookup(&req, 1, false);
	if (!judge_lookup(req))
		return;
	if (has_errors(&req->out))
	{
		req->out.failed_step = "validate";
		return;
	}
	if (!bind_inputs(req))
		return;
	if (fr_run_steps(prog, &run, 1, &failure))
		take_ids(req, &run);
	else
		take_failure(req, prog, &failure);
}

static Datum
register_farm_admin(FunctionCallInfo fcinfo, FrProgram *prog)
{
	MemoryContext fncxt = CurrentMemoryContext;
	MemoryContext callcxt;
	Request    *req;
	char	   *locale;
	Copy		copy = {0};
	TupleDesc	tupdesc;
	Datum		values[N_RESULT_COLS];
	bool		nulls[N_RESULT_COLS];
	HeapTuple	tuple;

	PreventCommandIfReadOnly("register_farm_admin()");
	tupdesc = result_tupdesc(fcinfo);

	/* everything of this call lives in callcxt, gone when it returns */
	callcxt = AllocSetContextCreate(fncxt, "farmreg registration",
									ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(callcxt);

	req = palloc0(sizeof(Request));
	fr_field_from_arg(fcinfo, 0, true, &req->f[FR_FIELD_USERNAME]);
	fr_field_from_arg(fcinfo, 1, false, &req->f[FR_FIELD_PASSWORD]);
	fr_field_from_arg(fcinfo, 2, true, &req->f[FR_FIELD_NAME]);
	fr_field_from_arg(fcinfo, 3, true, &req->f[FR_FIELD_EMAIL]);
	fr_field_from_arg(fcinfo, 4, true, &req->f[FR_FIELD_USDA_UID]);
	fr_field_from_arg(fcinfo, 5, true, &req->f[FR_FIELD_IDEMPOTENCY_KEY]);
	locale = fr_arg_cstring(fcinfo, 6);

	fr_spi_connect();
	register_one(prog, req);
	copy_want(&copy, &req->out);
	read_copy(&copy, locale);
	SPI_finish();

	result_values(&req->out, &copy, values, nulls);
	MemoryContextSwitchTo(fncxt);
	tuple = heap_form_tuple(tupdesc, values, nulls);
	MemoryContextDelete(callcxt);
	return HeapTupleGetDatum(tuple);
}

static Datum
register_farm_admin_1_0(FunctionCallInfo fcinfo)
{
	return register_farm_admin(fcinfo, &registration_1_0);
}

static Datum
register_farm_admin_1_1(FunctionCallInfo fcinfo)
{
	return register_farm_admin(fcinfo, &registration_1_1);
}

Datum
farmreg_register_farm_admin(PG_FUNCTION_ARGS)
{
	return fr_call_redacted(register_farm_admin_1_0, fcinfo);
}

Datum
farmreg_register_farm_admin_1_1(PG_FUNCTION_ARGS)
{
	return fr_call_redacted(register_farm_admin_1_1, fcinfo);
}

/*
 * Batches.
 */

/* A field of a batch element; absent and JSON null are blank. */
static void
field_from_json(JsonbContainer *obj, const char *name, bool trim,
				FrFieldValue *field)
{
	JsonbValue	v;
	char	   *s;

	if (!getKeyJsonValueFromContainer(obj, name, strlen(name), &v) ||
		v.type == jbvNull)
	{
		fr_field_set(field, NULL, 0, trim);
		return;
	}
	switch (v.type)
	{
		case jbvString:
			fr_field_set(field, v.val.string.val, v.val.string.len, trim);
			return;
		case jbvNumeric:
			s = DatumGetCString(DirectFunctionCall1(numeric_out,
													NumericGetDatum(v.val.numeric)));
			break;
		case jbvBool:
			s = v.val.boolean ? "true" : "false";
			break;
		default:
			/* an object or array: its JSON text, which no rule accepts */
			s = JsonbToCString(NULL, v.val.binary.data, v.val.binary.len);
			break;
	}
	fr_field_set(field, s, strlen(s), trim);
}

static const char *
json_type_name(const JsonbValue *v)
{
	switch (v->type)
	{
		case jbvNull:
			return "null";
		case jbvString:
			return "string";
		case jbvNumeric:
			return "number";
		case jbvBool:
			return "boolean";
		case jbvBinary:
			return JsonContainerIsArray(v->val.binary.data) ? "array" : "object";
		default:
			return "value";
	}
}

static void
read_requests(Jsonb *jb, Request **reqs_out, int *n_out)
{
	static const char *const keys[FR_NFIELDS] = {
		"username", "password", "name", "email", "usda_uid", "idempotency_key"
	};
	Request    *reqs;
	int			n;

	if (JB_ROOT_IS_SCALAR(jb) || !JB_ROOT_IS_ARRAY(jb))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("requests must be a JSON array of objects"),
				 errdetail("The value given is a JSON %s.",
						   JB_ROOT_IS_SCALAR(jb) ? "scalar" : "object")));

	n = JB_ROOT_COUNT(jb);
	reqs = palloc0(sizeof(Request) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		JsonbValue *elem = getIthJsonbValueFromContainer(&jb->root, i);

		if (elem->type != jbvBinary || !JsonContainerIsObject(elem->val.binary.data))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("requests must be a JSON array of objects"),
					 errdetail("Element %d is a JSON %s.", i + 1, json_type_name(elem))));
		for (int f = 0; f < FR_NFIELDS; f++)
			field_from_json(elem->val.binary.data, keys[f], f != FR_FIELD_PASSWORD,
							&reqs[i].f[f]);
		reqs[i].follows = -1;
	}
	*reqs_out = reqs;
	*n_out = n;
}

/* What the accepted requests before this one in the batch have claimed. */
typedef struct Claims
{
	HTAB	   *usernames;		/* lower-case username */
	HTAB	   *emails;			/* lower-case email */
	HTAB	   *farms;			/* usda_farms.id */
	HTAB	   *keys;			/* BLAKE2b of the key -> the request */
} Claims;

typedef struct KeyClaim
{
	unsigned char key_digest[DIGEST_BYTES];
	int			request;
} KeyClaim;

static HTAB *
claims_table(const char *name, Size keysize, Size entrysize, int flags, int n)
{
	HASHCTL		ctl = {0};

	ctl.keysize = keysize;
	ctl.entrysize = entrysize;
	ctl.hcxt = CurrentMemoryContext;
	return hash_create(name, Max(n, 16), &ctl, HASH_ELEM | HASH_CONTEXT | flags);
}

/* A lower-case copy, NUL-terminated, of an ASCII field (username, email). */
static void
ascii_lower_key(const FrFieldValue *f, char *buf, size_t size)
{
	size_t		n = Min(f->len, size - 1);

	for (size_t i = 0; i < n; i++)
		buf[i] = pg_ascii_tolower((unsigned char) f->utf8[i]);
	buf[n] = '\0';
}

static void
key_digest(const FrFieldValue *key, unsigned char out[DIGEST_BYTES])
{
	crypto_generichash(out, DIGEST_BYTES, (const unsigned char *) key->utf8,
					   key->len, NULL, 0);
}

/*
 * Judges request i against the accepted requests before it, as the database
 * would if they had been registered one call at a time.  Returns false when
 * the request is answered (it repeats an earlier one's key).
 */
static bool
check_claims(Claims *claims, Request *reqs, int i)
{
	Request    *req = &reqs[i];
	Outcome    *out = &req->out;
	char		buf[FR_EMAIL_MAX + 1];
	int64		farm = req->lk.usda_farm_id;

	if (key_given(req))
	{
		unsigned char kd[DIGEST_BYTES];
		KeyClaim   *kc;

		key_digest(&req->f[FR_FIELD_IDEMPOTENCY_KEY], kd);
		kc = hash_search(claims->keys, kd, HASH_FIND, NULL);
		if (kc != NULL)
		{
			if (memcmp(reqs[kc->request].digest, req->digest, DIGEST_BYTES) == 0)
				req->follows = kc->request;
			else
			{
				out->codes[FR_FIELD_IDEMPOTENCY_KEY] = FR_CODE_IDEMPOTENCY_KEY_REUSED;
				out->failed_step = "validate";
			}
			return false;
		}
	}

	if (out->codes[FR_FIELD_USERNAME] == NULL)
	{
		ascii_lower_key(&req->f[FR_FIELD_USERNAME], buf, FR_USERNAME_MAX + 1);
		if (hash_search(claims->usernames, buf, HASH_FIND, NULL) != NULL)
			out->codes[FR_FIELD_USERNAME] = FR_CODE_USERNAME_TAKEN;
	}
	if (out->codes[FR_FIELD_EMAIL] == NULL)
	{
		ascii_lower_key(&req->f[FR_FIELD_EMAIL], buf, FR_EMAIL_MAX + 1);
		if (hash_search(claims->emails, buf, HASH_FIND, NULL) != NULL)
			out->codes[FR_FIELD_EMAIL] = FR_CODE_EMAIL_ALREADY_CLAIMED;
	}
	if (out->codes[FR_FIELD_USDA_UID] == NULL &&
		hash_search(claims->farms, &farm, HASH_FIND, NULL) != NULL)
		out->codes[FR_FIELD_USDA_UID] = FR_CODE_FARM_ALREADY_CLAIMED;
	return true;
}

static void
claim(Claims *claims, Request *reqs, int i)
{
	Request    *req = &reqs[i];
	char		buf[FR_EMAIL_MAX + 1];
	int64		farm = req->lk.usda_farm_id;

	ascii_lower_key(&req->f[FR_FIELD_USERNAME], buf, FR_USERNAME_MAX + 1);
	hash_search(claims->usernames, buf, HASH_ENTER, NULL);
	ascii_lower_key(&req->f[FR_FIELD_EMAIL], buf, FR_EMAIL_MAX + 1);
	hash_search(claims->emails, buf, HASH_ENTER, NULL);
	hash_search(claims->farms, &farm, HASH_ENTER, NULL);
	if (key_given(req))
	{
		unsigned char kd[DIGEST_BYTES];
		KeyClaim   *kc;

		key_digest(&req->f[FR_FIELD_IDEMPOTENCY_KEY], kd);
		kc = hash_search(claims->keys, kd, HASH_ENTER, NULL);
		kc->request = i;
	}
}

static Datum
register_farm_admins(FunctionCallInfo fcinfo)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MemoryContext fncxt = CurrentMemoryContext;
	MemoryContext callcxt;
	FrProgram  *prog = &registration_1_1;
	Request    *reqs;
	Request   **accepted;
	int			n;
	int			naccepted = 0;
	char	   *locale;
	Claims		claims;
	Copy		copy = {0};

	PreventCommandIfReadOnly("register_farm_admins()");
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("requests must be a JSON array of objects"),
				 errdetail("The value given is NULL.")));
	InitMaterializedSRF(fcinfo, 0);

	callcxt = AllocSetContextCreate(fncxt, "farmreg batch registration",
									ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(callcxt);

	read_requests(PG_GETARG_JSONB_P(0), &reqs, &n);
	locale = fr_arg_cstring(fcinfo, 1);
	accepted = palloc(sizeof(Request *) * Max(n, 1));

	claims.usernames = claims_table("farmreg batch usernames",
									FR_USERNAME_MAX + 1, FR_USERNAME_MAX + 1,
									HASH_STRINGS, n);
	claims.emails = claims_table("farmreg batch emails",
								 FR_EMAIL_MAX + 1, FR_EMAIL_MAX + 1,
								 HASH_STRINGS, n);
	claims.farms = claims_table("farmreg batch farms",
								sizeof(int64), sizeof(int64), HASH_BLOBS, n);
	claims.keys = claims_table("farmreg batch keys",
							   DIGEST_BYTES, sizeof(KeyClaim), HASH_BLOBS, n);

	fr_spi_connect();

	/*
	 * Judge every request, in order, against the database (looked up a chunk
	 * at a time) and the accepted requests before it; hash the accepted ones.
	 */
	for (int i = 0; i < n; i++)
	{
		Request    *req = &reqs[i];

		CHECK_FOR_INTERRUPTS();
		if (i % BATCH_CHUNK == 0)
		{
			int			m = Min(BATCH_CHUNK, n - i);
			Request   **slice = palloc(sizeof(Request *) * m);

			for (int j = 0; j < m; j++)
			{
				slice[j] = &reqs[i + j];
				check_fields(slice[j]);
			}
			lookup(slice, m, false);
			pfree(slice);
		}
		if (!judge_lookup(req) || !check_claims(&claims, reqs, i))
			continue;
		if (has_errors(&req->out))
		{
			req->out.failed_step = "validate";
			continue;
		}
		claim(&claims, reqs, i);
		if (bind_inputs(req))
			accepted[naccepted++] = req;
	}

	run_requests(prog, accepted, naccepted);

	/* a repeat of an earlier request's key shares its result */
	for (int i = 0; i < n; i++)
	{
		if (reqs[i].follows >= 0)
			reqs[i].out = reqs[reqs[i].follows].out;
		copy_want(&copy, &reqs[i].out);
	}
	read_copy(&copy, locale);
	SPI_finish();

	for (int i = 0; i < n; i++)
	{
		Datum		values[N_RESULT_COLS + 1];
		bool		nulls[N_RESULT_COLS + 1];

		values[0] = Int32GetDatum(i + 1);
		nulls[0] = false;
		result_values(&reqs[i].out, &copy, values + 1, nulls + 1);
		MemoryContextSwitchTo(fncxt);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		MemoryContextSwitchTo(callcxt);
	}

	MemoryContextSwitchTo(fncxt);
	MemoryContextDelete(callcxt);
	return (Datum) 0;
}

Datum
farmreg_register_farm_admins_1_1(PG_FUNCTION_ARGS)
{
	return fr_call_redacted(register_farm_admins, fcinfo);
}
