/*-------------------------------------------------------------------------
 *
 * result.c
 *	  The result of a registration (see result.h).
 *
 * A success carries ids and nothing else: error_code, failed_step and
 * message NULL, errors '[]'.  A failure carries no ids; errors lists every
 * field's error in field order, then an error of no field (internal_error
 * with its SQLSTATE, or try_again_later), each with the catalog's copy in
 * the asked locale; error_code and message are the first entry's.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/builtins.h"
#include "utils/jsonb.h"

#include "messages.h"
#include "result.h"

void
fr_outcome_general(FrOutcome *out, const char *step, const char *code,
				   int sqlerrcode)
{
	out->ok = false;
	out->failed_step = step;
	out->general = code;
	out->sqlstate = sqlerrcode != 0 ? unpack_sql_state(sqlerrcode) : NULL;
}

bool
fr_outcome_has_field_errors(const FrOutcome *out)
{
	for (int i = 0; i < FR_NFIELDS; i++)
	{
		if (out->codes[i] != NULL)
			return true;
	}
	return false;
}

static void
copy_add(FrCopy *copy, const char *code)
{
	for (int j = 0; j < copy->n; j++)
	{
		if (strcmp(copy->codes[j], code) == 0)
			return;
	}
	if (copy->n < FR_COPY_MAX)
		copy->codes[copy->n++] = code;
}

void
fr_copy_want(FrCopy *copy, const FrOutcome *out)
{
	if (out->ok)
		return;
	for (int i = 0; i < FR_NFIELDS; i++)
	{
		if (out->codes[i] != NULL)
			copy_add(copy, out->codes[i]);
	}
	if (out->general != NULL)
		copy_add(copy, out->general);
}

void
fr_copy_read(FrCopy *copy, const char *locale)
{
	fr_messages_lookup(copy->codes, copy->n, locale, false, copy->messages);
}

static const char *
copy_for(const FrCopy *copy, const char *code)
{
	for (int j = 0; j < copy->n; j++)
	{
		if (strcmp(copy->codes[j], code) == 0)
			return copy->messages[j];
	}
	return NULL;
}

/* Adds "key": value (a JSON null for a NULL value) to an object. */
static void
push_pair(JsonbParseState **state, const char *key, const char *value)
{
	JsonbValue	k;
	JsonbValue	v;

	k.type = jbvString;
	k.val.string.val = (char *) key;
	k.val.string.len = strlen(key);
	pushJsonbValue(state, WJB_KEY, &k);
	if (value == NULL)
		v.type = jbvNull;
	else
	{
		v.type = jbvString;
		v.val.string.val = (char *) value;
		v.val.string.len = strlen(value);
	}
	pushJsonbValue(state, WJB_VALUE, &v);
}

static void
push_error(JsonbParseState **state, const FrCopy *copy, const char *field,
		   const char *code, const char *sqlstate)
{
	pushJsonbValue(state, WJB_BEGIN_OBJECT, NULL);
	push_pair(state, "field", field);
	push_pair(state, "code", code);
	push_pair(state, "message", copy_for(copy, code));
	if (sqlstate != NULL)
		push_pair(state, "sqlstate", sqlstate);
	pushJsonbValue(state, WJB_END_OBJECT, NULL);
}

void
fr_result_values(const FrOutcome *out, const FrCopy *copy, Datum *values,
				 bool *nulls)
{
	JsonbParseState *state = NULL;
	JsonbValue *array;
	const char *first = NULL;

	pushJsonbValue(&state, WJB_BEGIN_ARRAY, NULL);
	if (!out->ok)
	{
		for (int i = 0; i < FR_NFIELDS; i++)
		{
			if (out->codes[i] == NULL)
				continue;
			if (first == NULL)
				first = out->codes[i];
			push_error(&state, copy, fr_field_names[i], out->codes[i], NULL);
		}
		if (out->general != NULL)
		{
			if (first == NULL)
				first = out->general;
			push_error(&state, copy, NULL, out->general, out->sqlstate);
		}
	}
	array = pushJsonbValue(&state, WJB_END_ARRAY, NULL);

	memset(nulls, true, sizeof(bool) * FR_RESULT_NCOLS);
	values[0] = BoolGetDatum(out->ok);
	nulls[0] = false;
	if (out->ok)
	{
		for (int i = 0; i < 3; i++)
		{
			values[1 + i] = Int64GetDatum(out->ids[i]);
			nulls[1 + i] = false;
		}
	}
	if (first != NULL)
	{
		const char *message = copy_for(copy, first);

		values[4] = CStringGetTextDatum(first);
		nulls[4] = false;
		if (message != NULL)
		{
			values[6] = CStringGetTextDatum(message);
			nulls[6] = false;
		}
	}
	if (!out->ok && out->failed_step != NULL)
	{
		values[5] = CStringGetTextDatum(out->failed_step);
		nulls[5] = false;
	}
	values[7] = JsonbPGetDatum(JsonbValueToJsonb(array));
	nulls[7] = false;
}
