"""Values in messages (bot/nlu/values.py) and their entities (ValueExtractor)."""
import pytest
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.text_channels import ValueExtractor
from bot.nlu.values import find_values, first_value, with_placeholders


def kinds_and_values(text):
    return [(value.kind, value.value) for value in find_values(text)]


@pytest.mark.parametrize("text, expected", [
    ("忘记密码了，登录名是 zhangwei_01", [("login_name", "zhangwei_01")]),
    ("登陆名是zhangwei_1985这个我确定", [("login_name", "zhangwei_1985")]),
    ("我的用户名：wangli 密码不对", [("login_name", "wangli")]),
    ("实名认证失败了，身份证号 11010519850312451x", [("doc_type", "居民身份证"), ("id_number", "11010519850312451X")]),
    ("手机 138-0013-8000 收不到", [("phone", "13800138000")]),
    ("+86 13912345678", [("phone", "13912345678")]),
    ("信用代码是９１１１０１０８ＭＡ０１ＡＢＣＤ２Ｘ", [("credit_code", "91110108MA01ABCD2X")]),
    ("台胞證註冊說已存在", [("doc_type", "台湾居民来往大陆通行证")]),
    ("人遗系统和外专都进不去", [("system", "human_genetic"), ("system", "foreign_expert")]),
    ("mima wangle zenme ban", []),
    ("reset password please", []),
    ("邮箱是 li01@most.cn", []),
])
def test_find_values(text, expected):
    assert kinds_and_values(text) == expected


def test_a_value_is_taken_once_by_its_most_specific_kind():
    # 18 digits that are an ID number are not also a credit code or a phone
    assert kinds_and_values("11010519850312451X") == [("id_number", "11010519850312451X")]
    assert first_value(find_values("登录名 sz_unit 手机 13800138000"), "phone") == "13800138000"
    assert first_value(find_values("没有值"), "phone") == ""


def test_placeholders_hide_the_values_from_the_model():
    assert with_placeholders("登录名是 Li_Hong2019，手机 13800138000") == "登录名是  valuelogin ,手机  valuephone "
    assert with_placeholders("人遗没有权限") == "人遗没有权限"


def test_the_extractor_adds_entities_and_keeps_others():
    message = Message(data={"text": "登录名是 stop_it", "entities": [{"entity": "other", "value": "x"}]})
    ValueExtractor().process([message])
    assert [(e["entity"], e["value"]) for e in message.get("entities")] == [("other", "x"), ("login_name", "stop_it")]


def test_the_prefix_of_a_migrated_login_name_stays_before_the_placeholder():
    assert with_placeholders("登录名是HJ_91320583MA1XK7B24D") == "登录名是HJ_ valuelogin "
    assert with_placeholders("老账号 WGZJXM_lihua 登不上") == "老账号 WGZJXM valuelogin  登不上"


@pytest.mark.parametrize("text, login_name", [
    # English labels with "is", "was", a colon or "=": letters-only names too
    ("I forgot my password, my login name is anna_k2019", "anna_k2019"),
    ("username: lee_hk_ops", "lee_hk_ops"),
    ("my user name is jmartin_fr", "jmartin_fr"),
    ("I forgot my password, my login name is annak", "annak"),
    ("Username: jmartin", "jmartin"),
    ("my user name is jmartin.", "jmartin"),
    ("My username is j_smith_bio. How can I reset it?", "j_smith_bio"),
    ("User ID is wangli, phone unchanged", "wangli"),
    ("login-name: annak", "annak"),
    ("my login name was annak", "annak"),
    ("username = petrov", "petrov"),
    ('User Name: "jmartin"', "jmartin"),
    ("the account name is lihua", "lihua"),
    ("account: leesm", "leesm"),
    ("Login: jsmith, the password is not accepted", "jsmith"),
    ("My login name is Anna and I forgot the password", "Anna"),
    # mixed messages
    ("我的username是jmartin", "jmartin"),
    ("忘记密码了 login name 是 jmartin", "jmartin"),
    ("登录名 is annak", "annak"),
    ("用户名是wangli", "wangli"),
])
def test_a_login_name_after_an_english_or_chinese_label_is_found(text, login_name):
    assert first_value(find_values(text), "login_name") == login_name


@pytest.mark.parametrize("text", [
    "I forgot my username",
    "username is wrong",
    "my login name is not correct",
    "username and password are wrong",
    "the username is definitely right",
    "my username is the same",
    "username isn't accepted",
    "forgot username please help",
    "username is case sensitive?",
    "Is my username free?",
    "username was taken",
    "my account is locked",
    "my account is frozen",
    "my account is jmartin",  # a bare "account" names a login name only with a colon
    "Login: password locked after too many attempts",
    "the account issue is hard to explain",
    "username is anna@qq.com",  # part of an e-mail address
    "login name: anna.k",
    "login name is HJ_ plus my phone number",
    # Chinese labels followed by an English word
    "登录名 forget 了，怎么找回",
    "公司的法人账号 nobody knows",
    "用户名 and 密码都忘了",
    "登录名是 anna@qq.com",
])
def test_an_english_word_after_a_label_is_no_login_name(text):
    assert first_value(find_values(text), "login_name") == ""


def test_a_cued_login_name_is_hidden_from_the_model_and_given_to_the_flows():
    assert with_placeholders("my login name is annak, I forgot the password") == (
        "my login name is  valuelogin , I forgot the password"
    )
    message = Message(data={"text": "username: jmartin"})
    ValueExtractor().process([message])
    assert [(e["entity"], e["value"]) for e in message.get("entities")] == [("login_name", "jmartin")]
