/*-------------------------------------------------------------------------
 *
 * register.c
 *	  The SQL entry points: register_farm_admin, verify_password and
 *	  error_message.
 *
 * A registration is the static step program below (create_user ->
 * create_farm -> create_farmer -> record_idempotency_key) plus the map from
 * unique constraints to error codes; steps.c runs it.  Around it:
 *
 *	read + trim arguments (NULL = blank)
 *	field rules (validate.c), then ONE lookup query for everything the
 *	database knows: taken username / email, the USDA record and whether it is
 *	claimed, and the idempotency key
 *	key seen with the same request -> its stored result; another request ->
 *	idempotency_key_reused
 *	any error -> a result with every field's error, failed_step = validate
 *	hash the password (only now), run the steps, map what failed
 *
 * Passwords: the plaintext goes to libsodium and nowhere else.  No SQL sees
 * it, and any error that escapes one of these functions is re-thrown with
 * its STATEMENT hidden, because the statement may hold the password.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"

#include "catalog.h"
#include "password.h"
#include "steps.h"
#include "validate.h"

PG_FUNCTION_INFO_V1(farmreg_register_farm_admin);
PG_FUNCTION_INFO_V1(farmreg_verify_password);
PG_FUNCTION_INFO_V1(farmreg_error_message);

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
	N_INPUTS
};

enum
{
	STEP_CREATE_USER,
	STEP_CREATE_FARM,
	STEP_CREATE_FARMER,
	STEP_RECORD_KEY,
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
		 * Last, so a keyed registration costs one write more than an unkeyed
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
};

/* A unique violation that another session caused between check and insert. */
static const FrConstraintCode registration_constraints[] = {
	{"users_username_lower_key", "username", FR_CODE_USERNAME_TAKEN},
	{"users_email_lower_key", "email", FR_CODE_EMAIL_ALREADY_CLAIMED},
	{"farms_usda_farm_id_key", "usda_uid", FR_CODE_FARM_ALREADY_CLAIMED},
	{"idempotency_keys_pkey", "idempotency_key", FR_CODE_IDEMPOTENCY_KEY_REUSED},
};

static FrProgram registration = {
	.name = "register_farm_admin",
	.steps = registration_steps,
	.nsteps = N_STEPS,
	.constraints = registration_constraints,
	.nconstraints = lengthof(registration_constraints),
};

/*
 * Everything the database knows about a request, in one round trip.  A NULL
 * parameter (a field whose format is already wrong) matches nothing.
 */
static const char *lookup_sql =
"SELECT EXISTS (SELECT FROM farmreg.users AS u"
"                WHERE pg_catalog.lower(u.username) = pg_catalog.lower($1)),"
"       EXISTS (SELECT FROM farmreg.users AS u"
"                WHERE pg_catalog.lower(u.email) = pg_catalog.lower($2)),"
"       f.id, f.name,"
"       EXISTS (SELECT FROM farmreg.farms AS fm WHERE fm.usda_farm_id = f.id),"
"       k.request_digest, k.user_id, k.farm_id, k.farmer_id"
"  FROM (SELECT) AS one"
"  LEFT JOIN farmreg.usda_farms AS f ON f.usda_uid = $3"
"  LEFT JOIN farmreg.idempotency_keys AS k ON k.key = $4";

static SPIPlanPtr lookup_plan = NULL;

/* Columns of lookup_sql. */
enum
{
	LK_USERNAME_TAKEN = 1,
	LK_EMAIL_TAKEN,
	LK_USDA_FARM_ID,
	LK_USDA_NAME,
	LK_FARM_CLAIMED,
	LK_KEY_DIGEST,
	LK_KEY_USER_ID,
	LK_KEY_FARM_ID,
	LK_KEY_FARMER_ID
};

#define DIGEST_BYTES crypto_generichash_BYTES

/* One argument: its bytes in UTF-8 (after trimming, but for the password). */
typedef struct Field
{
	const char *utf8;
	size_t		len;
	bool		is_null;
} Field;

