/*-------------------------------------------------------------------------
 *
 * fields.h
 *	  Request fields as the field rules see them: trimmed UTF-8 bytes, from
 *	  a function argument or from a JSON value, and back to SQL text.
 *
 * The field rules (validate.c) work on UTF-8.  In a UTF-8 database, the
 * common case, values are used in place (no copy); in another encoding they
 * are converted for the rules and back for storage.
 *
 *-------------------------------------------------------------------------
 */
#ifndef FARMREG_FIELDS_H
#define FARMREG_FIELDS_H

#include "fmgr.h"
#include "utils/jsonb.h"

/* A field: its bytes in UTF-8, trimmed unless asked not to. */
typedef struct FrFieldValue
{
	const char *utf8;			/* "" when is_null */
	size_t		len;
	bool		is_null;		/* SQL NULL, JSON null, or absent */
	bool		not_string;		/* a JSON value that is not a string */
} FrFieldValue;

/* From bytes in the database encoding (s == NULL: a NULL value). */
extern void fr_field_set(FrFieldValue *field, const char *s, int len, bool trim);

/* From argument argno of the call. */
extern void fr_field_from_arg(FunctionCallInfo fcinfo, int argno, bool trim,
							  FrFieldValue *field);

/*
 * From key name of a JSON object: absent and null are NULL, a string is its
 * text, and any other JSON value is NULL with not_string set (never
 * converted to text).
 */
extern void fr_field_from_json(JsonbContainer *object, const char *name,
							   bool trim, FrFieldValue *field);

/* The field as a text Datum in the database encoding. */
extern Datum fr_field_text(const FrFieldValue *field);

/* Argument argno as a palloc'd C string, or NULL. */
extern char *fr_arg_cstring(FunctionCallInfo fcinfo, int argno);

#endif							/* FARMREG_FIELDS_H */
