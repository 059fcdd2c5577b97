/*-------------------------------------------------------------------------
 *
 * wakeup.c
 *	  The wakeup worker: one dynamic background worker per database that
 *	  sends NOTIFY farmreg_events for the transactions that appended events,
 *	  coalesced to at most one per FR_WAKEUP_INTERVAL_MS.
 *
 * Why not NOTIFY from the transactions themselves: PostgreSQL serializes
 * every commit that carries a NOTIFY on one cluster-wide lock, held until
 * the commit record is flushed, so a notifying registration queues behind
 * every other one (and group commit no longer helps).  Here only the worker
 * notifies, at most about ten times a second.
 *
 * A writer (the events trigger calls fr_wakeup_after_commit, during the
 * transaction):
 *	- flags the transaction, and registers a transaction callback once per
 *	  backend;
 *	- makes sure it knows the worker: a remembered pid, checked against the
 *	  background worker slots; else it looks through the server's processes
 *	  for the background worker of type FR_WAKEUP_TYPE in its database; else
 *	  it starts one and waits for the postmaster to fork it;
 *	- after commit (XACT_EVENT_COMMIT: the events are visible by then) the
 *	  callback sets the worker's latch.  No lock, no I/O, nothing that can
 *	  fail.
 *
 * The worker:
 *	- holds the FR_LOCK_WAKEUP session lock (locks.h); a second worker that
 *	  two writers started at once finds it taken and quits;
 *	- notifies once as soon as it is connected (covering the commits of the
 *	  writers that started it, which could not reach its latch yet);
 *	- then waits on its latch: when set, it notifies and sleeps for the
 *	  interval, so the commits of the interval share the next notification;
 *	- gets out of the way: it quits when a DROP DATABASE, CREATE DATABASE
 *	  ... TEMPLATE or ALTER DATABASE waits for this database's sessions
 *	  (checked every interval: they wait up to 5 s for sessions to leave),
 *	  when the extension is dropped, on a standby, on SIGTERM, and after a
 *	  minute without work (notifying once more first); the next writer starts
 *	  a new one.
 *
 * Its transactions run with synchronous_commit off: a notification needs no
 * durability, and the notify lock is held for the shortest time.
 *
 * When no worker can be started (every max_worker_processes slot is taken),
 * the writer falls back to NOTIFY in its own transaction and says so once
 * per backend.  Left out of reach, which is why consumers also poll: a
 * commit in the instant the worker quits after a minute idle, and events
 * written by a prepared transaction (COMMIT PREPARED runs elsewhere).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_database.h"
#include "commands/async.h"
#include "commands/extension.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lock.h"
#include "storage/proc.h"
#include "storage/procarray.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/timestamp.h"

#include "locks.h"
#include "outbox.h"
#include "wakeup.h"

/* after a failed start, writers fall back to NOTIFY for this long */
#define FR_WAKEUP_RETRY_S		10

static bool callback_registered = false;
static bool xact_appended = false;
static PGPROC *worker_proc = NULL;	/* NULL until it is seen running */
static pid_t worker_pid = 0;
static TimestampTz start_failed_at = 0;
static bool warned_fallback = false;

/* ------------------------------------------------------------------------
 * Writers
 * ------------------------------------------------------------------------
 */

static bool
is_wakeup_worker(pid_t pid)
{
	const char *type = GetBackgroundWorkerTypeByPid(pid);

	return type != NULL && strcmp(type, FR_WAKEUP_TYPE) == 0;
}

/*
 * Whether the remembered worker still runs, by its background worker slot
 * (a PGPROC keeps its pid after its process exits, so that is no test).
 */
static bool
worker_known(void)
{
	return worker_pid != 0 && is_wakeup_worker(worker_pid);
}

/* The worker of this database among the server's processes, if any. */
static bool
find_worker(void)
{
	for (uint32 i = 0; i < ProcGlobal->allProcCount; i++)
	{
		PGPROC	   *proc = &ProcGlobal->allProcs[i];
		pid_t		pid = proc->pid;

		if (pid != 0 && proc->isBackgroundWorker &&
			proc->databaseId == MyDatabaseId && is_wakeup_worker(pid))
		{
			worker_proc = proc;
			worker_pid = pid;
			return true;
		}
	}
	return false;
}

static bool
start_worker(void)
{
	BackgroundWorker worker = {0};
	BackgroundWorkerHandle *handle;
	pid_t		pid;

	if (start_failed_at != 0 &&
		!TimestampDifferenceExceeds(start_failed_at, GetCurrentTimestamp(),
									FR_WAKEUP_RETRY_S * 1000))
		return false;

	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = BGW_NEVER_RESTART;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "farmreg");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "farmreg_wakeup_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "farmreg wakeup for database %u",
			 MyDatabaseId);
	snprintf(worker.bgw_type, BGW_MAXLEN, FR_WAKEUP_TYPE);
	worker.bgw_main_arg = ObjectIdGetDatum(MyDatabaseId);
	worker.bgw_notify_pid = MyProcPid;

	if (!RegisterDynamicBackgroundWorker(&worker, &handle) ||
		WaitForBackgroundWorkerStartup(handle, &pid) != BGWH_STARTED)
	{
		start_failed_at = GetCurrentTimestamp();
		return false;
	}
	pfree(handle);
	start_failed_at = 0;
	worker_pid = pid;
	worker_proc = NULL;			/* found in the proc array once connected */
	return true;
}

