/*-------------------------------------------------------------------------
 *
 * probe.c
 *	  Lookups in farmreg's unique indexes through the index access method
 *	  (see probe.h).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/relation.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "catalog/pg_am.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "executor/tuptable.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "probe.h"

#define FR_SCHEMA	"farmreg"

Snapshot
fr_probe_snapshot(void)
{
	/*
	 * What SPI does before a statement of a VOLATILE function: make the
	 * call's own earlier writes visible, then take the snapshot a statement
	 * would (a new one in READ COMMITTED, the transaction's otherwise).
	 */
	CommandCounterIncrement();
	return RegisterSnapshot(GetTransactionSnapshot());
}

void
fr_probe_unsnapshot(Snapshot snapshot)
{
	UnregisterSnapshot(snapshot);
}

void
fr_probe_open(FrProbe *probe, const char *index, Snapshot snapshot)
{
	Oid			nspid = get_namespace_oid(FR_SCHEMA, false);
	Oid			indexid = get_relname_relid(index, nspid);
	Oid			eqop;

	if (!OidIsValid(indexid) || get_rel_relkind(indexid) != RELKIND_INDEX)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("index \"%s.%s\" does not exist", FR_SCHEMA, index),
				 errhint("The farmreg extension's objects have been changed; "
						 "reinstall it or run ALTER EXTENSION farmreg UPDATE.")));

	probe->index = index_open(indexid, AccessShareLock);
	if (probe->index->rd_index->indnkeyatts != 1 ||
		!probe->index->rd_index->indisunique ||
		probe->index->rd_rel->relam != BTREE_AM_OID)
		elog(ERROR, "index \"%s.%s\" is not a single-column unique btree index",
			 FR_SCHEMA, index);
	probe->heap = table_open(probe->index->rd_index->indrelid, AccessShareLock);

	eqop = get_opfamily_member(probe->index->rd_opfamily[0],
							   probe->index->rd_opcintype[0],
							   probe->index->rd_opcintype[0],
							   BTEqualStrategyNumber);
	if (!OidIsValid(eqop))
		elog(ERROR, "no equality operator for index \"%s.%s\"", FR_SCHEMA, index);
	probe->eqproc = get_opcode(eqop);

	probe->scan = index_beginscan(probe->heap, probe->index, snapshot, 1, 0);
	probe->slot = table_slot_create(probe->heap, NULL);
}

bool
fr_probe_find(FrProbe *probe, Datum value)
{
	ScanKeyData key;

	ScanKeyEntryInitialize(&key, 0, 1, BTEqualStrategyNumber, InvalidOid,
						   probe->index->rd_indcollation[0], probe->eqproc,
						   value);
	index_rescan(probe->scan, &key, 1, NULL, 0);
	return index_getnext_slot(probe->scan, ForwardScanDirection, probe->slot);
}

AttrNumber
fr_probe_attnum(FrProbe *probe, const char *column)
{
	AttrNumber	attnum = get_attnum(RelationGetRelid(probe->heap), column);

	if (attnum == InvalidAttrNumber)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" of relation \"%s\" does not exist",
						column, RelationGetRelationName(probe->heap))));
	return attnum;
}

Datum
fr_probe_get(FrProbe *probe, AttrNumber attnum, bool *isnull)
{
	return slot_getattr(probe->slot, attnum, isnull);
}

void
fr_probe_close(FrProbe *probe)
{
	ExecDropSingleTupleTableSlot(probe->slot);
	index_endscan(probe->scan);
	table_close(probe->heap, NoLock);
	index_close(probe->index, NoLock);
}
