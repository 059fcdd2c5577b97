/*-------------------------------------------------------------------------
 *
 * logfilter.h
 *	  The backend's log filter: what farmreg keeps out of the server log.
 *
 *-------------------------------------------------------------------------
 */
#ifndef FARMREG_LOGFILTER_H
#define FARMREG_LOGFILTER_H

#include "fmgr.h"

/* Installs the filter (emit_log_hook); called by _PG_init. */
extern void fr_logfilter_install(void);

/*
 * Calls fn(fcinfo), a password-bearing entry point, with everything logged
 * during the call filtered, and an error it raises re-thrown filtered.
 */
extern Datum fr_call_redacted(Datum (*fn) (FunctionCallInfo),
							  FunctionCallInfo fcinfo);

#endif							/* FARMREG_LOGFILTER_H */
