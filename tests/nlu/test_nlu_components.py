"""The custom NLU components on hand-made predictions (no model needed)."""
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.small_talk_guard import SmallTalkGuard, load_platform_terms
from bot.config import PROJECT_ROOT
from bot.nlu.input_screen_classifier import InputScreen, InputScreenClassifier


def predicted(text, intent, confidence):
    message = Message(data={"text": text})
    message.set("intent", {"name": intent, "confidence": confidence}, add_to_output=True)
    message.set("intent_ranking", [{"name": intent, "confidence": confidence}], add_to_output=True)
    return message


def screened(text, limit=100):
    """The screen, a model's prediction in between, then the classifier."""
    (message,) = InputScreen(max_message_chars=limit).process([Message(data={"text": text})])
    seen_by_models = message.get("text")
    message.set("intent", {"name": "forgot_password", "confidence": 0.99}, add_to_output=True)
    message.set("intent_ranking", [{"name": "forgot_password", "confidence": 0.99}], add_to_output=True)
    (message,) = InputScreenClassifier().process([message])
    return message, seen_by_models


def test_unreadable_text_overrides_any_prediction():
    for text in ("", "🙏🙏", "密码\x00", "字" * 101):
        message, _ = screened(text)
        assert message.get("intent") == {"name": "invalid_input", "confidence": 1.0}
        assert message.get("intent_ranking") == [{"name": "invalid_input", "confidence": 1.0}]
    readable, _ = screened("忘记密码了")
    assert readable.get("intent")["name"] == "forgot_password"


def test_models_see_at_most_the_limit_but_the_full_text_is_kept():
    message, seen_by_models = screened("字" * 10_000, limit=100)
    assert len(seen_by_models) == 100
    assert message.get("text") == "字" * 10_000


def test_small_talk_naming_a_platform_term_becomes_an_unclear_platform_question():
    guard = SmallTalkGuard(frozenset({"人遗", "高企"}))
    (message,) = guard.process([predicted("人遗", "affirm", 0.72)])
    assert message.get("intent") == {"name": "nlu_fallback", "confidence": 0.72}
    assert [r["name"] for r in message.get("intent_ranking")][:2] == ["nlu_fallback", "faq"]


def test_real_small_talk_and_platform_questions_are_left_alone():
    guard = SmallTalkGuard(frozenset({"人遗"}))
    (yes,) = guard.process([predicted("好的", "affirm", 0.96)])
    (question,) = guard.process([predicted("人遗授权过期", "missing_grant", 0.9)])
    assert yes.get("intent")["name"] == "affirm"
    assert question.get("intent")["name"] == "missing_grant"


def test_the_platform_terms_come_from_their_list():
    terms = load_platform_terms(PROJECT_ROOT / "bot" / "nlu" / "platform_terms")
    assert {"人遗", "高企", "实名认证", "统一社会信用代码"} <= terms


def test_a_bare_value_naming_a_platform_term_becomes_an_unclear_platform_question():
    guard = SmallTalkGuard(frozenset({"人遗"}))
    (system,) = guard.process([predicted("人遗", "inform", 0.9)])
    (login,) = guard.process([predicted("zhangwei_01", "inform", 0.95)])
    assert system.get("intent")["name"] == "nlu_fallback"
    assert login.get("intent")["name"] == "inform"


def guarded_by_off_topic(text, intent="nlu_fallback", confidence=0.3):
    from bot.nlu.off_topic_guard import OffTopicGuard
    from bot.nlu.text_channels import TextNormaliser

    message = predicted(text, intent, confidence)
    TextNormaliser().process([message])
    (message,) = OffTopicGuard.from_config({}).process([message])
    return message


def test_an_unsure_message_without_a_word_of_account_support_is_declined():
    for text in ("想养猫 布偶和英短哪个好养", "hhhhhhhhhhhh", "請問台北到高雄搭高鐵要多久", "zxcvbnm,./ qwe"):
        message = guarded_by_off_topic(text)
        assert message.get("intent") == {"name": "out_of_scope", "confidence": 0.3}, text
        assert message.get("intent_ranking")[0]["name"] == "out_of_scope"
        assert "nlu_fallback" not in [ranked["name"] for ranked in message.get("intent_ranking")]


def test_an_unsure_account_question_keeps_its_did_you_mean():
    # Support words in characters, traditional characters, English (via the glossary), pinyin,
    # homophone typos, values (placeholders), the conversation itself (stop, a person).
    for text in ("认证过不去 急", "帳號登不進去", "my password doesnt work", "mima wangle zenme ban",
                 "灯路不上去", "zhang_wei01", "11010519491231002X", "不用往下问了", "换个人来"):
        assert guarded_by_off_topic(text).get("intent")["name"] == "nlu_fallback", text


def test_a_confident_prediction_is_never_touched():
    for intent in ("greet", "thank", "faq", "out_of_scope"):
        assert guarded_by_off_topic("想养猫", intent, 0.9).get("intent") == {"name": intent, "confidence": 0.9}
