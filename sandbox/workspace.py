"""The workspace the Slack stand-in pretends to be, and the rules Slack keeps about it.

People, conversations and who is in which; the messages posted; the `trigger_id`s and
`response_url`s handed to the app. Each rule refuses the way Slack does (`Refused(error)`),
from ../shared/slack/README.md and Slack's method reference. Not thread-safe on its own: the
stand-in calls it under its lock.
"""

from __future__ import annotations

import math
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

BOT_USER_ID = "U0DIBSBOT"
BOT_ID = "B0DIBSBOT"
TRIGGER_SECONDS = 3.0  # a trigger_id opens a view within 3 s, once
RESPONSE_URL_SECONDS = 30 * 60  # a response_url takes 5 posts within 30 minutes
RESPONSE_URL_USES = 5

Kind = Literal["public", "private", "im", "mpim"]


class Refused(Exception):
    """Slack's `{"ok": false, "error": error}`."""

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


@dataclass
class Person:
    id: str
    display_name: str = ""
    real_name: str = ""
    email: str = ""
    is_bot: bool = False
    deleted: bool = False
    status_text: str = ""
    status_emoji: str = ""
    status_expiration: int = 0  # Unix seconds when Slack clears the status; 0: it does not clear
    tz: str = "America/New_York"


@dataclass
class Conversation:
    id: str
    name: str
    kind: Kind
    members: set[str] = field(default_factory=set)
    archived: bool = False

    @property
    def is_private(self) -> bool:
        return self.kind != "public"

    @property
    def bot_is_member(self) -> bool:
        return BOT_USER_ID in self.members


@dataclass
class Message:
    channel: str
    ts: str
    user: str
    text: str = ""
    blocks: list[Any] | None = None
    metadata: dict[str, Any] | None = None
    thread_ts: str | None = None

    @property
    def is_reply(self) -> bool:
        return self.thread_ts is not None and self.thread_ts != self.ts


@dataclass
class ResponseUrl:
    channel: str
    user: str
    issued: float
    uses: int = 0


