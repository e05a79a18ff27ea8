"""The language detector (bot/nlu/language_rules.py, bot/nlu/language_detector.py): no model needed."""
import pytest
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.language_detector import EXTRACTOR_NAME, LanguageDetector, LanguageSwitchClassifier
from bot.nlu.language_rules import detect_language, switch_requested
from tests.nlu import language_samples as samples
from tests.nlu.language_detection import (
    chinese_training_examples,
    english_training_examples,
    other_training_examples,
    score,
)


@pytest.mark.parametrize(
    "text",
    ["I forgot my password", "how long does the manual review take", "my passport number is already registered",
     "can I speak to an agent please", "cancel", "password reset not working"],
)
def test_english_messages_are_english(text):
    assert detect_language(text) == "en"


@pytest.mark.parametrize("text", ["忘记密码了", "实名认证要多久", "转人工", "谢谢", "嗯", "登陆不上"])
def test_chinese_messages_are_chinese(text):
    assert detect_language(text) == "zh"


@pytest.mark.parametrize(
    "text, language",
    [
        ("实名认证 failed with my passport", "en"),
        ("it says 实名认证失败 what do i do", "en"),
        ("how do I get to 我的信息", "en"),
        ("我的password忘了", "zh"),
        ("reset 不了", "zh"),
        ("ID 已被注册", "zh"),
        ("收不到SMS验证码", "zh"),
        ("登录时提示 user not found", "zh"),  # a pasted English error in a Chinese sentence
    ],
)
def test_mixed_messages_take_the_language_that_carries_the_sentence(text, language):
    assert detect_language(text) == language


@pytest.mark.parametrize(
    "text, language",
    [
        ("English", "en"), ("english please", "en"), ("in English", "en"), ("speak English", "en"),
        ("Can you reply in English?", "en"), ("英文", "en"), ("请用英语", "en"),
        ("中文", "zh"), ("说中文", "zh"), ("Chinese please", "zh"), ("切换中文", "zh"), ("普通话", "zh"),
        ("switch to Chinese", "zh"), ("in Chinese please", "zh"),
    ],
)
def test_explicit_switches_win(text, language):
    assert switch_requested(text) == language
    assert detect_language(text) == language


@pytest.mark.parametrize("text", ["I can't read Chinese", "中文不好", "英文版的说明在哪里", "my English is poor"])
def test_a_sentence_about_a_language_is_no_switch(text):
    assert switch_requested(text) is None


@pytest.mark.parametrize(
    "text",
    ["12345", "E12345678", "13812345678", "110101199003071234", "91110000MA01ABCD2X", "zhangsan", "zhang_san",
     "john_smith88", "li.ming@example.com", "https://fuwu.most.gov.cn", "/greet", "/inform{\"phone\": \"1\"}",
     "😀", "👍👍", "???", "ok", "hello", "ID", "SMS", "", None, "mima wangle zenme ban"],
)
def test_values_payloads_emoji_and_pinyin_show_no_language(text):
    assert detect_language(text) is None


# Floors of the measurement (python -m tests.nlu.language_detection prints the
# figures and misses; docs/english.md quotes them).
@pytest.mark.parametrize(
    "messages, accepted, floor",
    [
        (samples.ENGLISH, {"en"}, 0.97),
        (samples.ENGLISH_MIXED, {"en"}, 0.9),
        (samples.CHINESE, {"zh", None}, 0.99),
        (samples.CHINESE_MIXED, {"zh", None}, 0.95),
        (samples.NO_LANGUAGE, {None}, 1.0),
    ],
    ids=["english", "english-mixed", "chinese", "chinese-mixed", "no-language"],
)
def test_the_sample_lists_reach_their_floors(messages, accepted, floor):
    share, misses = score(messages, accepted)
    assert share >= floor, misses


