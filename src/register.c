/*-------------------------------------------------------------------------
 *
 * register.c
 *	  The SQL entry points of registration: register_farm_admin() and
 *	  register_farm_admins().
 *
 * Both read their input into requests and hand them to the one path of
 * every registration (batch.c): a single call is a batch of one.  So a batch
 * and the same requests as single calls in sequence get the same results.
 *
 * Versions: 1.0's SQL declares register_farm_admin without the _1_1 suffix,
 * whose program has no append_event step (1.0 has no events table); later
 * versions declare the _1_1 entry points.  One library serves databases at
 * every version.
 *
 * Passwords: the plaintext goes to libsodium and nowhere else; every entry
 * point runs inside the log filter (logfilter.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"

#include "batch.h"
#include "fields.h"
#include "logfilter.h"
#include "result.h"
#include "spiutil.h"

PG_FUNCTION_INFO_V1(farmreg_register_farm_admin);
PG_FUNCTION_INFO_V1(farmreg_register_farm_admin_1_1);
PG_FUNCTION_INFO_V1(farmreg_register_farm_admins_1_1);

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

static Datum
register_farm_admin(FunctionCallInfo fcinfo, FrRegVersion version)
{
	MemoryContext fncxt = CurrentMemoryContext;
	MemoryContext callcxt;
	FrRegRequest *req;
	char	   *locale;
	FrCopy		copy = {0};
	TupleDesc	tupdesc;
	Datum		values[FR_RESULT_NCOLS];
	bool		nulls[FR_RESULT_NCOLS];
	HeapTuple	tuple;

	PreventCommandIfReadOnly("register_farm_admin()");
	tupdesc = result_tupdesc(fcinfo);

	/* everything of this call lives in callcxt, gone when it returns */
	callcxt = AllocSetContextCreate(fncxt, "farmreg registration",
									ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(callcxt);

	req = palloc0(sizeof(FrRegRequest));
	fr_field_from_arg(fcinfo, 0, true, &req->f[FR_FIELD_USERNAME]);
	fr_field_from_arg(fcinfo, 1, false, &req->f[FR_FIELD_PASSWORD]);
	fr_field_set(&req->f[FR_FIELD_PASSWORD_HASH], NULL, 0, false);
	fr_field_from_arg(fcinfo, 2, true, &req->f[FR_FIELD_NAME]);
	fr_field_from_arg(fcinfo, 3, true, &req->f[FR_FIELD_EMAIL]);
	fr_field_from_arg(fcinfo, 4, true, &req->f[FR_FIELD_USDA_UID]);
	fr_field_from_arg(fcinfo, 5, true, &req->f[FR_FIELD_IDEMPOTENCY_KEY]);
	locale = fr_arg_cstring(fcinfo, 6);

	fr_spi_connect();
	fr_batch_run(version, req, 1);
	fr_copy_want(&copy, &req->out);
	fr_copy_read(&copy, locale);
	SPI_finish();

	fr_result_values(&req->out, &copy, values, nulls);
	MemoryContextSwitchTo(fncxt);
	tuple = heap_form_tuple(tupdesc, values, nulls);
	MemoryContextDelete(callcxt);
	return HeapTupleGetDatum(tuple);
}

static Datum
register_farm_admin_1_0(FunctionCallInfo fcinfo)
{
	return register_farm_admin(fcinfo, FR_REG_1_0);
}

static Datum
register_farm_admin_1_1(FunctionCallInfo fcinfo)
{
	return register_farm_admin(fcinfo, FR_REG_1_1);
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

/* ------------------------------------------------------------------------
 * Batches
 * ------------------------------------------------------------------------
 */

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

/* The requests of a JSON array of objects; a field is absent, null or text. */
static FrRegRequest *
read_requests(Jsonb *jb, int *n_out)
{
	static const char *const keys[FR_NFIELDS] = {
		[FR_FIELD_USERNAME] = "username",
		[FR_FIELD_PASSWORD] = "password",
		[FR_FIELD_PASSWORD_HASH] = "password_hash",
		[FR_FIELD_NAME] = "name",
		[FR_FIELD_EMAIL] = "email",
		[FR_FIELD_USDA_UID] = "usda_uid",
		[FR_FIELD_IDEMPOTENCY_KEY] = "idempotency_key",
	};
	FrRegRequest *reqs;
	int			n;

	if (JB_ROOT_IS_SCALAR(jb) || !JB_ROOT_IS_ARRAY(jb))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("requests must be a JSON array of objects"),
				 errdetail("The value given is a JSON %s.",
						   JB_ROOT_IS_SCALAR(jb) ? "scalar" : "object")));

	n = JB_ROOT_COUNT(jb);
	if (n > farmreg_max_batch_requests)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("a batch can have at most %d requests", farmreg_max_batch_requests),
				 errdetail("The batch has %d requests.", n),
				 errhint("Split it into batches of at most farmreg.max_batch_requests (%d); "
						 "with idempotency keys, a batch can be sent again safely.",
						 farmreg_max_batch_requests)));

	reqs = palloc0(sizeof(FrRegRequest) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		JsonbValue *elem = getIthJsonbValueFromContainer(&jb->root, i);

		CHECK_FOR_INTERRUPTS();
		if (elem->type != jbvBinary || !JsonContainerIsObject(elem->val.binary.data))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("requests must be a JSON array of objects"),
					 errdetail("Element %d is a JSON %s.", i + 1, json_type_name(elem))));
		for (int f = 0; f < FR_NFIELDS; f++)
			fr_field_from_json(elem->val.binary.data, keys[f],
							   f != FR_FIELD_PASSWORD && f != FR_FIELD_PASSWORD_HASH,
							   &reqs[i].f[f]);
		pfree(elem);
	}
	*n_out = n;
	return reqs;
}

static Datum
register_farm_admins(FunctionCallInfo fcinfo)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MemoryContext fncxt = CurrentMemoryContext;
	MemoryContext callcxt;
	FrRegRequest *reqs;
	int			n;
	char	   *locale;
	FrCopy		copy = {0};

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

	reqs = read_requests(PG_GETARG_JSONB_P(0), &n);
	locale = fr_arg_cstring(fcinfo, 1);

	fr_spi_connect();
	fr_batch_run(FR_REG_1_1, reqs, n);
	for (int i = 0; i < n; i++)
		fr_copy_want(&copy, &reqs[i].out);
	fr_copy_read(&copy, locale);
	SPI_finish();

	for (int i = 0; i < n; i++)
	{
		Datum		values[FR_RESULT_NCOLS + 1];
		bool		nulls[FR_RESULT_NCOLS + 1];

		values[0] = Int32GetDatum(i + 1);
		nulls[0] = false;
		fr_result_values(&reqs[i].out, &copy, values + 1, nulls + 1);
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
