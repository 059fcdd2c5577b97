/*-------------------------------------------------------------------------
 *
 * registration.c
 *	  The registration's steps and its uniqueness rules (see registration.h).
 *
 * The indexes named here are part of the schema (sql/farmreg--*.sql): the
 * unique indexes on users fold ASCII case, lower(x COLLATE "C"), whatever
 * the database's collation, because usernames and emails are ASCII by their
 * field rules; a tr-TR database must not tell "kim" and "KIM" apart.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "utils/builtins.h"

#include "outbox.h"
#include "registration.h"

static const FrInput registration_inputs[FR_REG_NINPUTS] = {
	[IN_N] = {"n", INT4OID},
	[IN_USER_ID] = {"user_id", INT8OID},
	[IN_FARM_ID] = {"farm_id", INT8OID},
	[IN_FARMER_ID] = {"farmer_id", INT8OID},
	[IN_USERNAME] = {"username", TEXTOID},
	[IN_EMAIL] = {"email", TEXTOID},
	[IN_NAME] = {"name", TEXTOID},
	[IN_PASSWORD_HASH] = {"password_hash", TEXTOID},
	[IN_FARM_NAME] = {"farm_name", TEXTOID},
	[IN_USDA_FARM_ID] = {"usda_farm_id", INT8OID},
	[IN_USDA_UID] = {"usda_uid", TEXTOID},
	[IN_KEY] = {"key", TEXTOID},
	[IN_REQUEST_DIGEST] = {"request_digest", BYTEAOID},
	[IN_EVENT_PAYLOAD] = {"event_payload", JSONBOID},
};

static const FrStep create_user = {
	.label = "create_user",
	.sql = "INSERT INTO farmreg.users (id, username, email, name, password_hash)"
	" SELECT r.user_id, r.username, r.email, r.name, r.password_hash"
	"   FROM r",
	.in_input_order = true,
};

/* the farm's name is its USDA record's, read by the judge */
static const FrStep create_farm = {
	.label = "create_farm",
	.sql = "INSERT INTO farmreg.farms (id, name, usda_farm_id)"
	" SELECT r.farm_id, r.farm_name, r.usda_farm_id FROM r",
	.in_input_order = true,
};

static const FrStep create_farmer = {
	.label = "create_farmer",
	.sql = "INSERT INTO farmreg.farmers (id, user_id, farm_id, is_admin)"
	" SELECT r.farmer_id, r.user_id, r.farm_id, true FROM r",
	.in_input_order = true,
};

/*
 * A second request with the same key, racing this one, waits on this row's
 * unique index entry (or on its username's, which the same request shares)
 * until this transaction ends, and then finds the key (judge.c).
 */
static const FrStep record_key = {
	.label = "record_idempotency_key",
	.sql = "INSERT INTO farmreg.idempotency_keys"
	" (key, request_digest, user_id, farm_id, farmer_id)"
	" SELECT r.key, r.request_digest, r.user_id, r.farm_id, r.farmer_id"
	"   FROM r WHERE r.key IS NOT NULL",
	.in_input_order = true,
};

static const FrStep *const steps_1_0[] = {
	&create_user, &create_farm, &create_farmer, &record_key
};

static const FrStep *const steps_1_1[FR_REG_NSTEPS] = {
	[STEP_CREATE_USER] = &create_user,
	[STEP_CREATE_FARM] = &create_farm,
	[STEP_CREATE_FARMER] = &create_farmer,
	[STEP_RECORD_KEY] = &record_key,
	[STEP_APPEND_EVENT] = &fr_outbox_registered_step,
};

static FrProgram registration_1_0 = {
	.name = "the registration",
	.inputs = registration_inputs,
	.ninputs = FR_REG_NINPUTS,
	.steps = steps_1_0,
	.nsteps = lengthof(steps_1_0),
	.set_based = true,
};

/* for requests without a key: its empty write would cost a ModifyTable */
static const FrStep *const steps_1_1_no_key[FR_REG_NSTEPS] = {
	[STEP_CREATE_USER] = &create_user,
	[STEP_CREATE_FARM] = &create_farm,
	[STEP_CREATE_FARMER] = &create_farmer,
	[STEP_RECORD_KEY] = NULL,
	[STEP_APPEND_EVENT] = &fr_outbox_registered_step,
};

static FrProgram registration_1_1 = {
	.name = "the registration",
	.inputs = registration_inputs,
	.ninputs = FR_REG_NINPUTS,
	.steps = steps_1_1,
	.nsteps = lengthof(steps_1_1),
	.set_based = true,
};

static FrProgram registration_1_1_no_key = {
	.name = "the registration",
	.inputs = registration_inputs,
	.ninputs = FR_REG_NINPUTS,
	.steps = steps_1_1_no_key,
	.nsteps = lengthof(steps_1_1_no_key),
	.set_based = true,
};

FrProgram *
fr_registration_program(FrRegVersion version, bool with_keys)
{
	if (version == FR_REG_1_0)
		return &registration_1_0;
	return with_keys ? &registration_1_1 : &registration_1_1_no_key;
}

bool
fr_registration_has_event(const FrProgram *prog)
{
	return prog->nsteps > STEP_APPEND_EVENT &&
		prog->steps[STEP_APPEND_EVENT] != NULL;
}

const char *
fr_registration_step_label(int step)
{
	return steps_1_1[step]->label;
}

const FrUniqueRule fr_unique_rules[FR_NRULES] = {
	[FR_RULE_USERNAME] = {
		FR_FIELD_USERNAME, "users_username_lower_key", FR_CODE_USERNAME_TAKEN,
		FR_VALUE_FIELD, FR_FOLD_ASCII_CASE, STEP_CREATE_USER
	},
	[FR_RULE_EMAIL] = {
		FR_FIELD_EMAIL, "users_email_lower_key", FR_CODE_EMAIL_ALREADY_CLAIMED,
		FR_VALUE_FIELD, FR_FOLD_ASCII_CASE, STEP_CREATE_USER
	},
	[FR_RULE_FARM] = {
		FR_FIELD_USDA_UID, "farms_usda_farm_id_key", FR_CODE_FARM_ALREADY_CLAIMED,
		FR_VALUE_USDA_FARM_ID, FR_FOLD_EXACT, STEP_CREATE_FARM
	},
	[FR_RULE_KEY] = {
		FR_FIELD_IDEMPOTENCY_KEY, "idempotency_keys_pkey",
		FR_CODE_IDEMPOTENCY_KEY_REUSED, FR_VALUE_FIELD, FR_FOLD_EXACT,
		STEP_RECORD_KEY
	},
};

const FrUniqueRule *
fr_rule_for_constraint(const char *constraint)
{
	if (constraint == NULL)
		return NULL;
	for (int i = 0; i < FR_NRULES; i++)
	{
		if (strcmp(fr_unique_rules[i].index, constraint) == 0)
			return &fr_unique_rules[i];
	}
	return NULL;
}

Datum
fr_rule_fold(const FrUniqueRule *rule, const FrFieldValue *field)
{
	text	   *t = DatumGetTextPP(fr_field_text(field));

	/*
	 * What lower(x COLLATE "C") does: ASCII letters only, byte by byte,
	 * which every server encoding allows (their multibyte characters use no
	 * ASCII bytes).
	 */
	if (rule->fold == FR_FOLD_ASCII_CASE)
	{
		char	   *p = VARDATA_ANY(t);

		for (int i = 0; i < VARSIZE_ANY_EXHDR(t); i++)
			p[i] = pg_ascii_tolower((unsigned char) p[i]);
	}
	return PointerGetDatum(t);
}
