/*-------------------------------------------------------------------------
 *
 * locks.h
 *	  farmreg's own heavyweight locks.
 *
 * Object locks (LOCKTAG_OBJECT) on a made-up object of class pg_extension:
 * objid FR_LOCK_OBJID, objsubid the purpose.  No SQL command takes locks on
 * such an object (advisory locks are another tag type, and a DDL statement
 * naming a real object locks objsubid 0 of that object's own OID), so no
 * role, whatever its privileges, can hold them to stall farmreg; pg_locks
 * shows them as locktype "object", classid 'pg_extension'::regclass, objid
 * 1718773095.
 *
 *	FR_LOCK_POLL		poll_events() hands out delivery positions one
 *						poller at a time (transaction lock, per database)
 *	FR_LOCK_WAKEUP		held by the database's wakeup worker (session lock)
 *	FR_LOCK_HASH_SLOT+i	a slot of the hashing budget (per database, or
 *						cluster-wide when preloaded: hashbudget.c)
 *
 *-------------------------------------------------------------------------
 */
#ifndef FARMREG_LOCKS_H
#define FARMREG_LOCKS_H

#include "catalog/pg_extension.h"
#include "miscadmin.h"
#include "storage/lock.h"

#define FR_LOCK_OBJID			((Oid) 0x66726567)	/* "freg" */

#define FR_LOCK_POLL			1000
#define FR_LOCK_WAKEUP			1001
#define FR_LOCK_HASH_SLOT		2000	/* + slot number */

static inline void
fr_lock_tag(LOCKTAG *tag, bool cluster_wide, int purpose)
{
	SET_LOCKTAG_OBJECT(*tag, cluster_wide ? InvalidOid : MyDatabaseId,
					   ExtensionRelationId, FR_LOCK_OBJID, purpose);
}

#endif							/* FARMREG_LOCKS_H */