def test_sample_lists_are_large_enough():
    assert len(samples.ENGLISH) + len(samples.ENGLISH_MIXED) >= 100 and len(samples.ENGLISH_MIXED) >= 30
    assert len(samples.CHINESE) + len(samples.CHINESE_MIXED) >= 100 and len(samples.CHINESE_MIXED) >= 30


def test_the_chinese_training_data_is_chinese_or_shows_no_language():
    share, misses = score(chinese_training_examples(), {"zh", None})
    assert share >= 0.99, misses[:20]


def test_the_english_training_data_is_english_or_shows_no_language():
    share, misses = score(english_training_examples(), {"en", None})
    assert share >= 0.97, misses[:20]


def test_training_examples_without_han_characters_are_never_chinese():
    share, misses = score(other_training_examples(), {"en", None})
    assert share == 1.0, misses


def test_the_component_adds_the_entity_only_when_there_is_a_language():
    english, values = Message(data={"text": "I forgot my password"}), Message(data={"text": "zhangsan123"})
    kept = {"entity": "login_name", "value": "zhangsan123", "extractor": "ValueExtractor"}
    values.set("entities", [kept], add_to_output=True)
    LanguageDetector.from_config({}).process([english, values])
    assert english.get("entities") == [{"entity": "language", "value": "en", "extractor": EXTRACTOR_NAME}]
    assert values.get("entities") == [kept]


def classified(text, intent, confidence=0.9, runner_up="forgot_password"):
    message = Message(data={"text": text})
    ranking = [{"name": intent, "confidence": confidence}, {"name": runner_up, "confidence": 0.05}]
    message.set("intent", ranking[0], add_to_output=True)
    message.set("intent_ranking", ranking, add_to_output=True)
    (message,) = LanguageSwitchClassifier.from_config({}).process([message])
    return message


def test_a_request_for_a_language_is_set_language_whatever_the_model_said():
    message = classified("English please", "out_of_scope")
    assert message.get("intent") == {"name": "set_language", "confidence": 1.0}
    assert [ranked["name"] for ranked in message.get("intent_ranking")] == ["set_language", "out_of_scope", "forgot_password"]


def test_set_language_for_a_message_naming_no_language_falls_back():
    message = classified("页面乱码了", "set_language", 0.6, runner_up="garbled_page")
    assert message.get("intent")["name"] == "nlu_fallback"
    assert [ranked["name"] for ranked in message.get("intent_ranking")] == ["nlu_fallback", "garbled_page"]


def test_a_longer_request_naming_a_language_keeps_the_models_set_language():
    assert classified("English, please, my Chinese is not good", "set_language").get("intent")["name"] == "set_language"
    assert classified("忘记密码了", "forgot_password").get("intent")["name"] == "forgot_password"


def test_a_problem_that_names_a_language_is_no_request_for_it():
    message = classified("页面中文显示乱码", "set_language", 0.6, runner_up="garbled_page")
    assert [ranked["name"] for ranked in message.get("intent_ranking")] == ["nlu_fallback", "garbled_page"]


def detected(text, metadata=None):
    message = Message(data={"text": text, "metadata": metadata})
    LanguageDetector.from_config({}).process([message])
    return [entity["value"] for entity in message.get("entities") or [] if entity["entity"] == "language"]


def test_a_pressed_button_is_read_by_its_title():
    from bot.topics import FAQ_TOPICS, FAQ_TOPICS_EN

    question = FAQ_TOPICS["review_duration"]  # an English "did you mean" button's payload
    assert detected(question, {"display_text": FAQ_TOPICS_EN["review_duration"]}) == ["en"]
    assert detected(question, {"display_text": question}) == ["zh"]
    assert detected(question) == ["zh"]
    # A payload stays a payload, whatever its title ("/send_file" shows "[照片] passport.jpg").
    assert detected("/send_file", {"display_text": "[照片] passport.jpg"}) == []
    assert detected("/realname_failed", {"display_text": "Real-name verification failed"}) == []
