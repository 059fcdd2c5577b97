/*-------------------------------------------------------------------------
 *
 * steps.h
 *	  A runner for labeled SQL steps in one internal subtransaction.
 *
 * A program is a static array of steps.  Each step is one SQL statement with
 * parameters bound from the request's inputs or from the id an earlier step
 * returned (INSERT ... RETURNING id).  The runner prepares each statement once
 * per backend, runs every step of every request it is given inside ONE
 * internal subtransaction, and either keeps all of it or rolls all of it back
 * and says which request and step failed and why:
 *
 *	- a unique violation on a constraint the program lists: its mapping;
 *	- a condition that concerns the whole transaction (cancel, shutdown,
 *	  read-only, serialization failure, deadlock): re-raised untouched;
 *	- anything else: the error itself, for the caller to report.
 *
 * It knows nothing about farms: the registration (register.c) is one program.
 *
 *-------------------------------------------------------------------------
 */
#ifndef FARMREG_STEPS_H
#define FARMREG_STEPS_H

#include "executor/spi.h"
#include "utils/elog.h"

#define FR_STEP_MAX_ARGS	12
#define FR_MAX_STEPS		8

/* Where a step parameter comes from. */
typedef enum FrArgSource
{
	FR_ARG_NONE = 0,
	FR_ARG_INPUT,				/* the request's input number .index */
	FR_ARG_STEP					/* the id returned by step number .index */
} FrArgSource;

typedef struct FrStepArg
{
	FrArgSource source;
	int			index;
	Oid			type;			/* parameter type (FR_ARG_STEP: INT8OID) */
} FrStepArg;

typedef struct FrStep
{
	const char *label;			/* reported as failed_step */
	const char *sql;			/* schema-qualified, parameters $1.. */
	FrStepArg	args[FR_STEP_MAX_ARGS];
	int			nargs;
	bool		returns_id;		/* one row, one bigint column */
	bool		returns_rows;	/* rows for the request's take_rows */
	int			skip_unless_input;	/* -1, or skip when that input is NULL */
} FrStep;

/* A unique constraint (or unique index) whose violation means field/code. */
typedef struct FrConstraintCode
{
	const char *constraint;
	const char *field;
	const char *code;
} FrConstraintCode;

typedef struct FrProgram
{
	const char *name;			/* for log messages */
	const FrStep *steps;
	int			nsteps;
	const FrConstraintCode *constraints;
	int			nconstraints;
	SPIPlanPtr	plans[FR_MAX_STEPS];	/* prepared on first use */
} FrProgram;

/*
 * One request: its inputs, and the ids its steps returned.  A step that
 * returns_rows hands its result to take_rows, inside the subtransaction (an
 * error raised there fails the step like any other).
 */
typedef struct FrRequest FrRequest;
struct FrRequest
{
	const Datum *values;
	const bool *nulls;
	int64		ids[FR_MAX_STEPS];	/* out; 0 for a skipped step */
	void		(*take_rows) (FrRequest *req, SPITupleTable *rows, uint64 nrows);
	void	   *arg;			/* for take_rows */
};

/* Why a run failed. */
typedef struct FrFailure
{
	int			request;		/* index of the request that failed */
	int			step;			/* index of its step that failed */
	const FrConstraintCode *conflict;	/* a mapped unique violation, or NULL */
	ErrorData  *error;			/* the error (in the caller's context) */
} FrFailure;

/*
 * Runs every step of reqs[0..nreqs) in one internal subtransaction.  Returns
 * true when all of them succeeded (the subtransaction is released into the
 * caller's transaction, ids filled in), false when one failed: nothing of any
 * request remains and *failure says which and why.  Must be called connected
 * to SPI; CurrentMemoryContext is where results go.
 */
extern bool fr_run_steps(FrProgram *prog, FrRequest *reqs, int nreqs,
						 FrFailure *failure);

#endif							/* FARMREG_STEPS_H */
