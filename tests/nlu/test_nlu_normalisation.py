"""Normalisation and the pinyin channel (bot/nlu/normalisation.py, bot/nlu/text_channels.py)."""
import pytest
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.normalisation import normalise, pinyin_syllables, split_pinyin
from bot.nlu.text_channels import NORMALISED_TEXT, PINYIN_TEXT, TextNormaliser, prepared_views


@pytest.mark.parametrize("written, normalised", [
    ("ＡＢＣ１２３，密碼", "abc123,密码"),                       # full-width to half-width, traditional
    ("輸入密碼一直顯示錯誤", "输入密码一直显示错误"),
    ("帳號登入不了", "账号登录不了"),                           # regional words from the glossary
    ("Reset PASSWORD please", "重置 密码 please"),              # case folding, English words
    ("提示 no permission 403", "提示 没有权限 没有权限"),
    ("公司的credit code已存在", "公司的信用代码已存在"),
    ("我的Password忘了", "我的密码忘了"),
])
def test_normalise(written, normalised):
    assert normalise(written) == normalised


def test_english_words_are_replaced_as_whole_words_only():
    assert normalise("passport") == "护照"
    assert normalise("pageant") == "pageant"
    assert normalise("oauthor") == "oauthor"


def test_normalise_is_idempotent():
    for text in ["帳號 Reset 密碼！", "ｍｉｍａ wangle", "已經 already registered"]:
        assert normalise(normalise(text)) == normalise(text)


def test_homophone_typos_meet_the_right_word_in_the_pinyin_channel():
    assert pinyin_syllables(normalise("登陆蜜码")) == pinyin_syllables(normalise("登录密码")) == ["deng", "lu", "mi", "ma"]
    assert pinyin_syllables(normalise("全限")) == pinyin_syllables(normalise("权限"))


def test_pinyin_only_messages_are_split_into_the_same_syllables():
    assert pinyin_syllables("mima wangle") == pinyin_syllables(normalise("密码忘了"))
    assert pinyin_syllables("shimingrenzheng shibai") == ["shi", "ming", "ren", "zheng", "shi", "bai"]


def test_latin_words_that_are_not_pinyin_stay_whole():
    assert split_pinyin("hello") == ["hello"]
    assert split_pinyin("zhangwei") == ["zhang", "wei"]


def test_the_component_stores_both_views_and_keeps_the_text():
    message = Message(data={"text": "帳號 zhang_wei01 的蜜碼忘了"})
    TextNormaliser().process([message])
    assert message.get("text") == "帳號 zhang_wei01 的蜜碼忘了"
    assert message.get(NORMALISED_TEXT) == "账号  valuelogin  的蜜码忘了"
    assert message.get(PINYIN_TEXT) == "zhang hao valuelogin de mi ma wang le"


def test_training_data_gets_the_same_views_as_messages_at_prediction():
    training = TrainingData([Message(data={"text": "身份證號 11010519850312451X 已被註冊", "intent": "x"})])
    TextNormaliser().process_training_data(training)
    assert training.training_examples[0].get(NORMALISED_TEXT) == prepared_views("身份證號 11010519850312451X 已被註冊")[NORMALISED_TEXT]
    assert "valueid" in training.training_examples[0].get(NORMALISED_TEXT)
