/*-------------------------------------------------------------------------
 *
 * logfilter.c
 *	  The backend's one log filter: no password and no password hash given
 *	  to farmreg reaches a server log line, whatever the logging settings.
 *
 * Every message a backend logs passes through emit_log_hook in that backend,
 * formatted and just before it is written.  The filter is that hook
 * (installed by _PG_init, chained to any hook installed before it).  A
 * message is sensitive when
 *
 *	- a password-bearing farmreg call is running in this backend (entry
 *	  points run inside fr_call_redacted); or
 *	- the backend's current statement (debug_query_string) names a
 *	  password-bearing function, directly or through EXECUTE of a prepared
 *	  statement that does, or is the statement a password-bearing call last
 *	  ran in (same length and hash: a wrapper function, a view); or
 *	- the message's own text, detail, log-only detail, context or internal
 *	  query names one (another session's call quoted in a deadlock report).
 *
 * From a sensitive message the filter removes, writing REDACTED in its place
 * so that a reader of the log knows why:
 *
 *	- the STATEMENT line (hide_stmt);
 *	- the statement text of log_statement and of the duration logs
 *	  ("statement: ", "execute <name>: ", "parse", "bind", "duration: ... ms
 *	  statement: ...") with their "parameters: ..." and "prepare: ..."
 *	  details, the node dumps of debug_print_parse/rewritten/plan, the token
 *	  a syntax error quotes, the bytes an encoding error quotes, and the
 *	  value an input function refuses;
 *	- auto_explain's plan text ("duration: ... ms  plan:"), which quotes the
 *	  statement and its literal arguments;
 *	- the data of the JSON parser's "JSON data, line N: ..." context and the
 *	  token its detail quotes; the parameter values of the portal contexts
 *	  (log_parameter_max_length_on_error); the context from the first line
 *	  that names a password-bearing function to its end;
 *	- the row values of "Failing row contains (...)" details (a CHECK an
 *	  operator adds to farmreg.users would log the password hash);
 *	- in a deadlock report, the query text of each listed process whose text
 *	  names a password-bearing function, and this backend's own when its
 *	  statement is the sensitive one;
 *	- an internal query, and any other detail, that names one.
 *
 * It keeps everything else: SQLSTATE, errmsg, hint, farmreg's step.  A
 * message is recognized by its untranslated format (edata->message_id);
 * details and context lines carry no id, so they are matched against
 * PostgreSQL 15's formats, in the server's language and in English.
 *
 * Out of reach:
 *
 *	- a backend that has not loaded farmreg.  The library is loaded by the
 *	  first call of one of its functions, so without preloading, the
 *	  messages of a session before that (log_statement's line of its first
 *	  call, a timeout or a cancel before the call starts), and every message
 *	  of a backend that never calls farmreg (its deadlock report listing
 *	  another session's call), are not filtered.  session_preload_libraries
 *	  = 'farmreg' (or shared_preload_libraries) closes this.
 *	- a statement that reaches a password-bearing function without naming it
 *	  (a wrapper, a view, dynamic SQL), for what is logged before the call
 *	  starts: log_statement's line, an error raised before the call.
 *	- errmsg and hint texts, and the formats of other extensions' messages.
 *	- what is not a server log line: the client's logs, psql's history,
 *	  pg_stat_activity.query.
 *
 * The hook runs inside error reporting, in ErrorContext, and must never
 * raise (an error there recurses): it allocates with MCXT_ALLOC_NO_OOM and
 * drops a part it cannot rewrite, bounds its pattern matching, and calls
 * nothing that raises.  A message that is not sensitive costs a counter
 * check and one case-insensitive scan of the statement text and of the
 * message's parts.  What it rewrites is also what the client receives.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "commands/prepare.h"
#include "common/hashfn.h"
#include "miscadmin.h"
#include "tcop/tcopprot.h"
#include "utils/elog.h"
#include "utils/memutils.h"
#include "utils/plancache.h"

#include "logfilter.h"

#define REDACTED "[redacted by farmreg]"

/*
 * The functions whose arguments carry a password.  Later versions add their
 * password-bearing functions here, and nowhere else.  Text names one when it
 * contains its name in any case (so register_farm_admin also finds
 * register_farm_admins; both are listed for the reader).
 */
static const char *const password_functions[] = {
	"register_farm_admin",
	"register_farm_admins",
	"verify_password",
};

