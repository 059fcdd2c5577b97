/*-------------------------------------------------------------------------
 *
 * outbox.h
 *	  The outbox's events: the steps that append them, and the trigger that
 *	  wakes LISTENing consumers once they commit.
 *
 *-------------------------------------------------------------------------
 */
#ifndef FARMREG_OUTBOX_H
#define FARMREG_OUTBOX_H

#include "steps.h"

#define FR_EVENTS_CHANNEL	"farmreg_events"

/* append_event of a registration: reads r.user_id, r.username, ... */
extern const FrStep fr_outbox_registered_step;

/* append_event of a deregistration: reads r.user_id and r.reason */
extern const FrStep fr_outbox_deregistered_step;

#endif							/* FARMREG_OUTBOX_H */
