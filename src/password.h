/*-------------------------------------------------------------------------
 *
 * password.h
 *	  Making and checking password hashes: argon2id through libsodium at the
 *	  configured costs for new hashes, every stored format (pwformat.h) for
 *	  checking, all of it under the hashing budget (hashbudget.h).
 *
 *-------------------------------------------------------------------------
 */
#ifndef FARMREG_PASSWORD_H
#define FARMREG_PASSWORD_H

#include <sodium.h>

/* GUCs farmreg.password_opslimit and farmreg.password_memlimit (kB) */
extern int	farmreg_password_opslimit;
extern int	farmreg_password_memlimit_kb;

#define FR_OPSLIMIT_DEFAULT	2
#define FR_MEMLIMIT_KB_DEFAULT (19 * 1024)
#define FR_HASH_STRBYTES	crypto_pwhash_argon2id_STRBYTES

extern void fr_password_init(void);

/*
 * Hashes a password at the configured costs into out.  False when the
 * hashing budget had no place for it within farmreg.hash_wait.  Raises
 * ERRCODE_OUT_OF_MEMORY when libsodium cannot get the memory the costs ask.
 */
extern bool fr_password_hash(const char *password, size_t len,
							 char out[FR_HASH_STRBYTES]);

/*
 * Checks a password against a stored hash (any format pwformat.h accepts).
 * A NULL hash is an unknown login: checked against decoy, a stored hash of
 * some user (or, with no users, one at the configured costs), so that it
 * costs what a wrong password costs, and yields false.  Raises SQLSTATE
 * 53000 (insufficient resources) when the budget had no place in time:
 * "busy" must not look like "wrong password".
 */
extern bool fr_password_verify(const char *hash, const char *decoy,
							   const char *password, size_t len);

/* True when a stored hash should be replaced by one at the current costs. */
extern bool fr_password_needs_rehash(const char *hash);

#endif							/* FARMREG_PASSWORD_H */
