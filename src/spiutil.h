/*-------------------------------------------------------------------------
 *
 * spiutil.h
 *	  SPI calls that leave the caller's memory context alone, and kept plans.
 *
 * SPI itself returns in its procedure context, which SPI_finish frees; these
 * switch back to the caller's context, so what a caller allocates around
 * them outlives SPI_finish.  fr_spi_prepare returns a kept, generic plan,
 * prepared once by the caller and reused for the backend's life (the plan
 * cache revalidates it when the tables change).  Errors are raised.
 *
 *-------------------------------------------------------------------------
 */
#ifndef FARMREG_SPIUTIL_H
#define FARMREG_SPIUTIL_H

#include "executor/spi.h"

extern void fr_spi_connect(void);
extern SPIPlanPtr fr_spi_prepare(const char *sql, int nargs, Oid *argtypes);
extern int	fr_spi_execute(SPIPlanPtr plan, Datum *values, const char *nulls,
						   bool read_only, long count);

#endif							/* FARMREG_SPIUTIL_H */
