/*-------------------------------------------------------------------------
 *
 * validate.h
 *	  Pure field rules for a farm-admin registration.
 *
 * Everything here is plain C over UTF-8 byte strings: no PostgreSQL headers,
 * no allocation, no global state.  That keeps the rules easy to read next to
 * the contract, and lets them be fuzzed and sanitized outside the server.
 *
 * A rule returns NULL when the value is acceptable, else the error code (one
 * of the FR_CODE_* strings below, which are also the keys of the message
 * catalog).  Database lookups (taken usernames, unknown USDA ids, ...) are not
 * rules: they live in judge.c.
 *
 *-------------------------------------------------------------------------
 */
#ifndef FARMREG_VALIDATE_H
#define FARMREG_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>

/* Fields, in the order their errors are reported. */
typedef enum FrField
{
	FR_FIELD_USERNAME = 0,
	FR_FIELD_PASSWORD,
	FR_FIELD_PASSWORD_HASH,		/* batch import only */
	FR_FIELD_NAME,
	FR_FIELD_EMAIL,
	FR_FIELD_USDA_UID,
	FR_FIELD_IDEMPOTENCY_KEY,
	FR_NFIELDS
} FrField;

extern const char *const fr_field_names[FR_NFIELDS];

/* Error codes: stable, part of the contract, keys of farmreg.messages. */
#define FR_CODE_USERNAME_BLANK			"username_blank"
#define FR_CODE_USERNAME_INVALID		"username_invalid"
#define FR_CODE_USERNAME_TAKEN			"username_taken"
#define FR_CODE_PASSWORD_TOO_SHORT		"password_too_short"
#define FR_CODE_PASSWORD_TOO_LONG		"password_too_long"
#define FR_CODE_NAME_BLANK				"name_blank"
#define FR_CODE_NAME_TOO_LONG			"name_too_long"
#define FR_CODE_NAME_INVALID			"name_invalid"
#define FR_CODE_EMAIL_BLANK				"email_blank"
#define FR_CODE_EMAIL_INVALID			"email_invalid"
#define FR_CODE_EMAIL_ALREADY_CLAIMED	"email_already_claimed"
#define FR_CODE_USDA_UID_BLANK			"usda_uid_blank"
#define FR_CODE_INVALID_USDA_UID		"invalid_usda_uid"
#define FR_CODE_FARM_ALREADY_CLAIMED	"farm_already_claimed"
#define FR_CODE_IDEMPOTENCY_KEY_INVALID "idempotency_key_invalid"
#define FR_CODE_IDEMPOTENCY_KEY_REUSED	"idempotency_key_reused"
#define FR_CODE_PASSWORD_HASH_INVALID	"password_hash_invalid"
#define FR_CODE_NOT_A_STRING			"not_a_string"
#define FR_CODE_INTERNAL_ERROR			"internal_error"
#define FR_CODE_TRY_AGAIN_LATER			"try_again_later"

/* Limits of the contract, in characters (Unicode code points). */
#define FR_USERNAME_MIN		3
#define FR_USERNAME_MAX		32
#define FR_PASSWORD_MIN		8
#define FR_PASSWORD_MAX		1024
#define FR_NAME_MAX			200
#define FR_EMAIL_MAX		254
#define FR_EMAIL_LOCAL_MAX	64
#define FR_DOMAIN_LABEL_MAX 63
#define FR_KEY_MAX			255

/*
 * Number of characters in a UTF-8 string.  A byte that does not start a
 * well-formed sequence counts as one character, so any input has a length.
 */
extern size_t fr_utf8_length(const char *s, size_t len);

/*
 * Trims surrounding white space (Unicode White_Space: ASCII blanks and
 * controls \t\n\v\f\r, NEL, NO-BREAK SPACE, the U+2000 spaces, ideographic
 * space, ...) and returns the trimmed length; *start receives the offset of
 * the first kept byte.
 */
extern size_t fr_trim(const char *s, size_t len, size_t *start);

/* The rules.  Values are trimmed already (but for the password, never trimmed). */
extern const char *fr_check_username(const char *s, size_t len);
extern const char *fr_check_password(const char *s, size_t len);

/*
 * A name: name_blank when empty, name_too_long past FR_NAME_MAX characters,
 * then name_invalid when it holds
 *	- a control character: C0 (U+0000..U+001F), DEL, C1 (U+0080..U+009F),
 *	  or the line and paragraph separators U+2028, U+2029 (a name must not
 *	  break a line of a log, an email or a page);
 *	- a bidirectional embedding, override or isolate: U+202A..U+202E,
 *	  U+2066..U+2069 (they reorder the text that follows them);
 *	- a byte that is not well-formed UTF-8 (PostgreSQL never passes one);
 * or when nothing in it is visible: every character is White_Space or one
 * of the invisible characters, which are Unicode 15's
 * Default_Ignorable_Code_Point set (U+00AD, U+034F, U+061C, U+115F..U+1160,
 * U+17B4..U+17B5, U+180B..U+180F, U+200B..U+200F, U+202A..U+202E,
 * U+2060..U+206F, U+3164, U+FE00..U+FE0F, U+FEFF, U+FFA0, U+FFF0..U+FFF8,
 * U+1BCA0..U+1BCA3, U+1D173..U+1D17A, U+E0000..U+E0FFF: zero-width spaces
 * and joiners, direction marks, soft hyphen, variation selectors, Hangul
 * fillers, tags) and U+2800 BRAILLE PATTERN BLANK.  Invisible characters
 * beside visible ones (a joiner inside an emoji, a direction mark between
 * scripts) are fine.
 */
extern const char *fr_check_name(const char *s, size_t len);
extern const char *fr_check_email(const char *s, size_t len);
extern const char *fr_check_usda_uid(const char *s, size_t len);
extern const char *fr_check_idempotency_key(const char *s, size_t len, bool is_null);

#endif							/* FARMREG_VALIDATE_H */
