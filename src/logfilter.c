/*-------------------------------------------------------------------------
 *
 * logfilter.c
 *	  The backend's log filter (see logfilter.h).
 *
 * While a password-bearing farmreg call runs, every message the backend
 * logs goes without the client's statement, and an error escaping the call
 * is re-thrown without its statement and its log-only detail (which, for a
 * deadlock, lists every process's query text).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/elog.h"

#include "logfilter.h"

static int	calls_in_progress = 0;
static emit_log_hook_type prev_emit_log_hook = NULL;

static void
filter_hook(ErrorData *edata)
{
	if (calls_in_progress > 0)
		edata->hide_stmt = true;
	if (prev_emit_log_hook)
		prev_emit_log_hook(edata);
}

void
fr_logfilter_install(void)
{
	prev_emit_log_hook = emit_log_hook;
	emit_log_hook = filter_hook;
}

Datum
fr_call_redacted(Datum (*fn) (FunctionCallInfo), FunctionCallInfo fcinfo)
{
	MemoryContext cxt = CurrentMemoryContext;
	Datum		result = (Datum) 0;

	calls_in_progress++;
	PG_TRY();
	{
		result = fn(fcinfo);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		calls_in_progress--;
		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		edata->hide_stmt = true;
		edata->detail_log = NULL;
		ReThrowError(edata);
	}
	PG_END_TRY();
	calls_in_progress--;
	return result;
}
