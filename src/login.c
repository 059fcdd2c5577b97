/*-------------------------------------------------------------------------
 *
 * login.c
 *	  verify_password(login, password): the user's id when the login (a
 *	  username or an email, ignoring case) and the password match, else NULL.
 *
 * Read-only, so it works on a hot standby.  An unknown login is checked
 * against a decoy hash with the configured costs (password.c), so that it
 * takes as long as a wrong password.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"

#include "args.h"
#include "logfilter.h"
#include "password.h"

PG_FUNCTION_INFO_V1(farmreg_verify_password);

/* by username, by email: usernames cannot hold an '@' and emails must */
static SPIPlanPtr login_plans[2] = {NULL, NULL};

static const char *const login_sql[2] = {
	"SELECT u.id, u.password_hash FROM farmreg.users AS u"
	" WHERE pg_catalog.lower(u.username) = pg_catalog.lower($1)",
	"SELECT u.id, u.password_hash FROM farmreg.users AS u"
	" WHERE pg_catalog.lower(u.email) = pg_catalog.lower($1)",
};

static Datum
verify_password(FunctionCallInfo fcinfo)
{
	FrFieldValue login;
	FrFieldValue password;
	int			by_email;
	Datum		arg;
	char	   *hash = NULL;
	int64		id = 0;
	int			rc;

	fr_field_from_arg(fcinfo, 0, true, &login);
	fr_field_from_arg(fcinfo, 1, false, &password);
	by_email = memchr(login.utf8, '@', login.len) != NULL;

	fr_spi_connect();
	if (login_plans[by_email] == NULL)
	{
		Oid			argtypes[1] = {TEXTOID};

		login_plans[by_email] = fr_spi_prepare(login_sql[by_email], 1, argtypes);
	}
	arg = fr_field_text(&login);
	rc = fr_spi_execute(login_plans[by_email], &arg, NULL, true, 1);
	if (rc != SPI_OK_SELECT)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("login lookup failed: %s", SPI_result_code_string(rc))));
	if (SPI_processed == 1)
	{
		bool		isnull;

		id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
										 SPI_tuptable->tupdesc, 1, &isnull));
		hash = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
	}
	SPI_finish();

	if (fr_password_verify(hash, password.utf8, password.len))
		PG_RETURN_INT64(id);
	PG_RETURN_NULL();
}

Datum
farmreg_verify_password(PG_FUNCTION_ARGS)
{
	return fr_call_redacted(verify_password, fcinfo);
}
