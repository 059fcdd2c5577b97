/*-------------------------------------------------------------------------
 *
 * spiutil.c
 *	  SPI calls that leave the caller's memory context alone (see spiutil.h).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "executor/spi.h"

#include "spiutil.h"

void
fr_spi_connect(void)
{
	MemoryContext cxt = CurrentMemoryContext;

	if (SPI_connect() != SPI_OK_CONNECT)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not connect to SPI")));
	MemoryContextSwitchTo(cxt);
}

SPIPlanPtr
fr_spi_prepare(const char *sql, int nargs, Oid *argtypes)
{
	MemoryContext cxt = CurrentMemoryContext;
	SPIPlanPtr	plan;

	/*
	 * Generic plans: every farmreg statement is a handful of index lookups
	 * or set-based writes, and planning it again for each call would only
	 * cost time.
	 */
	plan = SPI_prepare_cursor(sql, nargs, argtypes, CURSOR_OPT_GENERIC_PLAN);
	if (plan == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not prepare a farmreg statement: %s",
						SPI_result_code_string(SPI_result)),
				 errdetail_internal("Statement: %s", sql)));
	if (SPI_keepplan(plan) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not keep the plan of a farmreg statement"),
				 errdetail_internal("Statement: %s", sql)));
	MemoryContextSwitchTo(cxt);
	return plan;
}

int
fr_spi_execute(SPIPlanPtr plan, Datum *values, const char *nulls,
			   bool read_only, long count)
{
	MemoryContext cxt = CurrentMemoryContext;
	int			rc = SPI_execute_plan(plan, values, nulls, read_only, count);

	MemoryContextSwitchTo(cxt);
	return rc;
}
