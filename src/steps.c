/*-------------------------------------------------------------------------
 *
 * steps.c
 *	  A runner for labeled SQL steps in one internal subtransaction (see
 *	  steps.h).
 *
 * The subtransaction follows PL/pgSQL's exec_stmt_block: remember the memory
 * context and resource owner, BeginInternalSubTransaction, run the units in
 * PG_TRY, release (or, for a probe, roll back) on success; on error copy the
 * error out of ErrorContext, flush it, roll the subtransaction back, restore
 * context and owner, and only then decide what the error means.  SPI is
 * connected by the caller, outside the subtransaction, so the connection
 * survives the rollback; nothing reads SPI_tuptable after one.
 *
 * Memory: a unit's inputs are bound in a context of their own, reset after
 * each unit, so a run over many chunks holds one chunk's arrays at a time.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "storage/proc.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/resowner.h"

#include "spiutil.h"
#include "steps.h"

bool
fr_error_is_about_transaction(int sqlerrcode)
{
	switch (ERRCODE_TO_CATEGORY(sqlerrcode))
	{
		case ERRCODE_OPERATOR_INTERVENTION: /* 57: cancel, shutdown */
		case ERRCODE_TRANSACTION_ROLLBACK:	/* 40: serialization, deadlock */
		case ERRCODE_INSUFFICIENT_RESOURCES:	/* 53: memory, disk full */
		case ERRCODE_SYSTEM_ERROR:	/* 58: I/O */
		case ERRCODE_INTERNAL_ERROR:	/* XX: internal error, corruption */
			return true;
		default:
			break;
	}
	return sqlerrcode == ERRCODE_READ_ONLY_SQL_TRANSACTION ||
		sqlerrcode == ERRCODE_LOCK_NOT_AVAILABLE;
}

/* r: one row of scalar parameters, or one row per element of array ones. */
static void
append_inputs(StringInfo sql, const FrProgram *prog, bool many)
{
	if (!many)
	{
		appendStringInfoString(sql, "SELECT ");
		for (int i = 0; i < prog->ninputs; i++)
			appendStringInfo(sql, "%s$%d AS %s", i > 0 ? ", " : "", i + 1,
							 prog->inputs[i].name);
		return;
	}
	appendStringInfoString(sql, "SELECT * FROM ROWS FROM (");
	for (int i = 0; i < prog->ninputs; i++)
		appendStringInfo(sql, "%spg_catalog.unnest($%d)", i > 0 ? ", " : "", i + 1);
	appendStringInfoString(sql, ") AS r (");
	for (int i = 0; i < prog->ninputs; i++)
		appendStringInfo(sql, "%s%s", i > 0 ? ", " : "", prog->inputs[i].name);
	appendStringInfoChar(sql, ')');
}

static SPIPlanPtr
prepare_sql(const FrProgram *prog, const char *sql, bool many)
{
	Oid			argtypes[FR_MAX_INPUTS];

	for (int i = 0; i < prog->ninputs; i++)
	{
		Oid			t = prog->inputs[i].type;

		argtypes[i] = many ? get_array_type(t) : t;
		if (!OidIsValid(argtypes[i]))
			elog(ERROR, "no array type for input \"%s\" of %s",
				 prog->inputs[i].name, prog->name);
	}
	return fr_spi_prepare(sql, prog->ninputs, argtypes);
}

