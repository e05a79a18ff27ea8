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
