"""Business metrics (issue 15): after real flows, /metrics says how many leads came in from
where, how they were claimed, what was refused, how long Slack took, and what is late."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from models import Team
from tests.fixtures_app import AppDriver, eventually


def scrape(dibs: AppDriver) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of /metrics by (name, sorted labels); every family has a help text."""
    families = list(text_string_to_metric_families(dibs.request("GET", "/metrics").text))
    assert all(family.documentation for family in families)
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in families
        for sample in family.samples
    }


def test_metrics_after_leads_claims_refusals_and_timers(dibs: AppDriver) -> None:
    web = dibs.post_lead({"name": "Web One", "source": "web"}).json()["id"]
    dibs.post_lead({"name": "Web Two", "source": "web"})
    crm = dibs.post_lead({"name": "From CRM", "source": "hubspot"}).json()["id"]
    assert dibs.click_claim(web, "U0ALICE").status == 200
    dibs.answers_to("U0ALICE")
    assert "assigned" in dibs.reply_text(f"assign {crm} <@U0BOB>", user="U0MGR1").lower()
    dibs.reply_text("claim L-999999", user="U0BOB")  # refused: no such lead
    dibs.reply_text("claim L-999998", user="U0BOB")
    dibs.slack.fail_next("chat.postMessage", status=200, error="channel_not_found", channel="C0WEST")
    dibs.post_lead({"name": "West lead"}, token="west-token-456")
    refused = ("dibs_slack_api_errors_total", (("error", "channel_not_found"), ("method", "chat_postMessage")))
    assert eventually(lambda: refused in scrape(dibs), timeout=10)
    assert eventually(lambda: scrape(dibs).get(("dibs_outbox_due_messages", ())) == 0, timeout=10)

    m = scrape(dibs)
    assert m[("dibs_leads_total", (("source", "web"), ("team", "east")))] == 2
    assert m[("dibs_leads_total", (("source", "hubspot"), ("team", "east")))] == 1
    assert m[("dibs_leads_total", (("source", "none"), ("team", "west")))] == 1
    assert m[("dibs_claims_total", (("how", "click"), ("team", "east")))] == 1
    assert m[("dibs_claims_total", (("how", "manager"), ("team", "east")))] == 1
    assert m[("dibs_refusals_total", (("rule", "NotFound.lead"),))] == 2
    errors = {labels: n for (name, labels), n in m.items() if name == "dibs_slack_api_errors_total"}
    assert errors == {(("error", "channel_not_found"), ("method", "chat_postMessage")): 1}, errors
    latency = m[("dibs_delivery_latency_seconds_count", (("kind", "respond"),))]
    assert latency >= 1, "the click's answer: from its commit to Slack's answer"
    assert m[("dibs_outbox_oldest_due_seconds", ())] == 0

    dibs.clock.advance(minutes=61)  # half the contact SLA of both claims: two reminders
    assert eventually(lambda: scrape(dibs).get(("dibs_scheduled_jobs_run_total", (("job", "sla_reminders"),))) == 2)
    scheduler = next(loop for loop in dibs.runtime.loops if loop.name == "scheduler")
    scheduler.stop()  # no scheduler running: the SLA ends and nobody acts on it
    dibs.clock.advance(minutes=65)
    m = scrape(dibs)
    assert m[("dibs_scheduled_jobs_late", (("job", "sla_expiry"),))] == 2
    assert m[("dibs_scheduled_jobs_late", (("job", "draws"),))] == 0


def test_open_disputes_and_the_age_of_the_oldest(dibs: AppDriver) -> None:
    with dibs.runtime.sessions.begin() as session:
        session.get_one(Team, "east").limit_overrides = {"contest_window_minutes": 10}
    ref = dibs.post_lead({"name": "Wanted"}).json()["id"]
    assert dibs.click_claim(ref, "U0ALICE").status == 200
    assert dibs.click_claim(ref, "U0BOB").status == 200  # inside the contest window: a dispute
    dibs.clock.advance(minutes=30)
    m = scrape(dibs)
    assert m[("dibs_disputes_open", (("team", "east"),))] == 1
    assert 30 * 60 <= m[("dibs_dispute_oldest_open_seconds", (("team", "east"),))] < 31 * 60