#define N_PASSWORD_FUNCTIONS lengthof(password_functions)

/* password-bearing calls running in this backend (nested calls count) */
static int	calls_in_progress = 0;

/* the statement text a password-bearing call last ran in */
static bool last_call_set = false;
static size_t last_call_len = 0;
static uint32 last_call_hash = 0;

static emit_log_hook_type prev_emit_log_hook = NULL;

/* ------------------------------------------------------------------------
 * Scanning text
 * ------------------------------------------------------------------------
 */

static inline unsigned char
lower(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}

/* Whether s[0..len) starts with the lower-case word w, ignoring case. */
static bool
starts_with_ci(const char *s, size_t len, const char *w)
{
	size_t		i;

	for (i = 0; w[i] != '\0'; i++)
	{
		if (i >= len || lower((unsigned char) s[i]) != (unsigned char) w[i])
			return false;
	}
	return true;
}

/* Whether s[i] names a password-bearing function. */
static bool
function_at(const char *s, size_t len, size_t i)
{
	unsigned char c = lower((unsigned char) s[i]);

	for (size_t k = 0; k < N_PASSWORD_FUNCTIONS; k++)
	{
		if ((unsigned char) password_functions[k][0] == c &&
			starts_with_ci(s + i, len - i, password_functions[k]))
			return true;
	}
	return false;
}

/* Whether s[0..len) names a password-bearing function. */
static bool
names_function_n(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
	{
		if (function_at(s, len, i))
			return true;
	}
	return false;
}

static bool
names_function(const char *s)
{
	return s != NULL && names_function_n(s, strlen(s));
}

/* A byte of an unquoted SQL identifier (PostgreSQL's scanner: ident_cont). */
static bool
is_ident_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		(c >= '0' && c <= '9') || c == '_' || c == '$' || c >= 0x80;
}

/*
 * After the keyword EXECUTE at s[0..len): whether it executes a prepared
 * statement (of this session) whose text names a password-bearing function.
 * The name is read as the scanner reads it: a quoted identifier, or an
 * unquoted one folded to lower case, cut to NAMEDATALEN - 1 bytes.
 */
static bool
executes_password_statement(const char *s, size_t len)
{
	char		name[NAMEDATALEN];
	size_t		n = 0;
	size_t		i = 0;
	bool		cut = false;
	PreparedStatement *ps;

	while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' ||
					   s[i] == '\r' || s[i] == '\f' || s[i] == '\v'))
		i++;
	if (i >= len)
		return false;
	if (s[i] == '"')
	{
		for (i++;; i++)
		{
			if (i >= len)
				return false;	/* unterminated */
			if (s[i] == '"')
			{
				if (i + 1 < len && s[i + 1] == '"')
					i++;
				else
					break;
			}
			if (n < NAMEDATALEN - 1)
				name[n++] = s[i];
			else
				cut = true;
		}
	}
	else
	{
		if (!is_ident_char((unsigned char) s[i]) || (s[i] >= '0' && s[i] <= '9') ||
			s[i] == '$')
			return false;
		for (; i < len && is_ident_char((unsigned char) s[i]); i++)
		{
			if (n < NAMEDATALEN - 1)
				name[n++] = (char) lower((unsigned char) s[i]);
			else
				cut = true;
		}
	}
	/* a cut inside a UTF-8 sequence drops the whole character */
	if (cut)
	{
		while (n > 0 && ((unsigned char) name[n - 1] & 0xC0) == 0x80)
			n--;
		if (n > 0 && (unsigned char) name[n - 1] >= 0xC0)
			n--;
	}
	name[n] = '\0';
	if (n == 0)
		return false;

	/* a hash lookup; with throwError = false it cannot raise */
	ps = FetchPreparedStatement(name, false);
	return ps != NULL && ps->plansource != NULL &&
		names_function(ps->plansource->query_string);
}

/* Whether q is the statement text a password-bearing call last ran in. */
static bool
is_last_call_statement(const char *q, size_t len)
{
	return last_call_set && len == last_call_len &&
		hash_bytes((const unsigned char *) q, (int) Min(len, (size_t) INT_MAX)) ==
		last_call_hash;
}

/*
 * Whether the statement q names a password-bearing function, directly or
 * through EXECUTE of a prepared statement that does, or is the statement a
 * password-bearing call last ran in.  One pass over the text.
 */
