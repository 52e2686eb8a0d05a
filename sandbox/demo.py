"""`dibs demo`: a week of a sales team played end to end against a local stand-in for Slack.

The real app runs on a throwaway SQLite file; everything reaches it the way Slack and a CRM
send it (signed slash commands, button clicks and events, the intake webhook), and after each
step the Web API calls the stand-in received are printed as Slack would show them.

The week is `STEPS`: each step is a function of `Demo` whose docstring is its heading, so a
new scene is one more function in that list.
"""

from __future__ import annotations

import itertools
import json
import re
import secrets
import string
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot import scheduler
from bot.leads import active_claims
from bot.teams import find_member, show_config
from handlers.text import local_time
from handlers.views import CLAIM_ACTION
from infra.settings import Settings
from models import ClaimStatus, OutboxMessage, OutboxStatus
from sandbox.clock import SteppingClock
from sandbox.signing import (
    FORM,
    JSON,
    block_actions_body,
    event_body,
    signed_headers,
    slash_command_body,
)
from sandbox.slack_web import RecordedCall, SlackStandIn

if TYPE_CHECKING:
    from app import Runtime

BuildRuntime = Callable[..., "Runtime"]  # app.build_runtime, passed in by `dibs demo`

TZ = "America/New_York"
CHANNEL = "C0DEMO"
MANAGER, ALICE, BOB, CAROL, DAVE = "U0MAYA", "U0ALICE", "U0BOB", "U0CAROL", "U0DAVE"
PEOPLE = {  # display names the stand-in's users.info gives, shown where a mention cannot render
    MANAGER: "Maya Patel",
    "U0OMAR": "Omar Haddad",
    ALICE: "Alice Adams",
    BOB: "Bob Brown",
    CAROL: "Carol Chen",
    DAVE: "Dave Diaz",
}
WEEK_START = datetime(2026, 11, 23, 9, 0, tzinfo=ZoneInfo(TZ))  # a Monday, 09:00 in New York
MON, WED, THU, NEXT_TUE, NEXT_FRI = 0, 2, 3, 8, 11  # days after WEEK_START
SETTLE_SECONDS = 20.0
CHART_FILE = "digest-chart.png"

TEAM_TOML = string.Template("""\
[teams.demo]
name = "Sales East"
channel = "C0DEMO"
mediation_channel = "C0DEMOMED"
timezone = "America/New_York"
intake_token = "$intake_token"
managers = ["U0MAYA", "U0OMAR"]
reps = [{ id = "U0ALICE", weight = 1.0, territories = ["NY", "NJ"], skills = ["enterprise"] },
        { id = "U0BOB", weight = 1.0, territories = ["NY", "PA"] },
        { id = "U0CAROL", weight = 1.5, territories = ["CA", "WA"], skills = ["enterprise"] },
        { id = "U0DAVE", weight = 0.5, territories = ["TX"] }]

[teams.demo.limits]
max_active_claims = 4
max_claims_per_day = 10
max_hot_claims_per_day = 2
hot_score = 80
fair_start_seconds = 30
contest_window_minutes = 10
contact_sla_minutes = 120
auto_assign_after_minutes = 30

[teams.demo.digest]
day = "fri"
time = "17:00"
""")

LeadFields = dict[str, Any]


def _lead(
    key: str, name: str, company: str, territory: str, score: int, source: str, value: int, **contact: str
) -> LeadFields:
    """Webhook fields of a demo lead; `key` is its external id, by which steps refer to it."""
    return {
        "external_id": key,
        "name": name,
        "company": company,
        "territory": territory,
        "score": score,
        "source": source,
        "value": value,
        **contact,
    }


