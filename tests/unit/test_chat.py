from bot.chat import buttons_of, chat, render, resolve_input, silent_reply_note

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
    monkeypatch.setattr("bot.chat.send", lambda url, sender, text: sent.append(text) or next(replies))
    typed = iter(["我不太清楚", "1"])

    def read(prompt):
        try:
            return next(typed)
        except StopIteration:
            raise EOFError

    chat("http://assistant/webhook", read=read, write=shown.append, sender="t-1")
    assert sent == ["我不太清楚", "/forgot_password"]
    assert "  [1] 忘记密码" in shown and "（助手这次没有回复）" in shown