static bool
statement_is_sensitive(const char *q)
{
	size_t		len;

	if (q == NULL)
		return false;
	len = strlen(q);
	for (size_t i = 0; i < len; i++)
	{
		if (function_at(q, len, i))
			return true;
		if ((q[i] == 'e' || q[i] == 'E') &&
			starts_with_ci(q + i, len - i, "execute") &&
			(i == 0 || !is_ident_char((unsigned char) q[i - 1])) &&
			(i + 7 == len || !is_ident_char((unsigned char) q[i + 7])) &&
			executes_password_statement(q + i + 7, len - i - 7))
			return true;
	}
	return is_last_call_statement(q, len);
}

/* ------------------------------------------------------------------------
 * Building strings without raising
 * ------------------------------------------------------------------------
 */

typedef struct Buf
{
	char	   *data;
	size_t		len;
	size_t		cap;
	bool		failed;			/* out of memory: the result is unusable */
} Buf;

static void
buf_append(Buf *b, const char *s, size_t n)
{
	if (b->failed)
		return;
	if (b->len + n + 1 > b->cap)
	{
		size_t		cap = Max(2 * b->cap, b->len + n + 1 + 64);
		char	   *d;

		if (cap > MaxAllocSize)
		{
			b->failed = true;
			return;
		}
		d = palloc_extended(cap, MCXT_ALLOC_NO_OOM);
		if (d == NULL)
		{
			b->failed = true;
			return;
		}
		if (b->len > 0)
			memcpy(d, b->data, b->len);
		if (b->data != NULL)
			pfree(b->data);
		b->data = d;
		b->cap = cap;
	}
	if (n > 0)
		memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
}

static void
buf_append_str(Buf *b, const char *s)
{
	buf_append(b, s, strlen(s));
}

/* The finished string, or NULL when memory ran out. */
static char *
buf_finish(Buf *b)
{
	if (b->failed)
	{
		if (b->data != NULL)
			pfree(b->data);
		return NULL;
	}
	if (b->data == NULL)
		buf_append(b, "", 0);
	return b->failed ? NULL : b->data;
}

/* A copy of REDACTED, or NULL when memory ran out. */
static char *
redacted_copy(void)
{
	char	   *s = palloc_extended(sizeof(REDACTED), MCXT_ALLOC_NO_OOM);

	if (s != NULL)
		memcpy(s, REDACTED, sizeof(REDACTED));
	return s;
}

/* ------------------------------------------------------------------------
 * printf formats as patterns
 *
 * A format is literal text and conversions (%s, %d, %.3f, %1$s, ...).
 * Conversions with no literal between them form one group, which matches
 * any text; literals match themselves.  Matching is lazy (each group as
 * short as possible) and bounded in steps.
 * ------------------------------------------------------------------------
 */

#define FMT_MAX_GROUPS	8
#define FMT_MAX_TEXT	512
#define FMT_MAX_STEPS	100000

typedef struct Fmt
{
	int			ngroups;
	char		text[FMT_MAX_TEXT]; /* the literals, back to back */
	int			lit_off[FMT_MAX_GROUPS + 1];	/* literal i precedes group i */
	int			lit_len[FMT_MAX_GROUPS + 1];
	uint32		group_args[FMT_MAX_GROUPS]; /* bit n: argument n + 1 */
	bool		group_string[FMT_MAX_GROUPS];	/* holds a %s */
} Fmt;

typedef struct Span
{
	size_t		start;
	size_t		end;
} Span;

