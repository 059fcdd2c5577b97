/*-------------------------------------------------------------------------
 *
 * result.h
 *	  The result of a registration: its outcome, and the row of
 *	  farmreg.registration_result built from it with the catalog's copy.
 *
 *-------------------------------------------------------------------------
 */
#ifndef FARMREG_RESULT_H
#define FARMREG_RESULT_H

#include "postgres.h"

#include "validate.h"

/* ok, user_id, farm_id, farmer_id, error_code, failed_step, message, errors */
#define FR_RESULT_NCOLS		8

typedef struct FrOutcome
{
	bool		ok;
	int64		ids[3];			/* user, farm, farmer (ok only) */
	const char *failed_step;	/* NULL when ok */
	const char *codes[FR_NFIELDS];	/* each field's error, or NULL */
	const char *general;		/* an error of no field: internal_error,
								 * try_again_later */
	const char *sqlstate;		/* internal_error only */
} FrOutcome;

/* Marks an outcome as failed with an error of no field. */
extern void fr_outcome_general(FrOutcome *out, const char *step,
							   const char *code, int sqlerrcode);

/* True when any field has an error. */
extern bool fr_outcome_has_field_errors(const FrOutcome *out);

/* The catalog copy for the codes of a call's outcomes, read in one query. */
#define FR_COPY_MAX			64
typedef struct FrCopy
{
	int			n;
	const char *codes[FR_COPY_MAX];
	char	   *messages[FR_COPY_MAX];
} FrCopy;

extern void fr_copy_want(FrCopy *copy, const FrOutcome *out);
extern void fr_copy_read(FrCopy *copy, const char *locale);	/* connected to SPI */

/* The FR_RESULT_NCOLS columns of the result row of an outcome. */
extern void fr_result_values(const FrOutcome *out, const FrCopy *copy,
							 Datum *values, bool *nulls);

#endif							/* FARMREG_RESULT_H */
