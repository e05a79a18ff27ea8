"""Every topic of bot/topics.py has its question in every language."""
import re

from bot.topics import CORE_TOPICS, CORE_TOPICS_EN, FAQ_TOPICS, FAQ_TOPICS_EN, TOPICS


def test_the_english_tables_have_exactly_the_chinese_keys():
    assert set(CORE_TOPICS_EN) == set(CORE_TOPICS)
    assert set(FAQ_TOPICS_EN) == set(FAQ_TOPICS)


def test_english_questions_are_english_and_distinct():
    questions = list(CORE_TOPICS_EN.values()) + list(FAQ_TOPICS_EN.values())
    assert len(set(questions)) == len(questions)
    for question in questions:
        # Chinese only as a quoted or glossed label of the platform, never most of the question.
        assert len(re.findall(r"[A-Za-z]+", question)) >= 3, question


def test_a_topic_is_asked_in_the_conversations_language_and_answered_by_the_chinese_payload():
    topic = TOPICS["faq/review_duration"]
    assert topic.question_in("en") == FAQ_TOPICS_EN["review_duration"]
    assert topic.question_in("zh") == topic.question_in(None) == FAQ_TOPICS["review_duration"]
    assert topic.button_payload == FAQ_TOPICS["review_duration"]
    assert TOPICS["realname_failed"].button_payload == "/realname_failed"