/* Parses fmt; false for a format this matcher does not handle. */
static bool
fmt_parse(const char *fmt, Fmt *f)
{
	int			nextarg = 1;
	int			tlen = 0;
	bool		in_group = false;
	const char *p = fmt;

	f->ngroups = 0;
	f->lit_off[0] = 0;
	f->lit_len[0] = 0;
	while (*p != '\0')
	{
		if (p[0] == '%' && p[1] != '%')
		{
			const char *q = p + 1;
			int			argno = 0;

			while (*q >= '0' && *q <= '9')
				q++;
			if (*q == '$' && q > p + 1)
			{
				argno = atoi(p + 1);
				q++;
			}
			else
				q = p + 1;
			while (*q != '\0' && strchr("-+ #0'", *q) != NULL)
				q++;
			while (*q >= '0' && *q <= '9')
				q++;
			if (*q == '.')
			{
				q++;
				while (*q >= '0' && *q <= '9')
					q++;
			}
			while (*q != '\0' && strchr("hlLqjzt", *q) != NULL)
				q++;
			if (*q == '\0' || strchr("diouxXeEfFgGaAcsp", *q) == NULL)
				return false;
			if (argno == 0)
				argno = nextarg++;
			else
				nextarg = argno + 1;
			if (argno < 1 || argno > 32)
				return false;
			if (!in_group)
			{
				if (f->ngroups == FMT_MAX_GROUPS)
					return false;
				f->group_args[f->ngroups] = 0;
				f->group_string[f->ngroups] = false;
				f->ngroups++;
				f->lit_off[f->ngroups] = tlen;
				f->lit_len[f->ngroups] = 0;
				in_group = true;
			}
			f->group_args[f->ngroups - 1] |= (uint32) 1 << (argno - 1);
			if (*q == 's')
				f->group_string[f->ngroups - 1] = true;
			p = q + 1;
			continue;
		}
		if (tlen == FMT_MAX_TEXT)
			return false;
		f->text[tlen++] = *p;
		f->lit_len[f->ngroups]++;
		in_group = false;
		p += (p[0] == '%') ? 2 : 1; /* "%%" is one '%' */
	}
	return true;
}

/* Group i starts at pos; the literal after it, and what follows, must match. */
static bool
fmt_match_rest(const Fmt *f, int i, const char *s, size_t slen, size_t pos,
			   Span *spans, int *budget)
{
	const char *lit = f->text + f->lit_off[i + 1];
	size_t		litlen = f->lit_len[i + 1];

	if (i + 1 == f->ngroups)
	{
		/* the last group: its literal ends the text */
		if (slen - pos < litlen || memcmp(s + slen - litlen, lit, litlen) != 0)
			return false;
		spans[i].start = pos;
		spans[i].end = slen - litlen;
		return true;
	}
	for (size_t p = pos; p + litlen <= slen; p++)
	{
		if (--(*budget) <= 0)
			return false;
		if (memcmp(s + p, lit, litlen) == 0)
		{
			spans[i].start = pos;
			spans[i].end = p;
			if (fmt_match_rest(f, i + 1, s, slen, p + litlen, spans, budget))
				return true;
		}
	}
	return false;
}

/* Whether s[0..slen) is what f formats; spans receives each group's text. */
static bool
fmt_match(const Fmt *f, const char *s, size_t slen, Span *spans)
{
	int			budget = FMT_MAX_STEPS;
	size_t		len0 = f->lit_len[0];

	if (slen < len0 || memcmp(s, f->text, len0) != 0)
		return false;
	if (f->ngroups == 0)
		return slen == len0;
	return fmt_match_rest(f, 0, s, slen, len0, spans, &budget);
}

typedef enum RedactHow
{
	REDACT_NONE,				/* the text itself is harmless */
	REDACT_LAST,				/* the last argument (the statement, the value) */
	REDACT_STRINGS,				/* every %s, not the numbers */
	REDACT_ALL					/* every argument */
} RedactHow;

/* Which groups to redact, as a bit mask. */
static uint32
fmt_groups_to_redact(const Fmt *f, RedactHow how)
{
	uint32		mask = 0;
	int			last = -1;
	uint32		highest = 0;

	for (int g = 0; g < f->ngroups; g++)
	{
		switch (how)
		{
			case REDACT_NONE:
				break;
			case REDACT_ALL:
				mask |= (uint32) 1 << g;
				break;
			case REDACT_STRINGS:
				if (f->group_string[g])
					mask |= (uint32) 1 << g;
				break;
			case REDACT_LAST:
				if (f->group_args[g] >= highest)
				{
					highest = f->group_args[g];
					last = g;
				}
				break;
		}
	}
	if (how == REDACT_LAST && last >= 0)
		mask = (uint32) 1 << last;
	return mask;
}

/* s with the chosen groups' text replaced by REDACTED. */
static void
fmt_rewrite(const Fmt *f, const char *s, size_t slen, const Span *spans,
			uint32 mask, Buf *out)
{
	size_t		at = 0;

	for (int g = 0; g < f->ngroups; g++)
	{
		buf_append(out, s + at, spans[g].start - at);
		if (mask & ((uint32) 1 << g))
			buf_append_str(out, REDACTED);
		else
			buf_append(out, s + spans[g].start, spans[g].end - spans[g].start);
		at = spans[g].end;
	}
	buf_append(out, s + at, slen - at);
}

