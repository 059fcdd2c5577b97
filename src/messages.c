/*-------------------------------------------------------------------------
 *
 * messages.c
 *	  Error code + locale -> copy, from farmreg.messages, for results and
 *	  for the SQL function error_message(code, locale).
 *
 * There is deliberately no cache: copy is read when a failure needs it (one
 * query for all the codes of a result), so an UPDATE of farmreg.messages
 * committed in any session shows in every session's next call.  Successful
 * registrations never get here.
 *
 * Locales are matched the way people write them: "es-MX", "es_MX",
 * "es_MX.UTF-8" all try "es-MX", then "es", then "en".
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"

#include "fields.h"
#include "spiutil.h"
#include "messages.h"

PG_FUNCTION_INFO_V1(farmreg_error_message);

char	   *farmreg_locale = NULL;

/* locale names longer than this cannot be real; they fall back to en */
#define FR_LOCALE_MAXLEN 64

static SPIPlanPtr lookup_plan = NULL;

static const char *lookup_sql =
"SELECT m.code, m.message"
"  FROM farmreg.messages AS m"
" WHERE m.code = ANY ($1)"
"   AND m.locale = ANY ($2)"
" ORDER BY pg_catalog.array_position($2, m.locale)";

/*
 * Fills chain with the locales to try, most specific first, and returns how
 * many.  "ES_mx.UTF-8@euro" -> "es-MX", "es", "en".
 */
static int
locale_chain(const char *locale, char *chain[3])
{
	char		lang[FR_LOCALE_MAXLEN + 1];
	char		full[FR_LOCALE_MAXLEN + 1];
	size_t		n = 0;
	size_t		langlen = 0;
	int			count = 0;

	if (locale == NULL || locale[0] == '\0' ||
		strlen(locale) > FR_LOCALE_MAXLEN)
		locale = FR_DEFAULT_LOCALE;

	/* language: letters up to the first separator, lower case */
	for (; locale[n] != '\0' && locale[n] != '-' && locale[n] != '_' &&
		 locale[n] != '.' && locale[n] != '@'; n++)
		lang[langlen++] = pg_ascii_tolower((unsigned char) locale[n]);
	lang[langlen] = '\0';
	memcpy(full, lang, langlen + 1);

	/* the rest (region, script) up to an encoding or modifier suffix */
	if (locale[n] == '-' || locale[n] == '_')
	{
		size_t		len = langlen;
		size_t		sub = 0;

		for (; locale[n] != '\0' && locale[n] != '.' && locale[n] != '@'; n++)
		{
			char		c = locale[n];

			if (c == '_' || c == '-')
			{
				full[len++] = '-';
				sub = len;
			}
			else
				full[len++] = c;
		}
		full[len] = '\0';
		/* a two-letter subtag is a region: upper case, as in es-MX */
		if (len - sub == 2)
		{
			full[sub] = pg_ascii_toupper((unsigned char) full[sub]);
			full[sub + 1] = pg_ascii_toupper((unsigned char) full[sub + 1]);
		}
	}

	if (strcmp(full, lang) != 0)
		chain[count++] = pstrdup(full);
	if (langlen > 0 && strcmp(lang, FR_DEFAULT_LOCALE) != 0)
		chain[count++] = pstrdup(lang);
	chain[count++] = pstrdup(FR_DEFAULT_LOCALE);
	return count;
}

static Datum
text_array(char *const *items, int n)
{
	Datum	   *elems = palloc(sizeof(Datum) * n);

	for (int i = 0; i < n; i++)
		elems[i] = CStringGetTextDatum(items[i]);
	return PointerGetDatum(construct_array(elems, n, TEXTOID, -1, false,
										   TYPALIGN_INT));
}

void
fr_messages_lookup(const char *const *codes, int ncodes, const char *locale,
				  bool read_only, char **messages)
{
	char	   *chain[3];
	int			nchain;
	Datum		args[2];
	int			rc;

	for (int i = 0; i < ncodes; i++)
		messages[i] = NULL;
	if (ncodes == 0)
		return;

	if (locale == NULL)
		locale = farmreg_locale;
	nchain = locale_chain(locale, chain);

	if (lookup_plan == NULL)
	{
		Oid			argtypes[2] = {TEXTARRAYOID, TEXTARRAYOID};

		lookup_plan = fr_spi_prepare(lookup_sql, 2, argtypes);
	}

	args[0] = text_array((char *const *) codes, ncodes);
	args[1] = text_array(chain, nchain);
	rc = fr_spi_execute(lookup_plan, args, NULL, read_only, 0);
	if (rc != SPI_OK_SELECT)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("message catalog query failed: %s",
						SPI_result_code_string(rc))));

	/* rows come most specific locale first: keep the first one per code */
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		HeapTuple	tup = SPI_tuptable->vals[r];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		char	   *code = SPI_getvalue(tup, desc, 1);

		for (int i = 0; i < ncodes; i++)
		{
			if (messages[i] == NULL && strcmp(codes[i], code) == 0)
				messages[i] = SPI_getvalue(tup, desc, 2);
		}
	}
	SPI_freetuptable(SPI_tuptable);
}

/* error_message(code, locale): the catalog's copy, NULL for an unknown code. */
Datum
farmreg_error_message(PG_FUNCTION_ARGS)
{
	const char *code;
	char	   *message;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	code = text_to_cstring(PG_GETARG_TEXT_PP(0));

	fr_spi_connect();
	fr_messages_lookup(&code, 1, fr_arg_cstring(fcinfo, 1), true, &message);
	SPI_finish();

	if (message == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(message));
}
