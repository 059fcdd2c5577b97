/* placeholder until the password-format module lands; see fr_hash_check */
#ifndef FARMREG_PWFORMAT_H
#define FARMREG_PWFORMAT_H

#include <stdbool.h>
#include <stddef.h>

typedef enum FrHashFormat
{
	FR_HASH_INVALID = 0,
	FR_HASH_ARGON2ID,
	FR_HASH_ARGON2I,
	FR_HASH_BCRYPT,
	FR_HASH_SHA512CRYPT,
	FR_HASH_PBKDF2_SHA256
} FrHashFormat;

extern FrHashFormat fr_hash_check(const char *hash, size_t len, const char **reason);
extern int	fr_hash_verify(const char *hash, size_t hashlen, const char *password, size_t pwlen);
extern bool fr_hash_needs_rehash(const char *hash, size_t len, unsigned long long opslimit,
								 size_t memlimit_bytes);

#endif
