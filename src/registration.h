/*-------------------------------------------------------------------------
 *
 * registration.h
 *	  What a farm-admin registration writes, and the rules that make its
 *	  values unique.
 *
 * The registration is a program of labeled steps (steps.h) over one row of
 * inputs:
 *
 *	create_user -> create_farm -> create_farmer -> record_idempotency_key
 *	-> append_event (1.1 on)
 *
 * Ids are given to a request before its writes (from the tables' own
 * sequences), so the steps need nothing from each other but r, and the same
 * steps write one request or a whole chunk in one statement.
 *
 * The uniqueness rules are one table: the field a rule is about, the unique
 * index that enforces it, the code of a violation, how the value is folded
 * (the way the index's expression folds it) and the step whose write the
 * index checks.  The judge's lookups, the in-batch claims and the mapping of
 * a unique violation to a code all read it.
 *
 *-------------------------------------------------------------------------
 */
#ifndef FARMREG_REGISTRATION_H
#define FARMREG_REGISTRATION_H

#include "fields.h"
#include "steps.h"
#include "validate.h"

/* The inputs of the steps (the columns of r), in this order. */
typedef enum FrRegInput
{
	IN_N,						/* ordinal in the chunk */
	IN_USER_ID,
	IN_FARM_ID,
	IN_FARMER_ID,
	IN_USERNAME,
	IN_EMAIL,
	IN_NAME,
	IN_PASSWORD_HASH,
	IN_FARM_NAME,				/* the USDA record's */
	IN_USDA_FARM_ID,
	IN_USDA_UID,
	IN_KEY,						/* NULL without an idempotency key */
	IN_REQUEST_DIGEST,
	IN_EVENT_PAYLOAD,			/* append_event's payload (outbox.c); NULL
								 * for a program without that step */
	FR_REG_NINPUTS
} FrRegInput;

typedef enum FrRegStep
{
	STEP_CREATE_USER,
	STEP_CREATE_FARM,
	STEP_CREATE_FARMER,
	STEP_RECORD_KEY,
	STEP_APPEND_EVENT,
	FR_REG_NSTEPS
} FrRegStep;

/* The step labels reported as failed_step outside the program. */
#define FR_STEP_VALIDATE		"validate"
#define FR_STEP_HASH_PASSWORD	"hash_password"

/* The program of a version: FR_REG_1_0 has no outbox yet. */
typedef enum FrRegVersion
{
	FR_REG_1_0,
	FR_REG_1_1
} FrRegVersion;

/*
 * with_keys: some request carries an idempotency key.  Without, the program
 * leaves out record_idempotency_key (its step number stays unused).
 */
extern FrProgram *fr_registration_program(FrRegVersion version, bool with_keys);
extern const char *fr_registration_step_label(int step);
/* Whether the program appends an outbox event (needs IN_EVENT_PAYLOAD). */
extern bool fr_registration_has_event(const FrProgram *prog);

/* How a rule's value is compared, as its index's expression does it. */
typedef enum FrFold
{
	FR_FOLD_EXACT,
	FR_FOLD_ASCII_CASE			/* lower(x COLLATE "C"): ASCII letters only */
} FrFold;

/* What a rule's value is. */
typedef enum FrRuleValue
{
	FR_VALUE_FIELD,				/* the field's text */
	FR_VALUE_USDA_FARM_ID		/* the id of the USDA record usda_uid names */
} FrRuleValue;

typedef struct FrUniqueRule
{
	FrField		field;			/* the field a violation is reported on */
	const char *index;			/* unique index (constraint) in schema farmreg */
	const char *code;			/* the code of a violation */
	FrRuleValue value;
	FrFold		fold;
	FrRegStep	step;			/* the step whose write the index checks */
} FrUniqueRule;

typedef enum FrRule
{
	FR_RULE_USERNAME,
	FR_RULE_EMAIL,
	FR_RULE_FARM,
	FR_RULE_KEY,
	FR_NRULES
} FrRule;

extern const FrUniqueRule fr_unique_rules[FR_NRULES];

/* The USDA record a usda_uid names: exact match on this unique index. */
#define FR_USDA_INDEX			"usda_farms_usda_uid_key"

/* The rule a unique violation of the named constraint breaks, or NULL. */
extern const FrUniqueRule *fr_rule_for_constraint(const char *constraint);

/*
 * A field's text as its rule's index holds it (folded), as a text Datum in
 * the database encoding.
 */
extern Datum fr_rule_fold(const FrUniqueRule *rule, const FrFieldValue *field);

#endif							/* FARMREG_REGISTRATION_H */
