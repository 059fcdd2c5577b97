#!/usr/bin/python3
#
# test/unit/pwformat_kat.py -- known-answer hashes for test_pwformat.c,
# made by tools that have nothing to do with farmreg
#
#   /usr/bin/python3 test/unit/pwformat_kat.py OUTPUT
#
# Writes OUTPUT, one case a line, tab-separated (the hash last: no accepted
# hash holds a tab):
#
#   kat     LABEL FORMAT COST MEMORY_KIB LANES SALT_LEN DIGEST_LEN PASSWORD_HEX HASH
#   rehash  LABEL OPSLIMIT MEMLIMIT_BYTES EXPECTED HASH
#
# A kat line is a hash of the password (hex, so any bytes) with the
# parameters the tool was asked for, as fr_hash_parse must report them
# (see src/pwformat.h for what each column means per format).  A rehash line
# is what fr_hash_needs_rehash must answer for that hash at those costs.
#
# The tools (run fresh every time, so a wrong answer cannot be baked in):
#   bcrypt         Debian's python3-bcrypt (OpenBSD's bcrypt code)
#   sha512-crypt   mkpasswd, from Debian's whois package
#   pbkdf2_sha256  hashlib.pbkdf2_hmac, written in Django's format:
#                  pbkdf2_sha256$<iterations>$<salt>$<base64 of the 32 bytes>
#   argon2id/i     the argon2 command-line tool (Debian's argon2 package, the
#                  reference implementation)
#
# Run with Debian's /usr/bin/python3: the python3 first on PATH may not see
# Debian's python3-bcrypt.  Exits non-zero, saying why, when a tool is
# missing or writes something unexpected.

import base64
import hashlib
import re
import secrets
import string
import subprocess
import sys

try:
    import bcrypt
except ImportError:
    sys.exit("pwformat_kat.py: python3-bcrypt is not installed (Debian package python3-bcrypt)")

ALNUM = string.ascii_letters + string.digits
CRYPT64 = "./" + string.digits + string.ascii_letters

cases = []


def kat(label, fmt, cost, memory_kib, lanes, salt_len, digest_len, password, hashed):
    cases.append("\t".join(["kat", label, fmt, str(cost), str(memory_kib), str(lanes),
                            str(salt_len), str(digest_len), password.hex(), hashed]))


def rehash(label, opslimit, memlimit_bytes, expected, hashed):
    cases.append("\t".join(["rehash", label, str(opslimit), str(memlimit_bytes),
                            "1" if expected else "0", hashed]))


def run(argv, stdin):
    try:
        done = subprocess.run(argv, input=stdin, capture_output=True, check=False)
    except FileNotFoundError:
        sys.exit("pwformat_kat.py: %s is not installed" % argv[0])
    if done.returncode != 0:
        sys.exit("pwformat_kat.py: %s failed: %s" % (" ".join(argv[:3]),
                                                      done.stderr.decode(errors="replace")))
    return done.stdout.decode().strip()


def expect(shape, hashed, tool):
    if not re.fullmatch(shape, hashed):
        sys.exit("pwformat_kat.py: %s wrote something unexpected: %r" % (tool, hashed))
    return hashed


UTF8 = "contraseña-Ñandú-🐄".encode()

# ---------------------------------------------------------------------------
# bcrypt: python3-bcrypt.  It writes $2a$ and $2b$ itself, and $2y$ when
# given a $2y$ salt (it computes $2b$ and puts the $2y$ prefix back).
# ---------------------------------------------------------------------------


def bcrypt_hash(password, cost, variant):
    salt = bcrypt.gensalt(cost, prefix=b"2b")
    salt = b"$" + variant + salt[3:]
    hashed = bcrypt.hashpw(password, salt).decode()
    return expect(r"\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}", hashed, "python3-bcrypt")


for label, password, cost, variant in [
    ("bcrypt 2b cost 4", b"correct horse battery staple", 4, b"2b"),
    ("bcrypt 2a cost 5 UTF-8", UTF8, 5, b"2a"),
    ("bcrypt 2y cost 4", b"Tr0ub4dor&3", 4, b"2y"),
    ("bcrypt 2b cost 10", b"rails-has-secure-password", 10, b"2b"),
    ("bcrypt 2b 72 bytes", bytes(ALNUM * 2, "ascii")[:72], 4, b"2b"),
    ("bcrypt 2b 100 bytes", bytes(ALNUM * 2, "ascii")[:100], 4, b"2b"),
    ("bcrypt 2a 200 bytes UTF-8", ("ñ" * 100).encode(), 4, b"2a"),
    ("bcrypt 2b 600 bytes", b"x" * 300 + b"y" * 300, 4, b"2b"),
    ("bcrypt 2b empty", b"", 4, b"2b"),
]:
    hashed = bcrypt_hash(password, cost, variant)
    kat(label, "bcrypt", cost, 0, 0, 22, 31, password, hashed)
    rehash(label, 2, 19456 * 1024, True, hashed)

# ---------------------------------------------------------------------------
# sha512-crypt: mkpasswd (salts of 8 to 16 characters; without -S it makes
# a random 16-character one).
# ---------------------------------------------------------------------------


def sha512crypt(password, salt=None, rounds=None):
    argv = ["mkpasswd", "--method=sha512crypt", "--stdin"]
    if salt is not None:
        argv.append("--salt=" + salt)
    if rounds is not None:
        argv.append("--rounds=%d" % rounds)
    # mkpasswd reads one line and drops its newline
    hashed = run(argv, password + b"\n")
    return expect(r"\$6\$(rounds=[1-9]\d*\$)?[./0-9A-Za-z]{1,16}\$[./0-9A-Za-z]{86}",
                  hashed, "mkpasswd")


