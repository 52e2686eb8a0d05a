"""Socket Mode end to end (DESIGN §2): Slack's traffic over a websocket instead of /slack/events.

The app runs as `dibs serve` does with SLACK_APP_TOKEN set: bolt's SocketModeHandler (slack_sdk's
built-in websocket client) asks the Web API stand-in for a URL (`apps.connections.open`), connects
to the Socket Mode stand-in over real RFC 6455, and answers envelopes with acks. HTTP still serves
intake, health and metrics. The last tests hold the Socket Mode stand-in itself to Slack's rules.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import Engine, select
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from bot.leads import owning_claim
from handlers.lead_form import CALLBACK_ID
from handlers.views import CLAIM_ACTION
from models import Lead
from sandbox.clock import SteppingClock
from sandbox.slack_web import SlackStandIn
from sandbox.socket_mode import SocketModeStandIn
from tests.conftest import TEAM_TOML
from tests.fixtures_app import AppDriver, eventually, running_dibs, runtime_settings
from tests.test_claims_e2e import announce, card_shows
from tests.test_intake import form_values

APP_TOKEN = "xapp-1-A0DIBSAPP-1-test"


@pytest.fixture(scope="session")
def _socket_server() -> Iterator[SocketModeStandIn]:
    """One websocket server per test session (per xdist worker); tests reset it."""
    with SocketModeStandIn() as server:
        yield server


@pytest.fixture
def socket_mode(_socket_server: SocketModeStandIn, slack: SlackStandIn) -> Iterator[SocketModeStandIn]:
    """The Socket Mode stand-in, reached through the Web API stand-in's apps.connections.open.

    The test fails if any envelope was acknowledged late, twice or never.
    """
    _socket_server.reset()
    slack.socket_mode_url, _socket_server.web = _socket_server.open_url, slack
    yield _socket_server
    slack.socket_mode_url, _socket_server.web = None, None
    problems = _socket_server.take_problems()
    if problems:
        pytest.fail("Socket Mode traffic Slack would object to:\n  " + "\n  ".join(problems))


@pytest.fixture
def dibs_socket(
    engine: Engine,
    database_url: str,
    slack: SlackStandIn,
    socket_mode: SocketModeStandIn,
    clock: SteppingClock,
    tmp_path: Path,
) -> Iterator[AppDriver]:
    """Dibs in Socket Mode with the sample teams, connected to the stand-in."""
    config = tmp_path / "teams.toml"
    config.write_text(TEAM_TOML)
    settings = runtime_settings(database_url, slack, config, slack_app_token=APP_TOKEN)
    with running_dibs(settings, slack, clock) as driver:
        socket_mode.wait_connected()
        yield driver


# ---- the app over Socket Mode -----------------------------------------------------------------


def test_the_app_connects_with_its_app_token_and_keeps_http_for_the_rest(
    dibs_socket: AppDriver, socket_mode: SocketModeStandIn
) -> None:
    [opened] = dibs_socket.slack.calls_to("apps.connections.open")
    assert opened.ok
    assert socket_mode.connections == 1
    handler = dibs_socket.runtime.socket_mode
    assert handler is not None
    session = handler.client.current_session
    assert session is not None, "connected"
    assert eventually(lambda: session.last_ping_pong_time is not None), "slack_sdk's ping got its pong"
    assert dibs_socket.request("GET", "/healthz").status == 200
    assert dibs_socket.request("POST", "/slack/events", b"x").status == 404, "Slack comes over the socket"


def test_a_claim_by_button_makes_the_owner_and_updates_the_card(
    dibs_socket: AppDriver, socket_mode: SocketModeStandIn
) -> None:
    ref = announce(dibs_socket)  # the intake webhook still comes over HTTP
    dibs_socket.message_to("C0EAST", f"New lead: {ref}")

    ack = socket_mode.block_actions("U0ALICE", CLAIM_ACTION, ref.removeprefix("L-"), channel_id="C0EAST")

    assert ack.payload is None, "a click is acknowledged empty; its answer goes separately"
    with dibs_socket.runtime.sessions() as session:
        claim = owning_claim(session, int(ref.removeprefix("L-")))
        assert claim is not None and claim.member.slack_user_id == "U0ALICE"
    card = card_shows(dibs_socket, "Claimed by <@U0ALICE>")
    assert f'"action_id": "{CLAIM_ACTION}"' not in card


def test_a_slash_command_is_answered_in_its_ack(dibs_socket: AppDriver, socket_mode: SocketModeStandIn) -> None:
    ref = announce(dibs_socket)

    claimed = socket_mode.slash_command(f"claim {ref}", user_id="U0ALICE", channel_id="C0EAST")
    mine = socket_mode.slash_command("mine", user_id="U0ALICE", channel_id="C0EAST")

    assert claimed.payload is not None and claimed.payload["text"].startswith(f"{ref} is yours.")
    assert mine.payload is not None and "1/5 active" in mine.payload["text"]
    card_shows(dibs_socket, "Claimed by <@U0ALICE>")


def test_the_lead_form_opens_and_its_submission_creates_and_announces_the_lead(
    dibs_socket: AppDriver, socket_mode: SocketModeStandIn
) -> None:
    trigger = dibs_socket.slack.new_trigger_id()
    opening = socket_mode.slash_command("lead add", user_id="U0ALICE", channel_id="C0EAST", trigger_id=trigger)
    assert opening.payload == {"text": "Opening the lead form…", "response_type": "ephemeral"}
    [opened] = dibs_socket.slack.wait_for("views.open")
    assert (opened.args["trigger_id"], opened.args["view"]["callback_id"]) == (trigger, CALLBACK_ID)

    ack = socket_mode.view_submission(
        "U0ALICE", CALLBACK_ID, form_values(name="Jane Doe", company="Acme Inc", email="jane@acme.com")
    )

    assert ack.payload is None, "a valid form closes"
    with dibs_socket.runtime.sessions() as session:
        lead = session.scalars(select(Lead)).one()
        assert (lead.name, lead.account_key) == ("Jane Doe", "acme.com")
    dibs_socket.message_to("C0EAST", f"New lead: {lead.ref}")


def test_an_invalid_submission_is_answered_with_field_errors(
    dibs_socket: AppDriver, socket_mode: SocketModeStandIn
) -> None:
    ack = socket_mode.view_submission("U0ALICE", CALLBACK_ID, form_values(name="Jane Doe", email="nope", score="200"))

    assert ack.payload is not None and ack.payload["response_action"] == "errors"
    assert set(ack.payload["errors"]) == {"email", "score"}
    with dibs_socket.runtime.sessions() as session:
        assert session.scalars(select(Lead)).all() == []


def test_the_app_reconnects_when_slack_recycles_the_connection(
    dibs_socket: AppDriver, socket_mode: SocketModeStandIn
) -> None:
    socket_mode.disconnect("refresh_requested")

    socket_mode.wait_connected(hellos=2)
    assert len(dibs_socket.slack.calls_to("apps.connections.open")) == 2, "a fresh URL for the new connection"
    assert eventually(lambda: socket_mode.connections == 1), "the old connection was closed"
    help_text = socket_mode.slash_command("help", user_id="U0ALICE", channel_id="C0EAST").payload
    assert help_text is not None and "/dibs" in help_text["text"]


# ---- the stand-in holds the app to Slack's rules ------------------------------------------------


def test_a_bot_token_cannot_open_a_socket_connection(slack_client: WebClient, slack: SlackStandIn) -> None:
    with pytest.raises(SlackApiError) as refused:
        slack_client.apps_connections_open(app_token="xoxb-test")
    assert refused.value.response["error"] == "not_allowed_token_type"
    with pytest.raises(SlackApiError) as wrong_way:
        WebClient(token=APP_TOKEN, base_url=slack.api_url).chat_postMessage(channel="C0EAST", text="hi")
    assert wrong_way.value.response["error"] == "not_allowed_token_type"
    assert slack.take_problems() == [
        "apps.connections.open: token is not an app-level token (xapp-)",
        "chat.postMessage: token is not a bot token (xoxb-)",
    ]


def test_an_url_slack_never_issued_is_refused(slack_client: WebClient, socket_mode: SocketModeStandIn) -> None:
    issued = slack_client.apps_connections_open(app_token=APP_TOKEN)["url"]
    forged = issued.split("ticket=")[0] + "ticket=forged"

    with pytest.raises(InvalidStatus) as refused:
        connect(forged)
    assert refused.value.response.status_code == 401
    [problem] = socket_mode.take_problems()
    assert "a URL apps.connections.open never gave" in problem


def test_acks_that_are_late_doubled_or_missing_are_reported() -> None:
    with SocketModeStandIn(ack_deadline=0.2) as standin:
        url = standin.open_url()
        with connect(url) as app:
            assert json.loads(app.recv(timeout=2))["type"] == "hello"
            standin.wait_connected()

            doubled = standin.send("slash_commands", {"text": "mine"}, accepts_response_payload=True)
            app.send(json.dumps({"envelope_id": doubled, "payload": {"text": "ok"}}))
            app.send(json.dumps({"envelope_id": doubled}))
            assert standin.wait_ack(doubled).payload == {"text": "ok"}

            with_payload = standin.send("interactive", {"type": "block_actions"}, accepts_response_payload=False)
            app.send(json.dumps({"envelope_id": with_payload, "payload": {"text": "thanks"}}))
            standin.wait_ack(with_payload)

            never = standin.send("events_api", {"type": "event_callback"}, accepts_response_payload=False)
            with pytest.raises(AssertionError, match="never acknowledged"):
                standin.wait_ack(never)
            app.send(json.dumps({"envelope_id": never}))
            assert eventually(lambda: len(standin.problems) == 4)

    problems = standin.take_problems()
    assert problems[0] == f"ack of slash_commands envelope {doubled}: acknowledged twice"
    assert problems[1].startswith(f"ack of interactive envelope {with_payload}: carries a payload")
    assert problems[2].startswith(f"events_api envelope {never} never acknowledged (Slack gives 0.2 s")
    assert problems[3].startswith(f"ack of events_api envelope {never}: came after")
