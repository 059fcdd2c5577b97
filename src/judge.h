/*-------------------------------------------------------------------------
 *
 * judge.h
 *	  Judging registration requests, the same way for every entry point:
 *	  field rules, then one lookup of everything the database knows, then
 *	  the database rules, then the claims of the requests before it in the
 *	  same call.
 *
 *-------------------------------------------------------------------------
 */
#ifndef FARMREG_JUDGE_H
#define FARMREG_JUDGE_H

#include "postgres.h"

#include "fields.h"
#include "registration.h"
#include "result.h"

#define FR_DIGEST_BYTES		32	/* BLAKE2b of a request's identity */

typedef struct FrRegRequest
{
	FrFieldValue f[FR_NFIELDS];
	unsigned char digest[FR_DIGEST_BYTES];	/* when a valid key is given */

	/* what the lookup found */
	bool		taken[FR_NRULES];	/* username, email, farm in the database */
	bool		usda_found;
	int64		usda_farm_id;
	text	   *usda_name;
	bool		key_found;
	bool		key_matches;
	int64		key_ids[3];

	FrOutcome	out;
	int			follows;		/* same key and request as this earlier one */
	bool		accepted;		/* to be written */
	bool		settled;		/* written, or failed, by the writer */
	Datum		password_hash;	/* text to store: made here, or imported */
	int64		ids[3];			/* given before the writes */
} FrRegRequest;

typedef struct FrJudge FrJudge;

/* A judge for the requests reqs[0..n) of one call, judged in order. */
extern FrJudge *fr_judge_create(FrRegRequest *reqs, int n);

/*
 * Judges reqs[first..first+count), the next ones in order.  Afterwards each
 * is either accepted (to be hashed and written; claimed for the requests
 * after it), answered (out.ok from its idempotency key, or out's errors with
 * failed_step = validate), or follows an earlier accepted request with the
 * same key and identity (its result is that one's).
 */
extern void fr_judge(FrJudge *judge, int first, int count);

/*
 * After a write of req lost a race on a unique index: what its idempotency
 * key holds now (a fresh snapshot in READ COMMITTED).  True when the key
 * answers the request (its stored result, or idempotency_key_reused).
 */
extern bool fr_judge_key_answers(FrRegRequest *req);

/* True when req carries an idempotency key that passed its field rule. */
extern bool fr_judge_has_key(const FrRegRequest *req);

#endif							/* FARMREG_JUDGE_H */
