/*-------------------------------------------------------------------------
 *
 * judge.c
 *	  Judging registration requests (see judge.h).
 *
 * The order, for each request:
 *
 *	1. field rules (validate.c), every field: a JSON value that is not a
 *	   string fails its field with not_a_string; an imported password hash
 *	   must be well formed (pwformat.c), and comes instead of a password;
 *	2. the lookup: one probe per uniqueness rule (registration.c) and per
 *	   request whose field is well formed, plus the USDA record, all under
 *	   one snapshot (probe.c);
 *	3. the idempotency key: known in the database or to an earlier request
 *	   of the call with the same identity -> that registration's result;
 *	   with another identity -> idempotency_key_reused (beside the format
 *	   errors; the database rules are not asked, since the rows the key
 *	   registered would only show up as conflicts);
 *	4. the database rules: taken username or email, unknown USDA record,
 *	   claimed farm;
 *	5. the claims of the accepted requests before it in the call, the first
 *	   one winning, exactly as if they had been registered one call at a
 *	   time: the same rules, the same folding as the unique indexes.
 *
 * A request with no error is accepted and claims its values.  A request's
 * identity (what an idempotency key is compared on) is a BLAKE2b digest of
 * its trimmed username, name, email and usda_uid; never the password.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sodium.h>

#include "access/xact.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"

#include "judge.h"
#include "probe.h"
#include "pwformat.h"
#include "validate.h"

/* What an accepted request claims: a rule and its value's digest. */
typedef struct ClaimKey
{
	int32		rule;
	unsigned char value[16];
} ClaimKey;

typedef struct Claim
{
	ClaimKey	key;
	int			request;
} Claim;

struct FrJudge
{
	FrRegRequest *reqs;
	int			n;
	HTAB	   *claims;
};

