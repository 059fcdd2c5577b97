/*-------------------------------------------------------------------------
 *
 * farmreg.c
 *	  Module entry: PG_MODULE_MAGIC, _PG_init and the farmreg.* GUCs.
 *
 * The library needs no shared_preload_libraries: it is loaded by the first
 * call of one of its functions in a session, and defines its settings then.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/guc.h"

#include "catalog.h"
#include "logfilter.h"
#include "password.h"

PG_MODULE_MAGIC;

/* upper bounds that keep a typo from making every registration hang */
#define FR_OPSLIMIT_MAX		1000
#define FR_MEMLIMIT_KB_MAX	(4 * 1024 * 1024)	/* 4 GB */

void		_PG_init(void);

void
_PG_init(void)
{
	fr_password_init();

	DefineCustomStringVariable("farmreg.locale",
							   "Locale of the copy in results when a call names none.",
							   "A regional locale (es-MX, es_MX) falls back to its language, "
							   "an unknown one to en.",
							   &farmreg_locale,
							   FR_DEFAULT_LOCALE,
							   PGC_USERSET,
							   0,
							   NULL, NULL, NULL);

	DefineCustomIntVariable("farmreg.password_opslimit",
							"argon2id iterations (libsodium opslimit) for new password hashes.",
							NULL,
							&farmreg_password_opslimit,
							FR_OPSLIMIT_DEFAULT,
							crypto_pwhash_argon2id_OPSLIMIT_MIN,
							FR_OPSLIMIT_MAX,
							PGC_SUSET,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("farmreg.password_memlimit",
							"argon2id memory (libsodium memlimit) for new password hashes.",
							NULL,
							&farmreg_password_memlimit_kb,
							FR_MEMLIMIT_KB_DEFAULT,
							crypto_pwhash_argon2id_MEMLIMIT_MIN / 1024,
							FR_MEMLIMIT_KB_MAX,
							PGC_SUSET,
							GUC_UNIT_KB,
							NULL, NULL, NULL);

	MarkGUCPrefixReserved("farmreg");

	fr_logfilter_install();
}
