"""What each flow found, in words (``findings``), for the agent's summary when
the user asks for a person: never flow_data's keys, identity data masked."""
import re

import pytest

from bot.accounts.diagnosis import RealnameNext
from bot.accounts.flows import FLOWS, findings_of
from bot.accounts.flows.verification import NO_PHONE
from bot.accounts.masking import mask_phone
from bot.accounts.models import AccountKind
from bot.handoff.request_summary import summary_of
from tests.accounts.conftest import clock  # noqa: F401  (fixture of ``lite``)
from tests.accounts.test_flows import PHONE, Conversation, account, lite, unit  # noqa: F401

MASKED = mask_phone(PHONE)
# Every key the engine and the flows write into flow_data.
EVERY_KEY = {
    "target": 7,
    "code_phone": PHONE,
    "purpose": "verify",
    "code_ok": True,
    "hidden": True,
    "finished": True,
    "unit_id": 3,
    "renamed": True,
    "diagnosed": "human",
    "request": {"unit_id": 3, "unit_name": "北京某某科技有限公司", "role": "事项办理员"},
    "started": True,
    "appeal_phone": PHONE,
}


def test_reset_code_sent_but_not_entered():
    data = {"target": 1, "code_phone": PHONE, "purpose": "reset"}
    assert FLOWS["reset"].findings(data) == ["已按登录名找到账号", f"验证码发往 {MASKED}，还没有验证通过"]


def test_reset_code_entered():
    data = {"target": 1, "code_phone": PHONE, "purpose": "reset", "code_ok": True}
    assert FLOWS["reset"].findings(data) == ["已按登录名找到账号", f"短信验证码已通过（{MASKED}），身份已确认"]


def test_reset_nothing_found_and_the_end():
    data = {"target": None, "code_phone": NO_PHONE, "purpose": "reset", "finished": True}
    assert FLOWS["reset"].findings(data) == [
        "按登录名没有找到账号（用户看到的回答和找到时一样，验证码没有发出）",
        "已给出最后的答复，流程到此结束",
    ]


def test_reset_account_without_a_phone():
    data = {"target": 1, "code_phone": NO_PHONE, "purpose": "reset"}
    assert FLOWS["reset"].findings(data) == ["已按登录名找到账号", "这个账号没有预留手机号，验证码没有发出"]


def test_appeal_renamed_unit_with_the_new_phone_pending():
    data = {"unit_id": 4, "renamed": True, "code_phone": PHONE, "purpose": "appeal"}
    assert FLOWS["appeal"].findings(data) == [
        "已按单位名称找到单位账号",
        "用户给的是单位改名前的名称，按改名申诉办理（需要加盖公章的复印件和单位名称变更声明）",
        f"验证码发往 {MASKED}，还没有验证通过",
    ]


def test_appeal_new_phone_confirmed_and_no_unit_found():
    data = {"code_phone": PHONE, "purpose": "appeal", "code_ok": True}
    assert FLOWS["appeal"].findings(data) == [f"短信验证码已通过（{MASKED}），新手机号能收到审核结果"]


def test_registered_document_and_unit():
    data = {"target": 2, "code_phone": PHONE, "purpose": "verify"}
    assert FLOWS["registered_id"].findings(data)[0] == "已找到登记了这个证件号码的账号"
    assert FLOWS["registered_unit"].findings(data)[0] == "已找到这个单位的账号"
    assert FLOWS["registered_unit"].findings({"finished": True}) == ["已给出最后的答复，流程到此结束"]


@pytest.mark.parametrize("next_step", list(RealnameNext))
def test_realname_every_diagnosis_has_words(next_step):
    data = {"target": 1, "code_phone": PHONE, "code_ok": True, "diagnosed": next_step.value}
    words = FLOWS["realname"].findings(data)
    assert words[:2] == ["已找到要办理的账号", f"短信验证码已通过（{MASKED}），身份已确认"]
    assert len(words) == 3 and words[2].startswith("诊断：") and next_step.value not in words[2]


def test_realname_second_rejection():
    assert FLOWS["realname"].findings({"diagnosed": "human"}) == ["诊断：人工审核已两次未通过，需要人工客服看一下材料"]


