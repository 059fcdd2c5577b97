/*-------------------------------------------------------------------------
 *
 * outbox.c
 *	  The outbox's events (farmreg.events): what a registration and a
 *	  deregistration append, and the trigger behind LISTEN farmreg_events.
 *
 * poll_events() (SQL) hands out delivery positions one poller at a time
 * under poll_lock(), a farmreg lock (locks.h) that no other role can hold.
 *
 * An event is written by the same statement (or subtransaction) as the rows
 * it describes, so it commits or rolls back with them.  Its payload never
 * holds a password or a password hash.
 *
 * The trigger is statement-level AFTER INSERT on farmreg.events.  It does not
 * NOTIFY: a transaction with a pending NOTIFY takes one cluster-wide lock at
 * commit (PostgreSQL serializes such commits), and every registration would
 * queue behind every other one.  It tells wakeup.c instead, which wakes the
 * database's wakeup worker after the transaction commits; the worker sends
 * the NOTIFY, coalesced (wakeup.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "commands/trigger.h"
#include "fmgr.h"
#include "storage/lock.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"

#include "locks.h"
#include "outbox.h"
#include "wakeup.h"

PG_FUNCTION_INFO_V1(farmreg_notify_events);
PG_FUNCTION_INFO_V1(farmreg_poll_lock);

/* the payload is built in C, fr_outbox_registered_payload */
const FrStep fr_outbox_registered_step = {
	.label = "append_event",
	.sql = "INSERT INTO farmreg.events (type, user_id, payload)"
	" SELECT 'farm_admin_registered', r.user_id, r.event_payload FROM r",
	.in_input_order = true,
};

/* first, while the rows it describes are still there */
const FrStep fr_outbox_deregistered_step = {
	.label = "append_event",
	.sql = "INSERT INTO farmreg.events (type, user_id, payload)"
	" SELECT 'farm_admin_deregistered', u.id, pg_catalog.jsonb_build_object("
	"   'user_id', u.id, 'farm_id', f.id, 'username', u.username,"
	"   'email', u.email, 'usda_uid', uf.usda_uid, 'reason', r.reason)"
	"   FROM r JOIN farmreg.users AS u ON u.id = r.user_id"
	"   LEFT JOIN farmreg.farmers AS fm ON fm.user_id = u.id AND fm.is_admin"
	"   LEFT JOIN farmreg.farms AS f ON f.id = fm.farm_id"
	"   LEFT JOIN farmreg.usda_farms AS uf ON uf.id = f.usda_farm_id"
	"  ORDER BY f.id LIMIT 1",
};

static void
push_key(JsonbParseState **state, const char *key)
{
	JsonbValue	k = {.type = jbvString};

	k.val.string.val = unconstify(char *, key);
	k.val.string.len = strlen(key);
	(void) pushJsonbValue(state, WJB_KEY, &k);
}

static void
push_id(JsonbParseState **state, const char *key, int64 id)
{
	JsonbValue	v = {.type = jbvNumeric};

	push_key(state, key);
	v.val.numeric = int64_to_numeric(id);
	(void) pushJsonbValue(state, WJB_VALUE, &v);
}

static void
push_text(JsonbParseState **state, const char *key, Datum value)
{
	JsonbValue	v = {.type = jbvNull};

	push_key(state, key);
	if (value != (Datum) 0)
	{
		text	   *t = DatumGetTextPP(value);

		v.type = jbvString;
		v.val.string.val = VARDATA_ANY(t);
		v.val.string.len = VARSIZE_ANY_EXHDR(t);
	}
	(void) pushJsonbValue(state, WJB_VALUE, &v);
}

/*
 * What jsonb_build_object('user_id', ..., 'usda_uid', ...) makes of the same
 * values (ids as numbers, the rest as strings; jsonb orders the keys), built
 * without looking up every argument's type on every call.
 */
Datum
fr_outbox_registered_payload(const int64 ids[3], Datum username, Datum email,
							 Datum name, Datum usda_uid)
{
	JsonbParseState *state = NULL;
	JsonbValue *object;

	(void) pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
	push_id(&state, "user_id", ids[0]);
	push_id(&state, "farm_id", ids[1]);
	push_id(&state, "farmer_id", ids[2]);
	push_text(&state, "username", username);
	push_text(&state, "email", email);
	push_text(&state, "name", name);
	push_text(&state, "usda_uid", usda_uid);
	object = pushJsonbValue(&state, WJB_END_OBJECT, NULL);
	return JsonbPGetDatum(JsonbValueToJsonb(object));
}

Datum
farmreg_notify_events(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo) ||
		!TRIGGER_FIRED_AFTER(trigdata->tg_event) ||
		!TRIGGER_FIRED_FOR_STATEMENT(trigdata->tg_event) ||
		!TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("trigger function \"%s\" must be fired AFTER INSERT FOR EACH STATEMENT",
						"farmreg.notify_events")));

	fr_wakeup_after_commit();
	return PointerGetDatum(NULL);
}

/*
 * poll_lock(): the lock poll_events() takes to hand out delivery positions
 * one poller at a time, held to the end of the transaction.
 */
Datum
farmreg_poll_lock(PG_FUNCTION_ARGS)
{
	LOCKTAG		tag;

	fr_lock_tag(&tag, false, FR_LOCK_POLL);
	(void) LockAcquire(&tag, ExclusiveLock, false, false);
	PG_RETURN_VOID();
}
