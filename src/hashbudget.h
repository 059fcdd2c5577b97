/*-------------------------------------------------------------------------
 *
 * hashbudget.h
 *	  The hashing budget: at most farmreg.max_concurrent_hashes password
 *	  computations at once.
 *
 *-------------------------------------------------------------------------
 */
#ifndef FARMREG_HASHBUDGET_H
#define FARMREG_HASHBUDGET_H

#include "postgres.h"

/* GUCs farmreg.max_concurrent_hashes and farmreg.hash_wait (ms) */
extern int	farmreg_max_concurrent_hashes;
extern int	farmreg_hash_wait_ms;

#define FR_MAX_CONCURRENT_HASHES_LIMIT	1024

/* About half the machine's cores, at least 1: the setting's default. */
extern int	fr_hashbudget_default(void);

/* Called by _PG_init: cluster-wide when loaded by shared_preload_libraries. */
extern void fr_hashbudget_init(void);
extern bool fr_hashbudget_is_cluster_wide(void);

/*
 * Takes a place in the budget, waiting up to farmreg.hash_wait for one to
 * come free.  False when none did.  The place is left with
 * fr_hashbudget_leave, or at the end of the transaction.
 */
extern bool fr_hashbudget_enter(void);
extern void fr_hashbudget_leave(void);

#endif							/* FARMREG_HASHBUDGET_H */
