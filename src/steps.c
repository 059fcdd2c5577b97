/*-------------------------------------------------------------------------
 *
 * steps.c
 *	  A runner for labeled SQL steps in one internal subtransaction.
 *
 * The subtransaction follows PL/pgSQL's exec_stmt_block: remember the memory
 * context and resource owner, BeginInternalSubTransaction, run the steps in
 * PG_TRY, release on success; on error copy the error out of ErrorContext,
 * flush it, roll the subtransaction back, restore context and owner, and only
 * then decide what the error means.  SPI is connected by the caller, outside
 * the subtransaction, so the connection survives the rollback; nothing reads
 * SPI_tuptable after one.
 *
 * Plans are prepared once per backend and kept (fr_spi_prepare); the plan
 * cache revalidates them if the tables change.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "nodes/parsenodes.h"
#include "utils/memutils.h"
#include "utils/resowner.h"

#include "args.h"
#include "steps.h"

/* True for errors that must never be turned into a result. */
static bool
error_is_fatal_to_xact(int sqlerrcode)
{
	/*
	 * Operator intervention (cancel, statement_timeout, shutdown), any
	 * transaction rollback condition (serialization failure, deadlock), and
	 * writing in a read-only transaction: the caller's transaction, not this
	 * request, is what they are about.
	 */
	return ERRCODE_TO_CATEGORY(sqlerrcode) == ERRCODE_OPERATOR_INTERVENTION ||
		ERRCODE_TO_CATEGORY(sqlerrcode) == ERRCODE_TRANSACTION_ROLLBACK ||
		sqlerrcode == ERRCODE_READ_ONLY_SQL_TRANSACTION;
}

static void
prepare_plans(FrProgram *prog)
{
	Assert(prog->nsteps <= FR_MAX_STEPS);

	for (int s = 0; s < prog->nsteps; s++)
	{
		const FrStep *step = &prog->steps[s];
		Oid			argtypes[FR_STEP_MAX_ARGS];
		SPIPlanPtr	plan;

		if (prog->plans[s] != NULL)
			continue;

		Assert(step->nargs <= FR_STEP_MAX_ARGS);
		for (int a = 0; a < step->nargs; a++)
			argtypes[a] = step->args[a].source == FR_ARG_STEP ?
				INT8OID : step->args[a].type;

		plan = fr_spi_prepare(step->sql, step->nargs, argtypes);
		prog->plans[s] = plan;
	}
}

/* Runs one step of one request; errors propagate to fr_run_steps. */
static void
run_step(FrProgram *prog, int s, FrRequest *req)
{
	const FrStep *step = &prog->steps[s];
	Datum		values[FR_STEP_MAX_ARGS];
	char		nulls[FR_STEP_MAX_ARGS];
	int			rc;

	req->ids[s] = 0;
	if (step->skip_unless_input >= 0 && req->nulls[step->skip_unless_input])
		return;

	for (int a = 0; a < step->nargs; a++)
	{
		const FrStepArg *arg = &step->args[a];

		if (arg->source == FR_ARG_STEP)
		{
			values[a] = Int64GetDatum(req->ids[arg->index]);
			nulls[a] = ' ';
		}
		else
		{
			values[a] = req->values[arg->index];
			nulls[a] = req->nulls[arg->index] ? 'n' : ' ';
		}
	}

	rc = fr_spi_execute(prog->plans[s], values, nulls, false, 0);
	if (rc < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("step \"%s\" of %s failed: %s",
						step->label, prog->name, SPI_result_code_string(rc))));

	if (step->returns_id)
	{
		bool		isnull;
		Datum		id;

		if (SPI_processed != 1)
			ereport(ERROR,
					(errcode(SPI_processed == 0 ? ERRCODE_NO_DATA_FOUND :
							 ERRCODE_TOO_MANY_ROWS),
					 errmsg("step \"%s\" of %s returned " UINT64_FORMAT " rows instead of one",
							step->label, prog->name, SPI_processed)));
		if (SPI_tuptable->tupdesc->natts != 1 ||
			SPI_gettypeid(SPI_tuptable->tupdesc, 1) != INT8OID)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("step \"%s\" of %s must return one bigint column",
							step->label, prog->name)));
		id = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1,
						   &isnull);
		if (isnull)
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("step \"%s\" of %s returned a null id",
							step->label, prog->name)));
		req->ids[s] = DatumGetInt64(id);
	}
	if (step->returns_rows)
		req->take_rows(req, SPI_tuptable, SPI_processed);
	SPI_freetuptable(SPI_tuptable);
}

static const FrConstraintCode *
map_constraint(const FrProgram *prog, const ErrorData *edata)
{
	if (edata->sqlerrcode != ERRCODE_UNIQUE_VIOLATION ||
		edata->constraint_name == NULL)
		return NULL;
	for (int i = 0; i < prog->nconstraints; i++)
	{
		if (strcmp(prog->constraints[i].constraint, edata->constraint_name) == 0)
			return &prog->constraints[i];
	}
	return NULL;
}

bool
fr_run_steps(FrProgram *prog, FrRequest *reqs, int nreqs, FrFailure *failure)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;
	volatile int cur_req = 0;
	volatile int cur_step = 0;
	volatile bool ok = false;

	/* outside the subtransaction: a broken installation is raised plainly */
	prepare_plans(prog);

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(oldcxt);

	PG_TRY();
	{
		for (int r = 0; r < nreqs; r++)
		{
			cur_req = r;
			for (int s = 0; s < prog->nsteps; s++)
			{
				cur_step = s;
				run_step(prog, s, &reqs[r]);
			}
		}

		ReleaseCurrentSubTransaction();
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

		if (error_is_fatal_to_xact(edata->sqlerrcode))
			ReThrowError(edata);

		failure->request = cur_req;
		failure->step = cur_step;
		failure->conflict = map_constraint(prog, edata);
		failure->error = edata;
		ok = false;
	}
	PG_END_TRY();

	return ok;
}
