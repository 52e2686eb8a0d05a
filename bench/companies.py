"""A synthetic world of companies and the leads they send, shaped like real B2B lead data.

- A fixed universe of accounts. A quarter of company names start with one of 80 common words
  ("Global", "First", "United", ... about 0.3 % of all names each, as in real company
  registers), the rest with a made-up word; then an industry word and a legal form.
- Every account has its own domain, a phone and a territory.
- Lead number `n` belongs to account `account_of(n)`; 70 % of leads write from the account's
  domain, 30 % from free mail (the account is then known by its name only); even-numbered
  leads give the account's phone.

`lead_json(n)` is what the webhook receives and `BULK_LEADS_SQL` writes the same leads with
`generate_series`, using keys computed by the app's own `bot.accounts.account_keys`.
"""

from __future__ import annotations

import io
import random
import sys
from dataclasses import dataclass

from sqlalchemy import Connection
from tqdm import tqdm

from bot.accounts import account_keys

COMMON_WORDS = [
    "Global",
    "United",
    "First",
    "American",
    "National",
    "Pacific",
    "Atlantic",
    "Premier",
    "Advanced",
    "Digital",
    "Smart",
    "Blue",
    "Green",
    "Summit",
    "Apex",
    "Pioneer",
    "Alpha",
    "Delta",
    "North",
    "South",
    "East",
    "West",
    "Metro",
    "City",
    "Star",
    "Sun",
    "Golden",
    "Silver",
    "Eagle",
    "Royal",
    "Capital",
    "Central",
    "Allied",
    "Integrated",
    "International",
    "Universal",
    "Quantum",
    "Bright",
    "Next",
    "New",
    "Modern",
    "Precision",
    "Superior",
    "Elite",
    "Prime",
    "Core",
    "Vertex",
    "Horizon",
    "Evergreen",
    "Liberty",
    "Heritage",
    "Coastal",
    "Mountain",
    "River",
    "Lake",
    "Valley",
    "Harbor",
    "Phoenix",
    "Titan",
    "Omega",
    "Infinite",
    "Pinnacle",
    "Keystone",
    "Frontier",
    "Sterling",
    "Crown",
    "Diamond",
    "Red",
    "Black",
    "White",
    "Orange",
    "Bay",
    "Great",
    "Northern",
    "Southern",
    "Western",
    "Eastern",
]
INDUSTRIES = [
    "Systems",
    "Solutions",
    "Labs",
    "Partners",
    "Logistics",
    "Foods",
    "Health",
    "Energy",
    "Software",
    "Analytics",
    "Consulting",
    "Media",
    "Capital",
    "Holdings",
    "Group",
    "Motors",
    "Robotics",
    "Biotech",
    "Pharma",
    "Networks",
    "Security",
    "Retail",
    "Studios",
    "Design",
    "Construction",
    "Realty",
    "Insurance",
    "Travel",
    "Education",
    "Games",
    "Dynamics",
    "Industries",
    "Technologies",
    "Ventures",
    "Services",
    "Supply",
    "Manufacturing",
    "Medical",
    "Finance",
    "Marketing",
    "Foods",
    "Apparel",
    "Hospitality",
    "Aerospace",
    "Marine",
    "Chemicals",
    "Materials",
    "Telecom",
    "Cloud",
    "Data",
    "Devices",
    "Instruments",
    "Brands",
    "Outdoors",
    "Pet",
    "Home",
    "Beauty",
    "Fitness",
    "Legal",
    "Staffing",
]
LEGAL_FORMS = ["Inc", "Inc.", "LLC", "Ltd", "GmbH", "Corp", "Corporation", "", "", "Co.", "S.A.", "AG"]
TLDS = ["com", "com", "com", "com", "io", "net", "co.uk", "de", "fr", "com.au"]
TERRITORIES = ["NY", "NJ", "CA", "TX", "WA", "IL", "FL", "MA", "EMEA", "APAC"]
SOURCES = ["webform", "csv", "event", "partner"]
COMMON_SHARE = 0.25
_CONSONANTS = "bcdfghjklmnprstvz"
_SYLLABLES = [c + v for c in _CONSONANTS for v in "aeiou"]  # 85 syllables, 614,125 3-syllable words


