from bot.conversation import misunderstanding_streak
from tests.trackers import action, user


def test_streak_counts_consecutive_fallbacks_up_to_now():
    events = [user("嗯", "nlu_fallback"), action("action_clarify"), user("啊", "nlu_fallback")]
    assert misunderstanding_streak(events) == 2


def test_streak_is_broken_by_an_understood_message():
    events = [
        user("嗯", "nlu_fallback"),
        action("action_clarify"),
        user("忘记密码", "forgot_password"),
        action("utter_forgot_password"),
        user("啊", "nlu_fallback"),
    ]
    assert misunderstanding_streak(events) == 1


def test_none_of_these_counts_as_a_misunderstanding():
    events = [
        user("嗯", "nlu_fallback"),
        action("action_clarify"),
        action("action_listen"),
        user("都不是", "deny"),
    ]
    assert misunderstanding_streak(events) == 2


def test_a_plain_no_is_not_a_misunderstanding():
    events = [user("忘记密码", "forgot_password"), action("utter_forgot_password"), user("不是", "deny")]
    assert misunderstanding_streak(events) == 0


def test_streak_restarts_with_a_new_session():
    events = [user("嗯", "nlu_fallback"), {"event": "session_started"}, user("啊", "nlu_fallback")]
    assert misunderstanding_streak(events) == 1