typedef struct Request
{
	Field		f[FR_NFIELDS];
	unsigned char digest[DIGEST_BYTES];
} Request;

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

/*
 * Runs fn with errors re-thrown without their STATEMENT: the log line of a
 * failed statement would otherwise carry a password given as a literal.
 */
static Datum
call_hiding_statement(Datum (*fn) (FunctionCallInfo), FunctionCallInfo fcinfo)
{
	MemoryContext cxt = CurrentMemoryContext;
	Datum		result = (Datum) 0;

	PG_TRY();
	{
		result = fn(fcinfo);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		edata->hide_stmt = true;
		ReThrowError(edata);
	}
	PG_END_TRY();
	return result;
}

/* UTF-8 bytes of a text argument in the database encoding. */
static void
read_field(FunctionCallInfo fcinfo, int argno, bool trim, Field *field)
{
	text	   *t;
	const char *s;
	size_t		len;
	size_t		start = 0;

	if (PG_ARGISNULL(argno))
	{
		field->utf8 = "";
		field->len = 0;
		field->is_null = true;
		return;
	}
	t = PG_GETARG_TEXT_PP(argno);
	len = VARSIZE_ANY_EXHDR(t);
	s = pg_server_to_any(VARDATA_ANY(t), len, PG_UTF8);
	if (s != VARDATA_ANY(t))
		len = strlen(s);
	if (trim)
		len = fr_trim(s, len, &start);
	field->utf8 = s + start;
	field->len = len;
	field->is_null = false;
}

/* A field as a text Datum in the database encoding, for SQL. */
static Datum
field_text(const Field *field)
{
	char	   *server = pg_any_to_server(field->utf8, field->len, PG_UTF8);

	if (server != field->utf8)
		return PointerGetDatum(cstring_to_text(server));
	return PointerGetDatum(cstring_to_text_with_len(field->utf8, field->len));
}

static char *
arg_cstring(FunctionCallInfo fcinfo, int argno)
{
	return PG_ARGISNULL(argno) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(argno));
}

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
		const Field *f = &req->f[parts[i]];
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
get_bool(int col)
{
	bool		isnull;
	Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc,
								  col, &isnull);

	return !isnull && DatumGetBool(d);
}

static bool
get_int8(int col, int64 *out)
{
	bool		isnull;
	Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc,
								  col, &isnull);

	if (!isnull)
		*out = DatumGetInt64(d);
	return !isnull;
}

/*
 * Runs the lookup query.  Fields whose format is wrong are passed as NULL
 * (no lookup for them); key_only asks about the idempotency key alone.
 */
