/*-------------------------------------------------------------------------
 *
 * args.c
 *	  Helpers shared by the SQL entry points (see args.h).
 *
 * The field rules (validate.c) work on UTF-8.  In a UTF-8 database, which is
 * the common case, values are used in place; in another encoding they are
 * converted for the rules and back for storage.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "executor/spi.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"

#include "args.h"
#include "validate.h"

void
fr_field_set(FrFieldValue *field, const char *s, int len, bool trim)
{
	const char *utf8;
	size_t		start = 0;
	size_t		n;

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

void
fr_spi_connect(void)
{
	MemoryContext cxt = CurrentMemoryContext;

	if (SPI_connect() != SPI_OK_CONNECT)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not connect to SPI")));
	MemoryContextSwitchTo(cxt);
}

SPIPlanPtr
fr_spi_prepare(const char *sql, int nargs, Oid *argtypes)
{
	MemoryContext cxt = CurrentMemoryContext;
	SPIPlanPtr	plan;

	/*
	 * Generic plans: every farmreg statement is a single-row write or an
	 * index lookup, and planning it again for each call would only cost time.
	 */
	plan = SPI_prepare_cursor(sql, nargs, argtypes, CURSOR_OPT_GENERIC_PLAN);
	if (plan == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not prepare a farmreg statement: %s",
						SPI_result_code_string(SPI_result)),
				 errdetail_internal("Statement: %s", sql)));
	if (SPI_keepplan(plan) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not keep the plan of a farmreg statement"),
				 errdetail_internal("Statement: %s", sql)));
	MemoryContextSwitchTo(cxt);
	return plan;
}

int
fr_spi_execute(SPIPlanPtr plan, Datum *values, const char *nulls,
			   bool read_only, long count)
{
	MemoryContext cxt = CurrentMemoryContext;
	int			rc = SPI_execute_plan(plan, values, nulls, read_only, count);

	MemoryContextSwitchTo(cxt);
	return rc;
}
