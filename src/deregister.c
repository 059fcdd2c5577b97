/*-------------------------------------------------------------------------
 *
 * deregister.c
 *	  deregister_farm_admin(user_id, reason): the compensation of a
 *	  registration, all at once.
 *
 * When an external system (an identity provider, say) rejects a farm admin
 * for good, the registration is undone in one piece: the user's farmer rows,
 * the farms no one else is on, the user, their idempotency keys, and a
 * farm_admin_deregistered event for the consumers that followed the
 * registration.  It runs as a step program of its own through the same
 * runner as the registration.  Returns false for an unknown user.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"

#include "outbox.h"
#include "spiutil.h"
#include "steps.h"

PG_FUNCTION_INFO_V1(farmreg_deregister_farm_admin_1_1);

enum
{
	IN_USER_ID,
	IN_REASON,
	N_INPUTS
};

static const FrInput deregistration_inputs[N_INPUTS] = {
	[IN_USER_ID] = {"user_id", INT8OID},
	[IN_REASON] = {"reason", TEXTOID},
};

/*
 * The farmer rows, and the farms no one else is on.  The outer DELETE sees
 * the farmers as they were before the CTE, hence the user_id test.
 */
static const FrStep delete_farms = {
	.label = "delete_farms",
	.with = "gone AS (DELETE FROM farmreg.farmers AS fm USING r"
	"                  WHERE fm.user_id = r.user_id RETURNING fm.farm_id)",
	.sql = "DELETE FROM farmreg.farms AS f USING gone, r"
	" WHERE f.id = gone.farm_id"
	"   AND NOT EXISTS (SELECT FROM farmreg.farmers AS o"
	"                    WHERE o.farm_id = f.id AND o.user_id <> r.user_id)",
};

static const FrStep delete_keys = {
	.label = "delete_idempotency_keys",
	.sql = "DELETE FROM farmreg.idempotency_keys AS k USING r WHERE k.user_id = r.user_id",
};

static const FrStep delete_user = {
	.label = "delete_user",
	.sql = "DELETE FROM farmreg.users AS u USING r WHERE u.id = r.user_id",
};

static const FrStep *const deregistration_steps[] = {
	&fr_outbox_deregistered_step, &delete_farms, &delete_keys, &delete_user
};

static FrProgram deregistration = {
	.name = "the deregistration",
	.inputs = deregistration_inputs,
	.ninputs = N_INPUTS,
	.steps = deregistration_steps,
	.nsteps = lengthof(deregistration_steps),
};

/* Locks the user's row; false when there is no such user. */
static SPIPlanPtr lock_plan = NULL;

static bool
lock_user(Datum user_id)
{
	int			rc;

	if (lock_plan == NULL)
	{
		Oid			argtypes[1] = {INT8OID};

		lock_plan = fr_spi_prepare("SELECT FROM farmreg.users AS u"
								   " WHERE u.id = $1 FOR UPDATE",
								   1, argtypes);
	}
	rc = fr_spi_execute(lock_plan, &user_id, NULL, false, 1);
	if (rc != SPI_OK_SELECT)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("deregistration lookup failed: %s",
						SPI_result_code_string(rc))));
	return SPI_processed == 1;
}

typedef struct Deregistration
{
	Datum		values[N_INPUTS];
	bool		nulls[N_INPUTS];
} Deregistration;

static void
bind_deregistration(void *arg, int unit, Datum *values, bool *nulls)
{
	Deregistration *d = (Deregistration *) arg;

	memcpy(values, d->values, sizeof(d->values));
	memcpy(nulls, d->nulls, sizeof(d->nulls));
}

Datum
farmreg_deregister_farm_admin_1_1(PG_FUNCTION_ARGS)
{
	Deregistration d = {{0}, {false, false}};
	FrFailure	failure;
	bool		found;

	PreventCommandIfReadOnly("deregister_farm_admin()");
	if (PG_ARGISNULL(0))
		PG_RETURN_BOOL(false);
	d.values[IN_USER_ID] = PG_GETARG_DATUM(0);
	d.values[IN_REASON] = PG_GETARG_DATUM(1);
	d.nulls[IN_REASON] = PG_ARGISNULL(1);

	fr_spi_connect();
	found = lock_user(d.values[IN_USER_ID]);
	if (found && !fr_run(&deregistration, FR_RUN_STEPS, 1, bind_deregistration, &d,
						 true, &failure))
	{
		/* nothing to map: the caller gets the error itself */
		ereport(LOG,
				(errmsg("farmreg: deregistration failed in step \"%s\"",
						deregistration_steps[failure.step]->label),
				 errcode(failure.error->sqlerrcode)));
		ReThrowError(failure.error);
	}
	SPI_finish();
	PG_RETURN_BOOL(found);
}