/* "WITH r AS (...), ... <sql>" for each step, or all of them as one. */
static void
prepare_plans(FrProgram *prog, FrRunMode mode)
{
	StringInfoData sql;

	Assert(prog->ninputs <= FR_MAX_INPUTS && prog->nsteps <= FR_MAX_STEPS);
	if (mode == FR_RUN_STEPS ? prog->steps_prepared :
		prog->set_plans[mode == FR_RUN_SET_MANY] != NULL)
		return;
	if (mode != FR_RUN_STEPS && !prog->set_based)
		elog(ERROR, "%s cannot run as one statement", prog->name);

	initStringInfo(&sql);
	if (mode == FR_RUN_STEPS)
	{
		for (int s = 0; s < prog->nsteps; s++)
		{
			const FrStep *step = prog->steps[s];

			if (step == NULL || prog->step_plans[s] != NULL)
				continue;
			resetStringInfo(&sql);
			appendStringInfoString(&sql, "WITH r AS (");
			append_inputs(&sql, prog, false);
			appendStringInfoChar(&sql, ')');
			if (step->with != NULL)
				appendStringInfo(&sql, ", %s", step->with);
			appendStringInfo(&sql, " %s", step->sql);
			prog->step_plans[s] = prepare_sql(prog, sql.data, false);
		}
		prog->steps_prepared = true;
	}
	else
	{
		bool		many = mode == FR_RUN_SET_MANY;

		/*
		 * Many rows are unnested once; one row of parameters is cheaper
		 * inlined into every step than scanned from a materialized CTE.
		 */
		appendStringInfo(&sql, "WITH r AS %sMATERIALIZED (", many ? "" : "NOT ");
		append_inputs(&sql, prog, many);
		appendStringInfoChar(&sql, ')');
		for (int s = 0; s < prog->nsteps; s++)
		{
			const FrStep *step = prog->steps[s];

			if (step == NULL)
				continue;
			Assert(step->with == NULL);
			appendStringInfo(&sql, ", %s AS (%s%s RETURNING 1)", step->label,
							 step->sql,
							 many && step->in_input_order ? " ORDER BY r.n" : "");
		}

		/*
		 * Data-modifying CTEs run in no defined order unless the query reads
		 * them: read each in the steps' order, so that each step's rows are
		 * there before the next step writes (a trigger of the next step's
		 * table sees them, as it would after the step on its own).  A scalar
		 * subquery reads all of a step's (at most one) row without the
		 * aggregate that many rows need.
		 */
		appendStringInfoString(&sql, " SELECT");
		for (int s = 0, read = 0; s < prog->nsteps; s++)
		{
			if (prog->steps[s] == NULL)
				continue;
			appendStringInfo(&sql, many ? "%s (SELECT pg_catalog.count(*) FROM %s)" :
							 "%s (SELECT 1 FROM %s)",
							 read++ > 0 ? "," : "", prog->steps[s]->label);
		}
		prog->set_plans[many] = prepare_sql(prog, sql.data, many);
	}
	pfree(sql.data);
}

/*
 * A kept run stays in the subtransaction cache until the top transaction
 * ends.  Once the cache is full, the next one overflows it, and from then on
 * every snapshot in the server has to look subtransactions up in pg_subtrans
 * until this transaction ends: say so, once per transaction.
 */
static void
warn_if_subxid_cache_full(void)
{
	static LocalTransactionId warned = InvalidLocalTransactionId;

	if ((MyProc->subxidStatus.count >= PGPROC_MAX_CACHED_SUBXIDS ||
		 MyProc->subxidStatus.overflowed) && warned != MyProc->lxid)
	{
		warned = MyProc->lxid;
		ereport(WARNING,
				(errcode(ERRCODE_WARNING),
				 errmsg("this transaction uses more than %d subtransaction ids",
						PGPROC_MAX_CACHED_SUBXIDS),
				 errdetail("Every farmreg call that writes uses one; past %d, every "
						   "snapshot taken on the server is slower until this "
						   "transaction ends.", PGPROC_MAX_CACHED_SUBXIDS),
				 errhint("To register many farm admins in one transaction, call "
						 "farmreg.register_farm_admins() once with all of them.")));
	}
}

static void
execute(FrProgram *prog, SPIPlanPtr plan, const char *label,
		Datum *values, bool *nulls)
{
	char		spinulls[FR_MAX_INPUTS] = {0};
	int			rc;

	for (int i = 0; i < prog->ninputs; i++)
		spinulls[i] = nulls[i] ? 'n' : ' ';
	rc = fr_spi_execute(plan, values, spinulls, false, 0);
	if (rc < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("step \"%s\" of %s failed: %s",
						label, prog->name, SPI_result_code_string(rc))));
	SPI_freetuptable(SPI_tuptable);
}