def test_grant_with_and_without_a_request_for_the_admin():
    request = {"unit_id": 3, "unit_name": "北京某某科技有限公司", "role": "事项办理员"}
    assert FLOWS["grant"].findings({"request": request}) == ["诊断：需要“北京某某科技有限公司”的管理员授予“事项办理员”角色"]
    assert FLOWS["grant"].findings({"request": None}) == ["诊断：原因和办法已告诉用户，不需要给单位管理员发短信"]
    assert FLOWS["grant"].findings({"target": 1}) == ["已找到要办理的账号"]


def test_registration_finds_nothing_to_keep():
    assert FLOWS["registration"].findings({}) == []
    assert FLOWS["registration"].findings({"finished": True}) == ["已给出最后的答复，流程到此结束"]


def test_torch():
    data = {"target": 5, "code_phone": PHONE}
    assert FLOWS["torch"].findings(data) == [
        "已找到从火炬中心迁移过来的账号",
        f"验证码发往 {MASKED}，还没有验证通过",
    ]


def test_appeal_status():
    assert FLOWS["appeal_status"].findings({"started": True}) == ["这次对话里没有提交过申诉"]
    data = {"started": True, "appeal_phone": PHONE, "code_phone": PHONE, "purpose": "appeal_status"}
    assert FLOWS["appeal_status"].findings(data) == [
        "这次对话里没有提交过申诉",
        f"已找到用户的申诉，申诉时填写的手机 {MASKED}",
        "验证码已发往申诉手机，还没有验证通过",
    ]
    assert FLOWS["appeal_status"].findings({**data, "code_ok": True})[-1] == "申诉手机的短信验证码已通过"


@pytest.mark.parametrize("flow", list(FLOWS))
def test_no_flow_shows_a_key_a_raw_phone_or_an_internal_value(flow):
    words = FLOWS[flow].findings(EVERY_KEY)
    assert words, flow
    text = "\n".join(words)
    assert PHONE not in text
    assert not re.search(r"[A-Za-z_]{3,}", text), text  # keys, purposes, diagnosis values are all Latin
    assert all(word and re.search(r"[\u4e00-\u9fff]", word) for word in words)


@pytest.mark.parametrize("flow", list(FLOWS))
def test_nothing_found_yet_is_said_as_nothing(flow):
    assert FLOWS[flow].findings({}) == []
    assert findings_of(flow, None) == [] and findings_of(flow, {}) == []


def test_an_unknown_flow_has_no_findings():
    assert findings_of("no_such_flow", EVERY_KEY) == [] and findings_of(None, EVERY_KEY) == []


# -- from a real conversation to the agent's summary ----------------------------------------------

def test_the_summary_of_a_reset_waiting_for_the_code_says_what_was_found(lite):
    account(lite.database, "zhangsan")
    conversation = Conversation(lite.engine(), "reset")
    conversation.start()
    conversation.say("zhangsan")
    assert conversation.ask == "verification_code"
    summary = summary_of(conversation.slots, ["忘记密码", "zhangsan", "转人工"], "request_human", lite.service)
    assert summary["checked"] == ["已按登录名找到账号", f"验证码发往 {MASKED}，还没有验证通过"]
    assert summary["problem"] == summary["flow"] == "忘记密码 / 提示登录名或密码错误"
    assert summary["identity"] == "未验证身份"
    assert "code_phone" not in str(summary) and PHONE not in str(summary["checked"])


def test_the_summary_of_a_renamed_unit_appeal(lite):
    admin = account(lite.database, "unit_admin", kind=AccountKind.LEGAL, phone=None)
    unit(lite.database, admin, "北京新名科技有限公司", former_names=("北京旧名科技有限公司",))
    conversation = Conversation(lite.engine(), "appeal")
    conversation.start()
    conversation.say("单位账号")
    conversation.say("北京旧名科技有限公司")
    summary = summary_of(conversation.slots, [], None, lite.service)
    assert summary["checked"] == [
        "已按单位名称找到单位账号",
        "用户给的是单位改名前的名称，按改名申诉办理（需要加盖公章的复印件和单位名称变更声明）",
    ]


def test_a_summary_without_flow_data_has_no_checked_line(lite):
    assert "checked" not in summary_of({"flow": "reset"}, [], None, lite.service)
    assert "checked" not in summary_of({}, [], None, lite.service)
