/*-------------------------------------------------------------------------
 *
 * password.h
 *	  argon2id password hashing through libsodium, costs from GUCs.
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

extern void fr_password_init(void);

/*
 * Hashes a password with the configured costs into out, a buffer of
 * crypto_pwhash_argon2id_STRBYTES bytes.  Returns false if libsodium could not (it
 * fails only when it cannot allocate the memory the costs ask for).
 */
extern bool fr_password_hash(const char *password, size_t len,
							 char out[crypto_pwhash_argon2id_STRBYTES]);

/*
 * True when password matches hash.  A NULL hash (no such user) is checked
 * against a decoy with the configured costs, so that an unknown login takes
 * as long as a wrong password, and yields false.
 */
extern bool fr_password_verify(const char *hash, const char *password, size_t len);

#endif							/* FARMREG_PASSWORD_H */