for label, password, salt, rounds in [
    ("sha512crypt default rounds", b"correct horse battery staple", None, None),
    ("sha512crypt rounds 1000 UTF-8", UTF8, "abcdefgh", 1000),
    ("sha512crypt rounds 5000 named", b"Tr0ub4dor&3", "".join(secrets.choice(CRYPT64) for _ in range(16)), 5000),
    ("sha512crypt rounds 12345", b"p@ss w0rd", "".join(secrets.choice(CRYPT64) for _ in range(12)), 12345),
    ("sha512crypt 400 bytes", bytes(ALNUM * 7, "ascii")[:400], "saltsalt", None),
]:
    hashed = sha512crypt(password, salt, rounds)
    salt_len = len(hashed.split("$")[-2])
    kat(label, "sha512crypt", rounds or 5000, 0, 0, salt_len, 86, password, hashed)
    rehash(label, 2, 19456 * 1024, True, hashed)

# ---------------------------------------------------------------------------
# Django's pbkdf2_sha256: hashlib, in the format of Django's
# PBKDF2PasswordHasher.encode (salt used as text; standard base64 of the
# 32-byte digest, with its padding).  Django's salts are letters and digits:
# 12 of them before Django 3.1, 22 since.
# ---------------------------------------------------------------------------


def django_pbkdf2(password, salt, iterations):
    digest = hashlib.pbkdf2_hmac("sha256", password, salt.encode(), iterations)
    return "pbkdf2_sha256$%d$%s$%s" % (iterations, salt, base64.b64encode(digest).decode())


for label, password, salt, iterations in [
    ("pbkdf2 1000 iterations", b"correct horse battery staple", "".join(secrets.choice(ALNUM) for _ in range(22)), 1000),
    # Django 3.2 LTS's default; a higher one costs seconds under the sanitizers
    ("pbkdf2 Django 3.2 260000 iterations", b"django-admin", "".join(secrets.choice(ALNUM) for _ in range(22)), 260000),
    ("pbkdf2 1 iteration old salt", UTF8, "".join(secrets.choice(ALNUM) for _ in range(12)), 1),
    ("pbkdf2 punctuated salt", b"Tr0ub4dor&3", "a.b-c_d!~{}", 2),
    ("pbkdf2 empty password", b"", "emptysalt", 3),
    ("pbkdf2 1000 bytes", bytes(ALNUM * 17, "ascii")[:1000], "longpw", 10),
]:
    hashed = django_pbkdf2(password, salt, iterations)
    kat(label, "pbkdf2_sha256", iterations, 0, 0, len(salt), 32, password, hashed)
    rehash(label, 2, 19456 * 1024, True, hashed)

# ---------------------------------------------------------------------------
# argon2id / argon2i: the argon2 tool.  The salt is its argument (text, at
# least 8 characters); the password is all of stdin (at most 127 bytes).
# ---------------------------------------------------------------------------


def argon2(password, salt, kind, t, m_kib, p, length):
    argv = ["argon2", salt, "-" + kind, "-t", str(t), "-k", str(m_kib), "-p", str(p),
            "-l", str(length), "-e"]
    hashed = run(argv, password)
    return expect(r"\$argon2(id|i)\$v=19\$m=\d+,t=\d+,p=\d+\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+",
                  hashed, "argon2")


SALT16 = "".join(secrets.choice(ALNUM) for _ in range(16))
for label, password, salt, kind, t, m, p, length, rehash_at_defaults in [
    # libsodium's own shape at farmreg's default costs: the only one that
    # needs no re-hash
    ("argon2id farmreg defaults", b"correct horse battery staple", SALT16, "id", 2, 19456, 1, 32, False),
    ("argon2id 4 lanes", b"Tr0ub4dor&3", SALT16, "id", 2, 19456, 4, 32, True),
    ("argon2id 8-byte salt", UTF8, "saltsalt", "id", 2, 19456, 1, 32, True),
    ("argon2id 64-byte salt and digest", b"p@ss w0rd", "s" * 64, "id", 1, 64, 1, 64, True),
    ("argon2id t 3", b"t3", SALT16, "id", 3, 19456, 1, 32, True),
    ("argon2id 127 bytes with newline", (b"line\n" * 26)[:127], SALT16, "id", 1, 256, 2, 32, True),
    ("argon2i defaults of the tool", b"correct horse battery staple", SALT16, "i", 3, 4096, 1, 32, True),
    ("argon2i at farmreg defaults", b"argon2i", SALT16, "i", 2, 19456, 1, 32, True),
    ("argon2i 16-byte digest 2 lanes", UTF8, "saltsaltsalt", "i", 1, 64, 2, 16, True),
]:
    hashed = argon2(password, salt, kind, t, m, p, length)
    fmt = "argon2id" if kind == "id" else "argon2i"
    kat(label, fmt, t, m, p, len(salt), length, password, hashed)
    rehash(label, 2, 19456 * 1024, rehash_at_defaults, hashed)
    if not rehash_at_defaults:
        rehash(label + ", t 3", 3, 19456 * 1024, True, hashed)
        rehash(label + ", t 1", 1, 19456 * 1024, True, hashed)
        rehash(label + ", 19457 KiB", 2, 19457 * 1024, True, hashed)
        rehash(label + ", 64 MiB", 2, 64 * 1024 * 1024, True, hashed)

with open(sys.argv[1], "w", encoding="ascii") as out:
    out.write("\n".join(cases) + "\n")
