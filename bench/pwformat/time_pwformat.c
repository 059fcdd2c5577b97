/*-------------------------------------------------------------------------
 *
 * time_pwformat.c
 *	  What one fr_hash_verify costs, per stored format and cost: the figures
 *	  behind the cost ceilings of src/pwformat.h.
 *
 *	make -C bench/pwformat				build and run (REPEAT=5)
 *	bench/pwformat/time_pwformat [REPEAT]
 *
 * For every row of the table below, a hash of that format and those costs
 * (fr_hash_decoy: verification costs what a real hash's does, the digest
 * just never matches) is verified REPEAT times on one thread, with a
 * 28-byte password unless the row says otherwise (sha512-crypt's rounds
 * cost more for longer passwords; nothing else's does); the median
 * and the fastest wall-clock time and the median CPU time of the thread are
 * printed, in milliseconds.  CPU time is what other load on a shared
 * machine disturbs least.  Not a test: nothing here passes or fails.
 *
 *-------------------------------------------------------------------------
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "pwformat.h"

typedef struct Row
{
	const char *what;
	FrHashParams params;
	size_t		pwlen;			/* bytes of password */
} Row;

static const Row rows[] = {
	{"bcrypt cost 10", {FR_HASH_BCRYPT, 10, 0, 0, 22, 31}, 28},
	{"bcrypt cost 12 (Devise's default)", {FR_HASH_BCRYPT, 12, 0, 0, 22, 31}, 28},
	{"bcrypt cost 14", {FR_HASH_BCRYPT, 14, 0, 0, 22, 31}, 28},
	{"bcrypt cost 15", {FR_HASH_BCRYPT, 15, 0, 0, 22, 31}, 28},
	{"sha512-crypt 5000 rounds (the default)", {FR_HASH_SHA512CRYPT, 5000, 0, 0, 16, 86}, 28},
	{"sha512-crypt 656000 rounds (passlib's default)", {FR_HASH_SHA512CRYPT, 656000, 0, 0, 16, 86}, 28},
	{"sha512-crypt at the ceiling", {FR_HASH_SHA512CRYPT, FR_SHA512CRYPT_ROUNDS_MAX, 0, 0, 16, 86}, 28},
	{"sha512-crypt at the ceiling, 8-byte password", {FR_HASH_SHA512CRYPT, FR_SHA512CRYPT_ROUNDS_MAX, 0, 0, 16, 86}, 8},
	{"sha512-crypt at the ceiling, 511-byte password", {FR_HASH_SHA512CRYPT, FR_SHA512CRYPT_ROUNDS_MAX, 0, 0, 16, 86}, 511},
	{"pbkdf2_sha256 870000 (Django 5.1)", {FR_HASH_PBKDF2_SHA256, 870000, 0, 0, 22, 32}, 28},
	{"pbkdf2_sha256 1000000 (Django 5.2)", {FR_HASH_PBKDF2_SHA256, 1000000, 0, 0, 22, 32}, 28},
	{"pbkdf2_sha256 at the ceiling", {FR_HASH_PBKDF2_SHA256, FR_PBKDF2_ITERATIONS_MAX, 0, 0, 22, 32}, 28},
	{"pbkdf2_sha256 at the ceiling, 4096-byte password", {FR_HASH_PBKDF2_SHA256, FR_PBKDF2_ITERATIONS_MAX, 0, 0, 22, 32}, 4096},
	{"argon2id m=19MiB t=2 p=1 (farmreg's default)", {FR_HASH_ARGON2ID, 2, 19456, 1, 16, 32}, 28},
	{"argon2id m=19MiB t=2 p=4", {FR_HASH_ARGON2ID, 2, 19456, 4, 16, 32}, 28},
	{"argon2id m=64MiB t=3 p=4 (RFC 9106's second choice)", {FR_HASH_ARGON2ID, 3, 65536, 4, 16, 32}, 28},
	{"argon2i m=4MiB t=3 p=1 (the argon2 tool's default)", {FR_HASH_ARGON2I, 3, 4096, 1, 16, 32}, 28},
};

static double
ms_between(const struct timespec *a, const struct timespec *b)
{
	return (double) (b->tv_sec - a->tv_sec) * 1e3 +
		(double) (b->tv_nsec - a->tv_nsec) / 1e6;
}

static int
by_value(const void *a, const void *b)
{
	double		x = *(const double *) a;
	double		y = *(const double *) b;

	return (x > y) - (x < y);
}

int
main(int argc, char **argv)
{
	int			repeat = argc > 1 ? atoi(argv[1]) : 5;
	double	   *wall;
	double	   *cpu;
	static char password[4096];

	if (repeat < 1 || sodium_init() < 0)
	{
		fprintf(stderr, "usage: time_pwformat [REPEAT >= 1]\n");
		return 2;
	}
	wall = malloc(sizeof(double) * (size_t) repeat);
	cpu = malloc(sizeof(double) * (size_t) repeat);
	if (wall == NULL || cpu == NULL)
		return 1;
	memset(password, 'p', sizeof(password));

	printf("one fr_hash_verify, %d times each, one thread (ms)\n\n", repeat);
	printf("| %-52s | %9s | %9s | %9s |\n", "hash", "median", "fastest", "CPU");
	printf("|%s|%s|%s|%s|\n", "------------------------------------------------------",
		   "-----------", "-----------", "-----------");
	for (size_t r = 0; r < sizeof(rows) / sizeof(rows[0]); r++)
	{
		char		hash[FR_HASH_MAX_LEN + 1];
		size_t		n = fr_hash_decoy(&rows[r].params, hash, sizeof(hash));

		if (n == 0)
		{
			printf("| %-52s | no such hash |\n", rows[r].what);
			continue;
		}
		for (int i = 0; i < repeat; i++)
		{
			struct timespec w0,
						w1,
						c0,
						c1;
			int			rc;

			clock_gettime(CLOCK_MONOTONIC, &w0);
			clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
			rc = fr_hash_verify(hash, n, password, rows[r].pwlen);
			clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1);
			clock_gettime(CLOCK_MONOTONIC, &w1);
			if (rc != 0)
			{
				fprintf(stderr, "%s: verify answered %d\n", rows[r].what, rc);
				return 1;
			}
			wall[i] = ms_between(&w0, &w1);
			cpu[i] = ms_between(&c0, &c1);
		}
		qsort(wall, (size_t) repeat, sizeof(double), by_value);
		qsort(cpu, (size_t) repeat, sizeof(double), by_value);
		printf("| %-52s | %9.1f | %9.1f | %9.1f |\n", rows[r].what,
			   wall[repeat / 2], wall[0], cpu[repeat / 2]);
		fflush(stdout);
	}
	free(wall);
	free(cpu);
	return 0;
}
