import pytest

from bot.input_screen import InputProblem, screen_message

LIMIT = 1000


@pytest.mark.parametrize(
    "text, problem",
    [
        (None, InputProblem.EMPTY),
        ("", InputProblem.EMPTY),
        ("   \n\t ", InputProblem.EMPTY),
        ("\u3000\u3000", InputProblem.EMPTY),  # full-width spaces
        ("😀😀😀", InputProblem.NO_WORDS),
        ("？？！！。。", InputProblem.NO_WORDS),
        ("👍 🙏", InputProblem.NO_WORDS),
        ("忘记密码\x00\x01\x02", InputProblem.GARBLED),
        ("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", InputProblem.GARBLED),
        ("å¿\x98è®°å¯\x86ç\xa0\x81", InputProblem.GARBLED),  # UTF-8 read as Latin-1
        ("密码\ufffd\ufffd", InputProblem.GARBLED),
        ("密" * (LIMIT + 1), InputProblem.TOO_LONG),
    ],
)
def test_unreadable_messages_are_recognised(text, problem):
    assert screen_message(text, LIMIT) is problem


@pytest.mark.parametrize(
    "text",
    [
        "忘记密码了",
        "忘記密碼",
        "password forgot 怎么办",
        "123456",
        "登录提示：登录名或密码错误！😭",
        "Я забыл пароль",  # a foreign expert writing Russian is not garbage
        "第一行\n第二行\t缩进",
        "密" * LIMIT,
    ],
)
def test_readable_messages_pass(text):
    assert screen_message(text, LIMIT) is None
