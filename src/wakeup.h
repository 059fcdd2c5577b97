/*-------------------------------------------------------------------------
 *
 * wakeup.h
 *	  Waking LISTEN farmreg_events consumers without a NOTIFY in the
 *	  transactions that append events.
 *
 *-------------------------------------------------------------------------
 */
#ifndef FARMREG_WAKEUP_H
#define FARMREG_WAKEUP_H

#include "postgres.h"

#define FR_WAKEUP_TYPE			"farmreg wakeup"

/* The interval the worker coalesces wakeups over, and the idle time it quits after. */
#define FR_WAKEUP_INTERVAL_MS	100
#define FR_WAKEUP_IDLE_EXIT_S	60

/*
 * The current transaction appended events: after it commits, have the
 * database's consumers woken.  Called by the events trigger.
 */
extern void fr_wakeup_after_commit(void);

/* The worker (a dynamic background worker; bgw_main_arg is the database). */
extern PGDLLEXPORT void farmreg_wakeup_main(Datum arg);

#endif							/* FARMREG_WAKEUP_H */
