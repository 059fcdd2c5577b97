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

#include "args.h"
#include "steps.h"

PG_FUNCTION_INFO_V1(farmreg_deregister_farm_admin_1_1);

enum
{
	IN_USER_ID,
	IN_REASON,
	N_INPUTS
};

#define INPUT(i, t)	{FR_ARG_INPUT, (i), (t)}

static const FrStep deregistration_steps[] = {
	{
		/* first, while the rows it describes are still there */
		.label = "append_event",
		.sql = "INSERT INTO farmreg.events (type, user_id, payload)"
		" SELECT 'farm_admin_deregistered', u.id, pg_catalog.jsonb_build_object("
		"'user_id', u.id, 'farm_id', f.id, 'username', u.username,"
		" 'email', u.email, 'usda_uid', uf.usda_uid, 'reason', $2)"
		"   FROM farmreg.users AS u"
		"   LEFT JOIN farmreg.farmers AS fm ON fm.user_id = u.id AND fm.is_admin"
		"   LEFT JOIN farmreg.farms AS f ON f.id = fm.farm_id"
		"   LEFT JOIN farmreg.usda_farms AS uf ON uf.id = f.usda_farm_id"
		"  WHERE u.id = $1"
		"  ORDER BY f.id LIMIT 1",
		.args = {INPUT(IN_USER_ID, INT8OID), INPUT(IN_REASON, TEXTOID)},
		.nargs = 2,
		.skip_unless_input = -1,
	},
	{
		/*
		 * The farmer rows, and the farms no one else is on.  The outer DELETE
		 * sees the farmers as they were before the CTE, hence the user_id
		 * test.
		 */
		.label = "delete_farms",
		.sql = "WITH gone AS (DELETE FROM farmreg.farmers WHERE user_id = $1"
		"                   RETURNING farm_id)"
		" DELETE FROM farmreg.farms AS f USING gone"
		"  WHERE f.id = gone.farm_id"
		"    AND NOT EXISTS (SELECT FROM farmreg.farmers AS o"
		"                     WHERE o.farm_id = f.id AND o.user_id <> $1)",
		.args = {INPUT(IN_USER_ID, INT8OID)},
		.nargs = 1,
		.skip_unless_input = -1,
	},
	{
		.label = "delete_idempotency_keys",
		.sql = "DELETE FROM farmreg.idempotency_keys WHERE user_id = $1",
		.args = {INPUT(IN_USER_ID, INT8OID)},
		.nargs = 1,
		.skip_unless_input = -1,
	},
	{
		.label = "delete_user",
		.sql = "DELETE FROM farmreg.users WHERE id = $1 RETURNING id",
		.args = {INPUT(IN_USER_ID, INT8OID)},
		.nargs = 1,
		.returns_id = true,
		.skip_unless_input = -1,
	},
};

static FrProgram deregistration = {
	.name = "deregister_farm_admin",
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

Datum
farmreg_deregister_farm_admin_1_1(PG_FUNCTION_ARGS)
{
	Datum		values[N_INPUTS];
	bool		nulls[N_INPUTS] = {false, false};
	FrRequest	run = {.values = values,.nulls = nulls};
	FrFailure	failure;
	bool		found;

	PreventCommandIfReadOnly("deregister_farm_admin()");
	if (PG_ARGISNULL(0))
		PG_RETURN_BOOL(false);
	values[IN_USER_ID] = PG_GETARG_DATUM(0);
	values[IN_REASON] = PG_GETARG_DATUM(1);
	nulls[IN_REASON] = PG_ARGISNULL(1);

	fr_spi_connect();
	found = lock_user(values[IN_USER_ID]);
	if (found && !fr_run_steps(&deregistration, &run, 1, &failure))
	{
		/* nothing to map: the caller gets the error itself */
		ereport(LOG,
				(errmsg("farmreg: deregistration failed in step \"%s\"",
						deregistration_steps[failure.step].label),
				 errcode(failure.error->sqlerrcode)));
		ReThrowError(failure.error);
	}
	SPI_finish();
	PG_RETURN_BOOL(found);
}
