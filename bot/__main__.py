"""Command line of the assistant: ``python -m bot --help``."""

from __future__ import annotations

import argparse
import shlex
import sys
from typing import List, Optional

from bot import admin, config


def _print_env(_: argparse.Namespace) -> int:
    for name, value in config.rasa_environment().items():
        print(f"export {name}={shlex.quote(value)}")
    return 0


def _run(_: argparse.Namespace) -> int:
    from bot.launcher import StartupError, start_assistant

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


def _chat(args: argparse.Namespace) -> int:
    from bot.chat import chat
    from bot.launcher import answers, start_assistant

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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("env", help="print the effective settings as shell exports").set_defaults(handler=_print_env)
    commands.add_parser("run", help="start the action server and the Rasa server").set_defaults(handler=_run)
    chat_parser = commands.add_parser("chat", help="chat in the terminal (starts the assistant if it is not running)")
    chat_parser.add_argument("--url", help="Rasa server address, default from RASA_PORT")
    chat_parser.set_defaults(handler=_chat)
    admin.register(commands)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