class Workspace:
    """People, conversations, posted messages, trigger_ids and response_urls of one workspace."""

    def __init__(self, serial: Iterable[int]) -> None:
        self._serial = iter(serial)  # shared with the stand-in so ids and ts never repeat
        self.people: dict[str, Person] = {}
        self.conversations: dict[str, Conversation] = {}
        self.messages: dict[tuple[str, str], Message] = {}
        self._bot_dms: dict[str, str] = {}  # user id -> the bot's DM with them
        self._triggers: dict[str, float] = {}  # trigger_id -> issued (monotonic)
        self._used_triggers: set[str] = set()
        self.response_urls: dict[str, ResponseUrl] = {}
        self.add_user(BOT_USER_ID, display_name="Dibs", real_name="Dibs", is_bot=True)

    # ----- ids

    def next_ts(self) -> str:
        serial = next(self._serial)
        return f"{1_700_000_000 + serial // 10_000}.{serial % 10_000 * 100:06d}"

    def next_id(self, prefix: str) -> str:
        return f"{prefix}0{next(self._serial):08d}"

    # ----- populating

    def add_user(self, user_id: str, **profile: Any) -> Person:
        self.people[user_id] = Person(user_id, **profile)
        return self.people[user_id]

    def add_channel(
        self, channel_id: str, name: str, *, private: bool, members: Iterable[str], bot_member: bool, archived: bool
    ) -> Conversation:
        people = set(members) | ({BOT_USER_ID} if bot_member else set())
        kind: Kind = "private" if private else "public"
        self.conversations[channel_id] = Conversation(channel_id, name, kind, people, archived)
        return self.conversations[channel_id]

    def add_dm(self, user_a: str, user_b: str) -> str:
        """A DM between two people (the bot is not in it); the same pair gets the same id."""
        pair = {user_a, user_b}
        for conversation in self.conversations.values():
            if conversation.kind == "im" and conversation.members == pair:
                return conversation.id
        dm = Conversation(self.next_id("D"), "", "im", pair)
        self.conversations[dm.id] = dm
        return dm.id

    def add_message(self, channel_id: str, user_id: str, text: str) -> str:
        """A message someone posted (not the bot); its ts."""
        ts = self.next_ts()
        self.messages[(channel_id, ts)] = Message(channel_id, ts, user_id, text)
        return ts

    # ----- finding things the way the bot's token sees them

    def person(self, user_id: str) -> Person:
        if user_id not in self.people:
            raise Refused("user_not_found")
        return self.people[user_id]

    def visible(self, channel_id: str) -> Conversation:
        """A conversation the bot can see: public ones, and private ones and DMs it is in."""
        conversation = self.conversations.get(channel_id)
        if conversation is None or (conversation.is_private and not conversation.bot_is_member):
            raise Refused("channel_not_found")
        return conversation

    def joined(self, channel_id: str) -> Conversation:
        """A conversation the bot is a member of (`not_in_channel` for a public one it is not in)."""
        conversation = self.visible(channel_id)
        if not conversation.bot_is_member:
            raise Refused("not_in_channel")
        return conversation

    def kind_of(self, channel_id: str) -> Kind | None:
        conversation = self.conversations.get(channel_id)
        return conversation.kind if conversation else None

    def bot_dm(self, user_id: str) -> Conversation:
        """The bot's DM with a person (its Messages tab), opened on first use."""
        person = self.people.get(user_id)
        if person is None or person.deleted:
            raise Refused("channel_not_found")
        if user_id not in self._bot_dms:
            dm = Conversation(self.next_id("D"), "", "im", {user_id, BOT_USER_ID})
            self.conversations[dm.id] = dm
            self._bot_dms[user_id] = dm.id
        return self.conversations[self._bot_dms[user_id]]

    def group_dm(self, user_ids: list[str]) -> Conversation:
        """The bot's group DM with several people, opened on first use."""
        people = {self.person(user_id).id for user_id in user_ids} | {BOT_USER_ID}
        for conversation in self.conversations.values():
            if conversation.kind == "mpim" and conversation.members == people:
                return conversation
        mpim = Conversation(self.next_id("G"), "", "mpim", people)
        self.conversations[mpim.id] = mpim
        return mpim

    def target(self, channel: str) -> Conversation:
        """Where a message to `channel` goes: a user id means the bot's DM with that person."""
        return self.bot_dm(channel) if channel[:1] in ("U", "W") else self.visible(channel)

    # ----- trigger_ids

    def new_trigger_id(self) -> str:
        trigger_id = f"{next(self._serial)}.738474920.{secrets.token_hex(10)}"
        self._triggers[trigger_id] = time.monotonic()
        return trigger_id

    def use_trigger_id(self, trigger_id: str) -> None:
        """Exchange a trigger_id for a view: once, within 3 s of the interaction."""
        issued = self._triggers.get(trigger_id)
        if issued is None:
            raise Refused("invalid_trigger_id")
        if trigger_id in self._used_triggers:
            raise Refused("exchanged_trigger_id")
        if time.monotonic() - issued > TRIGGER_SECONDS:
            raise Refused("expired_trigger_id")
        self._used_triggers.add(trigger_id)

    def expire_trigger_ids(self) -> None:
        self._triggers = dict.fromkeys(self._triggers, -math.inf)

    # ----- response_urls

    def new_response_url(self, channel_id: str, user_id: str) -> str:
        """The path part of a new response_url for `user_id`'s interaction in `channel_id`."""
        key = secrets.token_urlsafe(12)
        self.response_urls[key] = ResponseUrl(channel_id, user_id, time.monotonic())
        return key

    def use_response_url(self, key: str) -> ResponseUrl:
        """Count one post to a response_url; `Refused` once it is unknown, expired or used up."""
        url = self.response_urls.get(key)
        if url is None:
            raise Refused("no_service")
        if time.monotonic() - url.issued > RESPONSE_URL_SECONDS or url.uses >= RESPONSE_URL_USES:
            raise Refused("expired_url")
        url.uses += 1
        return url

    def expire_response_urls(self) -> None:
        for url in self.response_urls.values():
            url.issued = -math.inf


def conversation_info(conversation: Conversation) -> dict[str, Any]:
    """A conversation object as `conversations.info` and `conversations.join` answer it."""
    info: dict[str, Any] = {
        "id": conversation.id,
        "is_channel": conversation.kind == "public",
        "is_group": conversation.kind == "private",
        "is_im": conversation.kind == "im",
        "is_mpim": conversation.kind == "mpim",
        "is_private": conversation.is_private,
        "is_archived": conversation.archived,
        "is_member": conversation.bot_is_member,
    }
    if conversation.kind == "im":
        info["user"] = next((m for m in sorted(conversation.members) if m != BOT_USER_ID), "")
    else:
        info |= {"name": conversation.name, "num_members": len(conversation.members)}
    return info
