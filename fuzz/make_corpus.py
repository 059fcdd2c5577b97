#!/usr/bin/env python3
#
# fuzz/make_corpus.py -- write the seed corpus of every fuzz target
#
# Writes fuzz/corpus/TARGET/NAME, one small file per seed: the good and bad
# examples of the README's field table, the edges of every length limit, and UTF-8 that
# is hostile to a decoder (stray, overlong, surrogate, truncated, beyond
# U+10FFFF), NUL bytes, every White_Space code point, and emoji.  The seeds
# only give libFuzzer a head start: the corpus it grows while running stays
# in fuzz/build/.  Inputs worth keeping from a run (a finding, once fixed)
# are added by hand or with `make -C fuzz merge` and are not touched here.
#
#   python3 fuzz/make_corpus.py        (idempotent; standard library only)

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def u(text):
    return text.encode("utf-8")


# Unicode White_Space, all 25 code points.
WHITE_SPACE = [0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x20, 0x85, 0xA0, 0x1680] + \
    list(range(0x2000, 0x200B)) + [0x2028, 0x2029, 0x202F, 0x205F, 0x3000]

# Hostile and edge-case UTF-8, shared by every target.
UTF8 = {
    "empty": b"",
    "nul": b"\x00",
    "nul-inside": b"abc\x00def",
    "nul-8": b"\x00" * 8,
    "stray-continuation": b"\x80",
    "stray-continuations": b"\x80\xbf\x80\xbf",
    "overlong-slash-2": b"\xc0\xaf",
    "overlong-slash-3": b"\xe0\x80\xaf",
    "overlong-slash-4": b"\xf0\x80\x80\xaf",
    "overlong-space": b"\xc0\xa0",
    "overlong-nbsp": b"\xe0\x82\xa0",
    "overlong-c1": b"\xc1\xbf",
    "surrogate-high": b"\xed\xa0\x80",
    "surrogate-low": b"\xed\xbf\xbf",
    "surrogate-pair-cesu": b"\xed\xa0\xbd\xed\xb8\x80",
    "max-code-point": b"\xf4\x8f\xbf\xbf",
    "beyond-max": b"\xf4\x90\x80\x80",
    "lead-f5": b"\xf5\x80\x80\x80",
    "lead-fe-ff": b"\xfe\xff",
    "noncharacter-fffe": b"\xef\xbf\xbe",
    "truncated-2": b"ab\xc3",
    "truncated-3": b"ab\xe3\x80",
    "truncated-4": b"ab\xf0\x9f\x90",
    "truncated-then-ascii": b"\xf0\x9f\x90x",
    "bom": u("\ufeffabc"),
    "zero-width-space": u("\u200babc\u200b"),
    "mongolian-vowel-separator": u("\u180eabc\u180e"),
    "nbsp-around": u("\u00a0abc\u00a0"),
    "ideographic-space-around": u("\u3000abc\u3000"),
    "all-white-space": b"".join(chr(c).encode() for c in WHITE_SPACE),
    "emoji": u("\U0001f404"),
    "emoji-zwj-family": u("\U0001f468\u200d\U0001f469\u200d\U0001f467"),
    "emoji-flag": u("\U0001f1fa\U0001f1f8"),
    "combining": u("e\u0301e\u0301"),
    "rtl-override": u("abc\u202edef"),
    "mixed-scripts": u("Zo\u00eb \u03a9\u03bc\u03ad\u03b3\u03b1 \u8fb2\u5834 \U0001f33d"),
    "sql-injection": b"x'); DROP TABLE farmreg.users; --",
}

# Invisible on their own (fr_check_name): Default_Ignorable_Code_Point of
# Unicode 15 and U+2800; one seed per range end, alone and beside a letter.
INVISIBLE_RANGES = [
    (0x00AD, 0x00AD), (0x034F, 0x034F), (0x061C, 0x061C), (0x115F, 0x1160),
    (0x17B4, 0x17B5), (0x180B, 0x180F), (0x200B, 0x200F), (0x202A, 0x202E),
    (0x2060, 0x206F), (0x2800, 0x2800), (0x3164, 0x3164), (0xFE00, 0xFE0F),
    (0xFEFF, 0xFEFF), (0xFFA0, 0xFFA0), (0xFFF0, 0xFFF8), (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A), (0xE0000, 0xE0FFF),
]


