/*-------------------------------------------------------------------------
 *
 * test_validate.c
 *	  Unit test of the pure field rules (src/validate.c), TAP output.
 *
 * Built with src/validate.c and nothing else (no PostgreSQL), under
 * AddressSanitizer and UndefinedBehaviorSanitizer, by
 * test/suites/validate_sanitized.sh:
 *
 *	cc -fsanitize=address,undefined -fno-sanitize-recover=all \
 *		-Wall -Wextra -Werror -Isrc test/unit/test_validate.c src/validate.c
 *
 * Three parts:
 *
 *	1. The hostile-input table of sql/validation.sql, case for case (same
 *	   labels), plus byte-level cases SQL cannot express (invalid UTF-8, NUL
 *	   bytes).  A value goes through what fr_field_set (fields.c) does with
 *	   an argument before the rule sees it: SQL NULL becomes "" (the blank
 *	   value), and every field but the password is trimmed.  Cases whose
 *	   SQL answer comes from the database (taken, claimed, unknown farm)
 *	   must pass the pure rule.
 *	2. fr_utf8_length and fr_trim on UTF-8 edge cases: invalid, overlong,
 *	   surrogate and truncated sequences, every Unicode White_Space code
 *	   point at either end, look-alikes that are not white space, 1 MB
 *	   strings.
 *	3. Sweeps: every string of one and two bytes through every rule, and
 *	   every three- and four-byte sequence of the right shape through the
 *	   decoder.
 *	4. The name rule for every code point, alone and between two letters,
 *	   against the Default_Ignorable_Code_Point list of the Unicode
 *	   Character Database (Debian's unicode-data:
 *	   /usr/share/unicode/DerivedCoreProperties.txt, or the file named by
 *	   UCD_DERIVED_CORE_PROPERTIES), not against validate.c's own table.
 *
 * Each check prints "ok N - ..." or "not ok N - ..."; the plan "1..N" comes
 * last.  The exit status is 1 when any check failed.
 *
 *-------------------------------------------------------------------------
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "validate.h"
#include "tap.h"

static const char *
show(const char *code)
{
	return code ? code : "accepted";
}

static bool
same(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

/* ------------------------------------------------------------------------
 * Values made of pieces: P("text") once, R("text", n) n times.  sizeof
 * keeps embedded NUL bytes in the length.
 * ------------------------------------------------------------------------
 */

typedef struct Piece
{
	const char *text;
	size_t		len;
	size_t		times;
} Piece;

#define P(s)		{(s), sizeof(s) - 1, 1}
#define R(s, n)		{(s), sizeof(s) - 1, (n)}
#define MAX_PIECES	8

typedef struct Value
{
	char	   *bytes;
	size_t		len;
} Value;

/* Concatenates the pieces into a heap buffer of exactly the right size. */
static Value
build(const Piece *pieces)
{
	Value		v = {NULL, 0};
	size_t		at = 0;

	for (int i = 0; i < MAX_PIECES && pieces[i].text != NULL; i++)
		v.len += pieces[i].len * pieces[i].times;
	/* exact size, so AddressSanitizer sees a read one byte too far */
	v.bytes = malloc(v.len > 0 ? v.len : 1);
	if (v.bytes == NULL)
		abort();
	for (int i = 0; i < MAX_PIECES && pieces[i].text != NULL; i++)
	{
		for (size_t k = 0; k < pieces[i].times; k++)
		{
			memcpy(v.bytes + at, pieces[i].text, pieces[i].len);
			at += pieces[i].len;
		}
	}
	return v;
}

/* ------------------------------------------------------------------------
 * Part 1: the rules, after what fields.c does to an argument
 * ------------------------------------------------------------------------
 */

typedef struct RuleCase
{
	FrField		field;
	const char *label;
	const char *expect;			/* the code, or NULL: accepted */
	bool		is_null;		/* SQL NULL */
	Piece		value[MAX_PIECES];
} RuleCase;