/* fmt in the message domain, as PostgreSQL translated it */
static const char *
translated(const char *domain, const char *fmt)
{
#ifdef ENABLE_NLS
	if (domain != NULL)
		return dgettext(domain, fmt);
#endif
	return fmt;
}

/* ------------------------------------------------------------------------
 * What to redact: PostgreSQL 15's formats
 * ------------------------------------------------------------------------
 */

typedef struct Pattern
{
	const char *fmt;
	RedactHow	how;
	bool		to_end;			/* context: the value runs to the end */
} Pattern;

/*
 * Primary messages that quote the statement (tcop/postgres.c), the plan
 * (auto_explain), a token of it (parser/scan.l), bytes of it (mbutils.c),
 * a value it passes that a type refuses (the input functions), or a node tree
 * of it (nodes/print.c, whose detail is the tree).  Matched by
 * edata->message_id; the detail of those marked is the statement's too.
 */
typedef struct StatementMessage
{
	const char *fmt;
	RedactHow	how;
	bool		statement_detail;
} StatementMessage;

static const StatementMessage statement_messages[] = {
	{"statement: %s", REDACT_LAST, true},
	{"duration: %s ms  statement: %s", REDACT_LAST, true},
	{"duration: %s ms  parse %s: %s", REDACT_LAST, true},
	{"duration: %s ms  bind %s%s%s: %s", REDACT_LAST, true},
	{"duration: %s ms  %s %s%s%s: %s", REDACT_LAST, true},	/* execute */
	{"%s %s%s%s: %s", REDACT_LAST, true},	/* execute <name>: ... */
	{"duration: %.3f ms  plan:\n%s", REDACT_LAST, true},	/* auto_explain */
	{"%s:", REDACT_NONE, true}, /* parse tree:, plan: ... (debug_print_*) */
	{"%s at or near \"%s\"", REDACT_LAST, false},
	{"invalid byte sequence for encoding \"%s\": %s", REDACT_LAST, false},
	{"invalid input syntax for type %s: \"%s\"", REDACT_LAST, false},
};

/* The details of the statement messages. */
static const Pattern statement_details[] = {
	{"parameters: %s", REDACT_ALL, false},
	{"prepare: %s", REDACT_ALL, false},
};

/* Details that quote data: a row, or the JSON token that failed. */
static const Pattern data_details[] = {
	{"Failing row contains %s.", REDACT_ALL, false},
	{"Token \"%s\" is invalid.", REDACT_ALL, false},
	{"Escape sequence \"\\%s\" is invalid.", REDACT_ALL, false},
	{"Character with value 0x%02x must be escaped.", REDACT_ALL, false},
	{"Expected end of input, but found \"%s\".", REDACT_ALL, false},
	{"Expected array element or \"]\", but found \"%s\".", REDACT_ALL, false},
	{"Expected \",\" or \"]\", but found \"%s\".", REDACT_ALL, false},
	{"Expected \":\", but found \"%s\".", REDACT_ALL, false},
	{"Expected JSON value, but found \"%s\".", REDACT_ALL, false},
	{"Expected string or \"}\", but found \"%s\".", REDACT_ALL, false},
	{"Expected \",\" or \"}\", but found \"%s\".", REDACT_ALL, false},
	{"Expected string, but found \"%s\".", REDACT_ALL, false},
};

/*
 * Context lines that quote data.  The portal contexts come from the
 * outermost error callback (postgres.c, params.c), so the value they quote
 * runs to the end of the context, across lines.
 */
static const Pattern data_contexts[] = {
	{"JSON data, line %d: %s%s%s", REDACT_STRINGS, false},
	{"unnamed portal with parameters: %s", REDACT_LAST, true},
	{"portal \"%s\" with parameters: %s", REDACT_LAST, true},
	{"unnamed portal parameter $%d = %s", REDACT_LAST, true},
	{"portal \"%s\" parameter $%d = %s", REDACT_LAST, true},
};

/* deadlock.c's report */
#define DEADLOCK_WAITS_FMT "Process %d waits for %s on %s; blocked by process %d."
#define DEADLOCK_QUERY_FMT "Process %d: %s"
#define DEADLOCK_MAX_PROCS 64

#define POSTGRES_DOMAIN PG_TEXTDOMAIN("postgres")

