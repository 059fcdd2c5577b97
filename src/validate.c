/*-------------------------------------------------------------------------
 *
 * validate.c
 *	  Pure field rules for a farm-admin registration (see validate.h).
 *
 * The field rules of the README's table, one function a field.  Input is UTF-8
 * that need not be well formed: the rules must answer for any byte string,
 * which the fuzz targets in fuzz/ hold them to.
 *
 *-------------------------------------------------------------------------
 */
#include "validate.h"

#include <stdint.h>

const char *const fr_field_names[FR_NFIELDS] = {
	"username", "password", "password_hash", "name", "email", "usda_uid",
	"idempotency_key"
};

/*
 * Decodes the code point starting at s[0] (n bytes available).  Returns the
 * number of bytes it takes and stores the code point in *cp; a byte that does
 * not begin a well-formed sequence (stray continuation, overlong form,
 * surrogate, beyond U+10FFFF, truncated) takes one byte and yields -1.
 */
static size_t
utf8_decode(const unsigned char *s, size_t n, int32_t *cp)
{
	unsigned char c = s[0];
	size_t		need;
	int32_t		v;
	int32_t		min;

	if (c < 0x80)
	{
		*cp = c;
		return 1;
	}
	if (c >= 0xC2 && c <= 0xDF)
	{
		need = 2;
		v = c & 0x1F;
		min = 0x80;
	}
	else if (c >= 0xE0 && c <= 0xEF)
	{
		need = 3;
		v = c & 0x0F;
		min = 0x800;
	}
	else if (c >= 0xF0 && c <= 0xF4)
	{
		need = 4;
		v = c & 0x07;
		min = 0x10000;
	}
	else
	{
		*cp = -1;
		return 1;
	}
	if (need > n)
	{
		*cp = -1;
		return 1;
	}
	for (size_t i = 1; i < need; i++)
	{
		if ((s[i] & 0xC0) != 0x80)
		{
			*cp = -1;
			return 1;
		}
		v = (v << 6) | (s[i] & 0x3F);
	}
	if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
	{
		*cp = -1;
		return 1;
	}
	*cp = v;
	return need;
}

size_t
fr_utf8_length(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *) s;
	size_t		count = 0;
	size_t		i = 0;

	while (i < len)
	{
		int32_t		cp;

		if (p[i] < 0x80)
			i++;
		else
			i += utf8_decode(p + i, len - i, &cp);
		count++;
	}
	return count;
}

/* Unicode White_Space. */
static bool
is_space(int32_t cp)
{
	return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 ||
		cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) ||
		cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F ||
		cp == 0x3000;
}

/* C0 and C1 controls, DEL, and the line and paragraph separators. */
static bool
is_control(int32_t cp)
{
	return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) ||
		cp == 0x2028 || cp == 0x2029;
}

/* Bidirectional embeddings, overrides and isolates. */
static bool
is_bidi_control(int32_t cp)
{
	return (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069);
}

/*
 * Characters that show nothing by themselves: Default_Ignorable_Code_Point
 * (Unicode 15, DerivedCoreProperties.txt) and U+2800 BRAILLE PATTERN BLANK.
 * U+202A..U+202E, ignorable too, are left out: fr_check_name refuses them
 * before it asks.
 */
static bool
is_invisible(int32_t cp)
{
	if (cp < 0x00AD)
		return false;
	return cp == 0x00AD || cp == 0x034F || cp == 0x061C ||
		(cp >= 0x115F && cp <= 0x1160) || (cp >= 0x17B4 && cp <= 0x17B5) ||
		(cp >= 0x180B && cp <= 0x180F) || (cp >= 0x200B && cp <= 0x200F) ||
		(cp >= 0x2060 && cp <= 0x206F) ||
		cp == 0x2800 || cp == 0x3164 || (cp >= 0xFE00 && cp <= 0xFE0F) ||
		cp == 0xFEFF || cp == 0xFFA0 || (cp >= 0xFFF0 && cp <= 0xFFF8) ||
		(cp >= 0x1BCA0 && cp <= 0x1BCA3) || (cp >= 0x1D173 && cp <= 0x1D17A) ||
		(cp >= 0xE0000 && cp <= 0xE0FFF);
}

/*
 * Length in bytes of the white space ending at s[len - 1]: steps back over
 * continuation bytes to the start of the last sequence and decodes it.
 */
static size_t
trailing_space_bytes(const unsigned char *s, size_t len)
{
	size_t		back = 1;
	int32_t		cp;

	while (back < 4 && back < len && (s[len - back] & 0xC0) == 0x80)
		back++;
	if (utf8_decode(s + len - back, back, &cp) != back || !is_space(cp))
		return 0;
	return back;
}

size_t
fr_trim(const char *s, size_t len, size_t *start)
{
	const unsigned char *p = (const unsigned char *) s;
	size_t		b = 0;
	size_t		e = len;

	while (b < e)
	{
		int32_t		cp;
		size_t		n = utf8_decode(p + b, e - b, &cp);

		if (!is_space(cp))
			break;
		b += n;
	}
	while (e > b)
	{
		size_t		n = trailing_space_bytes(p + b, e - b);

		if (n == 0)
			break;
		e -= n;
	}
	*start = b;
	return e - b;
}

static bool
is_ascii_alnum(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		(c >= '0' && c <= '9');
}