/* Where an error came from, for the CONTEXT of what is logged or raised. */
typedef struct RunContext
{
	const FrProgram *prog;
	FrRunMode	mode;
	volatile int *step;
} RunContext;

static void
run_error_context(void *arg)
{
	RunContext *rc = (RunContext *) arg;

	if (rc->mode == FR_RUN_STEPS && *rc->step >= 0)
		errcontext("step \"%s\" of %s", rc->prog->steps[*rc->step]->label,
				   rc->prog->name);
	else
		errcontext("%s, all steps in one statement", rc->prog->name);
}

/*
 * The generated statement (kilobytes of it, the same for every call) is no
 * use in an error's CONTEXT: the step or the "all steps" line says where.
 */
static void
drop_generated_sql(ErrorData *edata)
{
	static const char generated[] = "SQL statement \"WITH r AS ";
	StringInfoData kept;
	const char *line;

	if (edata->context == NULL || strstr(edata->context, generated) == NULL)
		return;
	initStringInfo(&kept);
	for (line = edata->context; *line != '\0';)
	{
		const char *end = strchr(line, '\n');
		size_t		len = end != NULL ? (size_t) (end - line) : strlen(line);

		if (strncmp(line, generated, sizeof(generated) - 1) != 0)
			appendStringInfo(&kept, "%s%.*s", kept.len > 0 ? "\n" : "", (int) len, line);
		line += len + (end != NULL ? 1 : 0);
	}
	edata->context = kept.data;
}

bool
fr_run(FrProgram *prog, FrRunMode mode, int nunits, FrBindFn bind, void *arg,
	   bool keep, FrFailure *failure)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;
	MemoryContext unitcxt;
	volatile int cur_unit = 0;
	volatile int cur_step = -1;
	volatile bool ok = false;

	/* outside the subtransaction: a broken installation is raised plainly */
	prepare_plans(prog, mode);
	if (keep)
		warn_if_subxid_cache_full();
	unitcxt = AllocSetContextCreate(oldcxt, "farmreg run inputs",
									ALLOCSET_DEFAULT_SIZES);

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(oldcxt);

	PG_TRY();
	{
		RunContext	rcxt = {prog, mode, &cur_step};
		ErrorContextCallback callback = {error_context_stack, run_error_context, &rcxt};

		error_context_stack = &callback;
		for (int u = 0; u < nunits; u++)
		{
			Datum		values[FR_MAX_INPUTS];
			bool		nulls[FR_MAX_INPUTS];

			CHECK_FOR_INTERRUPTS();
			cur_unit = u;
			cur_step = -1;
			MemoryContextSwitchTo(unitcxt);
			bind(arg, u, values, nulls);
			if (mode == FR_RUN_STEPS)
			{
				for (int s = 0; s < prog->nsteps; s++)
				{
					if (prog->steps[s] == NULL)
						continue;
					cur_step = s;
					execute(prog, prog->step_plans[s], prog->steps[s]->label,
							values, nulls);
				}
			}
			else
				execute(prog, prog->set_plans[mode == FR_RUN_SET_MANY],
						prog->name, values, nulls);
			MemoryContextSwitchTo(oldcxt);
			MemoryContextReset(unitcxt);
		}

		error_context_stack = callback.previous;
		if (keep)
			ReleaseCurrentSubTransaction();
		else
			RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcxt);
		CurrentResourceOwner = oldowner;
		ok = true;
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(oldcxt);
		edata = CopyErrorData();
		FlushErrorState();

		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcxt);
		CurrentResourceOwner = oldowner;
		MemoryContextDelete(unitcxt);

		if (fr_error_is_about_transaction(edata->sqlerrcode))
		{
			drop_generated_sql(edata);
			ReThrowError(edata);
		}

		failure->unit = cur_unit;
		failure->step = cur_step;
		failure->error = edata;
		return false;
	}
	PG_END_TRY();

	MemoryContextDelete(unitcxt);
	return ok;
}