def invisible_seeds():
    seeds = {}
    for lo, hi in INVISIBLE_RANGES:
        for cp in sorted({lo, hi}):
            seeds["invisible-%04x" % cp] = chr(cp).encode()
            seeds["invisible-%04x-beside-a-letter" % cp] = ("Q" + chr(cp)).encode()
        # just outside the range: visible (or another rule's business)
        for cp in (lo - 1, hi + 1):
            if not any(a <= cp <= b for a, b in INVISIBLE_RANGES) and not 0xD800 <= cp <= 0xDFFF:
                seeds["outside-%04x" % cp] = chr(cp).encode()
    return seeds


TARGETS = {
    "username": {
        "good-shortest": b"abc",
        "good-longest": b"u" * 32,
        "good-punctuation": b"a_b.c-d",
        "good-trimmed": b" zoe ",
        "good-nbsp-trimmed": u("\u00a0zoe\u3000"),
        "bad-too-short": b"ab",
        "bad-too-long": b"u" * 33,
        "bad-inner-space": b"ab cd",
        "bad-non-ascii": u("jos\u00e9"),
        "bad-emoji": u("farm\U0001f404"),
        "bad-control": b"ab\x01cd",
        "bad-nul": b"ab\x00cd",
        "bad-at": b"user@host",
        "blank-spaces": b" \t\n ",
        "db-taken-case": b"TAKEN_USER",
    },
    "password": {
        "good-8": b"pw-SECRE",
        "good-8-spaces": b" " * 8,
        "good-emoji-8": u("\U0001f404" * 8),
        "good-1024": b"pw-SECRET" + b"x" * 1015,
        "good-1024-2byte": u("\u00fc" * 1024),
        "good-1024-4byte": u("\U0001f404" * 1024),
        "good-invalid-bytes-8": b"\xff" * 8,
        "bad-7": b"pw-SECR",
        "bad-7-euro": u("\u20ac" * 7),
        "bad-7-enye": u("\u00f1" * 7),
        "bad-1025": b"pw-SECRET" + b"x" * 1016,
        "bad-1025-2byte": u("\u00fc" * 1025),
        "bad-4097-bytes": u("\U0001f404" * 1024) + b"x",
        "bad-surrogates": b"\xed\xa0\x80" * 3,
    },
    "name": {
        "good-one": b"Q",
        "good-200": b"n" * 200,
        "good-200-2byte": u("\u00f1" * 200),
        "good-200-emoji": u("\U0001f33d" * 200),
        "good-trimmed": u("\u2003Zo\u00eb O'Brien-\u03a9\u03bc\u03ad\u03b3\u03b1 \u8fb2\u5834 \U0001f33d\u2003"),
        "good-sql": b"Robert'); DROP TABLE farmreg.farms;--",
        "bad-201": b"n" * 201,
        "bad-201-2byte": u("\u00f1" * 201),
        "bad-201-emoji": u("\U0001f33d" * 201),
        "blank-wide-spaces": u("\u3000 \u00a0"),
        "good-emoji-zwj": u("\U0001f469\u200d\U0001f33e"),
        "good-soft-hyphen": u("Anne\u00adMarie"),
        "good-rtl-script": u("\u0645\u0631\u064a\u0645"),
        "good-direction-mark": u("Maryam \u200f\u0645\u0631\u064a\u0645"),
        "invalid-bel": b"Ann\x07e",
        "invalid-newline": b"Ann\ne",
        "invalid-del": b"Ann\x7fe",
        "invalid-c1": u("Ann\u009be"),
        "invalid-line-separator": u("Ann\u2028e"),
        "invalid-rlo": u("Ann \u202eeiluj"),
        "invalid-lre": u("\u202aAnne"),
        "invalid-pdf": u("Anne\u202c"),
        "invalid-fsi": u("Ann\u2068e\u2069"),
        "invalid-rli": u("\u2067Anne"),
        "invalid-only-zwsp": u("\u200b"),
        "invalid-only-invisible": u("\u200b\u200d\ufeff\u2060"),
        "invalid-invisible-and-spaces": u("\u200b \u00ad"),
        "invalid-hangul-fillers": u("\u3164\u3164"),
        "invalid-tags": u("\U000e0041\U000e0042"),
        "invalid-variation-selector": u("\ufe0f"),
        "invalid-braille-blank": u("\u2800"),
        "invalid-musical-format": u("\U0001d173"),
        "invalid-shorthand-format": u("\U0001bca0"),
        "invalid-variation-selector-17": u("\U000e0100"),
        "invalid-mongolian-fvs4": u("\u180f"),
        "invalid-200-ending-in-control": b"n" * 199 + b"\x01",
        "bad-201-zwsp": u("\u200b" * 201),
        "usda-uid": b"USDA-1",
        "usda-uid-injection": b"USDA-1' OR '1'='1",
    },
    "email": {
        "good-simple": b"taken@example.com",
        "good-plus-dots": b"first.last+tag@mail.example.co.uk",
        "good-shortest": b"a@b.cd",
        "good-local-64": b"l" * 64 + b"@example.com",
        "good-254": b"l" * 64 + b"@" + b"d" * 63 + b"." + b"d" * 63 + b"." + b"d" * 57 + b".com",
        "good-label-63": b"farmer@" + b"d" * 63 + b".com",
        "good-digits-hyphens": b"x@1-2.3a",
        "good-sql": b"x'--@example.com",
        "good-trimmed": b" Zoe@Example.com ",
        "bad-no-at": b"farmer.example.com",
        "bad-two-at": b"a@b@example.com",
        "bad-empty-local": b"@example.com",
        "bad-empty-domain": b"farmer@",
        "bad-undotted": b"farmer@localhost",
        "bad-empty-label": b"farmer@example..com",
        "bad-leading-dot-domain": b"farmer@.example.com",
        "bad-trailing-dot": b"farmer@example.com.",
        "bad-hyphen-end": b"farmer@example-.com",
        "bad-hyphen-start": b"farmer@-example.com",
        "bad-underscore": b"farmer@exa_mple.com",
        "bad-numeric-tld": b"farmer@10.0.0.1",
        "bad-ip-literal": b"farmer@[10.0.0.1]",
        "bad-inner-space": b"far mer@example.com",
        "bad-double-dot-local": b"far..mer@example.com",
        "bad-leading-dot-local": b".farmer@example.com",
        "bad-trailing-dot-local": b"farmer.@example.com",
        "bad-quoted-local": b'"far mer"@example.com',
        "bad-non-ascii-local": u("j\u00f6s\u00e9@example.com"),
        "bad-non-ascii-domain": u("farmer@b\u00fccher.de"),
        "bad-local-65": b"l" * 65 + b"@example.com",
        "bad-255": b"l" * 64 + b"@" + b"d" * 63 + b"." + b"d" * 63 + b"." + b"d" * 58 + b".com",
        "bad-label-64": b"farmer@" + b"d" * 64 + b".com",
        "bad-nul": b"farmer@exam\x00ple.com",
        "bad-control": b"far\x01mer@example.com",
        "blank-spaces": b"   ",
    },
    "idempotency_key": {
        "good-one": b"k",
        "good-uuid": b"3f1c9a2e-7b4d-4e8f-9a61-0c2d5b7e8f90",
        "good-255": b"k" * 255,
        "good-255-2byte": u("\u0137" * 255),
        "good-255-emoji": u("\U0001f404" * 255),
        "good-inner-space": b"order 42",
        "good-sql": b"k'; DELETE FROM farmreg.idempotency_keys; --",
        "bad-256": b"k" * 256,
        "bad-256-2byte": u("\u0137" * 256),
        "bad-1021-bytes": u("\U0001f404" * 255) + b"x",
        "bad-bell": b"key\x07",
        "bad-newline": b"ke\ny",
        "bad-nel": u("key\u0085x"),
        "bad-del": b"key\x7f",
        "bad-line-separator": u("key\u2028x"),
        "bad-paragraph-separator": u("key\u2029x"),
        "bad-nul": b"key\x00",
        "bad-invalid-utf8": b"key\xff",
        "blank-spaces": b"   ",
    },
    "trim": {
        "none": b"x",
        "inner-only": b"a b",
        "ascii-both": b" \t\nx y\r\x0b\x0c ",
        "only-spaces": b" " * 16,
        "only-ideographic": u("\u3000" * 5),
        "space-then-stray": b" \x80 ",
        "lead-before-space": b"\xc2 ",
        "truncated-space-end": b"x\xe3\x80",
        "space-then-stray-end": b"\xe3\x80\x80\x80",
        "stray-then-space": b"\x80\xe3\x80\x80",
        "raw-nel-byte": b"\x85x\x85",
        "nel-both": u("\u0085x\u0085"),
        "nul-space": b"\x00 ",
        "overlong-space-both": b"\xc0\xa0x\xc0\xa0",
        "four-byte-end": u(" \U0001f404 "),
        "continuations-3-then-space": b"x\x80\x80\x80 ",
    },
}


