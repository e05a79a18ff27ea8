"""A terminal chat with the running assistant over its REST channel.

Buttons are shown numbered; typing the number clicks the button.  The REST
channel wants ``Authorization: Bearer <REST_API_TOKEN>`` unless the server was
opened to this machine (``REST_OPEN_LOCALLY=true``, as ``make run`` does).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from typing import Any, Callable, Dict, List, Optional

Reply = Dict[str, Any]


def send(
    webhook: str,
    sender: str,
    text: str,
    timeout: float = 30.0,
    metadata: Optional[Dict[str, Any]] = None,
    token: Optional[str] = None,
) -> List[Reply]:
    """One message to the REST channel; ``token`` is sent as the bearer token when given."""
    payload: Dict[str, Any] = {"sender": sender, "message": text}
    if metadata:
        payload["metadata"] = metadata
    body = json.dumps(payload).encode("utf-8")
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(webhook, data=body, headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read().decode("utf-8"))


def render(replies: List[Reply]) -> List[str]:
    """Lines to print, and numbered buttons."""
    lines: List[str] = []
    number = 0
    for reply in replies:
        if reply.get("text"):
            lines.append(f"助手: {reply['text']}")
        for button in reply.get("buttons") or []:
            number += 1
            lines.append(f"  [{number}] {button.get('title')}")
    return lines


def silent_reply_note(sent: str) -> str:
    """What to show when the assistant answers nothing (``/restart`` answers nothing)."""
    return "（对话已重新开始）" if sent.strip() == "/restart" else "（助手这次没有回复）"


def buttons_of(replies: List[Reply]) -> List[Dict[str, str]]:
    return [button for reply in replies for button in reply.get("buttons") or []]


def resolve_input(typed: str, buttons: List[Dict[str, str]]) -> str:
    """A typed button number becomes that button's payload."""
    stripped = typed.strip()
    if stripped.isdigit() and 1 <= int(stripped) <= len(buttons):
        return buttons[int(stripped) - 1]["payload"]
    return typed


def chat(
    webhook: str,
    read: Callable[[str], str] = input,
    write: Callable[[str], None] = print,
    sender: Optional[str] = None,
    token: Optional[str] = None,
) -> None:
    sender = sender or f"terminal-{uuid.uuid4().hex[:12]}"
    write("已连接助手。输入问题开始对话，输入数字点选按钮，/restart 重新开始，Ctrl-D 退出。")
    buttons: List[Dict[str, str]] = []
    while True:
        try:
            typed = read("您: ")
        except (EOFError, KeyboardInterrupt):
            write("")
            return
        try:
            replies = send(webhook, sender, resolve_input(typed, buttons), token=token)
        except urllib.error.HTTPError as error:
            if error.code == 401:
                write("（助手的 REST 接口需要令牌：请把服务器的 REST_API_TOKEN 设进环境变量后再运行。）")
            else:
                write(f"（服务器拒绝了这条消息：{error.read().decode('utf-8', 'replace')}）")
            continue
        except (urllib.error.URLError, OSError) as error:
            write(f"（连接不上助手：{error}。请确认 make run 正在运行。）")
            continue
        for line in render(replies) or [silent_reply_note(typed)]:
            write(line)
        buttons = buttons_of(replies)