/*
 * Rewrites s[0..slen) by the first pattern (translated in domain, or in
 * English) it matches, into out.  Returns the pattern, or NULL when none
 * matches (out untouched).
 */
static const Pattern *
rewrite_by_patterns(const char *s, size_t slen, const Pattern *pats, int npats,
					const char *domain, Buf *out)
{
	for (int k = 0; k < npats; k++)
	{
		const char *forms[2];

		forms[0] = translated(domain, pats[k].fmt);
		forms[1] = pats[k].fmt;
		for (int t = 0; t < 2; t++)
		{
			Fmt			f;
			Span		spans[FMT_MAX_GROUPS];

			if (t == 1 && forms[1] == forms[0])
				break;
			if (!fmt_parse(forms[t], &f) || !fmt_match(&f, s, slen, spans))
				continue;
			fmt_rewrite(&f, s, slen, spans, fmt_groups_to_redact(&f, pats[k].how), out);
			return &pats[k];
		}
	}
	return NULL;
}

/* Replaces *part by the result of out (NULL, dropping it, when out failed). */
static void
replace_part(char **part, Buf *out)
{
	*part = buf_finish(out);
}

/* ------------------------------------------------------------------------
 * Redacting the parts of a message
 * ------------------------------------------------------------------------
 */

/* The entry of statement_messages the message is, or NULL. */
static const StatementMessage *
statement_message(const ErrorData *edata)
{
	if (edata->message_id == NULL)
		return NULL;
	for (size_t k = 0; k < lengthof(statement_messages); k++)
	{
		if (strcmp(edata->message_id, statement_messages[k].fmt) == 0)
			return &statement_messages[k];
	}
	return NULL;
}

/* The primary message, when it quotes the statement; the entry, or NULL. */
static const StatementMessage *
redact_message(ErrorData *edata)
{
	const StatementMessage *m = statement_message(edata);
	Buf			out = {0};
	Fmt			f;
	Span		spans[FMT_MAX_GROUPS];
	const char *forms[2];

	if (m == NULL || edata->message == NULL || m->how == REDACT_NONE)
		return m;

	forms[0] = translated(edata->domain, m->fmt);
	forms[1] = m->fmt;
	for (int t = 0; t < 2; t++)
	{
		size_t		len = strlen(edata->message);

		if (t == 1 && forms[1] == forms[0])
			break;
		if (fmt_parse(forms[t], &f) && fmt_match(&f, edata->message, len, spans))
		{
			fmt_rewrite(&f, edata->message, len, spans,
						fmt_groups_to_redact(&f, m->how), &out);
			replace_part(&edata->message, &out);
			return m;
		}
	}
	/* it quotes the statement, but not as expected: all of it goes */
	edata->message = redacted_copy();
	return m;
}

/* The detail: the statement's, a row's or a JSON token's, or naming a function. */
static void
redact_detail(ErrorData *edata, const StatementMessage *m)
{
	Buf			out = {0};
	size_t		len;

	if (edata->detail == NULL)
		return;
	len = strlen(edata->detail);
	if (m != NULL && m->statement_detail)
	{
		if (rewrite_by_patterns(edata->detail, len, statement_details,
								lengthof(statement_details), POSTGRES_DOMAIN, &out) == NULL)
			buf_append_str(&out, REDACTED);
		replace_part(&edata->detail, &out);
		return;
	}
	if (rewrite_by_patterns(edata->detail, len, data_details,
							lengthof(data_details), POSTGRES_DOMAIN, &out) != NULL)
	{
		replace_part(&edata->detail, &out);
		return;
	}
	if (names_function_n(edata->detail, len))
		edata->detail = redacted_copy();
}

/*
 * The context, line by line: data the portal and JSON contexts quote, and
 * everything from the first line that names a password-bearing function.
 */
static void
redact_context(ErrorData *edata)
{
	Buf			out = {0};
	const char *s = edata->context;
	size_t		len;
	size_t		at = 0;
	bool		changed = false;

	if (s == NULL)
		return;
	len = strlen(s);
	while (at <= len)
	{
		const char *nl = memchr(s + at, '\n', len - at);
		size_t		end = nl ? (size_t) (nl - s) : len;
		const Pattern *p;

		if (at > 0)
			buf_append(&out, "\n", 1);
		if (names_function_n(s + at, end - at))
		{
			/* this line quotes a call: it and the rest go */
			buf_append_str(&out, REDACTED);
			changed = true;
			break;
		}
		p = rewrite_by_patterns(s + at, end - at, data_contexts,
								lengthof(data_contexts), POSTGRES_DOMAIN, &out);
		if (p != NULL)
		{
			changed = true;
			if (p->to_end)
				break;
		}
		else
			buf_append(&out, s + at, end - at);
		if (nl == NULL)
			break;
		at = end + 1;
	}
	if (changed)
		replace_part(&edata->context, &out);
	else if (out.data != NULL)
		pfree(out.data);
}

