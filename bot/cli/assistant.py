"""env, run and chat: the assistant itself (top-level commands, no group)."""

from __future__ import annotations

import argparse
import shlex
import sys

from bot import config
from bot.chat import chat
from bot.cli.common import Commands
from bot.launcher import StartupError, answers, start_assistant


def register(commands: Commands, _common: argparse.ArgumentParser) -> None:
    commands.add_parser("env", help="print the effective settings as shell exports").set_defaults(handler=print_env)
    commands.add_parser("run", help="start the action server and the Rasa server").set_defaults(handler=run)
    chat_parser = commands.add_parser("chat", help="chat in the terminal (starts the assistant if it is not running)")
    chat_parser.add_argument("--url", help="Rasa server address, default from RASA_PORT")
    chat_parser.set_defaults(handler=chat_in_terminal)


def print_env(_: argparse.Namespace) -> int:
    for name, value in config.rasa_environment().items():
        print(f"export {name}={shlex.quote(value)}")
    return 0


def run(_: argparse.Namespace) -> int:
    print("正在启动动作服务器和 Rasa 服务器（加载模型约需半分钟）……", flush=True)
    try:
        assistant = start_assistant()
    except StartupError as error:
        print(f"启动失败：{error}", file=sys.stderr)
        return 1
    print(
        "\n助手已就绪：\n"
        f"  演示页面      {config.public_base_url()}/webhooks/widget/demo  （在浏览器中打开，点右下角的“在线咨询”）\n"
        f"  Telegram      {_telegram_mode()}\n"
        f"  REST 接口     POST {assistant.rest_webhook}\n"
        f"  动作服务器    {assistant.actions_url}/health\n"
        "  终端对话      在另一个终端运行 make shell\n"
        "按 Ctrl-C 停止。",
        flush=True,
    )
    try:
        return assistant.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        assistant.stop()


def _telegram_mode() -> str:
    if not config.get("TELEGRAM_BOT_TOKEN"):
        return "未启用（设置 TELEGRAM_BOT_TOKEN 后启用）"
    if config.get("TELEGRAM_WEBHOOK_URL"):
        return f"webhook：{config.get('TELEGRAM_WEBHOOK_URL')}"
    return "长轮询（long polling）"


def chat_in_terminal(args: argparse.Namespace) -> int:
    environ = config.rasa_environment()
    base = args.url or f"http://{config.client_host(environ['BIND_HOST'])}:{environ['RASA_PORT']}"
    started = None
    if not answers(f"{base}/webhooks/rest/"):
        print("助手没有在运行，正在为这次对话启动它（约半分钟）……", flush=True)
        started = start_assistant()
        base = started.rasa_url
    try:
        chat(f"{base}/webhooks/rest/webhook")
    finally:
        if started:
            started.stop()
    return 0