ACME = _lead("acme", "Jane Doe", "Acme Robotics", "NY", 70, "web", 12000, email="jane@acmerobotics.com")
HOSTILE = _lead(
    "ipads",
    "<!channel> FREE iPads, click now",
    "*Totally Legit* & Sons",
    "NJ",
    5,
    "web",
    0,
    email="prizes@free-ipads.biz",
)
GLOBEX = _lead("globex", "Hiro Tanaka", "Globex Corporation", "CA", 92, "referral", 48000, website="globex.com")
BURST = [
    _lead(key, name, company, territory, score, source, value, website=site)
    for key, name, company, territory, score, source, value, site in [
        ("northwind", "Priya Shah", "Northwind Traders", "NY", 64, "webinar", 18000, "northwindtraders.com"),
        ("initech", "Tom Becker", "Initech", "NJ", 55, "webinar", 9000, "initech.io"),
        ("umbrella", "Lena Fischer", "Umbrella Logistics", "PA", 71, "trade show", 22000, "umbrella.co"),
        ("vandelay", "Marco Rossi", "Vandelay Imports", "NY", 48, "webinar", 6000, "vandelay.com"),
        ("stark", "Aisha Khan", "Stark Solar", "CA", 77, "web", 35000, "starksolar.com"),
        ("wayne", "Sam Okafor", "Wayne Freight", "NJ", 60, "trade show", 14000, "waynefreight.com"),
        ("soylent", "Julia Novak", "Soylent Foods", "WA", 52, "webinar", 8000, "soylentfoods.com"),
        ("hooli", "Diego Ramos", "Hooli Health", "CA", 69, "web", 27000, "hoolihealth.com"),
        ("piedpiper", "Emma Clarke", "Pied Piper Data", "CA", 58, "webinar", 11000, "piedpiper.net"),
        ("cyberdyne", "Yuki Sato", "Cyberdyne Analytics", "TX", 74, "trade show", 31000, "cyberdyne.ai"),
        ("dunder", "Noah Levi", "Dunder Paper", "PA", 45, "web", 5000, "dunderpaper.com"),
        ("oscorp", "Grace Park", "Oscorp Labs", "NY", 66, "webinar", 16000, "oscorplabs.com"),
    ]
]
MISSED = _lead("umbra", "Olivia Grant", "Umbra Pharma", "NJ", 73, "web", 26000, email="olivia@umbrapharma.com")
ACME_AGAIN = _lead("acme-cto", "Raj Patel", "Acme Robotics Inc.", "NY", 81, "web", 30000, email="raj@acmerobotics.com")
LONESTAR = _lead(
    "lonestar", "Carlos Mendez", "Lone Star Energy", "TX", 68, "referral", 20000, website="lonestarenergy.com"
)


class DemoError(Exception):
    """Something in the demo did not happen as Slack or the CRM would expect."""


# ---- what Slack would show, for a terminal -----------------------------------------------

EMOJI = {
    "trophy": "🏆",
    "large_green_circle": "🟢",
    "bust_in_silhouette": "👤",
    "fire": "🔥",
    "hourglass_flowing_sand": "⏳",
    "x": "❌",
    "white_check_mark": "✅",
    "warning": "⚠️",
    "scales": "⚖️",
}
_LINK = re.compile(r"<([@#!])([^|>]+)(?:\|[^>]*)?>")
_EMOJI_CODE = re.compile(r":([a-z0-9_+-]+):")
_BOLD_MARK = re.compile("\\*(?!\u200b)")  # user text's own asterisks carry a zero-width space
_REF = re.compile(r"^([LD]-\d+)\b")

Card = tuple[str, str, bool]  # (channel, first ref or line, is a one-line stub)


def at(user_id: object) -> str:
    """A person as Slack shows a mention: @ and their display name."""
    return f"@{PEOPLE.get(str(user_id), user_id)}"


