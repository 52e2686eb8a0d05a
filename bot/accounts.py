"""Account keys for leads and the rules deciding when two leads are the same account (§4, §5).

Pure functions: the database stores the keys computed here in indexed columns and asks
`same_account` only about the few candidates sharing a domain, a name or a name block.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

import tldextract
from rapidfuzz import fuzz
from unidecode import unidecode

FREE_MAIL_DOMAINS: frozenset[str] = frozenset(
    {
        "gmail.com", "googlemail.com",
        "outlook.com", "outlook.de", "outlook.fr", "outlook.es", "outlook.it", "outlook.jp",
        "hotmail.com", "hotmail.co.uk", "hotmail.de", "hotmail.fr", "hotmail.it", "hotmail.es",
        "hotmail.nl", "hotmail.be",
        "hotmail.ca", "hotmail.com.au", "hotmail.com.br",
        "live.com", "live.co.uk", "live.de", "live.fr", "live.it", "live.nl", "live.ca",
        "live.com.au", "msn.com", "passport.com",
        "yahoo.com", "yahoo.co.uk", "yahoo.de", "yahoo.fr", "yahoo.es", "yahoo.it", "yahoo.ca",
        "yahoo.in", "yahoo.co.in",
        "yahoo.co.jp", "yahoo.com.au", "yahoo.com.br", "yahoo.com.mx", "yahoo.com.ar",
        "yahoo.com.sg", "yahoo.com.hk",
        "ymail.com", "rocketmail.com", "icloud.com", "me.com", "mac.com", "aol.com", "aol.co.uk",
        "aol.de", "aim.com",
        "proton.me", "protonmail.com", "protonmail.ch", "pm.me",
        "gmx.com", "gmx.de", "gmx.net", "gmx.at", "gmx.ch", "gmx.co.uk", "web.de", "t-online.de",
        "freenet.de", "posteo.de",
        "mailbox.org", "mail.com", "email.com", "usa.com", "inbox.com", "zoho.com", "zohomail.com",
        "yandex.ru", "yandex.com", "yandex.ua", "ya.ru", "mail.ru", "bk.ru", "list.ru", "inbox.ru",
        "rambler.ru",
        "qq.com", "foxmail.com", "163.com", "126.com", "yeah.net", "sina.com", "sohu.com",
        "aliyun.com",
        "naver.com", "daum.net", "hanmail.net", "rediffmail.com",
        "fastmail.com", "fastmail.fm", "hey.com", "tutanota.com", "tutanota.de", "tuta.io",
        "tutamail.com",
        "hushmail.com", "mailfence.com", "runbox.com", "duck.com",
        "comcast.net", "verizon.net", "att.net", "sbcglobal.net", "bellsouth.net", "cox.net",
        "charter.net", "earthlink.net",
        "btinternet.com", "sky.com", "virginmedia.com", "ntlworld.com", "talktalk.net",
        "orange.fr", "wanadoo.fr", "free.fr", "laposte.net", "sfr.fr", "libero.it", "virgilio.it",
        "tiscali.it", "alice.it",
        "seznam.cz", "wp.pl", "o2.pl", "onet.pl", "interia.pl",
    }
)  # fmt: skip

# Legal forms removed from the end of a company name, written as people write them; they are
# normalized like names at import, so "S.p.A." matches "spa" and "GmbH & Co. KG" matches
# "gmbh and co kg". Descriptive words ("holdings", "group") are kept: "Acme Holdings, Inc." is
# "acme holdings", because a holding company is often a different account from its namesake.
LEGAL_SUFFIXES = (
    "inc", "incorporated", "llc", "l.l.c.", "ltd", "limited", "gmbh", "gmbh & co kg", "ag", "sa",
    "s.a.", "sarl", "sas", "bv", "b.v.", "nv", "n.v.", "plc", "corp", "corporation", "co",
    "company", "& co", "srl", "spa", "s.p.a.", "oy", "ab", "as", "a/s", "pty", "pty ltd", "kk",
    "llp", "lp", "pte", "pte ltd", "kg", "ug", "sl", "sro", "s.r.o.", "ltda", "pvt",
    "private limited", "sdn bhd", "bhd", "sp. z o.o.", "se", "kgaa",
)  # fmt: skip
LEADING_ARTICLE = "the"
NAME_BLOCK_CHARS = 16
PHONE_KEY_DIGITS = 10
PHONE_MIN_DIGITS = 7

# Fuzzy names use token_sort_ratio: symmetric, blind to word order ("Widgets Acme"), and unlike
# WRatio/partial_ratio it does not score a name contained in a longer one ("acme" in "acme
# widgets") as near-equal. It is an Indel ratio, so one typo in two n-letter names scores
# 100 * (1 - 1/n): 88 tolerates one typo from 9 letters on, while short names that differ
# ("acme"/"acne": 75) never match. A second agreeing field is required on top (§4).
NAME_SIMILARITY_THRESHOLD = 88

_HOST_LABEL_RE = re.compile(r"[^\W_]+(?:-+[^\W_]+)*")
_DELETED_PUNCTUATION_RE = re.compile(r"['.]")  # "L.L.C." -> "llc", "O'Neil" -> "oneil"
_NON_ALNUM_RE = re.compile(r"[^a-z0-9]+")
_PHONE_EXTENSION_RE = re.compile(r"(?:x|ext\.?|extension|#)\s*\d+\s*$", re.IGNORECASE)
_NON_DIGIT_RE = re.compile(r"[^0-9]")


@cache
def _extractor() -> tldextract.TLDExtract:
    """Public suffix parser on the bundled snapshot: no fetch (no URLs), no cache directory."""
    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, include_psl_private_domains=True)


def registrable_domain(value: str | None) -> str | None:
    """The registrable domain of an email, URL or host ("www.acme.co.uk" -> "acme.co.uk").

    Private suffixes count (``acme.github.io`` is its own account). IPs, single labels such as
    "localhost", bare suffixes and malformed hosts give None.
    """
    if not value or not value.strip():
        return None
    domain = _extractor()(value.strip().lower()).top_domain_under_public_suffix
    if not domain or not all(_HOST_LABEL_RE.fullmatch(label) for label in domain.split(".")):
        return None
    return domain


def _company_tokens(name: str) -> list[str]:
    """Words of a name: accents folded, lower case, "&" as "and", punctuation dropped."""
    text = unidecode(name).lower().replace("&", " and ")
    return _NON_ALNUM_RE.sub(" ", _DELETED_PUNCTUATION_RE.sub("", text)).split()


# Longest first, so "pty ltd" and "gmbh and co kg" go in one step and "private limited" is not
# cut to a dangling "private".
_SUFFIX_TOKENS = sorted({tuple(_company_tokens(s)) for s in LEGAL_SUFFIXES}, key=len, reverse=True)


def normalize_company(name: str | None) -> str | None:
    """Comparable company name: "The Müller GmbH & Co. KG" -> "muller"; None if nothing is left."""
    tokens = _company_tokens(name or "")
    if tokens[:1] == [LEADING_ARTICLE]:
        tokens = tokens[1:]
    while suffix := next((s for s in _SUFFIX_TOKENS if tuple(tokens[-len(s) :]) == s), None):
        tokens = tokens[: -len(suffix)]
    return " ".join(tokens) or None


def phone_key(phone: str | None) -> str | None:
    """The last 10 digits of a phone number, extension dropped; None under 7 digits."""
    digits = _NON_DIGIT_RE.sub("", _PHONE_EXTENSION_RE.sub("", phone or ""))
    return digits[-PHONE_KEY_DIGITS:] if len(digits) >= PHONE_MIN_DIGITS else None


def _business_domain(value: str | None) -> str | None:
    """The registrable domain unless it is a consumer mail provider."""
    domain = registrable_domain(value)
    return None if domain in FREE_MAIL_DOMAINS else domain


@dataclass(frozen=True)
class AccountKeys:
    """Indexed keys of a lead's account; `key` is what intake reports as "account"."""

    key: str | None
    domain: str | None
    name: str | None
    name_block: str | None
    phone: str | None


