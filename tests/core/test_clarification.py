from pathlib import Path

import yaml

from bot.clarification import candidate_topics
from bot.topics import CORE_TOPICS, FAQ_TOPICS, TOPICS, topic_for

ROOT = Path(__file__).resolve().parents[2]


def parse(intent_ranking, faq_ranking=()):
    return {
        "intent_ranking": [{"name": n, "confidence": c} for n, c in intent_ranking],
        "response_selector": {
            "faq": {"ranking": [{"intent_response_key": k, "confidence": c} for k, c in faq_ranking]}
        },
    }


def test_core_candidates_come_best_first_and_skip_non_topics():
    topics = candidate_topics(
        parse([("nlu_fallback", 0.6), ("greet", 0.3), ("realname_failed", 0.2), ("forgot_password", 0.25)])
    )
    assert [t.key for t in topics] == ["forgot_password", "realname_failed"]
    assert topics[0].button_payload == "/forgot_password"


def test_faq_candidates_are_weighted_by_the_faq_confidence():
    topics = candidate_topics(
        parse(
            [("faq", 0.5), ("missing_grant", 0.3)],
            [("faq/how_to_grant", 0.8), ("faq/roles", 0.1)],
        )
    )
    assert [t.key for t in topics] == ["faq/how_to_grant", "missing_grant", "faq/roles"]
    assert topics[0].button_payload == FAQ_TOPICS["how_to_grant"]


def test_at_most_three_and_none_below_the_floor():
    ranking = [(name, 0.2) for name in list(CORE_TOPICS)[:5]] + [("garbled_page", 0.001)]
    topics = candidate_topics(parse(ranking))
    assert len(topics) == 3
    assert "garbled_page" not in [t.key for t in topics]


# Intents of domain/core.yml that are conversation, not a problem to offer as a topic.
NOT_TOPICS = {"greet", "goodbye", "affirm", "deny", "thank", "negative_feedback", "out_of_scope", "invalid_input"}


def _domain():
    return [yaml.safe_load(path.read_text(encoding="utf-8"))
            for path in sorted((ROOT / "domain").glob("*.yml"))]


def test_every_topic_has_a_question():
    core_intents = set(yaml.safe_load((ROOT / "domain" / "core.yml").read_text(encoding="utf-8"))["intents"])
    problem_intents = core_intents - NOT_TOPICS
    faq_answers = {name[len("utter_faq/"):] for part in _domain()
                   for name in (part.get("responses") or {}) if name.startswith("utter_faq/")}
    assert len(problem_intents) >= 8 and len(faq_answers) >= 40  # the domain was read

    # Every account problem of the domain and every FAQ answer is a topic, and nothing else is.
    assert set(CORE_TOPICS) == problem_intents
    assert set(FAQ_TOPICS) == faq_answers
    assert set(TOPICS) == problem_intents | {f"faq/{key}" for key in faq_answers}
    for key, topic in TOPICS.items():
        assert topic.key == key and topic_for(key) is topic
        assert topic.is_faq == key.startswith("faq/")
        assert topic.question.strip(), key
    for intent in problem_intents:
        assert TOPICS[intent].question == CORE_TOPICS[intent]
    for key in faq_answers:
        assert TOPICS[f"faq/{key}"].question == FAQ_TOPICS[key]
