/*-------------------------------------------------------------------------
 *
 * args.h
 *	  Helpers shared by the SQL entry points: text values as trimmed UTF-8
 *	  fields, and SPI calls that leave the caller's memory context alone.
 *
 *-------------------------------------------------------------------------
 */
#ifndef FARMREG_ARGS_H
#define FARMREG_ARGS_H

#include "executor/spi.h"
#include "fmgr.h"

/* A text value: its bytes in UTF-8, trimmed unless asked not to. */
typedef struct FrFieldValue
{
	const char *utf8;
	size_t		len;
	bool		is_null;
} FrFieldValue;

/* From bytes in the database encoding (s == NULL: a NULL value). */
extern void fr_field_set(FrFieldValue *field, const char *s, int len, bool trim);

/* From argument argno of the call. */
extern void fr_field_from_arg(FunctionCallInfo fcinfo, int argno, bool trim,
							  FrFieldValue *field);

/* The field as a text Datum in the database encoding, for SQL. */
extern Datum fr_field_text(const FrFieldValue *field);

/* Argument argno as a palloc'd C string, or NULL. */
extern char *fr_arg_cstring(FunctionCallInfo fcinfo, int argno);

/*
 * SPI, staying in the caller's memory context (SPI itself returns in its
 * procedure context, which SPI_finish frees).  fr_spi_prepare returns a kept,
 * generic plan, prepared once by the caller and reused for the backend's
 * life; errors are raised.
 */
extern void fr_spi_connect(void);
extern SPIPlanPtr fr_spi_prepare(const char *sql, int nargs, Oid *argtypes);
extern int	fr_spi_execute(SPIPlanPtr plan, Datum *values, const char *nulls,
						   bool read_only, long count);

#endif							/* FARMREG_ARGS_H */