def account_keys(email: str | None, website: str | None, company: str | None, phone: str | None) -> AccountKeys:
    """Keys of a lead: business domain of the email, else of the website; normalized name."""
    domain = _business_domain(email) or _business_domain(website)
    name = normalize_company(company)
    return AccountKeys(
        key=domain or name,
        domain=domain,
        name=name,
        name_block=name.split()[0][:NAME_BLOCK_CHARS] if name else None,
        phone=phone_key(phone),
    )


@dataclass(frozen=True)
class AccountFacts:
    """What is known of one side of a comparison; raw or already normalized values both work."""

    domain: str | None = None
    name: str | None = None
    phone: str | None = None
    territory: str | None = None


def _equal(a: str | None, b: str | None) -> bool:
    return a is not None and a == b


def same_account(a: AccountFacts, b: AccountFacts) -> str | None:
    """Why `a` and `b` are the same account (§4), or None when they are not."""
    return same_account_keys(_keys_of(a), _keys_of(b))


def _keys_of(facts: AccountFacts) -> AccountFacts:
    return AccountFacts(
        _business_domain(facts.domain), normalize_company(facts.name), phone_key(facts.phone), facts.territory
    )


def same_account_keys(a: AccountFacts, b: AccountFacts) -> str | None:
    """`same_account` on keys already normalized (as leads store them): no re-normalizing, and
    the fuzzy name comparison only when names differ and a second field agrees."""
    if _equal(a.domain, b.domain):
        return "same domain"
    if _equal(a.name, b.name):
        return "same company name"
    if a.name is None or b.name is None:
        return None
    # An agreeing domain already matched above, so only phone and territory remain to check.
    same_phone = _equal(a.phone, b.phone)
    territory_a = (a.territory or "").strip().casefold() or None
    same_territory = _equal(territory_a, (b.territory or "").strip().casefold() or None)
    if not (same_phone or same_territory):
        return None
    if fuzz.token_sort_ratio(a.name, b.name) < NAME_SIMILARITY_THRESHOLD:
        return None
    return "similar company name and same phone" if same_phone else "similar company name and same territory"
