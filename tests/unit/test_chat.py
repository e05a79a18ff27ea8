from bot.chat import buttons_of, render, resolve_input

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