def terminal_text(mrkdwn: str) -> str:
    """Slack mrkdwn as it reads in Slack: @mentions, emoji, no bold marks, entities decoded.

    Mentions are read before `&lt;` is decoded, so escaped user text such as `&lt;!channel&gt;`
    comes out as the literal `<!channel>` while a real `<!channel>` would show as a ping.
    """
    text = _LINK.sub(lambda m: f"#{m[2]}" if m[1] == "#" else at(m[2]) if m[1] == "@" else f"@{m[2]}", mrkdwn)
    text = _BOLD_MARK.sub("", text).replace("\u200b", "")
    text = _EMOJI_CODE.sub(lambda m: EMOJI.get(m[1], m[0]), text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _text(obj: Any) -> str:
    return str(obj.get("text") or obj.get("alt_text") or "") if isinstance(obj, dict) else ""


def block_lines(block: dict[str, Any]) -> list[str]:
    """One Block Kit block as terminal lines; buttons as `[Claim]`."""
    kind = block.get("type")
    if kind == "section":
        lines = terminal_text(_text(block.get("text"))).splitlines() or [""]
        accessory = block.get("accessory") or {}
        if accessory.get("type") == "button":
            lines[0] += f"   [{_text(accessory.get('text'))}]"
        fields = [terminal_text(_text(f)).replace("\n", ": ") for f in block.get("fields") or []]
        return lines + ([" · ".join(fields)] if fields else [])
    if kind == "context":
        return [" · ".join(terminal_text(_text(e)) for e in block.get("elements") or [])]
    if kind == "header":
        return [f"== {_text(block.get('text'))} =="]
    if kind == "divider":
        return ["┈┈┈"]
    if kind == "actions":
        return ["  ".join(f"[{_text(e.get('text'))}]" for e in block.get("elements") or [])]
    return [f"[{kind}]"]


def _blocks_lines(blocks: Any) -> list[str]:
    return [line for block in blocks or [] if isinstance(block, dict) for line in block_lines(block)]


def _cards(blocks: Any) -> list[list[str]]:
    """A message's blocks cut at dividers: one lead card (or dispute case) each."""
    chunks: list[list[str]] = [[]]
    for block in blocks or []:
        if block.get("type") == "divider":
            chunks.append([])
        else:
            chunks[-1] += block_lines(block)
    return [chunk for chunk in chunks if chunk]


def _card_key(channel: str, card: list[str]) -> Card:
    ref = _REF.match(card[0])
    return channel, ref[1] if ref else card[0], len(card) == 1


def _where(target: str) -> str:
    return f"DM to {at(target)}" if target[:1] in ("U", "W") else f"#{target}"


def _message(prefix: str, text: str, blocks: Any) -> tuple[str, list[str]]:
    """A message as a title line and a body: its blocks if it has any (Slack shows those, the
    text is the notification), else the rest of its text."""
    lines = terminal_text(text).splitlines() or [""]
    return f"{prefix} {lines[0]}", _blocks_lines(blocks) if blocks else lines[1:]


def _card_updates(channel: str, blocks: Any, cards: dict[Card, list[str]]) -> list[tuple[str, list[str]]]:
    """The cards of an updated message that look different from when they were last shown."""
    shown: list[tuple[str, list[str]]] = []
    for card in _cards(blocks):
        key = _card_key(channel, card)
        if cards.get(key) != card:
            cards[key] = card
            summary = card[0] if len(card) == 1 else f"{card[0]} — {card[-1]}"
            shown.append((f"↻ updated card in #{channel}: {summary}", []))
    return shown


def call_view(call: RecordedCall, cards: dict[Card, list[str]]) -> list[tuple[str, list[str]]]:
    """What one Web API call shows people, as (title, body lines); `cards` remembers each card
    as last shown, so a card update prints only the cards that changed."""
    args, method = call.args, call.method
    if call.rate_limited:
        return [
            (
                f"⏳ Slack: 429 slow down ({method} to {_where(str(args.get('channel')))}); "
                "Dibs waits as Retry-After says and tries again",
                [],
            )
        ]
    if not call.ok:
        return [(f"⚠️  Slack refused {method}: {call.error or call.status}", [])]
    if method == "chat.postMessage":
        channel = str(args.get("channel"))
        for card in _cards(args.get("blocks")):
            cards[_card_key(channel, card)] = card
        thread = " (in thread)" if args.get("thread_ts") else ""
        prefix = f"✉️  {_where(channel)}:" if channel[:1] in ("U", "W") else f"💬 #{channel}{thread} —"
        return [_message(prefix, str(args.get("text", "")), args.get("blocks"))]
    if method == "chat.update":
        return _card_updates(str(args.get("channel")), args.get("blocks"), cards)
    if method == "response_url":  # the answer to a click, shown only to who clicked
        return [_message(f"(only {at(args.get('user'))} sees)", str(args.get("text", "")), args.get("blocks"))]
    if method == "conversations.join":
        return [(f"👋 Dibs joins {_where(str(args.get('channel')))}", [])]
    if method == "views.publish":
        view = args.get("view") or {}
        return [(f"🏠 App Home of {at(args.get('user_id'))} updated", _blocks_lines(view.get("blocks")))]
    if method in ("views.open", "views.push", "views.update"):
        return [(f"🪟 a form opens: “{_text((args.get('view') or {}).get('title'))}”", [])]
    if method == "files.completeUploadExternal":
        titles = ", ".join(f"“{f.get('title')}”" for f in args.get("files") or [])
        return [(f"📎 #{args.get('channel_id')}: file {titles}", [])]
    if method in ("auth.test", "files.getUploadURLExternal", "conversations.info", "users.info"):
        return []  # plumbing nobody sees
    return [(f"· {method}", [])]


def say(line: str, body: list[str] | None = None) -> None:
    """Print one line of the demo (and an indented body), at once: the demo is long-running."""
    print(f"  {line}")
    for text in body or []:
        print(f"     │ {text}")
    sys.stdout.flush()


# ---- driving the app like Slack and a CRM --------------------------------------------------


@dataclass
class Demo:
    """The running app, the stand-in it talks to, and how a team and its CRM reach it."""

    runtime: Runtime
    slack: SlackStandIn
    clock: SteppingClock
    signing_secret: str
    intake_token: str
    database_url: str
    out_dir: Path
    refs: dict[str, str] = field(default_factory=dict)  # lead external id -> L-n
    _seen: int = field(default=0, init=False)  # stand-in calls already shown
    _cards: dict[Card, list[str]] = field(default_factory=dict, init=False)
    _event_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1), init=False)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.runtime.http.port}"

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        request = urllib.request.Request(self.base_url + path, data=body, method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as err:
            return err.code, err.read()

    def _from_slack(self, body: bytes, what: str, content_type: str = FORM) -> bytes:
        headers = signed_headers(body, self.signing_secret, content_type=content_type)
        status, answer = self.request("POST", "/slack/events", body, headers)
        if status != 200:
            raise DemoError(f"{what} was answered HTTP {status}: {answer[:200].decode(errors='replace')}")
        return answer

    # ---- people and systems acting

    def post_lead(self, lead: LeadFields, *, echo: bool = True) -> str:
        """The CRM posts a lead to the intake webhook; returns its ref (also kept in `refs`)."""
        headers = {"Content-Type": JSON, "Authorization": f"Bearer {self.intake_token}"}
        status, answer = self.request("POST", "/api/leads", json.dumps(lead).encode(), headers)
        if status not in (200, 201):
            raise DemoError(f"POST /api/leads for {lead['name']!r} was answered {status}: {answer.decode()}")
        result = json.loads(answer)
        self.refs[lead["external_id"]] = result["id"]
        if echo:
            say(f"🌐 CRM → POST /api/leads “{lead['name']}” → {status} {json.dumps(result)}")
        return result["id"]

    def command(self, text: str, user: str) -> None:
        """`user` types `/dibs text` in the team channel and reads the private reply."""
        say(f"⌨️  {at(user)} types: /dibs {terminal_text(text)}")
        body = slash_command_body(
            text,
            user_id=user,
            channel_id=CHANNEL,
            trigger_id=self.slack.new_trigger_id(),
            response_url=self.slack.new_response_url(CHANNEL, user),
        )
        reply = json.loads(self._from_slack(body, f"/dibs {text} by {user}") or b"{}")
        say(*_message(f"(only {at(user)} sees)", reply.get("text", ""), reply.get("blocks")))

    def click_claim(self, ref: str, user: str) -> None:
        say(f"👆 {at(user)} clicks [Claim] on {ref}")
        body = block_actions_body(
            user,
            CLAIM_ACTION,
            ref.removeprefix("L-"),
            channel_id=CHANNEL,
            trigger_id=self.slack.new_trigger_id(),
            response_url=self.slack.new_response_url(CHANNEL, user),
        )
        self._from_slack(body, f"{user}'s Claim click on {ref}")

    def open_app_home(self, user: str) -> None:
        say(f"🏠 {at(user)} opens the Dibs App Home")
        event = {"type": "app_home_opened", "user": user, "channel": "D0DEMOHOME", "tab": "home"}
        body = event_body(event, event_id=f"Ev0DEMO{next(self._event_ids)}")
        self._from_slack(body, f"{user}'s App Home event", content_type=JSON)

    # ---- time and what people see

    def at(self, day: int, hhmm: str) -> None:
        """Jump the clock to `hhmm` (New York) `day` days after the demo's Monday."""
        self.clock.jump_to(
            datetime.combine(WEEK_START.date() + timedelta(days=day), clock_time.fromisoformat(hhmm), ZoneInfo(TZ))
        )
        say(f"🕘 {local_time(self.clock(), TZ, '%a %d %b %H:%M %Z')}")

    def later(self, seconds: int) -> None:
        self.clock.jump_to(self.clock() + timedelta(seconds=seconds))
        say(f"⏩ {seconds} seconds later: {local_time(self.clock(), TZ, '%H:%M:%S %Z')}")

    def show(self) -> None:
        """Let the scheduler and outbox finish, then print what Slack received since last time."""
        self._settle()
        calls = self.slack.calls
        for call in calls[self._seen :]:
            for title, body in call_view(call, self._cards):
                say(title, body)
        self._seen = len(calls)

    def _settle(self) -> None:
        """Run what came due at the demo's time (as the scheduler would within a second), then
        wait until every queued Slack message was delivered."""
        deadline = time.monotonic() + SETTLE_SECONDS
        counts: Counter[str] = Counter()
        while scheduler.run_due(self.runtime.sessions, self.clock(), counts):
            if time.monotonic() > deadline:
                due = ", ".join(f"{job} {count}" for job, count in counts.items() if count)
                raise DemoError(f"the scheduler still found work due after {SETTLE_SECONDS:.0f}s ({due})")
            counts.clear()
        while (waiting := self._outbox_row(OutboxStatus.PENDING)) is not None:
            if time.monotonic() > deadline:
                raise DemoError(
                    f"a {waiting.kind} message was still undelivered after {SETTLE_SECONDS:.0f}s "
                    f"(last error: {waiting.last_error or 'none'})"
                )
            time.sleep(0.05)
        if (failed := self._outbox_row(OutboxStatus.FAILED)) is not None:
            raise DemoError(f"a {failed.kind} message could not be delivered: {failed.last_error}")
        if problems := self.slack.take_problems():
            raise DemoError(f"Slack would object to a call: {problems[0]}")

    def _outbox_row(self, status: OutboxStatus) -> OutboxMessage | None:
        with self.runtime.sessions() as session:
            return session.scalar(
                select(OutboxMessage).where(OutboxMessage.status == status).order_by(OutboxMessage.id).limit(1)
            )

    def uncontacted(self, user: str) -> list[str]:
        """The leads a rep holds and has not called yet (what their `/dibs mine` lists)."""
        with self.runtime.sessions() as session:
            member = find_member(session, user)
            held = active_claims(session, member.id) if member else []
            return [c.lead.ref for c in held if c.status == ClaimStatus.ACTIVE and c.contacted_at is None]


# ---- the week ----------------------------------------------------------------------------


def dibs_starts(demo: Demo) -> None:
    """Dibs starts on a throwaway database"""
    status, _ = demo.request("GET", "/healthz")
    say(f"Slack stand-in  {demo.slack.api_url}  (records every Web API call; no Slack account)")
    say(f"Dibs            {demo.base_url}  POST /slack/events · POST /api/leads · GET /healthz → {status}")
    say(f"Database        {demo.database_url}  (deleted afterwards)")
    say(f"Clock           {local_time(demo.clock(), TZ, '%a %d %b %Y %H:%M %Z')}, jumped forward through the week")
    with demo.runtime.sessions() as session:
        say("Team config, as applied (`dibs config show`):", show_config(session).splitlines())
    demo.show()


def asking_for_help(demo: Demo) -> None:
    """A rep asks what Dibs can do"""
    demo.command("help", ALICE)


def leads_arrive(demo: Demo) -> None:
    """Leads arrive from the CRM, one of them hostile"""
    demo.at(MON, "09:05")
    demo.post_lead(ACME)
    demo.post_lead(HOSTILE)
    demo.show()
    sent = [json.dumps(c.args, ensure_ascii=False) for c in demo.slack.calls_to("chat.postMessage")]
    if not any("&lt;!channel&gt;" in text for text in sent) or any("<!channel>" in text for text in sent):
        raise DemoError("the lead named <!channel> did not reach Slack escaped as &lt;!channel&gt;")
    say("» Slack received the name as &lt;!channel&gt;: it shows as text and pings nobody.")


def claiming(demo: Demo) -> None:
    """Reps claim with the Claim button"""
    demo.at(MON, "09:20")
    say("» The 30-second fair-start windows have closed, so the first valid claim wins.")
    demo.click_claim(demo.refs["acme"], ALICE)
    demo.show()
    demo.click_claim(demo.refs["ipads"], BOB)
    demo.show()


def fair_start_draw(demo: Demo) -> None:
    """Two reps click at once: the fair-start draw"""
    demo.at(MON, "10:00")
    ref = demo.post_lead(GLOBEX)
    demo.show()
    demo.click_claim(ref, ALICE)
    demo.click_claim(ref, CAROL)
    demo.show()
    demo.later(31)
    say("» The window closed: the claimant furthest below their fair share this week wins.")
    demo.show()
    demo.command(f"why {ref}", ALICE)


def outcomes(demo: Demo) -> None:
    """Contacted, won and lost"""
    demo.at(MON, "10:15")
    demo.command(f"contacted {demo.refs['acme']}", ALICE)
    demo.command(f"won {demo.refs['acme']} $12,000", ALICE)
    demo.command(f"lost {demo.refs['ipads']} spam, not a real company", BOB)
    demo.command(f"won {demo.refs['globex']} $48k", CAROL)
    demo.show()


def going_away(demo: Demo) -> None:
    """A rep goes away until Wednesday"""
    demo.at(MON, "10:30")
    demo.command(f"away until {(WEEK_START + timedelta(days=WED)).date()}", DAVE)
    say("» Dave's fair share now counts only the time he is in; he gets no auto-assigned leads.")


def burst(demo: Demo) -> None:
    """A burst of 12 leads"""
    demo.at(MON, "11:00")
    refs = [demo.post_lead(lead, echo=False) for lead in BURST]
    say(f"🌐 CRM → POST /api/leads ×{len(refs)} within a second: {refs[0]} … {refs[-1]}, each 201 announced")
    say("» Slack takes about one message a second per channel, so Dibs groups waiting leads:")
    say("  up to 10 cards in one message, each with its own Claim button.")
    demo.show()


def limits(demo: Demo) -> None:
    """Reps claim from the burst, and a limit says no"""
    demo.at(MON, "11:02")
    clicks = [
        (ALICE, "northwind"),
        (ALICE, "initech"),
        (ALICE, "umbrella"),
        (ALICE, "vandelay"),
        (ALICE, "stark"),
        (BOB, "stark"),
        (BOB, "wayne"),
        (CAROL, "soylent"),
        (DAVE, "hooli"),
    ]
    for user, lead in clicks:
        demo.click_claim(demo.refs[lead], user)
        demo.show()
    demo.open_app_home(ALICE)
    demo.show()


def auto_assign(demo: Demo) -> None:
    """Leads nobody claimed are auto-assigned after 30 minutes"""
    demo.at(MON, "11:31")
    say("» Round robin to eligible reps under their limits, furthest below fair share first.")
    say("  Alice is at her limit and Dave is away, so neither is a candidate.")
    demo.show()
    demo.command(f"why {demo.refs['hooli']}", MANAGER)


def calling(demo: Demo) -> None:
    """The team calls its new leads (all but one)"""
    demo.at(MON, "11:45")
    for rep in (ALICE, BOB, CAROL):
        for ref in demo.uncontacted(rep):
            if ref != demo.refs["wayne"]:
                demo.command(f"contacted {ref}", rep)
    demo.show()


def missed_sla(demo: Demo) -> None:
    """A missed contact SLA: a reminder, then the lead goes back to the team"""
    demo.at(MON, "12:05")
    say(f"» Bob never marked {demo.refs['wayne']} contacted; half-way through the 2-hour SLA:")
    demo.show()
    demo.at(MON, "13:05")
    demo.show()


def manager_assigns(demo: Demo) -> None:
    """A manager assigns a lead over a rep's limit"""
    demo.at(MON, "13:10")
    wayne = demo.refs["wayne"]
    demo.command(f"assign {wayne} <@{ALICE}|alice> she knows their buyer", MANAGER)
    demo.show()
    demo.command(f"contacted {wayne}", ALICE)
    demo.show()


def coming_back(demo: Demo) -> None:
    """Wednesday: the away rep is back and claims a lead"""
    demo.at(WED, "09:30")
    say("» Dave's time away ended at midnight.")
    ref = demo.post_lead(LONESTAR)
    demo.show()
    demo.at(WED, "09:31")
    demo.click_claim(ref, DAVE)
    demo.show()
    demo.at(WED, "10:10")
    demo.command(f"contacted {ref}", DAVE)
    demo.show()


def dispute_split(demo: Demo) -> None:
    """A dispute over an account, opened and settled with a split"""
    demo.at(WED, "11:00")
    ref = demo.post_lead(ACME_AGAIN)
    demo.show()
    demo.at(WED, "11:05")
    say("» Bob claims it, but Alice holds the Acme Robotics account (she won L-1 on Monday).")
    demo.click_claim(ref, BOB)
    demo.show()
    demo.at(WED, "14:00")
    say("» The mediator reads the case and splits the credit.")
    demo.command(
        f"resolve D-1 split <@{ALICE}|alice> 60 <@{BOB}|bob> 40 Alice owns the account, Bob found the new buyer",
        MANAGER,
    )
    demo.show()
    demo.command(f"why {ref}", BOB)
    demo.command(f"contacted {ref}", ALICE)


def deals_close(demo: Demo) -> None:
    """Thursday: deals close"""
    demo.at(THU, "15:00")
    for user, verb, lead, detail in [
        (ALICE, "won", "northwind", "$18,000"),
        (ALICE, "lost", "vandelay", "went with a competitor"),
        (BOB, "won", "stark", "$35k"),
        (CAROL, "won", "soylent", "$8,000"),
        (DAVE, "won", "lonestar", "$20,000"),
    ]:
        demo.command(f"{verb} {demo.refs[lead]} {detail}", user)
    demo.show()


def weekly_digest(demo: Demo) -> None:
    """The weekly fairness digest"""
    demo.at(NEXT_FRI, "17:00")
    say("» Friday 17:00 in New York: the digest of the last complete week is due, with its chart.")
    demo.show()
    charts = list(demo.slack.uploads.values())
    if not charts:
        raise DemoError("the digest chart was never uploaded to Slack")
    demo.out_dir.mkdir(parents=True, exist_ok=True)
    path = demo.out_dir / CHART_FILE
    path.write_bytes(charts[-1])
    say(f"📈 The chart Slack received is saved at {path}")


def escalation(demo: Demo) -> None:
    """A lead missed by three reps goes up to the managers"""
    demo.at(NEXT_TUE, "09:00")
    demo.command("hours", BOB)
    ref = demo.post_lead(MISSED)
    demo.show()
    for rep, claims_at, missed_at in ((BOB, "09:05", "11:05"), (CAROL, "11:10", "13:10"), (DAVE, "13:15", "15:15")):
        demo.at(NEXT_TUE, claims_at)
        demo.click_claim(ref, rep)
        demo.show()
        demo.at(NEXT_TUE, missed_at)
        say(f"» {at(rep)} never marked {ref} contacted: the 2-hour contact SLA runs out.")
        demo.show()
    escalated = [
        c for c in demo.slack.calls_to("chat.postMessage") if c.args.get("thread_ts") and ref in c.args["text"]
    ]
    if not escalated:
        raise DemoError(f"{ref} was missed three times, but no reply reached its card's thread")
    say("» The third miss sends it to the managers (a DM each and a reply in the card's thread), not the channel.")
    demo.command(f"why {ref}", MANAGER)


Step = Callable[[Demo], None]
STEPS: list[Step] = [
    dibs_starts,
    asking_for_help,
    leads_arrive,
    claiming,
    fair_start_draw,
    outcomes,
    going_away,
    burst,
    limits,
    auto_assign,
    calling,
    missed_sla,
    manager_assigns,
    coming_back,
    dispute_split,
    deals_close,
    escalation,
    weekly_digest,
]


def _title(step: Step) -> str:
    return (step.__doc__ or step.__name__).strip()


def run_demo(out_dir: Path, build_runtime: BuildRuntime) -> int:
    """Play the week; 0 when every step did what it shows, else 1 with one line naming what broke."""
    print("Dibs demo: a week of the Sales East team, against a local stand-in for Slack.")
    print("No Slack account, no network; a throwaway database. What Slack would show is printed.\n")
    step_name = "start-up"
    runtime: Runtime | None = None
    with tempfile.TemporaryDirectory(prefix="dibs-demo-") as tmp, SlackStandIn() as slack:
        try:
            slack.limit_channel_rate(1.0)
            secret, token = secrets.token_hex(16), secrets.token_urlsafe(16)
            team_toml = TEAM_TOML.substitute(intake_token=token)
            slack.add_teams(team_toml, PEOPLE)  # its channels public, the bot not in them yet
            config = Path(tmp) / "teams.toml"
            config.write_text(team_toml, encoding="utf-8")
            database_url = f"sqlite:///{Path(tmp) / 'dibs-demo.db'}"
            settings = Settings(
                _env_file=None,
                database_url=database_url,
                slack_bot_token="xoxb-demo",
                slack_signing_secret=secret,
                slack_app_token=None,
                slack_api_url=slack.api_url,
                host="127.0.0.1",
                port=0,
                dibs_config=config,
            )
            clock = SteppingClock(WEEK_START)
            runtime = build_runtime(settings, clock=clock)
            runtime.start()
            demo = Demo(runtime, slack, clock, secret, token, database_url, out_dir)
            for number, step in enumerate(STEPS, 1):
                step_name = f"[{number}/{len(STEPS)}] {_title(step)}"
                print(f"\n{step_name}", flush=True)
                step(demo)
        except Exception as exc:
            what = str(exc) if isinstance(exc, DemoError) else f"{type(exc).__name__}: {exc}"
            print(f"\ndibs demo failed in {step_name}: {what}", file=sys.stderr)
            return 1
        finally:
            if runtime is not None:
                runtime.stop()
    print(f"\nDone: {len(STEPS)} steps, {len(slack.calls)} Slack Web API calls, none Slack would refuse.")
    return 0
