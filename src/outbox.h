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

/* append_event of a registration: reads r.user_id and r.event_payload */
extern const FrStep fr_outbox_registered_step;

/*
 * A registration's event payload: its ids, username, email, name and USDA
 * UID (text datums; the name may be NULL).
 */
extern Datum fr_outbox_registered_payload(const int64 ids[3], Datum username,
										  Datum email, Datum name,
										  Datum usda_uid);

/* append_event of a deregistration: reads r.user_id and r.reason */
extern const FrStep fr_outbox_deregistered_step;

#endif							/* FARMREG_OUTBOX_H */
