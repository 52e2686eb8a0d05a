"""Account keys and account overlap rules (DESIGN §4)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from rapidfuzz import fuzz

from bot import accounts
from bot.accounts import (
    FREE_MAIL_DOMAINS,
    NAME_SIMILARITY_THRESHOLD,
    AccountFacts,
    AccountKeys,
    account_keys,
    normalize_company,
    phone_key,
    registrable_domain,
    same_account,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("jane@acme.com", "acme.com"),
        ("Jane.Doe@Sales.ACME.com", "acme.com"),
        ("mailto:jane@acme.com", "acme.com"),
        ("https://www.Acme.co.uk/about", "acme.co.uk"),
        ("http://user@shop.acme.com.au:8080/x?y=1#z", "acme.com.au"),
        ("sales.acme.com", "acme.com"),
        ("  acme.com.  ", "acme.com"),
        ("acme.github.io", "acme.github.io"),
        ("münchen.de", "münchen.de"),
    ],
)
def test_registrable_domain(value: str, expected: str) -> None:
    assert registrable_domain(value) == expected


@pytest.mark.parametrize(
    "value",
    [None, "", "   ", "localhost", "jane@localhost", "10.0.0.1", "http://192.168.1.1/x", "[::1]",
     "co.uk", "acme", "not a domain", "acme corp.com", "-acme.com", "acme_co.com", "@"],
)  # fmt: skip
def test_registrable_domain_rejects(value: str | None) -> None:
    assert registrable_domain(value) is None


def test_registrable_domain_is_offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    attempts: list[object] = []

    def refuse(*args: object, **kwargs: object) -> None:
        attempts.append(args)
        raise OSError("network disabled in test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setenv("TLDEXTRACT_CACHE", str(tmp_path))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setenv("HOME", str(tmp_path))
    accounts._extractor.cache_clear()  # force a fresh load of the suffix list
    try:
        assert registrable_domain("https://www.acme.co.uk") == "acme.co.uk"
    finally:
        accounts._extractor.cache_clear()
    assert attempts == []
    assert list(tmp_path.iterdir()) == []


def test_free_mail_domains() -> None:
    for domain in ("gmail.com", "hotmail.co.uk", "yahoo.co.jp", "proton.me", "qq.com", "web.de"):
        assert domain in FREE_MAIL_DOMAINS
        assert registrable_domain(domain) == domain  # stored as registrable domains
    assert "acme.com" not in FREE_MAIL_DOMAINS


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("ACME Corporation", "acme"),
        ("Acme Corp", "acme"),
        ("Acme, Inc.", "acme"),
        ("Acme L.L.C.", "acme"),
        ("Acme Co., Ltd.", "acme"),
        ("Acme Pty Ltd", "acme"),
        ("Acme Private Limited", "acme"),
        ("Acme Private", "acme private"),
        ("Acme Holdings, Inc.", "acme holdings"),
        ("Müller GmbH", "muller"),
        ("The Müller GmbH & Co. KG", "muller"),
        ("Widgets S.p.A.", "widgets"),
        ("Maersk A/S", "maersk"),
        ("Procter & Gamble Co.", "procter and gamble"),
        ("Tiffany & Co.", "tiffany"),
        ("  Société   Générale  S.A. ", "societe generale"),
        ("O'Neil Labs", "oneil labs"),
        ("The Acme Company", "acme"),
        ("Theatre Works", "theatre works"),
    ],
)
def test_normalize_company(name: str, expected: str) -> None:
    assert normalize_company(name) == expected


@pytest.mark.parametrize("name", [None, "", "   ", "Inc.", "LLC", "The", "Pty Ltd", "& Co.", "..."])
def test_normalize_company_empty(name: str | None) -> None:
    assert normalize_company(name) is None


@pytest.mark.parametrize(
    ("phone", "expected"),
    [
        ("+1 (212) 555-0100", "2125550100"),
        ("212.555.0100", "2125550100"),
        ("212-555-0100 ext. 42", "2125550100"),
        ("(212) 555 0100 x42", "2125550100"),
        ("+44 20 7946 0958", "2079460958"),
        ("555-0100", "5550100"),
        ("2125550100", "2125550100"),
    ],
)
def test_phone_key(phone: str, expected: str) -> None:
    assert phone_key(phone) == expected


@pytest.mark.parametrize("phone", [None, "", "n/a", "555-01", "+1 23"])
def test_phone_key_too_short(phone: str | None) -> None:
    assert phone_key(phone) is None


def test_account_keys_business_email() -> None:
    keys = account_keys("jane@sales.acme.com", "https://other.io", "ACME Corporation", "212.555.0100")
    assert keys == AccountKeys(key="acme.com", domain="acme.com", name="acme", name_block="acme", phone="2125550100")


def test_account_keys_free_mail_falls_through_to_website() -> None:
    keys = account_keys("jane@gmail.com", "www.acme.co.uk", "Acme Ltd", None)
    assert (keys.key, keys.domain, keys.phone) == ("acme.co.uk", "acme.co.uk", None)


def test_account_keys_free_mail_uses_company_name() -> None:
    keys = account_keys("jane@hotmail.co.uk", "http://jane.gmail.com", "Globex Widgets GmbH", None)
    assert (keys.key, keys.domain, keys.name, keys.name_block) == (
        "globex widgets", None, "globex widgets", "globex",
    )  # fmt: skip


def test_account_keys_name_block_is_short() -> None:
    keys = account_keys(None, None, "Supercalifragilistic Holdings", None)
    assert keys.name_block == "supercalifragili"


def test_account_keys_nothing_known() -> None:
    assert account_keys(None, "", "Inc.", "12") == AccountKeys(None, None, None, None, None)


def test_similar_names_fixture_scores() -> None:
    # Pins the scorer/threshold choice documented in bot.accounts.
    assert fuzz.token_sort_ratio("acme widgets", "acme widgetz") >= NAME_SIMILARITY_THRESHOLD
    assert fuzz.token_sort_ratio("acme", "acne") < NAME_SIMILARITY_THRESHOLD
    assert fuzz.token_sort_ratio("acme", "acme widgets") < NAME_SIMILARITY_THRESHOLD


@pytest.mark.parametrize(
    ("a", "b", "reason"),
    [
        (
            AccountFacts(name="Acme Corp"),
            AccountFacts(name="ACME Corporation"),
            "same company name",
        ),
        (
            AccountFacts(domain="acme.com", name="Acme"),
            AccountFacts(domain="www.acme.com", name="Road Runner Supply"),
            "same domain",
        ),
        (
            AccountFacts(domain="gmail.com", name="Initech"),
            AccountFacts(domain="gmail.com", name="Initech LLC"),
            "same company name",
        ),
        (
            AccountFacts(name="Acme Widgets", phone="+1 (212) 555-0100"),
            AccountFacts(name="Acme Widgetz", phone="212.555.0100"),
            "similar company name and same phone",
        ),
        (
            AccountFacts(name="Acme Widgets", territory="NY"),
            AccountFacts(name="Widgetz Acme", territory=" ny "),
            "similar company name and same territory",
        ),
    ],
)
def test_same_account(a: AccountFacts, b: AccountFacts, reason: str) -> None:
    assert same_account(a, b) == reason
    assert same_account(b, a) == reason


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (
            AccountFacts(domain="acme.com", name="Acme", territory="NY"),
            AccountFacts(domain="acnelabs.com", name="Acne Labs", territory="NY"),
        ),
        (
            AccountFacts(domain="gmail.com", name="Initech"),
            AccountFacts(domain="gmail.com", name="Globex"),
        ),
        (
            AccountFacts(domain="acme.com", name="Acme Widgets", phone="2125550100", territory="NY"),
            AccountFacts(domain="other.com", name="Acme Widgetz", phone="2125550199", territory="NJ"),
        ),
        (AccountFacts(name="Acme Widgets"), AccountFacts(name="Acme Widgetz")),
        (AccountFacts(phone="2125550100"), AccountFacts(phone="2125550100")),  # phone alone: no
        (AccountFacts(), AccountFacts()),
        (AccountFacts(name="Inc.", territory="NY"), AccountFacts(name="LLC", territory="NY")),
    ],
)
def test_not_same_account(a: AccountFacts, b: AccountFacts) -> None:
    assert same_account(a, b) is None
    assert same_account(b, a) is None
