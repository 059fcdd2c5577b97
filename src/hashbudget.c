/*-------------------------------------------------------------------------
 *
 * hashbudget.c
 *	  The hashing budget (see hashbudget.h).
 *
 * A password computation (argon2id at the default costs: about 16 ms of a
 * core and 19 MiB) is the most expensive thing a login form can make the
 * database do, and it cannot be interrupted.  So each one takes a place
 * first: one of farmreg.max_concurrent_hashes heavyweight lock slots
 * (locks.h), tried without waiting; when all are taken the backend naps and
 * tries again until farmreg.hash_wait has passed.  The first nap is short
 * (50 us; a hash at libsodium's minimum cost takes about 30 us, one at the
 * default cost 16 ms or more) and each one doubles, up to 10 ms: a waiter
 * behind a cheap hash does not sleep a millisecond for it, and one behind an
 * expensive hash tries a few times in its first millisecond, then every
 * 10 ms.  Memory for hashing is then bounded by the budget times
 * farmreg.password_memlimit.
 *
 * The slots are per database, or shared by the whole cluster when the
 * library was loaded by shared_preload_libraries (the lock tag's database
 * is then InvalidOid).  They are transaction locks: an error or a
 * terminated backend gives them back.  No role can hold them from SQL.
 *
 * Each session counts against its own setting: a session with a lower
 * farmreg.max_concurrent_hashes uses fewer slots.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <unistd.h>

#include "miscadmin.h"
#include "storage/latch.h"
#include "storage/lock.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

#include "hashbudget.h"
#include "locks.h"

int			farmreg_max_concurrent_hashes = 1;
int			farmreg_hash_wait_ms = 1000;

static bool cluster_wide = false;
static int	held_slot = -1;

int
fr_hashbudget_default(void)
{
	long		cores = sysconf(_SC_NPROCESSORS_ONLN);

	return (int) Max(1, Min(cores / 2, FR_MAX_CONCURRENT_HASHES_LIMIT));
}

void
fr_hashbudget_init(void)
{
	cluster_wide = process_shared_preload_libraries_in_progress;
}

bool
fr_hashbudget_is_cluster_wide(void)
{
	return cluster_wide;
}

static bool
try_slots(void)
{
	for (int i = 0; i < farmreg_max_concurrent_hashes; i++)
	{
		LOCKTAG		tag;

		fr_lock_tag(&tag, cluster_wide, FR_LOCK_HASH_SLOT + i);
		if (LockAcquire(&tag, ExclusiveLock, false, true) != LOCKACQUIRE_NOT_AVAIL)
		{
			held_slot = i;
			return true;
		}
	}
	return false;
}

/*
 * Naps `us` microseconds, then serves interrupts.  A nap of a millisecond or
 * more waits on the latch (a set latch ends it early); a shorter one sleeps,
 * and a signal ends it early.
 */
static void
nap(long us)
{
	if (us < 1000)
	{
		/* WaitLatch counts whole milliseconds */
		pgstat_report_wait_start(PG_WAIT_EXTENSION);
		pg_usleep(us);
		pgstat_report_wait_end();
	}
	else
	{
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 us / 1000, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
	CHECK_FOR_INTERRUPTS();
}

bool
fr_hashbudget_enter(void)
{
	TimestampTz deadline;
	long		nap_us = 50;

	Assert(held_slot < 0);
	if (try_slots())
		return true;

	deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
										   farmreg_hash_wait_ms);
	for (;;)
	{
		TimestampTz now = GetCurrentTimestamp();

		if (now >= deadline)
			return false;
		nap(Min(nap_us, (long) (deadline - now)));
		if (try_slots())
			return true;
		nap_us = Min(nap_us * 2, 10000);
	}
}

void
fr_hashbudget_leave(void)
{
	LOCKTAG		tag;

	if (held_slot < 0)
		return;
	fr_lock_tag(&tag, cluster_wide, FR_LOCK_HASH_SLOT + held_slot);
	LockRelease(&tag, ExclusiveLock, false);
	held_slot = -1;
}