/*
 * Renders the query line's leader of a deadlock report for pid ("Process
 * 123: "): the format up to its query argument.  False when the format is
 * not the one expected.
 */
static bool
deadlock_leader(const Fmt *f, const char *pid, size_t pidlen, Buf *out)
{
	/* "Process ", group {pid}, ": ", group {query}, "" */
	if (f->ngroups != 2 || f->group_args[0] != 1 || f->group_args[1] != 2 ||
		f->lit_len[2] != 0)
		return false;
	buf_append(out, "\n", 1);
	buf_append(out, f->text + f->lit_off[0], f->lit_len[0]);
	buf_append(out, pid, pidlen);
	buf_append(out, f->text + f->lit_off[1], f->lit_len[1]);
	return !out->failed;
}

/*
 * A deadlock report's log-only detail: the client's detail (one "waits for"
 * line per process), then "\nProcess <pid>: <query>" per process, in the
 * same order.  Each query that names a password-bearing function (or is
 * ours, when own) is redacted; when the report cannot be split that way,
 * every query is.
 */
static void
redact_deadlock(ErrorData *edata, bool own)
{
	const char *log = edata->detail_log;
	const char *detail = edata->detail;
	size_t		dlen = strlen(detail);
	size_t		loglen = strlen(log);
	const char *queries = log + dlen;
	size_t		qlen = loglen - dlen;
	struct
	{
		size_t		start;
		size_t		len;
	}			pids[DEADLOCK_MAX_PROCS];
	int			npids = 0;
	Fmt			waits;
	Fmt			query;
	Buf			out = {0};
	size_t		at = 0;
	bool		parsed;
	char		mypid[16];

	snprintf(mypid, sizeof(mypid), "%d", MyProcPid);
	parsed = fmt_parse(translated(POSTGRES_DOMAIN, DEADLOCK_WAITS_FMT), &waits) &&
		fmt_parse(translated(POSTGRES_DOMAIN, DEADLOCK_QUERY_FMT), &query);

	/* the pids, from the "waits for" lines */
	while (parsed && at <= dlen)
	{
		const char *nl = memchr(detail + at, '\n', dlen - at);
		size_t		end = nl ? (size_t) (nl - detail) : dlen;
		Span		spans[FMT_MAX_GROUPS];
		int			g;

		if (npids == DEADLOCK_MAX_PROCS ||
			!fmt_match(&waits, detail + at, end - at, spans))
		{
			parsed = false;
			break;
		}
		for (g = 0; g < waits.ngroups && waits.group_args[g] != 1; g++)
			;
		if (g == waits.ngroups)
		{
			parsed = false;
			break;
		}
		pids[npids].start = at + spans[g].start;
		pids[npids].len = spans[g].end - spans[g].start;
		npids++;
		if (nl == NULL)
			break;
		at = end + 1;
	}

	/* the query lines, each found by its leader */
	buf_append(&out, log, dlen);
	at = 0;
	for (int i = 0; parsed && i < npids; i++)
	{
		Buf			leader = {0};
		Buf			next = {0};
		size_t		qstart;
		size_t		qend;
		const char *pid = detail + pids[i].start;

		if (!deadlock_leader(&query, pid, pids[i].len, &leader) ||
			qlen - at < leader.len || memcmp(queries + at, leader.data, leader.len) != 0)
		{
			parsed = false;
			break;
		}
		qstart = at + leader.len;
		qend = qlen;
		if (i + 1 < npids)
		{
			const char *hit = NULL;

			if (!deadlock_leader(&query, detail + pids[i + 1].start,
								 pids[i + 1].len, &next))
			{
				parsed = false;
				break;
			}
			for (size_t p = qstart; p + next.len <= qlen; p++)
			{
				if (memcmp(queries + p, next.data, next.len) == 0)
				{
					hit = queries + p;
					break;
				}
			}
			if (hit == NULL)
			{
				parsed = false;
				break;
			}
			qend = hit - queries;
		}
		buf_append(&out, leader.data, leader.len);
		if (names_function_n(queries + qstart, qend - qstart) ||
			(own && pids[i].len == strlen(mypid) &&
			 memcmp(pid, mypid, pids[i].len) == 0))
			buf_append_str(&out, REDACTED);
		else
			buf_append(&out, queries + qstart, qend - qstart);
		at = qend;
	}
	if (parsed && at == qlen)
	{
		replace_part(&edata->detail_log, &out);
		return;
	}

	/* not as expected: keep the "waits for" lines, drop every query */
	if (out.data != NULL)
		pfree(out.data);
	memset(&out, 0, sizeof(out));
	buf_append(&out, log, dlen);
	buf_append(&out, "\n", 1);
	buf_append_str(&out, REDACTED);
	replace_part(&edata->detail_log, &out);
}