FrJudge *
fr_judge_create(FrRegRequest *reqs, int n)
{
	FrJudge    *judge = palloc(sizeof(FrJudge));
	HASHCTL		ctl = {0};

	judge->reqs = reqs;
	judge->n = n;
	ctl.keysize = sizeof(ClaimKey);
	ctl.entrysize = sizeof(Claim);
	ctl.hcxt = CurrentMemoryContext;
	judge->claims = hash_create("farmreg claims", Max(16, Min(n, 4096) * 3), &ctl,
								HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	for (int i = 0; i < n; i++)
		reqs[i].follows = -1;
	return judge;
}

bool
fr_judge_has_key(const FrRegRequest *req)
{
	const FrFieldValue *key = &req->f[FR_FIELD_IDEMPOTENCY_KEY];

	return !key->is_null && req->out.codes[FR_FIELD_IDEMPOTENCY_KEY] == NULL;
}

static bool
field_ok(const FrRegRequest *req, FrField field)
{
	return !req->f[field].is_null && req->out.codes[field] == NULL;
}

/* BLAKE2b of the request's identity: username, name, email, usda_uid. */
static void
request_digest(FrRegRequest *req)
{
	static const FrField parts[] = {
		FR_FIELD_USERNAME, FR_FIELD_NAME, FR_FIELD_EMAIL, FR_FIELD_USDA_UID
	};
	crypto_generichash_state state;

	crypto_generichash_init(&state, NULL, 0, FR_DIGEST_BYTES);
	for (int i = 0; i < (int) lengthof(parts); i++)
	{
		const FrFieldValue *f = &req->f[parts[i]];
		uint64		len = f->len;
		unsigned char lenbytes[8];

		/* length-prefixed, so ("ab","c") and ("a","bc") differ */
		for (int b = 0; b < 8; b++)
			lenbytes[b] = (unsigned char) (len >> (8 * b));
		crypto_generichash_update(&state, lenbytes, sizeof(lenbytes));
		crypto_generichash_update(&state, (const unsigned char *) f->utf8, f->len);
	}
	crypto_generichash_final(&state, req->digest, FR_DIGEST_BYTES);
}

/* 1. The field rules. */
static void
check_fields(FrRegRequest *req)
{
	const FrFieldValue *f = req->f;
	const char **codes = req->out.codes;
	const FrFieldValue *hash = &f[FR_FIELD_PASSWORD_HASH];

	for (int i = 0; i < FR_NFIELDS; i++)
		codes[i] = f[i].not_string ? FR_CODE_NOT_A_STRING : NULL;

	if (codes[FR_FIELD_USERNAME] == NULL)
		codes[FR_FIELD_USERNAME] =
			fr_check_username(f[FR_FIELD_USERNAME].utf8, f[FR_FIELD_USERNAME].len);

	/* a password, or instead an imported hash of one */
	if (hash->is_null && !hash->not_string)
	{
		if (codes[FR_FIELD_PASSWORD] == NULL)
			codes[FR_FIELD_PASSWORD] =
				fr_check_password(f[FR_FIELD_PASSWORD].utf8, f[FR_FIELD_PASSWORD].len);
	}
	else if (codes[FR_FIELD_PASSWORD_HASH] == NULL)
	{
		/* both, or a hash farmreg cannot use */
		if (!f[FR_FIELD_PASSWORD].is_null || f[FR_FIELD_PASSWORD].not_string ||
			fr_hash_check(hash->utf8, hash->len, NULL) == FR_HASH_INVALID)
			codes[FR_FIELD_PASSWORD_HASH] = FR_CODE_PASSWORD_HASH_INVALID;
	}

	if (codes[FR_FIELD_NAME] == NULL)
		codes[FR_FIELD_NAME] = fr_check_name(f[FR_FIELD_NAME].utf8, f[FR_FIELD_NAME].len);
	if (codes[FR_FIELD_EMAIL] == NULL)
		codes[FR_FIELD_EMAIL] = fr_check_email(f[FR_FIELD_EMAIL].utf8, f[FR_FIELD_EMAIL].len);
	if (codes[FR_FIELD_USDA_UID] == NULL)
		codes[FR_FIELD_USDA_UID] =
			fr_check_usda_uid(f[FR_FIELD_USDA_UID].utf8, f[FR_FIELD_USDA_UID].len);
	if (codes[FR_FIELD_IDEMPOTENCY_KEY] == NULL)
		codes[FR_FIELD_IDEMPOTENCY_KEY] =
			fr_check_idempotency_key(f[FR_FIELD_IDEMPOTENCY_KEY].utf8,
									 f[FR_FIELD_IDEMPOTENCY_KEY].len,
									 f[FR_FIELD_IDEMPOTENCY_KEY].is_null);

	/* the request's identity matters only to compare it with a key's */
	if (fr_judge_has_key(req))
		request_digest(req);
}

/* What the key table says for req's key, found by the probe p. */
static void
read_key(FrRegRequest *req, FrProbe *p, AttrNumber *att)
{
	bool		isnull;
	Datum		stored = fr_probe_get(p, att[0], &isnull);

	req->key_found = true;
	req->key_matches = false;
	if (!isnull)
	{
		bytea	   *digest = DatumGetByteaPP(stored);

		req->key_matches = VARSIZE_ANY_EXHDR(digest) == FR_DIGEST_BYTES &&
			memcmp(VARDATA_ANY(digest), req->digest, FR_DIGEST_BYTES) == 0;
	}
	for (int i = 0; i < 3; i++)
		req->key_ids[i] = DatumGetInt64(fr_probe_get(p, att[1 + i], &isnull));
}

static void
open_key_probe(FrProbe *p, AttrNumber *att, Snapshot snap)
{
	static const char *const columns[4] = {
		"request_digest", "user_id", "farm_id", "farmer_id"
	};

	fr_probe_open(p, fr_unique_rules[FR_RULE_KEY].index, snap);
	for (int i = 0; i < 4; i++)
		att[i] = fr_probe_attnum(p, columns[i]);
}

/* 2. The lookup, for reqs[0..n). */
static void
lookup(FrRegRequest *reqs, int n, MemoryContext keep)
{
	Snapshot	snap = fr_probe_snapshot();
	FrProbe		p;
	AttrNumber	att[4];
	bool		key_probe_open = false;

	/* taken usernames and emails */
	for (int r = FR_RULE_USERNAME; r <= FR_RULE_EMAIL; r++)
	{
		const FrUniqueRule *rule = &fr_unique_rules[r];

		fr_probe_open(&p, rule->index, snap);
		for (int i = 0; i < n; i++)
		{
			CHECK_FOR_INTERRUPTS();
			if (field_ok(&reqs[i], rule->field))
				reqs[i].taken[r] = fr_probe_find(&p, fr_rule_fold(rule, &reqs[i].f[rule->field]));
		}
		fr_probe_close(&p);
	}

	/* the USDA record, and whether its farm is claimed */
	fr_probe_open(&p, FR_USDA_INDEX, snap);
	att[0] = fr_probe_attnum(&p, "id");
	att[1] = fr_probe_attnum(&p, "name");
	for (int i = 0; i < n; i++)
	{
		CHECK_FOR_INTERRUPTS();
		if (field_ok(&reqs[i], FR_FIELD_USDA_UID) &&
			fr_probe_find(&p, fr_field_text(&reqs[i].f[FR_FIELD_USDA_UID])))
		{
			bool		isnull;
			MemoryContext old;

			reqs[i].usda_found = true;
			reqs[i].usda_farm_id = DatumGetInt64(fr_probe_get(&p, att[0], &isnull));
			old = MemoryContextSwitchTo(keep);
			reqs[i].usda_name = DatumGetTextPCopy(fr_probe_get(&p, att[1], &isnull));
			MemoryContextSwitchTo(old);
		}
	}
	fr_probe_close(&p);

	fr_probe_open(&p, fr_unique_rules[FR_RULE_FARM].index, snap);
	for (int i = 0; i < n; i++)
	{
		CHECK_FOR_INTERRUPTS();
		if (reqs[i].usda_found)
			reqs[i].taken[FR_RULE_FARM] =
				fr_probe_find(&p, Int64GetDatum(reqs[i].usda_farm_id));
	}
	fr_probe_close(&p);

	/* idempotency keys: most requests have none, and pay nothing here */
	for (int i = 0; i < n; i++)
	{
		if (!fr_judge_has_key(&reqs[i]))
			continue;
		if (!key_probe_open)
		{
			open_key_probe(&p, att, snap);
			key_probe_open = true;
		}
		CHECK_FOR_INTERRUPTS();
		if (fr_probe_find(&p, fr_rule_fold(&fr_unique_rules[FR_RULE_KEY],
										   &reqs[i].f[FR_FIELD_IDEMPOTENCY_KEY])))
			read_key(&reqs[i], &p, att);
	}
	if (key_probe_open)
		fr_probe_close(&p);

	fr_probe_unsnapshot(snap);
}

bool
fr_judge_key_answers(FrRegRequest *req)
{
	MemoryContext cxt = CurrentMemoryContext;
	Snapshot	snap = fr_probe_snapshot();
	FrProbe		p;
	AttrNumber	att[4];
	bool		found;

	open_key_probe(&p, att, snap);
	found = fr_probe_find(&p, fr_rule_fold(&fr_unique_rules[FR_RULE_KEY],
										   &req->f[FR_FIELD_IDEMPOTENCY_KEY]));
	if (found)
		read_key(req, &p, att);
	fr_probe_close(&p);
	fr_probe_unsnapshot(snap);
	MemoryContextSwitchTo(cxt);
	if (!found)
		return false;

	memset(&req->out, 0, sizeof(req->out));
	if (req->key_matches)
	{
		req->out.ok = true;
		memcpy(req->out.ids, req->key_ids, sizeof(req->out.ids));
	}
	else
	{
		req->out.codes[FR_FIELD_IDEMPOTENCY_KEY] = FR_CODE_IDEMPOTENCY_KEY_REUSED;
		req->out.failed_step = FR_STEP_VALIDATE;
	}
	return true;
}

/* The claim of rule on req's value. */
static void
claim_key(const FrRegRequest *req, int rule, ClaimKey *key)
{
	const FrUniqueRule *r = &fr_unique_rules[rule];
	const FrFieldValue *f = &req->f[r->field];

	memset(key, 0, sizeof(*key));
	key->rule = rule;
	if (r->value == FR_VALUE_USDA_FARM_ID)
		crypto_generichash(key->value, sizeof(key->value),
						   (const unsigned char *) &req->usda_farm_id,
						   sizeof(req->usda_farm_id), NULL, 0);
	else if (r->fold == FR_FOLD_ASCII_CASE)
	{
		crypto_generichash_state state;

		crypto_generichash_init(&state, NULL, 0, sizeof(key->value));
		for (size_t i = 0; i < f->len; i++)
		{
			unsigned char c = pg_ascii_tolower((unsigned char) f->utf8[i]);

			crypto_generichash_update(&state, &c, 1);
		}
		crypto_generichash_final(&state, key->value, sizeof(key->value));
	}
	else
		crypto_generichash(key->value, sizeof(key->value),
						   (const unsigned char *) f->utf8, f->len, NULL, 0);
}

static Claim *
find_claim(FrJudge *judge, const FrRegRequest *req, int rule)
{
	ClaimKey	key;

	claim_key(req, rule, &key);
	return hash_search(judge->claims, &key, HASH_FIND, NULL);
}

static void
claim(FrJudge *judge, int i, int rule)
{
	ClaimKey	key;
	Claim	   *c;

	claim_key(&judge->reqs[i], rule, &key);
	c = hash_search(judge->claims, &key, HASH_ENTER, NULL);
	c->request = i;
}

/* 3. The idempotency key.  True when it answers the request. */
static bool
judge_key(FrJudge *judge, int i)
{
	FrRegRequest *req = &judge->reqs[i];
	FrOutcome  *out = &req->out;
	Claim	   *c;
	bool		same;

	if (!fr_judge_has_key(req))
		return false;
	if (req->key_found)
		same = req->key_matches;
	else if ((c = find_claim(judge, req, FR_RULE_KEY)) != NULL)
	{
		same = memcmp(judge->reqs[c->request].digest, req->digest,
					  FR_DIGEST_BYTES) == 0;
		if (same)
		{
			/* the password is not compared: this is that request again */
			memset(out, 0, sizeof(*out));
			req->follows = c->request;
			return true;
		}
	}
	else
		return false;

	if (same)
	{
		memset(out, 0, sizeof(*out));
		out->ok = true;
		memcpy(out->ids, req->key_ids, sizeof(out->ids));
	}
	else
	{
		out->codes[FR_FIELD_IDEMPOTENCY_KEY] = FR_CODE_IDEMPOTENCY_KEY_REUSED;
		out->failed_step = FR_STEP_VALIDATE;
	}
	return true;
}

void
fr_judge(FrJudge *judge, int first, int count)
{
	MemoryContext keep = CurrentMemoryContext;
	MemoryContext tmp;
	FrRegRequest *reqs = judge->reqs + first;

	Assert(first >= 0 && first + count <= judge->n);
	tmp = AllocSetContextCreate(keep, "farmreg judge", ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(tmp);

	for (int i = 0; i < count; i++)
		check_fields(&reqs[i]);
	lookup(reqs, count, keep);

	MemoryContextSwitchTo(keep);
	for (int i = first; i < first + count; i++)
	{
		FrRegRequest *req = &judge->reqs[i];
		const char **codes = req->out.codes;

		CHECK_FOR_INTERRUPTS();
		if (judge_key(judge, i))
			continue;

		/* 4. the database, then 5. the requests before it in the call */
		for (int r = FR_RULE_USERNAME; r <= FR_RULE_FARM; r++)
		{
			FrField		field = fr_unique_rules[r].field;

			if (codes[field] != NULL)
				continue;
			if (r == FR_RULE_FARM && !req->usda_found)
				codes[field] = FR_CODE_INVALID_USDA_UID;
			else if (req->taken[r] || find_claim(judge, req, r) != NULL)
				codes[field] = fr_unique_rules[r].code;
		}
		if (fr_outcome_has_field_errors(&req->out))
		{
			req->out.failed_step = FR_STEP_VALIDATE;
			continue;
		}

		req->accepted = true;
		for (int r = 0; r < FR_NRULES; r++)
		{
			if (r != FR_RULE_KEY || fr_judge_has_key(req))
				claim(judge, i, r);
		}
	}
	MemoryContextDelete(tmp);
}
