/*-------------------------------------------------------------------------
 *
 * tap.h
 *	  TAP output for the unit tests of test/unit/: one "ok N - ..." or
 *	  "not ok N - ..." line per check, "# ..." diagnostics; the test prints
 *	  the plan "1..N" itself at the end (tests_run) and exits 1 when
 *	  tests_failed > 0.  Header-only: each unit test is one program.
 *
 *-------------------------------------------------------------------------
 */
#ifndef FARMREG_TAP_H
#define FARMREG_TAP_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

static int	tests_run = 0;
static int	tests_failed = 0;

static bool check(bool passed, const char *fmt,...)
			__attribute__((format(printf, 2, 3)));
static void diag(const char *fmt,...) __attribute__((format(printf, 1, 2)));

/* Reports one check; fmt describes it. */
static bool
check(bool passed, const char *fmt,...)
{
	va_list		ap;

	tests_run++;
	if (!passed)
		tests_failed++;
	printf("%s %d - ", passed ? "ok" : "not ok", tests_run);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	return passed;
}

/* A diagnostic line, shown under a failed check. */
static void
diag(const char *fmt,...)
{
	va_list		ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

#endif							/* FARMREG_TAP_H */