static void
lookup(const Request *req, const Outcome *checked, bool key_only, Lookup *lk)
{
	Datum		args[4] = {0};
	char		nulls[4] = {'n', 'n', 'n', 'n'};
	int			rc;
	bool		isnull;
	Datum		d;

	if (lookup_plan == NULL)
	{
		Oid			argtypes[4] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID};
		SPIPlanPtr	plan = SPI_prepare_cursor(lookup_sql, 4, argtypes,
											  CURSOR_OPT_GENERIC_PLAN);

		if (plan == NULL || SPI_keepplan(plan) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INTERNAL_ERROR),
					 errmsg("could not prepare the registration lookup: %s",
							SPI_result_code_string(SPI_result))));
		lookup_plan = plan;
	}

	if (!key_only && checked->codes[FR_FIELD_USERNAME] == NULL)
	{
		args[0] = field_text(&req->f[FR_FIELD_USERNAME]);
		nulls[0] = ' ';
	}
	if (!key_only && checked->codes[FR_FIELD_EMAIL] == NULL)
	{
		args[1] = field_text(&req->f[FR_FIELD_EMAIL]);
		nulls[1] = ' ';
	}
	if (!key_only && checked->codes[FR_FIELD_USDA_UID] == NULL)
	{
		args[2] = field_text(&req->f[FR_FIELD_USDA_UID]);
		nulls[2] = ' ';
	}
	if (!req->f[FR_FIELD_IDEMPOTENCY_KEY].is_null &&
		checked->codes[FR_FIELD_IDEMPOTENCY_KEY] == NULL)
	{
		args[3] = field_text(&req->f[FR_FIELD_IDEMPOTENCY_KEY]);
		nulls[3] = ' ';
	}

	rc = SPI_execute_plan(lookup_plan, args, nulls, false, 1);
	if (rc != SPI_OK_SELECT || SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("registration lookup failed: %s",
						SPI_result_code_string(rc))));

	memset(lk, 0, sizeof(*lk));
	lk->username_taken = get_bool(LK_USERNAME_TAKEN);
	lk->email_taken = get_bool(LK_EMAIL_TAKEN);
	lk->usda_found = get_int8(LK_USDA_FARM_ID, &lk->usda_farm_id);
	if (lk->usda_found)
	{
		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc,
						  LK_USDA_NAME, &isnull);
		lk->usda_name = DatumGetTextPCopy(d);
	}
	lk->farm_claimed = get_bool(LK_FARM_CLAIMED);

	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc,
					  LK_KEY_DIGEST, &isnull);
	if (!isnull)
	{
		bytea	   *stored = DatumGetByteaPP(d);

		lk->key_found = true;
		lk->key_matches = VARSIZE_ANY_EXHDR(stored) == DIGEST_BYTES &&
			memcmp(VARDATA_ANY(stored), req->digest, DIGEST_BYTES) == 0;
		get_int8(LK_KEY_USER_ID, &lk->key_ids[0]);
		get_int8(LK_KEY_FARM_ID, &lk->key_ids[1]);
		get_int8(LK_KEY_FARMER_ID, &lk->key_ids[2]);
	}
	SPI_freetuptable(SPI_tuptable);
}

/* An idempotency key seen before: its stored result, or key reuse. */
static void
answer_from_key(const Lookup *lk, Outcome *out)
{
	if (lk->key_matches)
	{
		out->ok = true;
		memcpy(out->ids, lk->key_ids, sizeof(out->ids));
	}
	else
	{
		out->codes[FR_FIELD_IDEMPOTENCY_KEY] = FR_CODE_IDEMPOTENCY_KEY_REUSED;
		out->failed_step = "validate";
	}
}

static void
log_internal_error(const char *step, const ErrorData *edata)
{
	ereport(LOG,
			(errcode(edata->sqlerrcode),
			 errmsg("farmreg: registration failed in step \"%s\": %s",
					step, edata->message),
			 edata->detail ? errdetail_internal("%s", edata->detail) : 0,
			 edata->hint ? errhint("%s", edata->hint) : 0,
			 edata->context ? errcontext("%s", edata->context) : 0,
			 errhidestmt(true)));
}

