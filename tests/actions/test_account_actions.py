"""The thin Rasa actions of the account flows (actions/account_flows.py) on
tracker fixtures, with the flow engine over a throw-away SQLite store (the
``services`` fixture).

Rasa runs ``validate_account_form`` on a copy of the tracker that ends with
``SlotSet(requested_slot, ...)`` and ``ActionExecuted(account_form)``
(``FormAction._temporary_tracker``), so its ``latest_action_name`` is the
form; ``rasa_tracker`` builds that shape, ``plain_tracker`` the events as
they stand."""
import asyncio
import io
import re
from typing import Any, Dict, List

import pytest
from PIL import Image
from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.account_flows import (
    REQUESTED_SLOT,
    ActionResetFlow,
    ActionStartFlow,
    ValidateAccountForm,
    cleared_flow,
)
from bot.accounts.flows import FLOW_SLOTS, FlowEngine
from bot.accounts.flows.verification import HIDDEN_PHONE
from bot.accounts.masking import mask_phone
from bot.accounts.models import Account, AccountKind, RealnameState
from bot.accounts.service import AccountService
from tests.accounts.conftest import START, clock  # noqa: F401  (the services' clock)
from tests.trackers import action, user

SENDER = "web-user-1"
PHONE = "13800138000"
FORM = "account_form"


# -- the store and the engine ------------------------------------------------------

@pytest.fixture
def service(services) -> AccountService:
    return services.accounts


@pytest.fixture(autouse=True)
def engine(services) -> FlowEngine:
    return services.flows


def add_account(service: AccountService, login_name: str, **fields: Any) -> int:
    with service.db.session() as session:
        account = Account(kind=AccountKind.NATURAL, login_name=login_name, password_hash="unused", phone=PHONE,
                          realname_state=RealnameState.UNVERIFIED, created_at=START, **fields)
        session.add(account)
        session.flush()
        return account.id


def code_sent(service: AccountService, phone: str = PHONE) -> str:
    [message] = [m for m in service.outbox(phone=phone) if "验证码是" in m.text][:1]
    return re.search(r"验证码是 (\d{6})", message.text).group(1)


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 10, 10)).save(buffer, "PNG")
    return buffer.getvalue()


# -- trackers -------------------------------------------------------------------------

def with_metadata(event: Dict[str, Any], **metadata: Any) -> Dict[str, Any]:
    return dict(event, metadata=metadata)


def slot(name: str, value: Any) -> Dict[str, Any]:
    return {"event": "slot", "name": name, "value": value}


def plain_tracker(events: List[Dict[str, Any]], slots: Dict[str, Any]) -> Tracker:
    latest: Dict[str, Any] = {}
    for event in reversed(events):
        if event["event"] == "user":
            latest = dict(event["parse_data"], text=event["text"])
            break
    actions = [event["name"] for event in events if event["event"] == "action"]
    active_loop = {"name": FORM} if slots.get(REQUESTED_SLOT) else {}
    return Tracker(SENDER, dict(slots), latest, events, False, None, active_loop,
                   actions[-1] if actions else None)


def rasa_tracker(events: List[Dict[str, Any]], slots: Dict[str, Any]) -> Tracker:
    """As Rasa 3.6 sends it to the validation action of a form."""
    return plain_tracker(events + [slot(REQUESTED_SLOT, slots.get(REQUESTED_SLOT)), action(FORM)], slots)


def run(action_, tracker: Tracker):
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action_.run(dispatcher, tracker, {}))
    return events, dispatcher.messages


def apply(slots: Dict[str, Any], events: List[Dict[str, Any]]) -> Dict[str, Any]:
    updated = dict(slots)
    for event in events:
        if event["event"] == "slot":
            updated[event["name"]] = event["value"]
    return updated


def slot_events(events: List[Dict[str, Any]]) -> Dict[str, Any]:
    return {event["name"]: event["value"] for event in events if event["event"] == "slot"}


FORGOT = [action("action_listen"), user("忘记密码了", "forgot_password"), action("utter_forgot_password"),
          action("action_start_flow")]


def answer_events(text: str, intent: str = "inform", confidence: float = 0.95, **metadata: Any):
    event = user(text, intent, confidence)
    return FORGOT + [action(FORM), action("action_listen"), with_metadata(event, **metadata) if metadata else event]


# -- ActionStartFlow / ActionResetFlow --------------------------------------------------

def test_start_flow_sets_the_flow_of_the_intent_and_clears_the_flow_slots():
    tracker = plain_tracker([action("action_listen"), user("忘记密码了", "forgot_password")],
                            {"flow": "grant", "account_ref": "given", "verified_account": "1|2099-01-01T00:00:00"})
    events, messages = run(ActionStartFlow(), tracker)
    assert messages == []
    assert events[-1] == SlotSet("flow", "reset")
    cleared = events[:-1]
    assert cleared == cleared_flow()
    assert {event["name"] for event in cleared} == {"flow", "flow_data", REQUESTED_SLOT, *FLOW_SLOTS}
    assert all(event["value"] is None for event in cleared)
    assert slot_events(events)["flow"] == "reset"