const char *
fr_check_username(const char *s, size_t len)
{
	if (len == 0)
		return FR_CODE_USERNAME_BLANK;
	/* ASCII only, so bytes are characters */
	if (len < FR_USERNAME_MIN || len > FR_USERNAME_MAX)
		return FR_CODE_USERNAME_INVALID;
	for (size_t i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) s[i];

		if (!is_ascii_alnum(c) && c != '_' && c != '.' && c != '-')
			return FR_CODE_USERNAME_INVALID;
	}
	return NULL;
}

const char *
fr_check_password(const char *s, size_t len)
{
	size_t		chars;

	/* no character takes fewer than one byte nor more than four */
	if (len < FR_PASSWORD_MIN)
		return FR_CODE_PASSWORD_TOO_SHORT;
	if (len > 4 * (size_t) FR_PASSWORD_MAX)
		return FR_CODE_PASSWORD_TOO_LONG;
	chars = fr_utf8_length(s, len);
	if (chars < FR_PASSWORD_MIN)
		return FR_CODE_PASSWORD_TOO_SHORT;
	if (chars > FR_PASSWORD_MAX)
		return FR_CODE_PASSWORD_TOO_LONG;
	return NULL;
}

const char *
fr_check_name(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *) s;
	bool		visible = false;
	size_t		i = 0;

	if (len == 0)
		return FR_CODE_NAME_BLANK;
	if (len > FR_NAME_MAX && fr_utf8_length(s, len) > FR_NAME_MAX)
		return FR_CODE_NAME_TOO_LONG;
	/* at most FR_NAME_MAX characters from here on */
	while (i < len)
	{
		int32_t		cp;

		i += utf8_decode(p + i, len - i, &cp);
		if (cp < 0 || is_control(cp) || is_bidi_control(cp))
			return FR_CODE_NAME_INVALID;
		if (!is_space(cp) && !is_invisible(cp))
			visible = true;
	}
	return visible ? NULL : FR_CODE_NAME_INVALID;
}

/* Characters allowed in the local part: printable ASCII but specials. */
static bool
is_local_char(unsigned char c)
{
	if (c <= 0x20 || c >= 0x7F)
		return false;
	switch (c)
	{
		case '"':
		case '(':
		case ')':
		case ',':
		case ':':
		case ';':
		case '<':
		case '>':
		case '@':
		case '[':
		case '\\':
		case ']':
			return false;
		default:
			return true;
	}
}

/* A dotted domain: two or more labels of letters, digits and hyphens. */
static bool
valid_domain(const char *d, size_t len)
{
	size_t		labels = 0;
	size_t		i = 0;
	bool		tld_has_letter = false;

	while (i <= len)
	{
		size_t		b = i;

		tld_has_letter = false;
		while (i < len && d[i] != '.')
		{
			unsigned char c = (unsigned char) d[i];

			if (!is_ascii_alnum(c) && c != '-')
				return false;
			if (!(c >= '0' && c <= '9') && c != '-')
				tld_has_letter = true;
			i++;
		}
		if (i == b || i - b > FR_DOMAIN_LABEL_MAX ||
			d[b] == '-' || d[i - 1] == '-')
			return false;
		labels++;
		i++;					/* past the dot, or past the end */
	}
	/* the last label names a top-level domain, never all digits */
	return labels >= 2 && tld_has_letter;
}

const char *
fr_check_email(const char *s, size_t len)
{
	size_t		at = len;

	if (len == 0)
		return FR_CODE_EMAIL_BLANK;
	/* ASCII only, so bytes are characters */
	if (len > FR_EMAIL_MAX)
		return FR_CODE_EMAIL_INVALID;
	for (size_t i = 0; i < len; i++)
	{
		if (s[i] == '@')
		{
			if (at != len)
				return FR_CODE_EMAIL_INVALID;	/* a second @ */
			at = i;
		}
	}
	if (at == len || at == 0 || at > FR_EMAIL_LOCAL_MAX)
		return FR_CODE_EMAIL_INVALID;
	for (size_t i = 0; i < at; i++)
	{
		if (!is_local_char((unsigned char) s[i]))
			return FR_CODE_EMAIL_INVALID;
		if (s[i] == '.' && (i == 0 || i == at - 1 || s[i - 1] == '.'))
			return FR_CODE_EMAIL_INVALID;
	}
	if (!valid_domain(s + at + 1, len - at - 1))
		return FR_CODE_EMAIL_INVALID;
	return NULL;
}

const char *
fr_check_usda_uid(const char *s, size_t len)
{
	(void) s;
	/* whether it names a farm is a database question */
	return len == 0 ? FR_CODE_USDA_UID_BLANK : NULL;
}

const char *
fr_check_idempotency_key(const char *s, size_t len, bool is_null)
{
	const unsigned char *p = (const unsigned char *) s;
	size_t		chars = 0;
	size_t		i = 0;

	if (is_null)
		return NULL;
	if (len == 0 || len > 4 * (size_t) FR_KEY_MAX)
		return FR_CODE_IDEMPOTENCY_KEY_INVALID;
	while (i < len)
	{
		int32_t		cp;

		i += utf8_decode(p + i, len - i, &cp);
		if (cp < 0 || is_control(cp))
			return FR_CODE_IDEMPOTENCY_KEY_INVALID;
		chars++;
	}
	return chars > FR_KEY_MAX ? FR_CODE_IDEMPOTENCY_KEY_INVALID : NULL;
}