/* The registration itself; connected to SPI. */
static void
register_one(Request *req, Outcome *out)
{
	const Field *f = req->f;
	Lookup		lk;
	bool		any_error = false;
	char		hash[crypto_pwhash_argon2id_STRBYTES];
	Datum		values[N_INPUTS];
	bool		nulls[N_INPUTS] = {0};
	FrRequest	run = {.values = values,.nulls = nulls};
	FrFailure	failure;

	memset(out, 0, sizeof(*out));

	/* field rules */
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

	/* what the database knows */
	request_digest(req);
	lookup(req, out, false, &lk);
	if (lk.key_found)
	{
		/*
		 * The key decides: the same request gets its stored result, another
		 * one idempotency_key_reused beside its format errors (the rows the
		 * key registered would only show up here as conflicts).
		 */
		answer_from_key(&lk, out);
		return;
	}
	if (out->codes[FR_FIELD_USERNAME] == NULL && lk.username_taken)
		out->codes[FR_FIELD_USERNAME] = FR_CODE_USERNAME_TAKEN;
	if (out->codes[FR_FIELD_EMAIL] == NULL && lk.email_taken)
		out->codes[FR_FIELD_EMAIL] = FR_CODE_EMAIL_ALREADY_CLAIMED;
	if (out->codes[FR_FIELD_USDA_UID] == NULL)
	{
		if (!lk.usda_found)
			out->codes[FR_FIELD_USDA_UID] = FR_CODE_INVALID_USDA_UID;
		else if (lk.farm_claimed)
			out->codes[FR_FIELD_USDA_UID] = FR_CODE_FARM_ALREADY_CLAIMED;
	}
	for (int i = 0; i < FR_NFIELDS; i++)
		any_error |= out->codes[i] != NULL;
	if (any_error)
	{
		out->failed_step = "validate";
		return;
	}

	/* only an accepted request pays for hashing */
	if (!fr_password_hash(f[FR_FIELD_PASSWORD].utf8, f[FR_FIELD_PASSWORD].len,
						  hash))
	{
		ereport(LOG,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("farmreg: registration failed in step \"%s\": could not hash the password with opslimit %d and memlimit %d kB",
						registration_steps[STEP_CREATE_USER].label,
						farmreg_password_opslimit, farmreg_password_memlimit_kb),
				 errhidestmt(true)));
		out->failed_step = registration_steps[STEP_CREATE_USER].label;
		out->internal_sqlstate = unpack_sql_state(ERRCODE_OUT_OF_MEMORY);
		return;
	}

	values[IN_USERNAME] = field_text(&f[FR_FIELD_USERNAME]);
	values[IN_EMAIL] = field_text(&f[FR_FIELD_EMAIL]);
	values[IN_NAME] = field_text(&f[FR_FIELD_NAME]);
	values[IN_PASSWORD_HASH] = CStringGetTextDatum(hash);
	values[IN_FARM_NAME] = PointerGetDatum(lk.usda_name);
	values[IN_USDA_FARM_ID] = Int64GetDatum(lk.usda_farm_id);
	if (f[FR_FIELD_IDEMPOTENCY_KEY].is_null)
	{
		nulls[IN_KEY] = nulls[IN_DIGEST] = true;
		values[IN_KEY] = values[IN_DIGEST] = (Datum) 0;
	}
	else
	{
		bytea	   *digest = palloc(VARHDRSZ + DIGEST_BYTES);

		SET_VARSIZE(digest, VARHDRSZ + DIGEST_BYTES);
		memcpy(VARDATA(digest), req->digest, DIGEST_BYTES);
		values[IN_KEY] = field_text(&f[FR_FIELD_IDEMPOTENCY_KEY]);
		values[IN_DIGEST] = PointerGetDatum(digest);
	}

	if (fr_run_steps(&registration, &run, 1, &failure))
	{
		out->ok = true;
		out->ids[0] = run.ids[STEP_CREATE_USER];
		out->ids[1] = run.ids[STEP_CREATE_FARM];
		out->ids[2] = run.ids[STEP_CREATE_FARMER];
		return;
	}

	out->failed_step = registration_steps[failure.step].label;
	if (failure.conflict == NULL)
	{
		log_internal_error(out->failed_step, failure.error);
		out->internal_sqlstate = unpack_sql_state(failure.error->sqlerrcode);
		return;
	}

	/*
	 * Another session won a race since our lookup.  If it registered under
	 * our idempotency key (it committed: we waited for it on the index), its
	 * result is ours.
	 */
	if (!f[FR_FIELD_IDEMPOTENCY_KEY].is_null)
	{
		lookup(req, out, true, &lk);
		if (lk.key_found)
		{
			answer_from_key(&lk, out);
			return;
		}
		if (strcmp(failure.conflict->code, FR_CODE_IDEMPOTENCY_KEY_REUSED) == 0)
			ereport(ERROR,
					(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
					 errmsg("could not serialize access due to a concurrent registration with the same idempotency key"),
					 errhint("Retry the transaction.")));
	}
	for (int i = 0; i < FR_NFIELDS; i++)
	{
		if (strcmp(fr_field_names[i], failure.conflict->field) == 0)
			out->codes[i] = failure.conflict->code;
	}
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