@pytest.mark.parametrize("intent, flow", [
    ("forgot_login_name", "appeal"), ("realname_failed", "realname"), ("missing_grant", "grant"),
    ("appeal_status", "appeal_status"), ("greet", None)])
def test_start_flow_maps_each_intent(intent, flow):
    events, _ = run(ActionStartFlow(), plain_tracker([user("x", intent)], {}))
    assert events[-1] == SlotSet("flow", flow)


def test_reset_flow_clears_the_flow_but_keeps_the_verified_identity():
    tracker = plain_tracker([action("action_listen"), user("取消", "cancel")],
                            {"flow": "reset", "verified_account": "1|2099-01-01T00:00:00"})
    events, messages = run(ActionResetFlow(), tracker)
    assert messages == []
    # Written out, not taken from cleared_flow(): the flow, the form's question
    # and every answer given (domain/account_flows.yml) are emptied, once each.
    assert all(event["event"] == "slot" for event in events)
    assert sorted(event["name"] for event in events) == sorted([
        "flow", "flow_data", "requested_slot",
        "account_kind", "account_ref", "verification_code", "person_name", "doc_type", "doc_number",
        "phone", "unit_name", "photo_front", "photo_back", "system_name", "confirm_request",
    ])
    assert all(event["value"] is None for event in events)
    # The identity verified by SMS stays (30 minutes).
    assert "verified_account" not in slot_events(events)


# -- ValidateAccountForm ------------------------------------------------------------------

@pytest.mark.parametrize("build", [plain_tracker, rasa_tracker])
def test_activation_asks_the_first_question(build):
    events, messages = run(ValidateAccountForm(), build(FORGOT, {"flow": "reset", REQUESTED_SLOT: None}))
    assert events == [SlotSet(REQUESTED_SLOT, "account_ref")]
    [message] = messages
    assert "登录名" in message["text"] and "取消" in message["text"]


@pytest.mark.parametrize("build", [plain_tracker, rasa_tracker])
def test_an_answer_after_action_listen_is_validated(service, build):
    add_account(service, "zhangsan")
    slots = {"flow": "reset", REQUESTED_SLOT: "account_ref"}
    events, messages = run(ValidateAccountForm(), build(answer_events("zhangsan"), slots))
    values = slot_events(events)
    assert values["account_ref"] == "given"
    # The tracker gets the phone masked; the engine keeps it in full for this conversation.
    assert values["flow_data"]["code_phone"] == mask_phone(PHONE)
    assert service.kept_values(SENDER)["code_phone"] == PHONE
    assert events[-1] == SlotSet(REQUESTED_SLOT, "verification_code")
    # Before verification the phone is never shown, not even masked (docs/security.md section 8).
    assert any(HIDDEN_PHONE in message["text"] for message in messages)
    assert not any(mask_phone(PHONE) in message["text"] for message in messages)
    assert code_sent(service)


def test_a_wrong_answer_is_explained_and_asked_again():
    slots = {"flow": "reset", REQUESTED_SLOT: "account_ref"}
    events, messages = run(ValidateAccountForm(), rasa_tracker(answer_events("abc'; drop table"), slots))
    assert SlotSet("account_ref", None) in events  # a validated slot: Rasa does not reject the form
    assert events[-1] == SlotSet(REQUESTED_SLOT, "account_ref")
    assert "不能含有" in messages[0]["text"]


@pytest.mark.parametrize("build", [plain_tracker, rasa_tracker])
def test_an_interruption_returns_no_events_so_rasa_rejects_the_form(build):
    slots = {"flow": "reset", REQUESTED_SLOT: "account_ref"}
    events, messages = run(ValidateAccountForm(), build(answer_events("取消", "cancel", 0.9), slots))
    assert events == [] and messages == []


def test_back_after_an_interruption_the_question_is_asked_again():
    slots = {"flow": "reset", REQUESTED_SLOT: "account_ref"}
    history = answer_events("密码有什么要求？", "faq", 0.9) + [action("utter_faq")]
    events, messages = run(ValidateAccountForm(), rasa_tracker(history, slots))
    assert events == [SlotSet(REQUESTED_SLOT, "account_ref")]
    assert "登录名" in messages[0]["text"]


