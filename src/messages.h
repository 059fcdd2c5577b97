/*-------------------------------------------------------------------------
 *
 * messages.h
 *	  Error code + locale -> copy, from farmreg.messages.
 *
 *-------------------------------------------------------------------------
 */
#ifndef FARMREG_MESSAGES_H
#define FARMREG_MESSAGES_H

/* GUC farmreg.locale: the locale used when a call names none */
extern char *farmreg_locale;

#define FR_DEFAULT_LOCALE "en"

/*
 * Looks up the copy of ncodes codes in the locale (NULL: farmreg.locale),
 * falling back from a regional locale to its language and from there to en.
 * messages[i] receives a palloc'd string, or NULL for a code the catalog does
 * not know.  One query; the caller must be connected to SPI.  read_only is
 * passed on to SPI (true from STABLE functions).
 */
extern void fr_messages_lookup(const char *const *codes, int ncodes,
							  const char *locale, bool read_only,
							  char **messages);

#endif							/* FARMREG_MESSAGES_H */
