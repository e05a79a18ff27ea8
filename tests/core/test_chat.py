import io
import urllib.error

from bot.chat import buttons_of, chat, render, resolve_input, send, silent_reply_note

REPLIES = [
    {"text": "您是想问：", "buttons": [{"title": "忘记密码", "payload": "/forgot_password"},
                                      {"title": "都不是", "payload": "/deny"}]},
]


def test_buttons_are_numbered_and_a_number_clicks_one():
    assert render(REPLIES) == ["助手: 您是想问：", "  [1] 忘记密码", "  [2] 都不是"]
    assert resolve_input("2", buttons_of(REPLIES)) == "/deny"


def test_other_input_is_sent_as_typed():
    buttons = buttons_of(REPLIES)
    assert resolve_input("3", buttons) == "3"
    assert resolve_input("忘记密码了", buttons) == "忘记密码了"


def test_a_silent_reply_is_explained():
    assert silent_reply_note("/restart") == "（对话已重新开始）"
    assert silent_reply_note("你好") == "（助手这次没有回复）"


def test_the_chat_loop_sends_typed_text_and_clicked_payloads(monkeypatch):
    sent, shown = [], []
    replies = iter([REPLIES, []])
    monkeypatch.setattr("bot.chat.send",
                        lambda url, sender, text, token=None: sent.append((text, token)) or next(replies))
    typed = iter(["我不太清楚", "1"])

    def read(prompt):
        try:
            return next(typed)
        except StopIteration:
            raise EOFError

    chat("http://assistant/webhook", read=read, write=shown.append, sender="t-1", token="tok")
    assert sent == [("我不太清楚", "tok"), ("/forgot_password", "tok")]
    assert "  [1] 忘记密码" in shown and "（助手这次没有回复）" in shown


def test_a_refused_token_is_explained(monkeypatch):
    def refuse(url, sender, text, token=None):
        raise urllib.error.HTTPError(url, 401, "Unauthorized", {}, io.BytesIO(b'{"error": "token"}'))

    monkeypatch.setattr("bot.chat.send", refuse)
    typed, shown = iter(["你好"]), []

    def read(prompt):
        try:
            return next(typed)
        except StopIteration:
            raise EOFError

    chat("http://assistant/webhook", read=read, write=shown.append, sender="t-1")
    assert any("REST_API_TOKEN" in line for line in shown)


def test_send_puts_the_token_in_the_authorization_header(monkeypatch):
    seen = {}

    class Reply(io.BytesIO):
        def __enter__(self):
            return self

        def __exit__(self, *_):
            return False

    def urlopen(request, timeout):
        seen.update(request.headers)
        return Reply(b"[]")

    monkeypatch.setattr("bot.chat.urllib.request.urlopen", urlopen)
    assert send("http://assistant/webhook", "t-1", "你好", token="tok") == []
    assert seen["Authorization"] == "Bearer tok"
    seen.clear()
    send("http://assistant/webhook", "t-1", "你好")
    assert "Authorization" not in seen


def test_make_shell_starting_its_own_assistant_gives_it_a_token_only_the_chat_knows(monkeypatch):
    from types import SimpleNamespace

    from bot.cli import assistant as cli

    started, chatted = [], []
    monkeypatch.delenv("REST_API_TOKEN", raising=False)
    monkeypatch.setattr(cli, "answers", lambda url: False)
    monkeypatch.setattr(cli, "start_assistant", lambda overrides: started.append(overrides) or SimpleNamespace(
        rasa_url="http://127.0.0.1:1", stop=lambda: None))
    monkeypatch.setattr(cli, "chat", lambda webhook, token=None: chatted.append(token))
    assert cli.chat_in_terminal(SimpleNamespace(url=None)) == 0
    [overrides], [token] = started, chatted
    assert overrides == {"REST_API_TOKEN": token} and len(token) >= 32

    monkeypatch.setenv("REST_API_TOKEN", "configured-token-0123456789abcdefghij")
    monkeypatch.setattr(cli, "answers", lambda url: True)  # already running (make run)
    assert cli.chat_in_terminal(SimpleNamespace(url=None)) == 0
    assert chatted[-1] == "configured-token-0123456789abcdefghij" and len(started) == 1
