"""The conversation before a handoff, read from Rasa's tracker table ``events``
on SQLite and PostgreSQL: the user's words and clicks, the assistant's answers
with the buttons offered and the one clicked, a photo, the flow's steps in
words, the session's start and the request as the bounds, masking."""
from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any, Dict, List, Optional

import sqlalchemy as sa

from bot.accounts.flows import signed_flow_data
from bot.accounts.flows.verification import SIGNATURE_KEY
from bot.accounts.masking import mask_document
from bot.handoff.conversation_log import conversation_before, log_entries
from bot.handoff.models import HandoffReason

EPOCH = datetime(1970, 1, 1)
PHONE = "13812348000"
ID_NUMBER = "110101199003071234"
UPLOAD_ID = "ab" * 16
GREETING_BUTTONS = [{"title": "实名认证失败", "payload": "/realname_failed"},
                    {"title": "忘记密码", "payload": "/forgot_password"}]


def tracker_table(database) -> sa.Table:
    """Rasa's SQLTrackerStore table (Rasa 3.6's columns)."""
    metadata = sa.MetaData()
    table = sa.Table("events", metadata, sa.Column("id", sa.Integer, primary_key=True),
                     sa.Column("sender_id", sa.String(255), nullable=False, index=True),
                     sa.Column("type_name", sa.String(255), nullable=False),
                     sa.Column("timestamp", sa.Float), sa.Column("intent_name", sa.String(255)),
                     sa.Column("action_name", sa.String(255)), sa.Column("data", sa.Text))
    metadata.create_all(database.engine)
    return table


def store_events(database, sender: str, events: List[Dict[str, Any]]) -> None:
    table = tracker_table(database)
    with database.engine.begin() as connection:
        connection.execute(table.insert(), [
            {"sender_id": sender, "type_name": event["event"], "timestamp": event["timestamp"],
             "data": json.dumps(event, ensure_ascii=False)} for event in events])


class Conversation:
    """Tracker events as Rasa stores them, one second apart from ``start``."""

    def __init__(self, start: datetime) -> None:
        self.now = (start - EPOCH).total_seconds()
        self.events: List[Dict[str, Any]] = []

    def add(self, event: Dict[str, Any]) -> None:
        self.now += 1
        self.events.append({**event, "timestamp": self.now})

    def session(self) -> None:
        self.add({"event": "action", "name": "action_session_start"})
        self.add({"event": "session_started"})
        self.add({"event": "action", "name": "action_listen"})

    def user(self, text: str, intent: str, metadata: Optional[Dict[str, Any]] = None, **parse: Any) -> None:
        self.add({"event": "user", "text": text, "metadata": metadata or {},
                  "parse_data": {"text": text, "intent": {"name": intent, "confidence": 0.9}, **parse}})

    def bot(self, text: str, buttons: Optional[List[Dict[str, str]]] = None, **metadata: Any) -> None:
        self.add({"event": "bot", "text": text, "data": {"buttons": buttons} if buttons else {},
                  "metadata": metadata})

    def action(self, name: str) -> None:
        self.add({"event": "action", "name": name})

    def slot(self, name: str, value: Any) -> None:
        self.add({"event": "slot", "name": name, "value": value})

    @property
    def moment(self) -> datetime:
        return EPOCH + timedelta(seconds=self.now)