/* After commit: no errors, no allocation. */
static void
wake_worker(void)
{
	if (worker_pid == 0)
		return;					/* the transaction notified by itself */
	if (worker_proc == NULL)
		worker_proc = BackendPidGetProc(worker_pid);

	/*
	 * Not connected yet: it notifies once when it is, after this commit.
	 * Gone: the next writer finds or starts another.
	 */
	if (worker_proc != NULL && worker_proc->pid == worker_pid)
		SetLatch(&worker_proc->procLatch);
}

static void
wakeup_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
			if (xact_appended)
				wake_worker();
			xact_appended = false;
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
		case XACT_EVENT_PREPARE:
			xact_appended = false;
			break;
		default:
			break;
	}
}

void
fr_wakeup_after_commit(void)
{
	if (!callback_registered)
	{
		RegisterXactCallback(wakeup_xact_callback, NULL);
		callback_registered = true;
	}
	xact_appended = true;

	if (worker_known())
		return;
	worker_pid = 0;
	worker_proc = NULL;
	if (find_worker() || start_worker())
		return;

	/* no worker: the old way, with its cost at commit */
	Async_Notify(FR_EVENTS_CHANNEL, "");
	if (!warned_fallback)
	{
		/* the context (the statement that appended events) would only be noise */
		ErrorContextCallback *context = error_context_stack;

		warned_fallback = true;
		error_context_stack = NULL;
		ereport(WARNING,
				(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
				 errmsg("could not start the farmreg wakeup worker"),
				 errdetail("Transactions that append events notify farmreg_events "
						   "at commit themselves, which serializes their commits."),
				 errhint("Raise max_worker_processes: farmreg uses one background "
						 "worker per database whose events are consumed.")));
		error_context_stack = context;
	}
}

/* ------------------------------------------------------------------------
 * The worker
 * ------------------------------------------------------------------------
 */

static void
send_notify(void)
{
	pgstat_report_activity(STATE_RUNNING, "NOTIFY " FR_EVENTS_CHANNEL);
	StartTransactionCommand();
	Async_Notify(FR_EVENTS_CHANNEL, "");
	CommitTransactionCommand();
	pgstat_report_activity(STATE_IDLE, NULL);
}

/*
 * True when a session waits for this database to be left alone: DROP
 * DATABASE, ALTER DATABASE and CREATE DATABASE ... TEMPLATE lock the
 * database in a mode that conflicts with the one sessions connect in.
 */
static bool
database_wanted(Oid dboid)
{
	LOCKTAG		tag;

	SET_LOCKTAG_OBJECT(tag, InvalidOid, DatabaseRelationId, dboid, 0);
	if (LockAcquire(&tag, RowExclusiveLock, true, true) == LOCKACQUIRE_NOT_AVAIL)
		return true;
	LockRelease(&tag, RowExclusiveLock, true);
	return false;
}

static bool
still_needed(void)
{
	bool		present;

	if (RecoveryInProgress())
		return false;
	StartTransactionCommand();
	present = OidIsValid(get_extension_oid("farmreg", true));
	CommitTransactionCommand();
	return present;
}

void
farmreg_wakeup_main(Datum arg)
{
	Oid			dboid = DatumGetObjectId(arg);
	LOCKTAG		tag;
	TimestampTz last_work;
	TimestampTz last_check;

	pqsignal(SIGTERM, SignalHandlerForShutdownRequest);
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnectionByOid(dboid, InvalidOid, 0);
	SetConfigOption("synchronous_commit", "off", PGC_SUSET, PGC_S_OVERRIDE);

	/* the commits of the writers that started us, and of any before */
	send_notify();

	fr_lock_tag(&tag, false, FR_LOCK_WAKEUP);
	if (LockAcquire(&tag, ExclusiveLock, true, true) == LOCKACQUIRE_NOT_AVAIL)
		proc_exit(0);			/* another one runs already */

	last_work = last_check = GetCurrentTimestamp();
	while (!ShutdownRequestPending)
	{
		int			rc;
		TimestampTz now;

		rc = WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
					   FR_WAKEUP_INTERVAL_MS, PG_WAIT_EXTENSION);
		/* only a latch seen set is reset: a set after a timeout waits for us */
		if (rc & WL_LATCH_SET)
			ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		if (ShutdownRequestPending)
			break;
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}

		now = GetCurrentTimestamp();
		if (rc & WL_LATCH_SET)
		{
			send_notify();
			last_work = now;

			/*
			 * Coalesce: the commits of the next interval set the latch
			 * again (without signalling us: we are not waiting on it) and
			 * share the next notification.
			 */
			pg_usleep(FR_WAKEUP_INTERVAL_MS * 1000L);
			continue;
		}

		if (database_wanted(dboid))
			break;
		if (TimestampDifferenceExceeds(last_check, now, 1000))
		{
			last_check = now;
			if (!still_needed())
				break;
		}
		if (TimestampDifferenceExceeds(last_work, now, FR_WAKEUP_IDLE_EXIT_S * 1000))
		{
			/* a commit that set the latch as we decided to quit */
			send_notify();
			break;
		}
	}
	proc_exit(0);
}
