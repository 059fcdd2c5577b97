/*-------------------------------------------------------------------------
 *
 * logfilter.h
 *	  The backend's one log filter: keeps passwords and password hashes
 *	  given to farmreg out of every message the backend logs.
 *
 * What it covers, how, and what stays out of its reach is described at the
 * top of logfilter.c.
 *
 *-------------------------------------------------------------------------
 */
#ifndef FARMREG_LOGFILTER_H
#define FARMREG_LOGFILTER_H

#include "fmgr.h"

/*
 * Installs the filter as emit_log_hook, chaining to the hook found there.
 * Called once, by _PG_init.
 */
extern void fr_logfilter_install(void);

/*
 * Calls fn(fcinfo), a password-bearing entry point, with every message
 * logged during the call filtered, and re-throws an error escaping it
 * without its statement and without its log-only detail.
 */
extern Datum fr_call_redacted(Datum (*fn) (FunctionCallInfo),
							  FunctionCallInfo fcinfo);

#endif							/* FARMREG_LOGFILTER_H */
