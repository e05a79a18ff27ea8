"""The widget channel's pure parts: session ids, metadata, transcripts, origins, when a
turn's messages go out."""
import asyncio
from types import SimpleNamespace

import pytest
from rasa.shared.core.events import ActionExecuted, BotUttered, Restarted, SlotSet, UserUttered

from bot.channels.common import origin_allowed, own_origins
from bot.channels.busy import BUSY_TEXT
from bot.channels.turns import Outcome
from bot.channels.widget import WidgetInput, client_metadata, new_session_id, resumable_session_id, transcript


def test_session_ids_are_128_random_bits_and_only_those_resume():
    issued = {new_session_id() for _ in range(100)}
    assert len(issued) == 100
    assert all(resumable_session_id(session_id) == session_id for session_id in issued)
    for chosen in ("alice", "default", "A" * 32, "0" * 31, None, 12, {"id": "x"}, "g" * 32,
                   "0" * 32 + "\n", "0" * 33, "widget:" + "0" * 32, "telegram:4242"):
        assert resumable_session_id(chosen) is None


def test_a_browser_may_attach_only_the_known_metadata_keys():
    raw = {"identity_token": "t", "upload_id": "u", "display_text": "d", "language_hint": "en-GB", "is_agent": "yes",
           "upload_id2": 1}
    assert client_metadata(raw) == {"identity_token": "t", "upload_id": "u", "display_text": "d", "language_hint": "en-GB"}
    assert client_metadata({"upload_id": ["not", "a", "string"]}) == {}
    assert client_metadata("identity_token=t") == {}


def test_transcript_shows_what_the_user_saw():
    buttons = [{"title": "忘记密码", "payload": "/forgot_password"}]
    events = [
        UserUttered("旧对话"),
        Restarted(),
        UserUttered("你好"),
        ActionExecuted("utter_greet"),
        BotUttered("您好！\n请选择：", data={"buttons": buttons}),
        UserUttered("/forgot_password", metadata={"display_text": "忘记密码"}),
        UserUttered("/send_file", metadata={"upload_id": "u1", "display_text": "[照片] front.jpg"}),
        UserUttered("/greet"),  # a payload nobody typed and no title: not shown
        SlotSet("flow", None),
        BotUttered("请输入登录名。"),
    ]
    assert transcript(events) == [
        {"sender": "user", "text": "你好"},
        {"sender": "bot", "text": "您好！\n请选择：",
         "quick_replies": [{"title": "忘记密码", "payload": "/forgot_password"}]},
        {"sender": "user", "text": "忘记密码"},
        {"sender": "user", "text": "[照片] front.jpg"},
        {"sender": "bot", "text": "请输入登录名。"},
    ]


def test_transcript_keeps_the_latest_messages():
    events = [BotUttered(f"第{number}条") for number in range(300)]
    shown = transcript(events, limit=50)
    assert len(shown) == 50 and shown[-1]["text"] == "第299条" and shown[0]["text"] == "第250条"


def test_only_own_and_listed_origins_may_embed_the_widget(monkeypatch):
    monkeypatch.setenv("WIDGET_ALLOWED_ORIGINS", "https://fuwu.example.gov.cn https://www.example.gov.cn")
    own = own_origins("http", "127.0.0.1:5005")
    assert origin_allowed("http://127.0.0.1:5005", own)
    assert origin_allowed("https://fuwu.example.gov.cn", own)
    assert origin_allowed(None, own)  # not a browser's cross-site request
    assert not origin_allowed("https://evil.example.com", own)
    assert not origin_allowed("https://fuwu.example.gov.cn.evil.com", own)
    monkeypatch.setenv("WIDGET_ALLOWED_ORIGINS", "")
    assert not origin_allowed("https://fuwu.example.gov.cn", own)


def test_behind_a_tls_proxy_the_assistants_own_https_pages_are_its_own(monkeypatch):
    monkeypatch.setenv("WIDGET_ALLOWED_ORIGINS", "")
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://assistant.example.gov.cn/")
    own = own_origins("http", "Assistant.internal:5005", forwarded_proto="https")
    assert own == {"http://assistant.internal:5005", "https://assistant.internal:5005",
                   "https://assistant.example.gov.cn"}
    assert origin_allowed("https://assistant.example.gov.cn", own)
    assert not origin_allowed("https://evil.example.com", own)


class RecordingServer:
    """As much of socket.io's AsyncServer as the ``user_uttered`` handler uses."""

    def __init__(self) -> None:
        self.handlers = {}
        self.emitted = []

    def on(self, event):
        def register(handler):
            self.handlers[event] = handler
            return handler
        return register

    async def get_session(self, sid):
        return {"session_id": "a" * 32}

    def get_environ(self, sid):
        return {}

    async def emit(self, event, data, room=None, **kwargs):
        self.emitted.append((event, data.get("text"), room))