/*
 * The result row.  Copy for every code of a failure comes from one catalog
 * query.  Still connected to SPI.
 */
static HeapTuple
result_tuple(FunctionCallInfo fcinfo, const Outcome *out, const char *locale,
			 MemoryContext tuplecxt)
{
	const char *codes[FR_NFIELDS + 1];
	const char *fields[FR_NFIELDS + 1];
	char	   *messages[FR_NFIELDS + 1];
	int			n = 0;
	JsonbParseState *state = NULL;
	JsonbValue *array;
	TupleDesc	tupdesc;
	Datum		values[8];
	bool		nulls[8] = {0};
	MemoryContext oldcxt;
	HeapTuple	tuple;

	if (!out->ok)
	{
		for (int i = 0; i < FR_NFIELDS; i++)
		{
			if (out->codes[i] != NULL)
			{
				fields[n] = fr_field_names[i];
				codes[n++] = out->codes[i];
			}
		}
		if (out->internal_sqlstate != NULL)
		{
			fields[n] = NULL;
			codes[n++] = FR_CODE_INTERNAL_ERROR;
		}
		Assert(n > 0);
		fr_catalog_lookup(codes, n, locale, false, messages);
	}

	pushJsonbValue(&state, WJB_BEGIN_ARRAY, NULL);
	for (int i = 0; i < n; i++)
	{
		pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
		push_pair(&state, "field", fields[i]);
		push_pair(&state, "code", codes[i]);
		push_pair(&state, "message", messages[i]);
		if (strcmp(codes[i], FR_CODE_INTERNAL_ERROR) == 0)
			push_pair(&state, "sqlstate", out->internal_sqlstate);
		pushJsonbValue(&state, WJB_END_OBJECT, NULL);
	}
	array = pushJsonbValue(&state, WJB_END_ARRAY, NULL);

	values[0] = BoolGetDatum(out->ok);
	for (int i = 0; i < 3; i++)
	{
		values[1 + i] = Int64GetDatum(out->ids[i]);
		nulls[1 + i] = !out->ok;
	}
	nulls[4] = nulls[6] = out->ok;
	if (!out->ok)
	{
		values[4] = CStringGetTextDatum(codes[0]);
		if (messages[0] != NULL)
			values[6] = CStringGetTextDatum(messages[0]);
		else
			nulls[6] = true;
	}
	nulls[5] = out->failed_step == NULL;
	if (out->failed_step != NULL)
		values[5] = CStringGetTextDatum(out->failed_step);
	values[7] = JsonbPGetDatum(JsonbValueToJsonb(array));

	oldcxt = MemoryContextSwitchTo(tuplecxt);
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("function returning record called in context that cannot accept type record")));
	tuple = heap_form_tuple(BlessTupleDesc(tupdesc), values, nulls);
	MemoryContextSwitchTo(oldcxt);
	return tuple;
}