# Stored hashes (fuzz_pwformat): made by python3-bcrypt, mkpasswd, hashlib
# (in Django's format) and the argon2 tool for the password "password", at
# costs small enough that the target verifies them, then the edges of every
# rule.  Written once and pasted here, so the seeds need no tool.
PWFORMAT = {
    "good-bcrypt-2a": b"$2a$04$qlM4X8xTqmQhKO02UQze0OUsSyaq6VrVNHRLt8aoYCgBcQXWmK4.6",
    "good-bcrypt-2b": b"$2b$04$fil.HpHoLc1NYvj6Sdxm6uyg1LeoH6XNhzX.mEYVJhT.GxHe3ElLC",
    "good-bcrypt-2y": b"$2y$05$4qTHrJn6eAFyLqmEFusOmeRC0BtPu2CD14blrSBWDrs1PvhGxjnwi",
    "good-pbkdf2-1": b"pbkdf2_sha256$1$seedsalt$WtLqxztDICYX+HRS2h33ii1XUhXcMi7s7MdUrGVFjmE=",
    "good-pbkdf2-1000": b"pbkdf2_sha256$1000$Fk3JWmlzgM2cL0XrYbQ1eC$dxYozUvo+hryS+o57d86/s1jTqa7+Ix+EWSBXFAWtFI=",
    "good-sha512crypt-1000": b"$6$rounds=1000$seedsalt$Iu1YVoLUGITXd1IsqcjuPu2On8y/ITcvNo5I7LFCdbpqRvdftokdLfyBMJ3atDOxg0AnzAEVIsjs9rur4ozqZ.",
    "good-sha512crypt-default": b"$6$Xq9/Ab.cDe12fGhI$na./dn27kDLtveSpH4LwSX5DAZzzZjsdGzQ.Enx9ik0319KVKiXD6.pkO4efpuN9ipfy1ICXzh97PKTD3BnGT.",
    "good-argon2id-m8": b"$argon2id$v=19$m=8,t=1,p=1$c2VlZHNhbHRzZWVkc2FsdA$X6RNg5dQNxXmTnCd8FaUHs250xQyQav/6NXUQniu7kQ",
    "good-argon2i-p2-digest16": b"$argon2i$v=19$m=16,t=1,p=2$c2VlZHNhbHQ$Ak9+bLPg44iLTXBK7UuLUQ",
    "good-argon2id-digest64": b"$argon2id$v=19$m=64,t=2,p=1$c2VlZHNhbHRzZWVkc2FsdA$oo56eXHU2gmPKtjsLkz1cuL+qTG11cah8CIDJ8suI1tkwJp9YTZA/YPRY/sTnwBRsFs8yRBeHNAaSz0yZTpt7w",
    "good-argon2id-longest": b"$argon2id$v=19$m=4194304,t=1000,p=524288$" + b"A" * 86 + b"$" + b"A" * 86,
    "bad-bcrypt-2x": b"$2x$04$fil.HpHoLc1NYvj6Sdxm6uyg1LeoH6XNhzX.mEYVJhT.GxHe3ElLC",
    "bad-bcrypt-cost-03": b"$2b$03$fil.HpHoLc1NYvj6Sdxm6uyg1LeoH6XNhzX.mEYVJhT.GxHe3ElLC",
    "bad-bcrypt-cost-32": b"$2b$32$fil.HpHoLc1NYvj6Sdxm6uyg1LeoH6XNhzX.mEYVJhT.GxHe3ElLC",
    "bad-bcrypt-salt-bits": b"$2b$04$fil.HpHoLc1NYvj6Sdxm6vyg1LeoH6XNhzX.mEYVJhT.GxHe3ElLC",
    "bad-bcrypt-61": b"$2b$04$fil.HpHoLc1NYvj6Sdxm6uyg1LeoH6XNhzX.mEYVJhT.GxHe3ElLC.",
    "bad-pbkdf2-0": b"pbkdf2_sha256$0$seedsalt$WtLqxztDICYX+HRS2h33ii1XUhXcMi7s7MdUrGVFjmE=",
    "bad-pbkdf2-ceiling-plus-1": b"pbkdf2_sha256$5000001$seedsalt$WtLqxztDICYX+HRS2h33ii1XUhXcMi7s7MdUrGVFjmE=",
    "bad-pbkdf2-leading-zero": b"pbkdf2_sha256$01$seedsalt$WtLqxztDICYX+HRS2h33ii1XUhXcMi7s7MdUrGVFjmE=",
    "bad-pbkdf2-no-padding": b"pbkdf2_sha256$1$seedsalt$WtLqxztDICYX+HRS2h33ii1XUhXcMi7s7MdUrGVFjmE",
    "bad-pbkdf2-digest-bits": b"pbkdf2_sha256$1$seedsalt$WtLqxztDICYX+HRS2h33ii1XUhXcMi7s7MdUrGVFjmF=",
    "bad-sha512crypt-999": b"$6$rounds=999$seedsalt$Iu1YVoLUGITXd1IsqcjuPu2On8y/ITcvNo5I7LFCdbpqRvdftokdLfyBMJ3atDOxg0AnzAEVIsjs9rur4ozqZ.",
    "bad-sha512crypt-ceiling-plus-1": b"$6$rounds=1000001$seedsalt$Iu1YVoLUGITXd1IsqcjuPu2On8y/ITcvNo5I7LFCdbpqRvdftokdLfyBMJ3atDOxg0AnzAEVIsjs9rur4ozqZ.",
    "bad-sha512crypt-salt-17": b"$6$seedsaltseedsalts$Iu1YVoLUGITXd1IsqcjuPu2On8y/ITcvNo5I7LFCdbpqRvdftokdLfyBMJ3atDOxg0AnzAEVIsjs9rur4ozqZ.",
    "bad-sha512crypt-digest-bits": b"$6$rounds=1000$seedsalt$Iu1YVoLUGITXd1IsqcjuPu2On8y/ITcvNo5I7LFCdbpqRvdftokdLfyBMJ3atDOxg0AnzAEVIsjs9rur4ozqZ2",
    "bad-argon2d": b"$argon2d$v=19$m=8,t=1,p=1$c2VlZHNhbHRzZWVkc2FsdA$X6RNg5dQNxXmTnCd8FaUHs250xQyQav/6NXUQniu7kQ",
    "bad-argon2-v16": b"$argon2id$v=16$m=8,t=1,p=1$c2VlZHNhbHRzZWVkc2FsdA$X6RNg5dQNxXmTnCd8FaUHs250xQyQav/6NXUQniu7kQ",
    "bad-argon2-m7": b"$argon2id$v=19$m=7,t=1,p=1$c2VlZHNhbHRzZWVkc2FsdA$X6RNg5dQNxXmTnCd8FaUHs250xQyQav/6NXUQniu7kQ",
    "bad-argon2-m-per-lane": b"$argon2i$v=19$m=15,t=1,p=2$c2VlZHNhbHQ$Ak9+bLPg44iLTXBK7UuLUQ",
    "bad-argon2-t1001": b"$argon2id$v=19$m=8,t=1001,p=1$c2VlZHNhbHRzZWVkc2FsdA$X6RNg5dQNxXmTnCd8FaUHs250xQyQav/6NXUQniu7kQ",
    "bad-argon2-salt-7": b"$argon2id$v=19$m=8,t=1,p=1$c2VlZHNhbHQ$X6RNg5dQNxXmTnCd8FaUHs250xQyQav/6NXUQniu7kQ",
    "bad-argon2-digest-15": b"$argon2i$v=19$m=16,t=1,p=2$c2VlZHNhbHQ$Ak9+bLPg44iLTXBK7UuL",
    "bad-argon2-padded": b"$argon2id$v=19$m=8,t=1,p=1$c2VlZHNhbHRzZWVkc2FsdA==$X6RNg5dQNxXmTnCd8FaUHs250xQyQav/6NXUQniu7kQ",
    "bad-argon2-urlsafe": b"$argon2id$v=19$m=8,t=1,p=1$c2VlZHNhbHRzZWVkc2FsdA$X6RNg5dQNxXmTnCd8FaUHs250xQyQav_6NXUQniu7kQ",
    "bad-argon2-trailing": b"$argon2id$v=19$m=8,t=1,p=1$c2VlZHNhbHRzZWVkc2FsdA$X6RNg5dQNxXmTnCd8FaUHs250xQyQav/6NXUQniu7kQ$",
    "bad-argon2-high-byte": b"$argon2id$v=19$m=8,t=1,p=1$c2VlZHNhbHRzZWVkc2FsdA$X6RNg5dQNxXmTnCd8FaUHs250xQyQav\xff6NXUQniu7kQ",
    "bad-pbkdf2-high-byte": b"pbkdf2_sha256$1$seedsalt$WtLqxztDICYX+HRS2h33ii1XUhXcMi7s7MdUrGVFjmE\xbd",
    "bad-argon2-no-m": b"$argon2id$v=19$t=1,p=1$c2VlZHNhbHRzZWVkc2FsdA$X6RNg5dQNxXmTnCd8FaUHs250xQyQav/6NXUQniu7kQ",
    "bad-argon2-m-zero-lead": b"$argon2id$v=19$m=08,t=1,p=1$c2VlZHNhbHRzZWVkc2FsdA$X6RNg5dQNxXmTnCd8FaUHs250xQyQav/6NXUQniu7kQ",
    "bad-argon2-no-t": b"$argon2id$v=19$m=8,p=1$c2VlZHNhbHRzZWVkc2FsdA$X6RNg5dQNxXmTnCd8FaUHs250xQyQav/6NXUQniu7kQ",
    "bad-argon2-t-zero-lead": b"$argon2id$v=19$m=8,t=01,p=1$c2VlZHNhbHRzZWVkc2FsdA$X6RNg5dQNxXmTnCd8FaUHs250xQyQav/6NXUQniu7kQ",
    "bad-argon2-no-p": b"$argon2id$v=19$m=8,t=1$c2VlZHNhbHRzZWVkc2FsdA$X6RNg5dQNxXmTnCd8FaUHs250xQyQav/6NXUQniu7kQ",
    "bad-argon2-p-empty": b"$argon2id$v=19$m=8,t=1,p=$c2VlZHNhbHRzZWVkc2FsdA$X6RNg5dQNxXmTnCd8FaUHs250xQyQav/6NXUQniu7kQ",
    "bad-argon2-p-0": b"$argon2id$v=19$m=8,t=1,p=0$c2VlZHNhbHRzZWVkc2FsdA$X6RNg5dQNxXmTnCd8FaUHs250xQyQav/6NXUQniu7kQ",
    "bad-argon2-no-digest": b"$argon2id$v=19$m=8,t=1,p=1$c2VlZHNhbHRzZWVkc2FsdA",
    "bad-bcrypt-2c": b"$2c$04$fil.HpHoLc1NYvj6Sdxm6uyg1LeoH6XNhzX.mEYVJhT.GxHe3ElLC",
    "bad-bcrypt-cost-form": b"$2b$4a$fil.HpHoLc1NYvj6Sdxm6uyg1LeoH6XNhzX.mEYVJhT.GxHe3ElLC",
    "bad-bcrypt-plus": b"$2b$04$fil.HpHoLc1NYvj6Sdxm6uyg1LeoH6XNhzX.mEYVJhT+GxHe3ElLC",
    "bad-sha512crypt-rounds-zero-lead": b"$6$rounds=01000$seedsalt$Iu1YVoLUGITXd1IsqcjuPu2On8y/ITcvNo5I7LFCdbpqRvdftokdLfyBMJ3atDOxg0AnzAEVIsjs9rur4ozqZ.",
    "bad-sha512crypt-no-digest": b"$6$rounds=1000$seedsalt",
    "bad-sha512crypt-salt-plus": b"$6$seed+alt$Iu1YVoLUGITXd1IsqcjuPu2On8y/ITcvNo5I7LFCdbpqRvdftokdLfyBMJ3atDOxg0AnzAEVIsjs9rur4ozqZ.",
    "bad-sha512crypt-digest-85": b"$6$seedsalt$Iu1YVoLUGITXd1IsqcjuPu2On8y/ITcvNo5I7LFCdbpqRvdftokdLfyBMJ3atDOxg0AnzAEVIsjs9rur4ozqZ",
    "bad-sha512crypt-digest-plus": b"$6$seedsalt$Iu1YVoLUGITXd1IsqcjuPu2On8y/ITcvNo5I7LFCdbpqRvdftokdLfyBMJ3atDOxg0AnzAEVIsjs9rur4oz+Z.",
    "bad-pbkdf2-no-digest": b"pbkdf2_sha256$1$seedsalt",
    "bad-pbkdf2-salt-empty": b"pbkdf2_sha256$1$$WtLqxztDICYX+HRS2h33ii1XUhXcMi7s7MdUrGVFjmE=",
    "bad-pbkdf2-salt-space": b"pbkdf2_sha256$1$seed salt$WtLqxztDICYX+HRS2h33ii1XUhXcMi7s7MdUrGVFjmE=",
    "bad-nul-inside": b"$2b$04$fil.HpHoLc1NYvj6Sdxm6uyg1Leo\x00XNhzX.mEYVJhT.GxHe3ElLC",
    "bad-md5crypt": b"$1$saltsalt$qjXMvbEw8oaL.CzflDugX/",
    "bad-yescrypt": b"$y$j9T$seedsalt$0123456789012345678901234567890123456789012",
}