def realname_conversation(start: datetime, sender: str = "widget:s1") -> Conversation:
    """A user greets, clicks 实名认证失败, gives an ID number, a code goes to the phone,
    the diagnosis says photos are needed, a photo is sent, then 转人工 (``flow_data`` signed
    for ``sender`` by this process, as the action server signs it)."""
    talk = Conversation(start)
    talk.session()
    talk.user("你好", "greet")
    talk.bot("您好！请问遇到了什么问题？", GREETING_BUTTONS)
    talk.action("action_listen")
    talk.user("/realname_failed", "realname_failed", {"display_text": "实名认证失败"})
    talk.slot("flow", "realname")
    talk.bot("请告诉我您的登录名、证件号码或单位的统一社会信用代码。")
    talk.user(f"身份证 {ID_NUMBER}", "inform")
    talk.slot("flow_data", signed_flow_data({"target": 7, "code_phone": PHONE}, sender))
    talk.bot(f"验证码已发送到 {PHONE}，请输入短信里的 6 位验证码。")
    talk.user("123456", "inform")
    talk.slot("flow_data", signed_flow_data({"target": 7, "code_phone": PHONE, "code_ok": True,
                                             "diagnosed": "upload"}, sender))
    talk.bot("需要上传证件照片做人工审核，请上传身份证人像面照片。")
    talk.user("/send_file", "send_file", {"upload_id": UPLOAD_ID, "display_text": "[照片] front.jpg"})
    talk.bot("收到，请再上传国徽面照片。", [{"title": "转人工客服", "payload": "/request_human"}])
    talk.user("/request_human", "request_human", {"display_text": "转人工客服"})
    talk.action("action_request_human")
    talk.bot("正在为您转接人工客服，您前面还有 0 位。")
    talk.slot("flow", None)  # the request ends the running flow
    talk.add({"event": "pause"})
    return talk


def test_the_whole_conversation_up_to_the_request(database, service, clock):
    talk = realname_conversation(clock.now - timedelta(minutes=5))
    clock.now = talk.moment  # the handoff is requested as the action runs
    handoff = service.request("widget:s1", "widget", HandoffReason.USER_REQUEST, {"problem": "实名认证失败"})
    talk.bot("人工客服 张丽 已接入，请直接向客服说明您的情况。", handoff_agent="张丽")  # after the request:
    talk.user("我还在等", "inform")  # the handoff's own transcript has these
    store_events(database, "widget:s1", talk.events)
    store_events(database, "widget:other", realname_conversation(clock.now, "widget:other").events)

    with database.session() as session:
        log = conversation_before(session, "widget:s1", handoff.created_at)
    kinds_and_texts = [(entry.kind, entry.text) for entry in log]
    assert kinds_and_texts == [
        ("user", "你好"),
        ("bot", "您好！请问遇到了什么问题？"),
        ("user", "实名认证失败"),  # the button's title, not its payload
        ("step", "开始办理：实名认证失败"),
        ("bot", "请告诉我您的登录名、证件号码或单位的统一社会信用代码。"),
        ("user", f"身份证 {mask_document(ID_NUMBER)}"),
        ("step", "已找到要办理的账号"),
        ("step", "验证码发往 138****8000，还没有验证通过"),
        ("bot", "验证码已发送到 138****8000，请输入短信里的 6 位验证码。"),
        ("user", "123456"),
        ("step", "短信验证码已通过（138****8000），身份已确认"),
        ("step", "诊断：需要上传证件照片做人工审核"),
        ("bot", "需要上传证件照片做人工审核，请上传身份证人像面照片。"),
        ("user", "[照片] front.jpg"),
        ("bot", "收到，请再上传国徽面照片。"),
        ("user", "转人工客服"),
        ("bot", "正在为您转接人工客服，您前面还有 0 位。"),
        ("step", "办理流程结束：实名认证失败"),
    ]
    greeting = log[1]
    assert [(button.title, button.clicked) for button in greeting.buttons] == [("实名认证失败", True), ("忘记密码", False)]
    assert [button.clicked for button in log[14].buttons] == [True]
    assert log[13].upload_id == UPLOAD_ID
    assert log[2].understood == "实名认证失败" and log[0].understood is None and log[5].understood is None
    assert all(ID_NUMBER not in entry.text and PHONE not in entry.text for entry in log)
    assert log[0].at is not None and log[0].at < log[-1].at <= handoff.created_at + timedelta(seconds=2)


def test_the_log_starts_with_the_session_and_ends_at_the_nearest_request(database, service, clock):
    talk = Conversation(clock.now - timedelta(hours=5))
    talk.session()
    talk.user("昨天的问题", "inform")
    talk.session()  # a new Rasa session: the earlier one is history, not this conversation
    talk.user("忘记密码", "forgot_password")
    talk.bot("请告诉我您的登录名。")
    talk.user("转人工", "request_human")
    talk.action("action_request_human")
    talk.bot("正在为您转接人工客服。")
    first_request = talk.moment
    talk.add({"event": "pause"})
    talk.add({"event": "resume"})
    talk.user("又是我", "inform")
    talk.action("action_request_human")
    talk.bot("再次为您转接。")
    store_events(database, "telegram:9", talk.events)

    with database.session() as session:
        first = conversation_before(session, "telegram:9", first_request)
        second = conversation_before(session, "telegram:9", talk.moment)
    assert [entry.text for entry in first] == ["忘记密码", "请告诉我您的登录名。", "转人工", "正在为您转接人工客服。"]
    assert [entry.text for entry in second][-2:] == ["又是我", "再次为您转接。"]
    assert "昨天的问题" not in [entry.text for entry in second]


