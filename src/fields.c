/*-------------------------------------------------------------------------
 *
 * fields.c
 *	  Request fields as the field rules see them (see fields.h).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "mb/pg_wchar.h"
#include "utils/builtins.h"

#include "fields.h"
#include "validate.h"

void
fr_field_set(FrFieldValue *field, const char *s, int len, bool trim)
{
	const char *utf8;
	size_t		start = 0;
	size_t		n;

	field->not_string = false;
	if (s == NULL)
	{
		field->utf8 = "";
		field->len = 0;
		field->is_null = true;
		return;
	}
	utf8 = pg_server_to_any(s, len, PG_UTF8);
	n = utf8 == s ? (size_t) len : strlen(utf8);
	if (trim)
		n = fr_trim(utf8, n, &start);
	field->utf8 = utf8 + start;
	field->len = n;
	field->is_null = false;
}

void
fr_field_from_arg(FunctionCallInfo fcinfo, int argno, bool trim,
				  FrFieldValue *field)
{
	text	   *t;

	if (PG_ARGISNULL(argno))
	{
		fr_field_set(field, NULL, 0, trim);
		return;
	}
	t = PG_GETARG_TEXT_PP(argno);
	fr_field_set(field, VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t), trim);
}

void
fr_field_from_json(JsonbContainer *object, const char *name, bool trim,
				   FrFieldValue *field)
{
	JsonbValue	v;

	if (!getKeyJsonValueFromContainer(object, name, strlen(name), &v) ||
		v.type == jbvNull)
	{
		fr_field_set(field, NULL, 0, trim);
		return;
	}
	if (v.type == jbvString)
	{
		fr_field_set(field, v.val.string.val, v.val.string.len, trim);
		return;
	}
	fr_field_set(field, NULL, 0, trim);
	field->not_string = true;
}

Datum
fr_field_text(const FrFieldValue *field)
{
	char	   *server = pg_any_to_server(field->utf8, field->len, PG_UTF8);

	if (server != field->utf8)
		return PointerGetDatum(cstring_to_text(server));
	return PointerGetDatum(cstring_to_text_with_len(field->utf8, field->len));
}

char *
fr_arg_cstring(FunctionCallInfo fcinfo, int argno)
{
	return PG_ARGISNULL(argno) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(argno));
}
