/*-------------------------------------------------------------------------
 *
 * batch.h
 *	  Running a batch of registration requests: every entry point's path (a
 *	  single call is a batch of one).
 *
 *-------------------------------------------------------------------------
 */
#ifndef FARMREG_BATCH_H
#define FARMREG_BATCH_H

#include "judge.h"
#include "registration.h"

/* Requests a batch writes per statement, and judges per lookup. */
#define FR_BATCH_CHUNK		256

/* GUC farmreg.max_batch_requests */
extern int	farmreg_max_batch_requests;

/*
 * Judges, hashes and writes reqs[0..n), which hold their fields; leaves each
 * one's result in its out.  Connected to SPI.
 */
extern void fr_batch_run(FrRegVersion version, FrRegRequest *reqs, int n);

#endif							/* FARMREG_BATCH_H */