def test_without_the_request_action_the_log_ends_at_the_request_time(database, clock):
    talk = Conversation(clock.now - timedelta(minutes=1))
    talk.user("你好", "greet")
    at = talk.moment
    talk.user("later", "inform")
    store_events(database, "rest:x", talk.events)
    with database.session() as session:
        assert [entry.text for entry in conversation_before(session, "rest:x", at)] == ["你好"]


def test_no_tracker_table_no_log(database, clock):
    with database.session() as session:
        assert conversation_before(session, "widget:none", clock.now) == []


def test_an_earlier_agent_is_named_and_an_unknown_payload_is_shown_as_its_topic():
    log = log_entries([
        {"event": "user", "text": "/forgot_password", "parse_data": {"intent": {"name": "forgot_password"}}},
        {"event": "bot", "text": "人工客服 张丽：您好", "metadata": {"handoff_agent": "张丽"}},
        {"event": "user", "text": "", "metadata": {"upload_id": UPLOAD_ID}},
        {"event": "bot", "text": ""},  # nothing to show
        {"event": "slot", "name": "flow", "value": "reset"},
        {"event": "slot", "name": "flow_data", "value": "not a dict"},
        {"event": "slot", "name": "flow", "value": None},
    ])
    assert [(entry.kind, entry.text) for entry in log] == [
        ("user", "忘记密码 / 提示登录名或密码错误"),
        ("bot", "人工客服 张丽：您好"),
        ("user", "[照片]"),
        ("step", "开始办理：忘记密码 / 提示登录名或密码错误"),
        ("step", "办理流程结束：忘记密码 / 提示登录名或密码错误"),
    ]
    assert log[1].agent_name == "张丽" and log[2].upload_id == UPLOAD_ID


def test_a_flow_s_findings_need_this_conversation_s_signature_or_the_summary_s_word():
    """Whoever can write the tracker cannot make the agent read that a code was entered."""
    claimed = {"target": 7, "code_phone": PHONE, "code_ok": True}
    events = [{"event": "slot", "name": "flow", "value": "reset"},
              {"event": "slot", "name": "flow_data", "value": {**claimed, SIGNATURE_KEY: "forged"}}]
    copied = [events[0], {"event": "slot", "name": "flow_data", "value": signed_flow_data(claimed, "widget:else")}]
    for forged in (events, copied):
        assert [entry.text for entry in log_entries(forged, "widget:me")] == ["开始办理：忘记密码 / 提示登录名或密码错误"]
    vouched = log_entries(events, "widget:me", confirmed=["已按登录名找到账号"])
    assert [entry.text for entry in vouched][1:] == ["已按登录名找到账号"]
    signed = [events[0], {"event": "slot", "name": "flow_data", "value": signed_flow_data(claimed, "widget:me")}]
    assert len(log_entries(signed, "widget:me")) == 3  # found, and the code entered


def test_a_photo_shows_with_the_label_of_the_users_language_and_its_upload():
    """Telegram labels a photo in the conversation's language ("[Photo] …" in English); the agent's log
    shows the label as the user saw it and finds the photo by its upload id, whatever the label."""
    log = log_entries([
        {"event": "user", "text": "/send_file", "metadata": {"upload_id": UPLOAD_ID,
                                                             "display_text": "[Photo] photo_12.jpg"}},
        {"event": "user", "text": "/send_file", "metadata": {"upload_id": "b" * 32,
                                                             "display_text": "[照片] photo_13.jpg"}},
    ])
    assert [(entry.text, entry.upload_id) for entry in log] == [
        ("[Photo] photo_12.jpg", UPLOAD_ID), ("[照片] photo_13.jpg", "b" * 32)]