def made_up_word(k: int) -> str:
    s = _SYLLABLES
    return (s[k % 85] + s[k // 85 % 85] + s[k // 7225 % 85]).capitalize()


@dataclass(frozen=True)
class Account:
    company: str
    domain: str
    phone: str
    territory: str
    name: str | None  # account keys as the app computes them
    name_block: str | None
    phone_key: str | None


class World:
    """`accounts` companies, generated the same way every time."""

    def __init__(self, accounts: int, seed: int = 2026):
        rng = random.Random(seed)
        self.accounts: list[Account] = []
        for i in tqdm(range(accounts), desc="companies", unit="acct", leave=False, file=sys.stderr):
            first = rng.choice(COMMON_WORDS) if rng.random() < COMMON_SHARE else made_up_word(rng.randrange(614_125))
            industry = rng.choice(INDUSTRIES)
            company = f"{first} {industry} {rng.choice(LEGAL_FORMS)}".strip()
            domain = f"{first}{industry}{i}.{rng.choice(TLDS)}".lower()
            phone = f"+1 {rng.randrange(201, 989)} {rng.randrange(201, 999)} {rng.randrange(1000, 9999)}"
            keys = account_keys(f"info@{domain}", None, company, phone)
            assert keys.domain == domain, (domain, keys)
            self.accounts.append(
                Account(company, domain, phone, rng.choice(TERRITORIES), keys.name, keys.name_block, keys.phone)
            )

    def account_of(self, n: int) -> int:
        return n * 2654435761 % 2**32 % len(self.accounts)  # the same hash as BULK_LEADS_SQL

    def lead_json(self, n: int, prefix: str = "lead") -> dict:
        account = self.accounts[self.account_of(n)]
        free_mail = n % 10 < 3
        return {
            "external_id": f"{prefix}-{n}",
            "name": f"Contact {n}",
            "email": f"contact{n}@gmail.com" if free_mail else f"contact{n}@{account.domain}",
            "company": account.company,
            "phone": account.phone if n % 2 == 0 else None,
            "territory": account.territory,
            "source": SOURCES[n % len(SOURCES)],
            "score": n % 101,
            "tags": ["bench"],
        }

    def copy_to(self, connection: Connection) -> None:
        """The accounts as table `bench_accounts`, for BULK_LEADS_SQL."""
        connection.exec_driver_sql(
            "CREATE TABLE bench_accounts (id int PRIMARY KEY, company text, domain text, phone text, "
            "territory text, name text, name_block text, phone_key text)"
        )
        buffer = io.StringIO()
        for i, a in enumerate(self.accounts):
            fields = [
                str(i),
                a.company,
                a.domain,
                a.phone,
                a.territory,
                a.name or "\\N",
                a.name_block or "\\N",
                a.phone_key or "\\N",
            ]
            buffer.write("\t".join(fields) + "\n")
        driver = connection.connection.driver_connection
        assert driver is not None, "a checked-out connection has its driver's connection"
        cursor = driver.cursor()
        with cursor.copy("COPY bench_accounts FROM STDIN") as copy:
            copy.write(buffer.getvalue())


# Leads :first..:last as lead_json would send them, already closed or held (history), one claim
# each by a rep of the team; created over the two years before :now.
BULK_LEADS_SQL = """
WITH g AS (
    SELECT n, a.*, (n % 10 < 3) AS free_mail,
           CAST(:now AS timestamptz) - make_interval(mins => (n * 7919 % 1051200)::int) AS created
    FROM generate_series(CAST(:first AS bigint), CAST(:last AS bigint)) AS n
    JOIN bench_accounts a ON a.id = n * 2654435761 % 4294967296 % :accounts
), inserted AS (
    INSERT INTO leads (team_id, external_id, name, email, company, website, phone, territory, tags,
                       source, score, account_key, account_domain, account_name, name_block,
                       phone_key, status, created_at, announced_at)
    SELECT :team, 'bulk-' || n, 'Contact ' || n,
           CASE WHEN free_mail THEN 'contact' || n || '@gmail.com' ELSE 'contact' || n || '@' || domain END,
           company, NULL, CASE WHEN n % 2 = 0 THEN phone END, territory, '["bench"]',
           (ARRAY['webform', 'csv', 'event', 'partner'])[n % 4 + 1], n % 101,
           CASE WHEN free_mail THEN name ELSE domain END, CASE WHEN free_mail THEN NULL ELSE domain END,
           name, name_block, CASE WHEN n % 2 = 0 THEN phone_key END,
           CASE WHEN created > CAST(:now AS timestamptz) - interval '90 days' THEN 'claimed'
                WHEN n % 4 = 0 THEN 'won' ELSE 'lost' END,
           created, created
    FROM g
    RETURNING id, status, created_at
)
INSERT INTO claims (lead_id, member_id, status, how, hot, over_limit, requested_at, started_at,
                    contacted_at, ended_at)
SELECT id, (CAST(:member_ids AS int[]))[id % cardinality(CAST(:member_ids AS int[])) + 1],
       CASE status WHEN 'claimed' THEN 'active' ELSE status END, 'claim', false, false,
       created_at, created_at, created_at + interval '20 minutes',
       CASE WHEN status = 'claimed' THEN NULL ELSE created_at + interval '9 days' END
FROM inserted
"""
