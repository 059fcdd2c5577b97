/* placeholder until the password-format module lands */
#include <sodium.h>
#include <string.h>

#include "pwformat.h"

FrHashFormat
fr_hash_check(const char *hash, size_t len, const char **reason)
{
	(void) hash;
	(void) len;
	*reason = "imported password hashes are not supported yet";
	return FR_HASH_INVALID;
}

int
fr_hash_verify(const char *hash, size_t hashlen, const char *password, size_t pwlen)
{
	(void) hashlen;
	if (strncmp(hash, "$argon2id$", 10) != 0)
		return -1;
	return crypto_pwhash_argon2id_str_verify(hash, password, pwlen) == 0 ? 1 : 0;
}

bool
fr_hash_needs_rehash(const char *hash, size_t len, unsigned long long opslimit,
					 size_t memlimit_bytes)
{
	(void) len;
	return crypto_pwhash_argon2id_str_needs_rehash(hash, opslimit, memlimit_bytes) != 0;
}
