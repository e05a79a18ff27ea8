"""What the user is told around a handoff (bot/handoff/user_replies.py), in each
language: the same buttons' payloads, the same facts; Chinese unchanged when no
language is given.  (The queue's replies are tested with the assignment, in
test_assignment.py.)"""
from __future__ import annotations

from bot.handoff import user_replies
from bot.handoff.user_replies import (
    BEST_RATING,
    agent_joined,
    agent_says,
    back_to_assistant,
    cancelled,
    rating_buttons,
    thanks_for,
)


def test_chinese_is_the_default_and_as_before():
    assert user_replies.BACK_TO_ASSISTANT.text == (
        "人工客服已结束本次服务，接下来由我继续为您服务。\n请为这次人工服务打个分（5 分最满意）：")
    assert [button["title"] for button in user_replies.RATING_BUTTONS] == ["5 分", "4 分", "3 分", "2 分", "1 分"]
    assert user_replies.CANCELLED == cancelled("zh")
    assert agent_joined("张丽").text == "人工客服 张丽 已接入，请直接向客服说明您的情况。"
    assert agent_says("张丽", "您好").text == "人工客服 张丽：您好"
    assert thanks_for(5).text == "感谢您的 5 分评价！还有其他问题可以继续问我。"


def test_english_replies_keep_the_payloads_and_the_facts():
    back = back_to_assistant("en")
    assert back.text.startswith("The support agent has finished with your request")
    assert f"({BEST_RATING} is best)" in back.text
    assert [button["payload"] for button in back.buttons] == [b["payload"] for b in rating_buttons("zh")]
    assert [button["title"] for button in back.buttons] == ["Rate 5", "Rate 4", "Rate 3", "Rate 2", "Rate 1"]
    assert cancelled("en").text.startswith("You have left the queue")
    assert agent_joined("张丽", "en").text == "Support agent 张丽 has joined. Please describe your problem to them directly."
    assert agent_says("张丽", "您好 / hello", "en").text == "Support agent 张丽: 您好 / hello"  # the agent's words as written
    assert thanks_for(5, "en").text == "Thank you for your rating of 5! Feel free to ask me anything else."
    assert "sorry" in thanks_for(2, "en").text and "2" in thanks_for(2, "en").text