@pytest.mark.parametrize("outcome, shown", [
    (Outcome.ANSWERED, ["答复"]),
    (Outcome.DEGRADED, ["答复", BUSY_TEXT]),  # stored, then an action failed
    (Outcome.REFUSED, [BUSY_TEXT]),  # not stored: nothing of the turn is shown
])
def test_a_turns_messages_go_out_once_it_is_stored_and_only_then(outcome, shown):
    """A turn cut short must not show replies the conversation never kept (the chaos test:
    a Rasa server killed, the store down at the save, and the history after the reconnect
    lacked what the user had seen)."""
    sio = RecordingServer()

    async def receive(message):
        await message.output_channel.send_text_message(message.sender_id, "答复")
        assert sio.emitted == []  # held while the turn runs
        return outcome

    WidgetInput()._add_socket_handlers(sio, SimpleNamespace(ctx=SimpleNamespace()), receive)
    asyncio.run(sio.handlers["user_uttered"]("sid-1", {"session_id": "a" * 32, "message": "你好"}))
    assert [text for _, text, _ in sio.emitted] == shown
    assert all(room == f"widget:{'a' * 32}" for _, text, room in sio.emitted if text != BUSY_TEXT)


class SessionServer(RecordingServer):
    """As much of socket.io's AsyncServer as ``session_request`` uses; ``shown`` replays the
    socket's events as widget.js shows them (a bot message is added, the history replaces)."""

    def __init__(self) -> None:
        super().__init__()
        self.sent = []
        self.sessions = {}

    def session(self, sid):
        sessions = self.sessions

        class Session:
            async def __aenter__(self):
                return sessions.setdefault(sid, {})

            async def __aexit__(self, *_):
                return False
        return Session()

    async def enter_room(self, sid, room):
        pass

    async def leave_room(self, sid, room):
        pass

    async def emit(self, event, data, room=None, **kwargs):
        self.sent.append((event, data))

    def shown(self):
        screen = []
        for event, data in self.sent:
            if event == "bot_uttered":
                screen.append(data["text"])
            elif event == "session_history":
                screen = [message["text"] for message in data["messages"] if message["sender"] == "bot"]
        return screen


def _widget_app(lock_store, tracker_store):
    agent = SimpleNamespace(lock_store=lock_store, tracker_store=tracker_store)
    return SimpleNamespace(ctx=SimpleNamespace(app=SimpleNamespace(ctx=SimpleNamespace(agent=agent))))


async def _not_a_turn(message):
    raise AssertionError("no turn in these tests")


def test_a_message_stored_while_the_history_is_read_is_not_wiped_by_it():
    """The load test: a reconnecting widget's history was read, an agent's reply was stored
    and sent to the room (the socket had joined it), then the history came and replaced the
    screen: the reply was stored and never shown.  Messages are stored and sent under the
    conversation's lock (as bot/channels/handoff_bridge.py does), so the history is read and
    sent under it too."""
    from rasa.core.lock_store import InMemoryLockStore
    from rasa.shared.core.trackers import DialogueStateTracker

    conversation = f"widget:{'b' * 32}"

    async def scenario():
        lock_store = InMemoryLockStore()
        tracker = DialogueStateTracker(conversation, slots=[])
        tracker.update(BotUttered("已为您转人工客服。"))
        read_begun, read_may_end = asyncio.Event(), asyncio.Event()

        class SlowTrackerStore:
            async def retrieve(self, sender_id):
                snapshot = DialogueStateTracker.from_events(sender_id, list(tracker.events), slots=[])
                read_begun.set()
                await read_may_end.wait()  # a loaded database
                return snapshot

        sio = SessionServer()
        WidgetInput()._add_socket_handlers(sio, _widget_app(lock_store, SlowTrackerStore()), _not_a_turn)
        opening = asyncio.ensure_future(sio.handlers["session_request"]("sid-1", {"session_id": "b" * 32}))
        await read_begun.wait()

        async def agent_replies():
            async with lock_store.lock(conversation, wait_time_in_seconds=0.05):
                tracker.update(BotUttered("客服：您好，我来处理。"))
                await sio.emit("bot_uttered", {"text": "客服：您好，我来处理。"}, room=conversation)

        replying = asyncio.ensure_future(agent_replies())
        await asyncio.sleep(0.3)
        read_may_end.set()
        await asyncio.gather(opening, replying)
        return sio.shown()

    assert asyncio.run(scenario()) == ["已为您转人工客服。", "客服：您好，我来处理。"]


def test_the_history_is_sent_when_the_lock_store_cannot_be_reached():
    from rasa.shared.core.trackers import DialogueStateTracker

    class UnreachableLockStore:
        def lock(self, *args, **kwargs):
            raise ConnectionError("Redis is restarting")

    class TrackerStore:
        async def retrieve(self, sender_id):
            return DialogueStateTracker.from_events(sender_id, [BotUttered("您好")], slots=[])

    sio = SessionServer()
    WidgetInput()._add_socket_handlers(sio, _widget_app(UnreachableLockStore(), TrackerStore()), _not_a_turn)
    asyncio.run(sio.handlers["session_request"]("sid-1", {"session_id": "c" * 32}))
    assert [event for event, _ in sio.sent] == ["session_confirm", "session_history"]
    assert sio.shown() == ["您好"]