def test_a_whole_reset_through_the_action_ends_with_requested_slot_none(service):
    add_account(service, "zhangsan")
    slots: Dict[str, Any] = {"flow": "reset", REQUESTED_SLOT: None}
    events, _ = run(ValidateAccountForm(), rasa_tracker(FORGOT, slots))
    slots = apply(slots, events)
    events, _ = run(ValidateAccountForm(), rasa_tracker(answer_events("zhangsan"), slots))
    slots = apply(slots, events)
    assert slots[REQUESTED_SLOT] == "verification_code"
    events, messages = run(ValidateAccountForm(), rasa_tracker(answer_events(code_sent(service)), slots))
    assert SlotSet("verification_code", "accepted") in events
    final = slot_events(events)
    assert final[REQUESTED_SLOT] is None
    # The finished flow is cleared by the same action; the verified identity stays.
    assert final["flow"] is None and final["verification_code"] is None and final["flow_data"] is None
    assert final["verified_account"].startswith("1|")
    assert any("/webhooks/account/reset?token=" in message["text"] for message in messages)


def test_the_upload_id_of_the_latest_user_message_reaches_the_engine(service):
    upload = service.save_upload(SENDER, png(), "a.png")
    slots = {"flow": "appeal", REQUESTED_SLOT: "photo_front", "account_kind": "natural", "person_name": "张三",
             "doc_type": "居民身份证", "doc_number": "110101199003074514", "phone": "13900139000"}
    history = answer_events("", "send_file", upload_id=upload.id)
    events, messages = run(ValidateAccountForm(), rasa_tracker(history, slots))
    assert SlotSet("photo_front", upload.id) in events
    assert events[-1] == SlotSet(REQUESTED_SLOT, "photo_back")
    assert "反面" in messages[-1]["text"]


def test_a_photo_of_another_conversation_is_refused(service):
    upload = service.save_upload("someone-else", png(), "a.png")
    slots = {"flow": "appeal", REQUESTED_SLOT: "photo_front", "account_kind": "natural"}
    events, messages = run(ValidateAccountForm(), rasa_tracker(answer_events("", "send_file", upload_id=upload.id),
                                                               slots))
    assert SlotSet("photo_front", None) in events
    assert events[-1] == SlotSet(REQUESTED_SLOT, "photo_front")
    assert "没有找到这张照片" in messages[0]["text"]


def test_metadata_of_an_older_message_is_not_used(service):
    upload = service.save_upload(SENDER, png(), "a.png")
    slots = {"flow": "appeal", REQUESTED_SLOT: "photo_back", "account_kind": "natural", "photo_front": "x"}
    history = (answer_events("", "send_file", upload_id=upload.id)
               + [action(FORM), action("action_listen"), user("好了", "inform")])
    events, messages = run(ValidateAccountForm(), rasa_tracker(history, slots))
    assert SlotSet("photo_back", None) in events
    assert "需要上传照片" in messages[0]["text"]


def test_the_flows_get_the_values_the_nlu_found_first_of_each_kind():
    from actions.account_flows import values_of

    message = {"entities": [
        {"entity": "login_name", "value": "li_hong2019", "extractor": "ValueExtractor"},
        {"entity": "login_name", "value": "from_elsewhere", "extractor": "SomeOtherExtractor"},
        {"entity": "login_name", "value": "second_01", "extractor": "ValueExtractor"},
        {"entity": "system", "value": "human_genetic", "extractor": "ValueExtractor"},
    ]}
    assert values_of(message) == {"login_name": "li_hong2019", "system": "human_genetic"}
    assert values_of({}) == {}


# -- forged trackers ----------------------------------------------------------------------

@pytest.mark.parametrize("forged", ["{id}|2099-01-01T00:00:00", "{id}|2099-01-01T00:00:00|forged-signature"])
def test_a_forged_verified_account_in_the_tracker_gives_no_reset_link(service, forged):
    """What an attacker who reaches the action server sends: a tracker that says account 1 is verified."""
    account_id = add_account(service, "zhangsan")
    slots = {"flow": "reset", REQUESTED_SLOT: None, "verified_account": forged.format(id=account_id)}
    events, messages = run(ValidateAccountForm(), rasa_tracker(FORGOT, slots))
    assert events[-1] == SlotSet(REQUESTED_SLOT, "account_ref")
    assert not any("reset?token=" in message["text"] for message in messages)


def test_a_verification_of_another_conversation_gives_no_reset_link(service):
    add_account(service, "zhangsan")
    slots: Dict[str, Any] = {"flow": "reset", REQUESTED_SLOT: None}
    for answer in (None, "zhangsan", "code"):
        history = FORGOT if answer is None else answer_events(code_sent(service) if answer == "code" else answer)
        events, _ = run(ValidateAccountForm(), rasa_tracker(history, slots))
        slots = apply(slots, events)
    genuine = slots["verified_account"]
    other = rasa_tracker(FORGOT, {"flow": "reset", REQUESTED_SLOT: None, "verified_account": genuine})
    other.sender_id = "another-conversation"
    events, messages = run(ValidateAccountForm(), other)
    assert events[-1] == SlotSet(REQUESTED_SLOT, "account_ref")
    assert not any("reset?token=" in message["text"] for message in messages)
