from bot.clarification import candidate_topics
from bot.topics import CORE_TOPICS, FAQ_TOPICS, TOPICS


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


def test_every_topic_has_a_question():
    assert all(topic.question.strip() for topic in TOPICS.values())
