/*-------------------------------------------------------------------------
 *
 * probe.h
 *	  Lookups in farmreg's unique indexes, straight through the index access
 *	  method: one key, at most one visible row.
 *
 * The judge (judge.c) asks, for every request of a call, whether its
 * username and email are taken, which USDA record its usda_uid names,
 * whether that farm is claimed and what its idempotency key stored; login
 * (login.c) looks a user up by username or email.  Each question is one
 * probe of one unique index.  Going through the index AM instead of SQL
 * saves an executor start-up per question, and keeps one index scan's memory
 * (about 27 kB for a btree) alive at a time instead of one per question in
 * a single statement, which together crossed glibc's trim threshold and made
 * every call give memory back to the kernel and fault it in again.
 *
 * A probe locks the index and its table in AccessShareLock, as a query
 * would, and sees rows through the snapshot it is given (fr_probe_snapshot:
 * the same snapshot SPI would take for a statement at this point, so a
 * call's own earlier writes are visible and READ COMMITTED sees what has
 * committed).  Predicate locks for SERIALIZABLE are taken by the access
 * method itself.  The caller folds the key the way the index's expression
 * does (the index names and their folding are registration.c's rule table).
 * No privilege checks: the callers are SECURITY DEFINER functions owned by
 * the extension's owner.
 *
 *-------------------------------------------------------------------------
 */
#ifndef FARMREG_PROBE_H
#define FARMREG_PROBE_H

#include "access/genam.h"
#include "access/skey.h"
#include "executor/tuptable.h"
#include "utils/rel.h"
#include "utils/snapshot.h"

typedef struct FrProbe
{
	Relation	heap;
	Relation	index;
	IndexScanDesc scan;
	TupleTableSlot *slot;
	RegProcedure eqproc;		/* the index's equality for its key type */
} FrProbe;

/* A snapshot for the probes of one call; release it with fr_probe_unsnapshot. */
extern Snapshot fr_probe_snapshot(void);
extern void fr_probe_unsnapshot(Snapshot snapshot);

/* Opens the single-column unique index `index` of schema farmreg. */
extern void fr_probe_open(FrProbe *probe, const char *index, Snapshot snapshot);

/*
 * Finds the row whose key equals value (of the index's key type, folded as
 * the index folds it).  True when a visible row was found; its columns are
 * then read with fr_probe_get until the next fr_probe_find.
 */
extern bool fr_probe_find(FrProbe *probe, Datum value);

/* The number of a column of the probed table, by name. */
extern AttrNumber fr_probe_attnum(FrProbe *probe, const char *column);

/* A column of the row found last. */
extern Datum fr_probe_get(FrProbe *probe, AttrNumber attnum, bool *isnull);

extern void fr_probe_close(FrProbe *probe);

#endif							/* FARMREG_PROBE_H */