#define CASE(field, label, expect, ...) \
	{FR_FIELD_##field, (label), (expect), false, {__VA_ARGS__}}
#define NULL_CASE(field, label, expect) \
	{FR_FIELD_##field, (label), (expect), true, {{NULL, 0, 0}}}

/* An answer that only the database can give: the pure rule accepts. */
#define DB NULL

static const RuleCase rule_cases[] = {
	/* sql/validation.sql, in its order and with its labels */
	NULL_CASE(USERNAME, "NULL", FR_CODE_USERNAME_BLANK),
	CASE(USERNAME, "empty", FR_CODE_USERNAME_BLANK, P("")),
	CASE(USERNAME, "spaces only", FR_CODE_USERNAME_BLANK, P(" \t\n ")),
	CASE(USERNAME, "too short", FR_CODE_USERNAME_INVALID, P("ab")),
	CASE(USERNAME, "shortest", NULL, P("abc")),
	CASE(USERNAME, "longest", NULL, R("u", 32)),
	CASE(USERNAME, "too long", FR_CODE_USERNAME_INVALID, R("u", 33)),
	CASE(USERNAME, "1 MB", FR_CODE_USERNAME_INVALID, R("u", 1048576)),
	CASE(USERNAME, "punctuation allowed", NULL, P("a_b.c-d")),
	CASE(USERNAME, "inner space", FR_CODE_USERNAME_INVALID, P("ab cd")),
	CASE(USERNAME, "non-ASCII", FR_CODE_USERNAME_INVALID, P("jos\u00e9")),
	CASE(USERNAME, "emoji", FR_CODE_USERNAME_INVALID, P("farm\U0001F404")),
	CASE(USERNAME, "control character", FR_CODE_USERNAME_INVALID, P("ab\x01" "cd")),
	CASE(USERNAME, "SQL injection", FR_CODE_USERNAME_INVALID,
		 P("x'); DROP TABLE farmreg.users; --")),
	CASE(USERNAME, "taken, other case (the database decides)", DB, P("TAKEN_USER")),
	NULL_CASE(PASSWORD, "NULL", FR_CODE_PASSWORD_TOO_SHORT),
	CASE(PASSWORD, "empty", FR_CODE_PASSWORD_TOO_SHORT, P("")),
	CASE(PASSWORD, "7 characters", FR_CODE_PASSWORD_TOO_SHORT, P("pw-SECR")),
	CASE(PASSWORD, "8 characters", NULL, P("pw-SECRE")),
	CASE(PASSWORD, "8 spaces (not trimmed)", NULL, P("        ")),
	CASE(PASSWORD, "7 characters in 21 bytes", FR_CODE_PASSWORD_TOO_SHORT,
		 R("\u20ac", 7)),
	CASE(PASSWORD, "multibyte, 7 characters", FR_CODE_PASSWORD_TOO_SHORT,
		 R("\u00f1", 7)),
	CASE(PASSWORD, "emoji, 8 characters", NULL, R("\U0001F404", 8)),
	CASE(PASSWORD, "1024 characters", NULL, P("pw-SECRET"), R("x", 1015)),
	CASE(PASSWORD, "1025 characters", FR_CODE_PASSWORD_TOO_LONG,
		 P("pw-SECRET"), R("x", 1016)),
	CASE(PASSWORD, "1024 multibyte", NULL, R("\u00fc", 1024)),
	CASE(PASSWORD, "1 MB", FR_CODE_PASSWORD_TOO_LONG,
		 P("pw-SECRET"), R("x", 1048576)),
	NULL_CASE(NAME, "NULL", FR_CODE_NAME_BLANK),
	CASE(NAME, "empty", FR_CODE_NAME_BLANK, P("")),
	CASE(NAME, "spaces only", FR_CODE_NAME_BLANK, P("\u3000 \u00a0")),
	CASE(NAME, "one character", NULL, P("Q")),
	CASE(NAME, "200 characters", NULL, R("n", 200)),
	CASE(NAME, "201 characters", FR_CODE_NAME_TOO_LONG, R("n", 201)),
	CASE(NAME, "200 multibyte", NULL, R("\u00f1", 200)),
	CASE(NAME, "1 MB", FR_CODE_NAME_TOO_LONG, R("n", 1048576)),
	CASE(NAME, "mixed scripts and emoji", NULL,
		 P("Zo\u00eb \u03a9\u03bc\u03ad\u03b3\u03b1 \u8fb2\u5834 \U0001F33D")),
	CASE(NAME, "SQL injection", NULL, P("Robert'); DROP TABLE farmreg.farms;--")),
	CASE(NAME, "control character", FR_CODE_NAME_INVALID, P("Ann\x07" "e")),
	CASE(NAME, "inner newline", FR_CODE_NAME_INVALID, P("Ann\ne")),
	CASE(NAME, "inner tab", FR_CODE_NAME_INVALID, P("Ann\te")),
	CASE(NAME, "DEL", FR_CODE_NAME_INVALID, P("Ann\x7f" "e")),
	CASE(NAME, "C1 control", FR_CODE_NAME_INVALID, P("Ann\xc2\x9b" "e")),
	CASE(NAME, "line separator inside", FR_CODE_NAME_INVALID, P("Ann\u2028" "e")),
	CASE(NAME, "right-to-left override", FR_CODE_NAME_INVALID, P("Ann \u202e" "eiluj")),
	CASE(NAME, "left-to-right embedding", FR_CODE_NAME_INVALID, P("\u202a" "Anne")),
	CASE(NAME, "pop directional formatting", FR_CODE_NAME_INVALID, P("Anne\u202c")),
	CASE(NAME, "first strong isolate", FR_CODE_NAME_INVALID, P("Ann\u2068" "e\u2069")),
	CASE(NAME, "right-to-left isolate", FR_CODE_NAME_INVALID, P("\u2067" "Anne")),
	CASE(NAME, "only a zero-width space", FR_CODE_NAME_INVALID, P("\u200b")),
	CASE(NAME, "only invisible characters", FR_CODE_NAME_INVALID,
		 P("\u200b\u200d\ufeff\u2060")),
	CASE(NAME, "invisible characters and spaces", FR_CODE_NAME_INVALID, P("\u200b \u00ad")),
	CASE(NAME, "only Hangul fillers", FR_CODE_NAME_INVALID, P("\u3164\u3164")),
	CASE(NAME, "only tag characters", FR_CODE_NAME_INVALID, P("\U000E0041\U000E0042")),
	CASE(NAME, "only a variation selector", FR_CODE_NAME_INVALID, P("\ufe0f")),
	CASE(NAME, "only a braille blank", FR_CODE_NAME_INVALID, P("\u2800")),
	CASE(NAME, "201 zero-width spaces (too long first)", FR_CODE_NAME_TOO_LONG,
		 R("\u200b", 201)),
	CASE(NAME, "200 characters ending in a control", FR_CODE_NAME_INVALID,
		 R("n", 199), P("\x01")),
	CASE(NAME, "emoji with zero-width joiners", NULL, P("\U0001F469\u200d\U0001F33E")),
	CASE(NAME, "soft hyphen inside", NULL, P("Anne\u00ad" "Marie")),
	CASE(NAME, "right-to-left script", NULL, P("\u0645\u0631\u064a\u0645")),
	CASE(NAME, "direction mark between scripts", NULL,
		 P("Maryam \u200f\u0645\u0631\u064a\u0645")),
	NULL_CASE(EMAIL, "NULL", FR_CODE_EMAIL_BLANK),
	CASE(EMAIL, "empty", FR_CODE_EMAIL_BLANK, P("")),
	CASE(EMAIL, "spaces only", FR_CODE_EMAIL_BLANK, P("   ")),
	CASE(EMAIL, "no @", FR_CODE_EMAIL_INVALID, P("farmer.example.com")),
	CASE(EMAIL, "two @", FR_CODE_EMAIL_INVALID, P("a@b@example.com")),
	CASE(EMAIL, "empty local part", FR_CODE_EMAIL_INVALID, P("@example.com")),
	CASE(EMAIL, "undotted domain", FR_CODE_EMAIL_INVALID, P("farmer@localhost")),
	CASE(EMAIL, "empty label", FR_CODE_EMAIL_INVALID, P("farmer@example..com")),
	CASE(EMAIL, "trailing dot", FR_CODE_EMAIL_INVALID, P("farmer@example.com.")),
	CASE(EMAIL, "hyphen at label end", FR_CODE_EMAIL_INVALID, P("farmer@example-.com")),
	CASE(EMAIL, "underscore in domain", FR_CODE_EMAIL_INVALID, P("farmer@exa_mple.com")),
	CASE(EMAIL, "numeric top level", FR_CODE_EMAIL_INVALID, P("farmer@10.0.0.1")),
	CASE(EMAIL, "inner space", FR_CODE_EMAIL_INVALID, P("far mer@example.com")),
	CASE(EMAIL, "double dot local", FR_CODE_EMAIL_INVALID, P("far..mer@example.com")),
	CASE(EMAIL, "non-ASCII", FR_CODE_EMAIL_INVALID, P("j\u00f6s\u00e9@example.com")),
	CASE(EMAIL, "plus and dots", NULL, P("first.last+tag@mail.example.co.uk")),
	CASE(EMAIL, "local part 64", NULL, R("l", 64), P("@example.com")),
	CASE(EMAIL, "local part 65", FR_CODE_EMAIL_INVALID, R("l", 65), P("@example.com")),
	CASE(EMAIL, "254 characters", NULL,
		 R("l", 64), P("@"), R("d", 63), P("."), R("d", 63), P("."), R("d", 57), P(".com")),
	CASE(EMAIL, "255 characters", FR_CODE_EMAIL_INVALID,
		 R("l", 64), P("@"), R("d", 63), P("."), R("d", 63), P("."), R("d", 58), P(".com")),
	CASE(EMAIL, "label of 64", FR_CODE_EMAIL_INVALID, P("farmer@"), R("d", 64), P(".com")),
	CASE(EMAIL, "1 MB", FR_CODE_EMAIL_INVALID, R("e", 1048576), P("@example.com")),
	CASE(EMAIL, "SQL injection", NULL, P("x'--@example.com")),
	CASE(EMAIL, "claimed, other case (the database decides)", DB, P("TAKEN@EXAMPLE.com")),
	NULL_CASE(USDA_UID, "NULL", FR_CODE_USDA_UID_BLANK),
	CASE(USDA_UID, "empty", FR_CODE_USDA_UID_BLANK, P("")),
	CASE(USDA_UID, "spaces only", FR_CODE_USDA_UID_BLANK, P("\t ")),
	CASE(USDA_UID, "unknown (the database decides)", DB, P("USDA-0")),
	CASE(USDA_UID, "other case (the database decides)", DB, P("usda-50")),
	CASE(USDA_UID, "1 MB (the database decides)", DB, R("U", 1048576)),
	CASE(USDA_UID, "SQL injection (the database decides)", DB, P("USDA-1' OR '1'='1")),
	CASE(USDA_UID, "claimed (the database decides)", DB, P("USDA-1")),
	CASE(IDEMPOTENCY_KEY, "empty", FR_CODE_IDEMPOTENCY_KEY_INVALID, P("")),
	CASE(IDEMPOTENCY_KEY, "spaces only", FR_CODE_IDEMPOTENCY_KEY_INVALID, P("   ")),
	CASE(IDEMPOTENCY_KEY, "one character", NULL, P("k")),
	CASE(IDEMPOTENCY_KEY, "255 characters", NULL, R("k", 255)),
	CASE(IDEMPOTENCY_KEY, "256 characters", FR_CODE_IDEMPOTENCY_KEY_INVALID, R("k", 256)),
	CASE(IDEMPOTENCY_KEY, "255 multibyte", NULL, R("\u0137", 255)),
	CASE(IDEMPOTENCY_KEY, "control character", FR_CODE_IDEMPOTENCY_KEY_INVALID, P("key\x07")),
	CASE(IDEMPOTENCY_KEY, "inner newline", FR_CODE_IDEMPOTENCY_KEY_INVALID, P("ke\ny")),
	CASE(IDEMPOTENCY_KEY, "C1 control", FR_CODE_IDEMPOTENCY_KEY_INVALID, P("key\xc2\x85" "x")),
	CASE(IDEMPOTENCY_KEY, "1 MB", FR_CODE_IDEMPOTENCY_KEY_INVALID, R("k", 1048576)),

	/* sql/validation.sql: every field wrong at once, then the trimmed success */
	CASE(USERNAME, "all wrong: x", FR_CODE_USERNAME_INVALID, P("x")),
	CASE(PASSWORD, "all wrong: short", FR_CODE_PASSWORD_TOO_SHORT, P("short")),
	CASE(NAME, "all wrong: empty", FR_CODE_NAME_BLANK, P("")),
	CASE(EMAIL, "all wrong: not-an-email", FR_CODE_EMAIL_INVALID, P("not-an-email")),
	CASE(IDEMPOTENCY_KEY, "all wrong: \\x01", FR_CODE_IDEMPOTENCY_KEY_INVALID, P("\x01")),
	CASE(USERNAME, "trimmed: ' zoe '", NULL, P(" zoe ")),
	CASE(PASSWORD, "never trimmed: ' pw-SECR' is 8 characters", NULL, P(" pw-SECR")),
	CASE(NAME, "trimmed: em spaces around", NULL,
		 P("\u2003Zo\u00eb O'Brien-\u03a9\u03bc\u03ad\u03b3\u03b1 \u8fb2\u5834 \U0001F33D\u2003")),
	CASE(EMAIL, "trimmed: ' Zoe@Example.com '", NULL, P(" Zoe@Example.com ")),

	/* the key's default: no key at all */
	NULL_CASE(IDEMPOTENCY_KEY, "NULL (no key)", NULL),

	/* byte strings SQL text cannot carry, and edges SQL did not spell out */
	CASE(USERNAME, "NUL byte inside", FR_CODE_USERNAME_INVALID, P("ab\0cd")),
	CASE(USERNAME, "no-break spaces around (trimmed)", NULL, P("\u00a0zoe\u00a0")),
	CASE(USERNAME, "ideographic space inside", FR_CODE_USERNAME_INVALID, P("zo\u3000e")),
	CASE(USERNAME, "invalid UTF-8", FR_CODE_USERNAME_INVALID, P("abc\xff")),
	CASE(PASSWORD, "8 stray continuation bytes (8 characters)", NULL, R("\x80", 8)),
	CASE(PASSWORD, "2 truncated sequences and 5 letters (7 characters)",
		 FR_CODE_PASSWORD_TOO_SHORT, P("\xe3\x80" "abcde")),
	CASE(PASSWORD, "1024 emoji, 4096 bytes", NULL, R("\U0001F404", 1024)),
	CASE(PASSWORD, "1024 emoji and one letter, 4097 bytes", FR_CODE_PASSWORD_TOO_LONG,
		 R("\U0001F404", 1024), P("x")),
	CASE(PASSWORD, "8 NUL bytes", NULL, R("\0", 8)),
	CASE(NAME, "201 emoji", FR_CODE_NAME_TOO_LONG, R("\U0001F33D", 201)),
	CASE(NAME, "200 emoji", NULL, R("\U0001F33D", 200)),
	CASE(NAME, "only a zero-width space (not white space, but invisible)",
		 FR_CODE_NAME_INVALID, P("\u200b")),
	CASE(NAME, "NUL byte inside", FR_CODE_NAME_INVALID, P("Ann\0e")),
	CASE(NAME, "invalid UTF-8", FR_CODE_NAME_INVALID, P("Ann\xff")),
	CASE(NAME, "surrogate", FR_CODE_NAME_INVALID, P("Ann\xed\xa0\x80")),
	CASE(NAME, "NEL inside (trimmed only at the ends)", FR_CODE_NAME_INVALID,
		 P("Ann\xc2\x85" "e")),
	CASE(NAME, "zero-width spaces around a letter", NULL, P("\u200bQ\u200b")),
	CASE(NAME, "all 25 White_Space code points", FR_CODE_NAME_BLANK,
		 P("\t\n\v\f\r \xc2\x85\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"),
		 P("\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000")),
	CASE(EMAIL, "shortest", NULL, P("a@b.cd")),
	CASE(EMAIL, "NUL byte in the domain", FR_CODE_EMAIL_INVALID, P("farmer@exam\0ple.com")),
	CASE(EMAIL, "ends at the @", FR_CODE_EMAIL_INVALID, P("farmer@")),
	CASE(EMAIL, "leading dot in the domain", FR_CODE_EMAIL_INVALID, P("farmer@.example.com")),
	CASE(EMAIL, "hyphen at label start", FR_CODE_EMAIL_INVALID, P("farmer@-example.com")),
	CASE(EMAIL, "IP literal", FR_CODE_EMAIL_INVALID, P("farmer@[10.0.0.1]")),
	CASE(EMAIL, "quoted local part", FR_CODE_EMAIL_INVALID, P("\"far mer\"@example.com")),
	CASE(EMAIL, "non-ASCII domain", FR_CODE_EMAIL_INVALID, P("farmer@b\u00fccher.de")),
	CASE(EMAIL, "label of 63", NULL, P("farmer@"), R("d", 63), P(".com")),
	CASE(EMAIL, "digits and hyphens, letter in the top level", NULL, P("x@1-2.3a")),
	CASE(IDEMPOTENCY_KEY, "255 emoji, 1020 bytes", NULL, R("\U0001F404", 255)),
	CASE(IDEMPOTENCY_KEY, "255 emoji and one letter, 1021 bytes",
		 FR_CODE_IDEMPOTENCY_KEY_INVALID, R("\U0001F404", 255), P("x")),
	CASE(IDEMPOTENCY_KEY, "DEL", FR_CODE_IDEMPOTENCY_KEY_INVALID, P("key\x7f")),
	CASE(IDEMPOTENCY_KEY, "NUL byte", FR_CODE_IDEMPOTENCY_KEY_INVALID, P("key\0")),
	CASE(IDEMPOTENCY_KEY, "line separator inside", FR_CODE_IDEMPOTENCY_KEY_INVALID,
		 P("key\u2028x")),
	CASE(IDEMPOTENCY_KEY, "invalid UTF-8", FR_CODE_IDEMPOTENCY_KEY_INVALID, P("key\xff")),
	CASE(IDEMPOTENCY_KEY, "surrogate", FR_CODE_IDEMPOTENCY_KEY_INVALID, P("key\xed\xa0\x80")),
	CASE(IDEMPOTENCY_KEY, "inner space", NULL, P("order 42")),
	CASE(IDEMPOTENCY_KEY, "ideographic spaces only", FR_CODE_IDEMPOTENCY_KEY_INVALID,
		 R("\u3000", 3)),
};

/* Runs one rule on a field's value as register.c does. */
static const char *
apply_rule(FrField field, const char *s, size_t len, bool is_null)
{
	switch (field)
	{
		case FR_FIELD_USERNAME:
			return fr_check_username(s, len);
		case FR_FIELD_PASSWORD:
			return fr_check_password(s, len);
		case FR_FIELD_NAME:
			return fr_check_name(s, len);
		case FR_FIELD_EMAIL:
			return fr_check_email(s, len);
		case FR_FIELD_USDA_UID:
			return fr_check_usda_uid(s, len);
		case FR_FIELD_IDEMPOTENCY_KEY:
			return fr_check_idempotency_key(s, len, is_null);
		default:
			abort();
	}
}

static void
test_rules(void)
{
	size_t		n = sizeof(rule_cases) / sizeof(rule_cases[0]);

	for (size_t i = 0; i < n; i++)
	{
		const RuleCase *c = &rule_cases[i];
		Value		v = {NULL, 0};
		const char *s = "";
		size_t		len = 0;
		const char *got;

		if (!c->is_null)
		{
			v = build(c->value);
			s = v.bytes;
			len = v.len;
			if (c->field != FR_FIELD_PASSWORD)
			{
				size_t		start;

				len = fr_trim(v.bytes, v.len, &start);
				s = v.bytes + start;
			}
		}
		got = apply_rule(c->field, s, len, c->is_null);
		if (!check(same(got, c->expect), "%s: %s -> %s",
				   fr_field_names[c->field], c->label, show(c->expect)))
			diag("got %s", show(got));
		free(v.bytes);
	}
}

/* ------------------------------------------------------------------------
 * Part 2: fr_utf8_length and fr_trim
 * ------------------------------------------------------------------------
 */

typedef struct LengthCase
{
	const char *label;
	size_t		expect;
	Piece		value[MAX_PIECES];
} LengthCase;

static const LengthCase length_cases[] = {
	{"empty", 0, {P("")}},
	{"ASCII", 3, {P("abc")}},
	{"NUL bytes count", 3, {P("a\0b")}},
	{"2-byte sequence", 1, {P("\u00e9")}},
	{"3-byte sequence", 1, {P("\u20ac")}},
	{"4-byte sequence", 1, {P("\U0001F404")}},
	{"U+10FFFF, the last code point", 1, {P("\xf4\x8f\xbf\xbf")}},
	{"U+FFFF, a noncharacter but well formed", 1, {P("\xef\xbf\xbf")}},
	{"stray continuation byte", 1, {P("\x80")}},
	{"four stray continuation bytes", 4, {P("\x80\xbf\x80\xbf")}},
	{"overlong '/' in 2 bytes", 2, {P("\xc0\xaf")}},
	{"overlong '/' in 3 bytes", 3, {P("\xe0\x80\xaf")}},
	{"overlong '/' in 4 bytes", 4, {P("\xf0\x80\x80\xaf")}},
	{"overlong U+07FF in 3 bytes", 3, {P("\xe0\x9f\xbf")}},
	{"overlong U+FFFF in 4 bytes", 4, {P("\xf0\x8f\xbf\xbf")}},
	{"high surrogate", 3, {P("\xed\xa0\x80")}},
	{"low surrogate", 3, {P("\xed\xbf\xbf")}},
	{"surrogate pair in CESU-8", 6, {P("\xed\xa0\xbd\xed\xb8\x80")}},
	{"beyond U+10FFFF", 4, {P("\xf4\x90\x80\x80")}},
	{"lead byte F5", 4, {P("\xf5\x80\x80\x80")}},
	{"bytes FE and FF", 2, {P("\xfe\xff")}},
	{"truncated 2-byte sequence at the end", 3, {P("ab\xc3")}},
	{"truncated 3-byte sequence at the end", 4, {P("ab\xe3\x80")}},
	{"truncated 4-byte sequence at the end", 5, {P("ab\xf0\x9f\x90")}},
	{"truncated 4-byte sequence, then a letter", 4, {P("\xf0\x9f\x90x")}},
	{"lead byte, then a new sequence", 2, {P("\xe3\xc3\xa9")}},
	{"1 MB of ASCII", 1048576, {R("x", 1048576)}},
	{"1 MB of emoji", 262144, {R("\U0001F404", 262144)}},
	{"1 MB of stray continuation bytes", 1048576, {R("\x80", 1048576)}},
};

static void
test_length(void)
{
	size_t		n = sizeof(length_cases) / sizeof(length_cases[0]);

	for (size_t i = 0; i < n; i++)
	{
		const LengthCase *c = &length_cases[i];
		Value		v = build(c->value);
		size_t		got = fr_utf8_length(v.bytes, v.len);

		if (!check(got == c->expect && got <= v.len,
				   "fr_utf8_length: %s -> %zu", c->label, c->expect))
			diag("got %zu for %zu bytes", got, v.len);
		free(v.bytes);
	}
}

typedef struct TrimCase
{
	const char *label;
	size_t		start;			/* expected offset of the kept bytes */
	size_t		len;			/* expected number of kept bytes */
	Piece		value[MAX_PIECES];
} TrimCase;

static const TrimCase trim_cases[] = {
	{"empty", 0, 0, {P("")}},
	{"nothing to trim", 0, 3, {P("a b")}},
	{"ASCII blanks and controls", 3, 3, {P(" \t\nx y\r\v\f ")}},
	{"only spaces", 16, 0, {R(" ", 16)}},
	{"only ideographic spaces", 15, 0, {R("\u3000", 5)}},
	{"NUL is not white space", 0, 1, {P("\0 ")}},
	{"stray byte between spaces is kept", 1, 1, {P(" \x80 ")}},
	{"lead byte before a space is kept", 0, 1, {P("\xc2 ")}},
	{"truncated ideographic space is kept", 0, 3, {P("x\xe3\x80")}},
	{"space, then a stray continuation byte", 3, 1, {P("\xe3\x80\x80\x80")}},
	{"stray continuation byte, then a space", 0, 1, {P("\x80\xe3\x80\x80")}},
	{"three stray continuation bytes, then a space", 0, 4, {P("x\x80\x80\x80 ")}},
	{"raw byte 85 is not NEL", 0, 3, {P("\x85x\x85")}},
	{"raw byte A0 is not NO-BREAK SPACE", 0, 3, {P("\xa0x\xa0")}},
	{"overlong space is not white space", 0, 5, {P("\xc0\xa0x\xc0\xa0")}},
	{"overlong NO-BREAK SPACE is not white space", 0, 3, {P("\xe0\x82\xa0")}},
	{"surrogate is kept", 1, 3, {P(" \xed\xa0\x80 ")}},
	{"zero-width space is not white space", 0, 7, {P("\u200bx\u200b")}},
	{"byte order mark is not white space", 0, 4, {P("\ufeffx")}},
	{"word joiner is not white space", 0, 7, {P("\u2060x\u2060")}},
	{"U+180E is not white space (since Unicode 6.3)", 0, 7, {P("\u180ex\u180e")}},
	{"emoji between spaces", 1, 4, {P(" \U0001F404 ")}},
	{"1 MB of ideographic space", 1048575, 0, {R("\u3000", 349525)}},
	{"1 MB of letters between spaces", 1, 1048576, {P(" "), R("x", 1048576), P(" ")}},
	{"1 MB of spaces on each side of a letter", 1048576, 1,
	{R(" ", 1048576), P("x"), R(" ", 1048576)}},
};

/* Unicode White_Space, as UTF-8. */
static const struct
{
	const char *name;
	const char *utf8;
}			white_space[] = {
	{"U+0009 TAB", "\t"},
	{"U+000A LINE FEED", "\n"},
	{"U+000B VERTICAL TAB", "\v"},
	{"U+000C FORM FEED", "\f"},
	{"U+000D CARRIAGE RETURN", "\r"},
	{"U+0020 SPACE", " "},
	{"U+0085 NEXT LINE", "\xc2\x85"},
	{"U+00A0 NO-BREAK SPACE", "\xc2\xa0"},
	{"U+1680 OGHAM SPACE MARK", "\xe1\x9a\x80"},
	{"U+2000 EN QUAD", "\xe2\x80\x80"},
	{"U+2001 EM QUAD", "\xe2\x80\x81"},
	{"U+2002 EN SPACE", "\xe2\x80\x82"},
	{"U+2003 EM SPACE", "\xe2\x80\x83"},
	{"U+2004 THREE-PER-EM SPACE", "\xe2\x80\x84"},
	{"U+2005 FOUR-PER-EM SPACE", "\xe2\x80\x85"},
	{"U+2006 SIX-PER-EM SPACE", "\xe2\x80\x86"},
	{"U+2007 FIGURE SPACE", "\xe2\x80\x87"},
	{"U+2008 PUNCTUATION SPACE", "\xe2\x80\x88"},
	{"U+2009 THIN SPACE", "\xe2\x80\x89"},
	{"U+200A HAIR SPACE", "\xe2\x80\x8a"},
	{"U+2028 LINE SEPARATOR", "\xe2\x80\xa8"},
	{"U+2029 PARAGRAPH SEPARATOR", "\xe2\x80\xa9"},
	{"U+202F NARROW NO-BREAK SPACE", "\xe2\x80\xaf"},
	{"U+205F MEDIUM MATHEMATICAL SPACE", "\xe2\x81\x9f"},
	{"U+3000 IDEOGRAPHIC SPACE", "\xe3\x80\x80"},
};

/*
 * Trims s[0..len) and checks the answer is start/expect_len, and that the
 * result is a slice of the input that trimming again leaves alone.
 */
static bool
trim_is(const char *s, size_t len, size_t expect_start, size_t expect_len)
{
	size_t		start = (size_t) -1;
	size_t		got = fr_trim(s, len, &start);
	size_t		again_start = (size_t) -1;
	size_t		again;

	if (start > len || got > len - start)
	{
		diag("slice [%zu, +%zu) outside the %zu-byte input", start, got, len);
		return false;
	}
	again = fr_trim(s + start, got, &again_start);
	if (again != got || again_start != 0)
	{
		diag("trimming again gave [%zu, +%zu) of [0, +%zu)", again_start, again, got);
		return false;
	}
	if (got != expect_len || (got > 0 && start != expect_start))
	{
		diag("got [%zu, +%zu), expected [%zu, +%zu)", start, got, expect_start, expect_len);
		return false;
	}
	return true;
}

static void
test_trim(void)
{
	size_t		n = sizeof(trim_cases) / sizeof(trim_cases[0]);
	size_t		nws = sizeof(white_space) / sizeof(white_space[0]);

	for (size_t i = 0; i < n; i++)
	{
		const TrimCase *c = &trim_cases[i];
		Value		v = build(c->value);

		check(trim_is(v.bytes, v.len, c->start, c->len),
			  "fr_trim: %s -> [%zu, +%zu)", c->label, c->start, c->len);
		free(v.bytes);
	}

	/* each White_Space code point: at the start, at the end, both, doubled */
	for (size_t i = 0; i < nws; i++)
	{
		const char *w = white_space[i].utf8;
		size_t		wl = strlen(w);
		char		buf[64];
		bool		ok = true;

		/* "w" alone, "wx", "xw", "wxw", "wwa wbww" */
		ok &= trim_is(w, wl, wl, 0);
		snprintf(buf, sizeof(buf), "%sx", w);
		ok &= trim_is(buf, wl + 1, wl, 1);
		snprintf(buf, sizeof(buf), "x%s", w);
		ok &= trim_is(buf, wl + 1, 0, 1);
		snprintf(buf, sizeof(buf), "%sx%s", w, w);
		ok &= trim_is(buf, 2 * wl + 1, wl, 1);
		snprintf(buf, sizeof(buf), "%s%sa%sb%s%s", w, w, w, w, w);
		ok &= trim_is(buf, 5 * wl + 2, 2 * wl, wl + 2);
		/* the code point's length must be counted as one character */
		ok &= fr_utf8_length(w, wl) == 1;
		check(ok, "fr_trim: %s at either end and both, alone and doubled",
			  white_space[i].name);
	}
}

/* ------------------------------------------------------------------------
 * Part 3: sweeps
 * ------------------------------------------------------------------------
 */

static bool
is_one_of(const char *code, const char *a, const char *b)
{
	return code == NULL || same(code, a) || (b != NULL && same(code, b));
}

/*
 * Every rule on s[0..len): answers with one of its own codes, and the same
 * answer for the same bytes; fr_trim stays inside and is idempotent;
 * fr_utf8_length stays within len.
 */
static bool
sweep_one(const char *s, size_t len)
{
	size_t		start;
	size_t		t = fr_trim(s, len, &start);
	size_t		again_start;

	if (start > len || t > len - start ||
		fr_trim(s + start, t, &again_start) != t || again_start != 0)
		return false;
	if (fr_utf8_length(s, len) > len || (len > 0 && fr_utf8_length(s, len) == 0))
		return false;
	if (!is_one_of(fr_check_username(s, len),
				   FR_CODE_USERNAME_BLANK, FR_CODE_USERNAME_INVALID) ||
		!is_one_of(fr_check_password(s, len),
				   FR_CODE_PASSWORD_TOO_SHORT, FR_CODE_PASSWORD_TOO_LONG) ||
		!(is_one_of(fr_check_name(s, len),
					FR_CODE_NAME_BLANK, FR_CODE_NAME_TOO_LONG) ||
		  same(fr_check_name(s, len), FR_CODE_NAME_INVALID)) ||
		!is_one_of(fr_check_email(s, len),
				   FR_CODE_EMAIL_BLANK, FR_CODE_EMAIL_INVALID) ||
		!is_one_of(fr_check_usda_uid(s, len), FR_CODE_USDA_UID_BLANK, NULL) ||
		!is_one_of(fr_check_idempotency_key(s, len, false),
				   FR_CODE_IDEMPOTENCY_KEY_INVALID, NULL) ||
		fr_check_idempotency_key(s, len, true) != NULL)
		return false;
	/* a password of 8 or more characters is never too short, and so on */
	if (len == 0 &&
		(!same(fr_check_username(s, len), FR_CODE_USERNAME_BLANK) ||
		 !same(fr_check_name(s, len), FR_CODE_NAME_BLANK) ||
		 !same(fr_check_email(s, len), FR_CODE_EMAIL_BLANK) ||
		 !same(fr_check_usda_uid(s, len), FR_CODE_USDA_UID_BLANK)))
		return false;
	return true;
}

static void
test_sweeps(void)
{
	unsigned long bad = 0;
	unsigned long wrong = 0;
	char	   *buf = malloc(4);

	if (buf == NULL)
		abort();

	/* every string of 0, 1 and 2 bytes, in buffers of exactly that size */
	bad += !sweep_one(buf, 0);
	for (int a = 0; a < 256; a++)
	{
		char	   *one = malloc(1);

		if (one == NULL)
			abort();
		one[0] = (char) a;
		bad += !sweep_one(one, 1);
		free(one);
	}
	for (int a = 0; a < 256; a++)
	{
		char	   *two = malloc(2);

		if (two == NULL)
			abort();
		two[0] = (char) a;
		for (int b = 0; b < 256; b++)
		{
			two[1] = (char) b;
			bad += !sweep_one(two, 2);
		}
		free(two);
	}
	check(bad == 0, "sweep: every rule answers every string of up to 2 bytes with its own codes");
	if (bad)
		diag("%lu strings answered wrongly", bad);

	/*
	 * Every three-byte string E0..EF 80..BF 80..BF is one character unless it
	 * is overlong (E0 80..9F) or a surrogate (ED A0..BF): then three.
	 */
	for (int a = 0xE0; a <= 0xEF; a++)
		for (int b = 0x80; b <= 0xBF; b++)
			for (int c = 0x80; c <= 0xBF; c++)
			{
				bool		bad_form = (a == 0xE0 && b < 0xA0) || (a == 0xED && b >= 0xA0);

				buf[0] = (char) a;
				buf[1] = (char) b;
				buf[2] = (char) c;
				wrong += fr_utf8_length(buf, 3) != (bad_form ? 3u : 1u);
			}
	check(wrong == 0, "sweep: every 3-byte sequence decodes as the Unicode standard says");
	if (wrong)
		diag("%lu sequences counted wrongly", wrong);

	/*
	 * Every four-byte string F0..F4 80..BF 80..BF 80..BF is one character
	 * unless overlong (F0 80..8F) or beyond U+10FFFF (F4 90..BF).
	 */
	wrong = 0;
	for (int a = 0xF0; a <= 0xF4; a++)
		for (int b = 0x80; b <= 0xBF; b++)
			for (int c = 0x80; c <= 0xBF; c++)
				for (int d = 0x80; d <= 0xBF; d++)
				{
					bool		bad_form = (a == 0xF0 && b < 0x90) || (a == 0xF4 && b >= 0x90);

					buf[0] = (char) a;
					buf[1] = (char) b;
					buf[2] = (char) c;
					buf[3] = (char) d;
					wrong += fr_utf8_length(buf, 4) != (bad_form ? 4u : 1u);
				}
	check(wrong == 0, "sweep: every 4-byte sequence decodes as the Unicode standard says");
	if (wrong)
		diag("%lu sequences counted wrongly", wrong);
	free(buf);
}

/* ------------------------------------------------------------------------
 * Part 4: the name rule, code point by code point, against the Unicode
 * Character Database's Default_Ignorable_Code_Point list
 * ------------------------------------------------------------------------
 */

#define UCD_DEFAULT "/usr/share/unicode/DerivedCoreProperties.txt"
#define N_CODE_POINTS 0x110000

/* Unicode White_Space (PropList.txt). */
static const int32_t white_space_cps[] = {
	0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x20, 0x85, 0xA0, 0x1680,
	0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008,
	0x2009, 0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000
};

static bool
is_white_space_cp(int32_t cp)
{
	for (size_t i = 0; i < sizeof(white_space_cps) / sizeof(white_space_cps[0]); i++)
	{
		if (white_space_cps[i] == cp)
			return true;
	}
	return false;
}

/* The code point as UTF-8 into out (4 bytes room); its length. */
static size_t
encode_utf8(int32_t cp, char *out)
{
	if (cp < 0x80)
	{
		out[0] = (char) cp;
		return 1;
	}
	if (cp < 0x800)
	{
		out[0] = (char) (0xC0 | (cp >> 6));
		out[1] = (char) (0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000)
	{
		out[0] = (char) (0xE0 | (cp >> 12));
		out[1] = (char) (0x80 | ((cp >> 6) & 0x3F));
		out[2] = (char) (0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (char) (0xF0 | (cp >> 18));
	out[1] = (char) (0x80 | ((cp >> 12) & 0x3F));
	out[2] = (char) (0x80 | ((cp >> 6) & 0x3F));
	out[3] = (char) (0x80 | (cp & 0x3F));
	return 4;
}

/*
 * Reads the Default_Ignorable_Code_Point ranges of DerivedCoreProperties.txt
 * into a table of N_CODE_POINTS flags; NULL when the file cannot be read.
 */
static bool *
read_default_ignorable(const char *path, unsigned long *count)
{
	FILE	   *f = fopen(path, "r");
	bool	   *di;
	char		line[1024];

	*count = 0;
	if (f == NULL)
		return NULL;
	di = calloc(N_CODE_POINTS, sizeof(bool));
	if (di == NULL)
		abort();
	while (fgets(line, sizeof(line), f) != NULL)
	{
		unsigned long lo;
		unsigned long hi;
		char		prop[64];

		if (line[0] == '#')
			continue;
		if (sscanf(line, "%lx..%lx ; %63s", &lo, &hi, prop) != 3)
		{
			if (sscanf(line, "%lx ; %63s", &lo, prop) != 2)
				continue;
			hi = lo;
		}
		if (strcmp(prop, "Default_Ignorable_Code_Point") != 0 ||
			hi >= N_CODE_POINTS || lo > hi)
			continue;
		for (unsigned long cp = lo; cp <= hi; cp++)
		{
			di[cp] = true;
			(*count)++;
		}
	}
	fclose(f);
	return di;
}

static void
test_name_code_points(void)
{
	const char *path = getenv("UCD_DERIVED_CORE_PROPERTIES");
	unsigned long ndi;
	bool	   *di;
	unsigned long wrong_alone = 0;
	unsigned long wrong_inside = 0;
	unsigned long invisible = 0;
	char	   *buf = malloc(6);

	if (buf == NULL)
		abort();
	if (path == NULL || path[0] == '\0')
		path = UCD_DEFAULT;
	di = read_default_ignorable(path, &ndi);
	if (!check(di != NULL && ndi > 0,
			   "the Unicode Character Database lists Default_Ignorable_Code_Point (%s)", path))
	{
		diag("install Debian's unicode-data, or point UCD_DERIVED_CORE_PROPERTIES at the file");
		free(di);
		free(buf);
		return;
	}
	diag("%lu Default_Ignorable_Code_Point code points", ndi);

	for (int32_t cp = 0; cp < N_CODE_POINTS; cp++)
	{
		bool		control = cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) ||
			cp == 0x2028 || cp == 0x2029;
		bool		bidi = (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069);
		bool		hidden = di[cp] || cp == 0x2800;
		const char *expect;
		const char *got;
		size_t		n;
		size_t		start;
		size_t		len;

		if (cp >= 0xD800 && cp <= 0xDFFF)
			continue;			/* not encodable */

		/* alone, trimmed as fields.c trims it */
		n = encode_utf8(cp, buf);
		len = fr_trim(buf, n, &start);
		if (is_white_space_cp(cp))
			expect = FR_CODE_NAME_BLANK;
		else if (control || bidi || hidden)
			expect = FR_CODE_NAME_INVALID;
		else
			expect = NULL;
		invisible += hidden;
		got = fr_check_name(buf + start, len);
		if (!same(got, expect))
		{
			if (wrong_alone < 5)
				diag("U+%04X alone: got %s, expected %s", (unsigned) cp, show(got), show(expect));
			wrong_alone++;
		}

		/* between two letters: only controls and bidi controls are refused */
		buf[0] = 'a';
		n = 1 + encode_utf8(cp, buf + 1);
		buf[n++] = 'b';
		expect = (control || bidi) ? FR_CODE_NAME_INVALID : NULL;
		got = fr_check_name(buf, n);
		if (!same(got, expect))
		{
			if (wrong_inside < 5)
				diag("U+%04X inside: got %s, expected %s", (unsigned) cp, show(got), show(expect));
			wrong_inside++;
		}
	}
	check(wrong_alone == 0,
		  "every code point alone as a name: blank if White_Space, invalid if a control, "
		  "a bidi control or invisible (%lu), else accepted", invisible);
	check(wrong_inside == 0,
		  "every code point between two letters: invalid only if a control or a bidi control");
	free(di);
	free(buf);
}

/* ------------------------------------------------------------------------
 * main
 * ------------------------------------------------------------------------
 */

int
main(void)
{
	static const char *const names[FR_NFIELDS] = {
		"username", "password", "password_hash", "name", "email", "usda_uid",
		"idempotency_key"
	};
	bool		names_ok = true;

	/* whole lines out before a sanitizer report ends the program */
	setvbuf(stdout, NULL, _IOLBF, 0);

	/* the report order of errors: username ... idempotency_key */
	for (int i = 0; i < FR_NFIELDS; i++)
		names_ok &= strcmp(fr_field_names[i], names[i]) == 0;
	check(names_ok, "fr_field_names in the documented field order");

	test_rules();
	test_length();
	test_trim();
	test_sweeps();
	test_name_code_points();

	printf("1..%d\n", tests_run);
	if (tests_failed > 0)
		printf("# %d of %d checks failed\n", tests_failed, tests_run);
	return tests_failed > 0 ? 1 : 0;
}
