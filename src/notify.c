/*-------------------------------------------------------------------------
 *
 * notify.c
 *	  The trigger behind LISTEN farmreg_events.
 *
 * A statement-level AFTER INSERT trigger on farmreg.events: one NOTIFY
 * farmreg_events per statement that appended events, delivered when the
 * transaction commits and dropped if it (or the subtransaction) rolls back,
 * as NOTIFY always is.  Written in C because every registration fires it.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "commands/async.h"
#include "commands/trigger.h"
#include "fmgr.h"

PG_FUNCTION_INFO_V1(farmreg_notify_events);

#define FR_EVENTS_CHANNEL "farmreg_events"

Datum
farmreg_notify_events(PG_FUNCTION_ARGS)
{
	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("farmreg.notify_events() must be called as a trigger")));

	Async_Notify(FR_EVENTS_CHANNEL, "");
	return PointerGetDatum(NULL);
}
