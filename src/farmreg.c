/*-------------------------------------------------------------------------
 *
 * farmreg.c
 *	  Module entry: PG_MODULE_MAGIC, _PG_init and the farmreg.* settings.
 *
 * The library needs no shared_preload_libraries: it is loaded by the first
 * call of one of its functions in a session, and defines its settings then.
 * Loaded by session_preload_libraries (recommended) its log filter covers a
 * session's first statement too; loaded by shared_preload_libraries, the
 * hashing budget is also shared by the whole cluster instead of per
 * database.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/guc.h"

#include "batch.h"
#include "hashbudget.h"
#include "logfilter.h"
#include "messages.h"
#include "password.h"

PG_MODULE_MAGIC;

/* upper bounds that keep a typo from making every registration hang */
#define FR_OPSLIMIT_MAX		1000
#define FR_MEMLIMIT_KB_MAX	(4 * 1024 * 1024)	/* 4 GB */
#define FR_HASH_WAIT_MS_MAX	(10 * 60 * 1000)
#define FR_BATCH_MAX		(10 * 1000 * 1000)

void		_PG_init(void);

static char *farmreg_hash_budget_scope = NULL;

void
_PG_init(void)
{
	fr_password_init();
	fr_hashbudget_init();

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

	DefineCustomIntVariable("farmreg.max_concurrent_hashes",
							"Password computations that may run at once.",
							"Per database, or in the whole cluster when farmreg is in "
							"shared_preload_libraries.",
							&farmreg_max_concurrent_hashes,
							fr_hashbudget_default(),
							1,
							FR_MAX_CONCURRENT_HASHES_LIMIT,
							PGC_SUSET,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("farmreg.hash_wait",
							"How long a password computation waits for a place in the budget.",
							"Then a registration answers try_again_later and a login raises SQLSTATE 53000.",
							&farmreg_hash_wait_ms,
							1000,
							0,
							FR_HASH_WAIT_MS_MAX,
							PGC_SUSET,
							GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomIntVariable("farmreg.max_batch_requests",
							"The most requests register_farm_admins() takes in one call.",
							NULL,
							&farmreg_max_batch_requests,
							10000,
							1,
							FR_BATCH_MAX,
							PGC_SUSET,
							0,
							NULL, NULL, NULL);

	DefineCustomStringVariable("farmreg.hash_budget_scope",
							   "Where farmreg.max_concurrent_hashes counts: database or cluster.",
							   "cluster when farmreg is in shared_preload_libraries.",
							   &farmreg_hash_budget_scope,
							   fr_hashbudget_is_cluster_wide() ? "cluster" : "database",
							   PGC_INTERNAL,
							   GUC_NOT_IN_SAMPLE | GUC_DISALLOW_IN_FILE,
							   NULL, NULL, NULL);

	MarkGUCPrefixReserved("farmreg");

	fr_logfilter_install();
}
