/*-------------------------------------------------------------------------
 *
 * locks.h
 *	  farmreg's own heavyweight locks.
 *
 * User locks (LOCKTAG_USERLOCK, the lock manager's tag type "reserved for
 * old contrib/userlock code", under the user lock method that advisory
 * locks also use): field1 the database (InvalidOid for the whole cluster),
 * field2 FR_LOCK_OBJID, field3 the purpose.  No SQL function takes locks of
 * this type (pg_advisory_lock and friends take LOCKTAG_ADVISORY), so no
 * role, whatever its privileges, can hold them to stall farmreg; and unlike
 * object locks they can be taken in every mode on a hot standby, where
 * verify_password needs the hashing budget.  pg_locks shows them as
 * locktype 'userlock', classid 1718773095 ("freg"), objid the purpose.
 *
 *	FR_LOCK_POLL		poll_events() hands out delivery positions one
 *						poller at a time (transaction lock, per database)
 *	FR_LOCK_WAKEUP		held by the database's wakeup worker (session lock)
 *	FR_LOCK_HASH_SLOT+i	a slot of the hashing budget (transaction lock, per
 *						database, or cluster-wide when preloaded)
 *
 *-------------------------------------------------------------------------
 */
#ifndef FARMREG_LOCKS_H
#define FARMREG_LOCKS_H

#include "miscadmin.h"
#include "storage/lock.h"

#define FR_LOCK_OBJID			((uint32) 0x66726567)	/* "freg" */

#define FR_LOCK_POLL			1000
#define FR_LOCK_WAKEUP			1001
#define FR_LOCK_HASH_SLOT		2000	/* + slot number */

static inline void
fr_lock_tag(LOCKTAG *tag, bool cluster_wide, uint32 purpose)
{
	tag->locktag_field1 = cluster_wide ? InvalidOid : MyDatabaseId;
	tag->locktag_field2 = FR_LOCK_OBJID;
	tag->locktag_field3 = purpose;
	tag->locktag_field4 = 0;
	tag->locktag_type = LOCKTAG_USERLOCK;
	tag->locktag_lockmethodid = USER_LOCKMETHOD;
}

#endif							/* FARMREG_LOCKS_H */
