/*-------------------------------------------------------------------------
 *
 * steps.h
 *	  A runner for labeled SQL steps in one internal subtransaction.
 *
 * A program is a static list of labeled steps over one row of inputs, r:
 * each step is one data-modifying statement that reads r, for example
 *
 *		INSERT INTO farmreg.users (id, username) SELECT r.user_id, r.username FROM r
 *
 * The runner generates the SQL around the steps and prepares it once per
 * backend: each step alone with r made of scalar parameters ("steps" mode,
 * the labeled program), and, for a program that allows it, all the steps in
 * one statement of data-modifying CTEs over r made of scalars ("set one")
 * or unnested from array parameters, one row per request ("set many").  So
 * the set-based statement and the labeled steps are the same description
 * and cannot disagree.
 *
 * fr_run runs units (requests, or in "set many" mode chunks of requests)
 * one after the other, all inside ONE internal subtransaction, and either
 * keeps all of it or rolls all of it back and says which unit and step
 * failed and why.  A probe run (keep = false) always rolls back: it only
 * finds out whether the units would succeed.  Errors that are about the
 * transaction or the server rather than the request are re-raised untouched:
 * cancellation and shutdown (class 57), transaction rollback (class 40:
 * serialization failure, deadlock), a read-only transaction (25006),
 * insufficient resources (class 53), system errors (class 58), internal
 * errors and corruption (class XX) and lock_not_available (55P03).
 * Anything else is handed back to the caller, who decides what it means.
 *
 * A kept run's subtransaction stays in the backend's subtransaction cache
 * (64 entries) until the top transaction ends; the run that would overflow
 * it warns once per transaction.  Rolled-back runs leave nothing there.
 *
 * It knows nothing about farms: the registration (registration.c) and the
 * deregistration (deregister.c) are programs.
 *
 *-------------------------------------------------------------------------
 */
#ifndef FARMREG_STEPS_H
#define FARMREG_STEPS_H

#include "executor/spi.h"
#include "utils/elog.h"

#define FR_MAX_INPUTS	16
#define FR_MAX_STEPS	8

/* A column of r: its name in the steps' SQL and its type. */
typedef struct FrInput
{
	const char *name;
	Oid			type;
} FrInput;

/*
 * A labeled step: one data-modifying statement over r, every name
 * schema-qualified, without a RETURNING clause (the set-based statement adds
 * one to run the steps in order) and, for a step in_input_order, without an
 * ORDER BY (the runner adds "ORDER BY r.n" where r has many rows; a sort of
 * one row is executor work for nothing).  `with` holds further CTEs the statement
 * needs (NULL for none); a step with them cannot be part of a set-based
 * program, since data-modifying CTEs cannot nest.
 */
typedef struct FrStep
{
	const char *label;			/* reported as failed_step */
	const char *with;
	const char *sql;
	bool		in_input_order; /* sql ends in "FROM r [WHERE ...]": with
								 * many rows, write them in r.n order */
} FrStep;

typedef struct FrProgram
{
	const char *name;			/* for log messages */
	const FrInput *inputs;
	int			ninputs;
	const FrStep *const *steps; /* a NULL step is left out: two programs
								 * that differ by a step keep its numbers */
	int			nsteps;
	bool		set_based;		/* the steps can run as one statement */
	/* generated and prepared on first use */
	bool		steps_prepared;
	SPIPlanPtr	step_plans[FR_MAX_STEPS];
	SPIPlanPtr	set_plans[2];	/* [0] scalars, [1] arrays */
} FrProgram;

typedef enum FrRunMode
{
	FR_RUN_STEPS,				/* the labeled steps, one statement each */
	FR_RUN_SET_ONE,				/* all steps in one statement, r = scalars */
	FR_RUN_SET_MANY				/* all steps in one statement, r = arrays */
} FrRunMode;

/*
 * Fills the inputs for unit number `unit`: one value per input, or in
 * FR_RUN_SET_MANY one array per input.  Called in a memory context that is
 * reset after the unit ran.
 */
typedef void (*FrBindFn) (void *arg, int unit, Datum *values, bool *nulls);

/* Why a run failed. */
typedef struct FrFailure
{
	int			unit;			/* the unit that failed */
	int			step;			/* FR_RUN_STEPS: its step; otherwise -1 */
	ErrorData  *error;			/* the error (in the caller's context) */
} FrFailure;

/*
 * Runs units 0..nunits-1 in one internal subtransaction.  True when all of
 * them succeeded; then the subtransaction is released into the caller's
 * transaction if keep, rolled back otherwise.  False when one failed:
 * nothing of any unit remains and *failure says which and why.  Must be
 * called connected to SPI; CurrentMemoryContext is where the failure goes.
 */
extern bool fr_run(FrProgram *prog, FrRunMode mode, int nunits,
				   FrBindFn bind, void *arg, bool keep, FrFailure *failure);

/* True for errors that fr_run re-raises instead of reporting. */
extern bool fr_error_is_about_transaction(int sqlerrcode);

#endif							/* FARMREG_STEPS_H */
