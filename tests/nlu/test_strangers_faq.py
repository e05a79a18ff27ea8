"""FAQ questions written by strangers, asked over the REST channel as a user's first message.

The whole reply (every message the assistant sends) must carry every fact the
question's entry requires (regular expressions over the seeds' facts).  A
reply that asks "did you mean" is not right; any other reply without the
facts is a wrong answer.  Issue 10 asks at least 90 % right and at most 3 %
wrong; the model of 2026-12-02 gives 19 of 20 right, one "did you mean" and no wrong
answer: the one it used to answer wrong (a foreign-expert user granted at last, whose old records
are gone, got the missing-grant explanation without the foreign-expert system's technical line)
is answered by that explanation now carrying the line, as the manual's grant section does (see
docs/understanding.md).  The floors are issue 10's.  The outcome of
every question goes to results/strangers_faq.yml.
"""
import re
import uuid

import pytest
import yaml

from bot.chat import send
from bot.language import tr
from tests.nlu.evaluation import strangers_faq
from tests.project_data import ROOT

pytestmark = pytest.mark.integration

MINIMUM_RIGHT = 0.90
MAXIMUM_WRONG = 0.03


def test_strangers_faq_questions_get_replies_with_the_facts(assistant):
    results = []
    for item in strangers_faq():
        replies = send(assistant.running.rest_webhook, f"faq-{uuid.uuid4().hex[:10]}", item["q"],
                       token=assistant.rest_token)
        reply = "\n".join(message.get("text") or "" for message in replies)
        missing = [pattern for pattern in item["must"] if not re.search(pattern, reply)]
        outcome = "right" if not missing else "clarify" if tr("clarification.prompt", "zh") in reply else "wrong"
        results.append({"q": item["q"], "outcome": outcome, "missing": missing, "reply": reply})
    (ROOT / "results").mkdir(exist_ok=True)
    (ROOT / "results" / "strangers_faq.yml").write_text(
        yaml.safe_dump(results, allow_unicode=True, sort_keys=False), encoding="utf-8")
    share = {outcome: sum(r["outcome"] == outcome for r in results) / len(results) for outcome in ("right", "wrong")}
    misses = [r for r in results if r["outcome"] != "right"]
    assert share["right"] >= MINIMUM_RIGHT, misses
    assert share["wrong"] <= MAXIMUM_WRONG, misses