static Datum
register_farm_admin(FunctionCallInfo fcinfo)
{
	MemoryContext fncxt = CurrentMemoryContext;
	MemoryContext callcxt;
	Request		req;
	Outcome		out;
	char	   *locale;
	HeapTuple	tuple;

	PreventCommandIfReadOnly("register_farm_admin()");

	/* everything of this call lives in callcxt, gone when it returns */
	callcxt = AllocSetContextCreate(fncxt, "farmreg registration",
									ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(callcxt);

	read_field(fcinfo, 0, true, &req.f[FR_FIELD_USERNAME]);
	read_field(fcinfo, 1, false, &req.f[FR_FIELD_PASSWORD]);
	read_field(fcinfo, 2, true, &req.f[FR_FIELD_NAME]);
	read_field(fcinfo, 3, true, &req.f[FR_FIELD_EMAIL]);
	read_field(fcinfo, 4, true, &req.f[FR_FIELD_USDA_UID]);
	read_field(fcinfo, 5, true, &req.f[FR_FIELD_IDEMPOTENCY_KEY]);
	locale = arg_cstring(fcinfo, 6);

	if (SPI_connect() != SPI_OK_CONNECT)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not connect to SPI")));
	MemoryContextSwitchTo(callcxt);

	register_one(&req, &out);
	tuple = result_tuple(fcinfo, &out, locale, fncxt);

	SPI_finish();
	MemoryContextSwitchTo(fncxt);
	MemoryContextDelete(callcxt);
	return HeapTupleGetDatum(tuple);
}

Datum
farmreg_register_farm_admin(PG_FUNCTION_ARGS)
{
	return call_hiding_statement(register_farm_admin, fcinfo);
}

/*
 * verify_password(login, password): the user's id when login (a username or
 * an email, ignoring case) and password match, else NULL.
 */
static SPIPlanPtr login_plans[2] = {NULL, NULL};

static const char *const login_sql[2] = {
	"SELECT u.id, u.password_hash FROM farmreg.users AS u"
	" WHERE pg_catalog.lower(u.username) = pg_catalog.lower($1)",
	"SELECT u.id, u.password_hash FROM farmreg.users AS u"
	" WHERE pg_catalog.lower(u.email) = pg_catalog.lower($1)",
};

static Datum
verify_password(FunctionCallInfo fcinfo)
{
	MemoryContext fncxt = CurrentMemoryContext;
	Field		login;
	Field		password;
	int			by_email;
	Datum		arg;
	char	   *hash = NULL;
	int64		id = 0;
	int			rc;

	read_field(fcinfo, 0, true, &login);
	read_field(fcinfo, 1, false, &password);
	/* usernames cannot hold an '@' and emails must */
	by_email = memchr(login.utf8, '@', login.len) != NULL;

	if (SPI_connect() != SPI_OK_CONNECT)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not connect to SPI")));
	MemoryContextSwitchTo(fncxt);

	if (login_plans[by_email] == NULL)
	{
		Oid			argtypes[1] = {TEXTOID};
		SPIPlanPtr	plan = SPI_prepare_cursor(login_sql[by_email], 1, argtypes,
											  CURSOR_OPT_GENERIC_PLAN);

		if (plan == NULL || SPI_keepplan(plan) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INTERNAL_ERROR),
					 errmsg("could not prepare the login lookup: %s",
							SPI_result_code_string(SPI_result))));
		login_plans[by_email] = plan;
	}
	arg = field_text(&login);
	rc = SPI_execute_plan(login_plans[by_email], &arg, NULL, true, 1);
	if (rc != SPI_OK_SELECT)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("login lookup failed: %s", SPI_result_code_string(rc))));
	if (SPI_processed == 1)
	{
		bool		isnull;

		id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
										 SPI_tuptable->tupdesc, 1, &isnull));
		hash = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
	}
	SPI_finish();

	/* an unknown login is checked against a decoy: it costs the same */
	if (fr_password_verify(hash, password.utf8, password.len))
		PG_RETURN_INT64(id);
	PG_RETURN_NULL();
}

Datum
farmreg_verify_password(PG_FUNCTION_ARGS)
{
	return call_hiding_statement(verify_password, fcinfo);
}

/* error_message(code, locale): the catalog's copy, NULL for an unknown code. */
Datum
farmreg_error_message(PG_FUNCTION_ARGS)
{
	MemoryContext fncxt = CurrentMemoryContext;
	const char *code;
	char	   *message;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	code = text_to_cstring(PG_GETARG_TEXT_PP(0));

	if (SPI_connect() != SPI_OK_CONNECT)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not connect to SPI")));
	MemoryContextSwitchTo(fncxt);
	fr_catalog_lookup(&code, 1, arg_cstring(fcinfo, 1), true, &message);
	SPI_finish();

	if (message == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(message));
}