static void
redact_detail_log(ErrorData *edata, bool own)
{
	if (edata->detail_log == NULL)
		return;
	if (edata->sqlerrcode == ERRCODE_T_R_DEADLOCK_DETECTED &&
		edata->detail != NULL &&
		strncmp(edata->detail_log, edata->detail, strlen(edata->detail)) == 0)
		redact_deadlock(edata, own);
	else if (names_function(edata->detail_log))
		edata->detail_log = redacted_copy();
}

/* ------------------------------------------------------------------------
 * The hook
 * ------------------------------------------------------------------------
 */

/* Whether any part of the message itself names a password-bearing function. */
static bool
message_names_function(const ErrorData *edata)
{
	return names_function(edata->message) ||
		names_function(edata->detail) ||
		names_function(edata->detail_log) ||
		names_function(edata->context) ||
		names_function(edata->internalquery);
}

static void
filter_message(ErrorData *edata)
{
	bool		own;
	const StatementMessage *m;

	own = calls_in_progress > 0 || statement_is_sensitive(debug_query_string);
	if (!own && !message_names_function(edata))
		return;

	edata->hide_stmt = true;

	if (in_error_recursion_trouble())
	{
		/*
		 * Reporting an error about reporting an error: rewrite nothing, drop
		 * what may quote the statement.  The strings stay in ErrorContext.
		 */
		m = statement_message(edata);
		if (m != NULL && m->how != REDACT_NONE)
			edata->message = NULL;
		edata->detail = NULL;
		edata->detail_log = NULL;
		edata->context = NULL;
		edata->internalquery = NULL;
		edata->internalpos = 0;
		return;
	}

	m = redact_message(edata);
	redact_detail(edata, m);
	redact_detail_log(edata, own);
	redact_context(edata);
	if (names_function(edata->internalquery))
	{
		edata->internalquery = redacted_copy();
		edata->internalpos = 0;
	}
}

static void
logfilter_hook(ErrorData *edata)
{
	if (edata != NULL)
		filter_message(edata);
	if (prev_emit_log_hook)
		prev_emit_log_hook(edata);
}

void
fr_logfilter_install(void)
{
	static bool installed = false;

	if (installed)
		return;
	prev_emit_log_hook = emit_log_hook;
	emit_log_hook = logfilter_hook;
	installed = true;
}

/* ------------------------------------------------------------------------
 * Password-bearing calls
 * ------------------------------------------------------------------------
 */

Datum
fr_call_redacted(Datum (*fn) (FunctionCallInfo), FunctionCallInfo fcinfo)
{
	MemoryContext cxt = CurrentMemoryContext;
	Datum		result = (Datum) 0;

	/* later messages of this statement (duration, auto_explain) know it */
	if (debug_query_string != NULL)
	{
		size_t		len = strlen(debug_query_string);

		last_call_hash = hash_bytes((const unsigned char *) debug_query_string,
									(int) Min(len, (size_t) INT_MAX));
		last_call_len = len;
		last_call_set = true;
	}

	calls_in_progress++;
	PG_TRY();
	{
		result = fn(fcinfo);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		calls_in_progress--;
		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();

		/*
		 * The error is logged after this call has returned: hide the
		 * statement here, and the log-only detail, which for a deadlock lists
		 * every process's query text.
		 */
		edata->hide_stmt = true;
		edata->detail_log = NULL;
		ReThrowError(edata);
	}
	PG_END_TRY();
	calls_in_progress--;
	return result;
}