def main():
    # every White_Space code point at both ends, alone and doubled
    for c in WHITE_SPACE:
        w = chr(c).encode()
        TARGETS["trim"]["ws-%04x-both" % c] = w + b"x" + w
        TARGETS["trim"]["ws-%04x-twice" % c] = w + w + b"a" + w + b"b" + w + w
    # each special character the local part refuses, one by one: the rule
    # checks them in a switch, whose cases coverage feedback does not tell
    # apart, so the fuzzer would not find them all by itself
    for c in b'"(),:;<>[\\]':
        TARGETS["email"]["bad-local-special-%02x" % c] = b"a" + bytes([c]) + b"b@example.com"
    # the name rule's invisible ranges, each end, and their neighbours
    TARGETS["name"].update(invisible_seeds())

    TARGETS["pwformat"] = PWFORMAT

    written = 0
    for target, seeds in TARGETS.items():
        d = os.path.join(HERE, "corpus", target)
        os.makedirs(d, exist_ok=True)
        for name, data in list(UTF8.items()):
            seeds.setdefault("utf8-" + name, data)
        for name, data in seeds.items():
            path = os.path.join(d, name)
            with open(path, "wb") as f:
                f.write(data)
            written += 1
    print("wrote %d seed files under %s" % (written, os.path.join(HERE, "corpus")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
