"""env, run and chat: the assistant itself (top-level commands, no group)."""

from __future__ import annotations

import argparse
import secrets
import shlex
import sys

from bot import config
from bot.chat import chat
from bot.cli.common import Commands
from bot.launcher import StartupError, answers, start_assistant
from bot.production import production_problems


def register(commands: Commands, _common: argparse.ArgumentParser) -> None:
    env_parser = commands.add_parser("env", help="print the effective settings as shell exports")
    env_parser.add_argument(
        "--check-production",
        action="store_true",
        help="instead, list what is unfit for production (missing or weak secrets, development settings); "
        "exit status 1 when anything is",
    )
    env_parser.set_defaults(handler=print_env)
    commands.add_parser("run", help="start the action server and the Rasa server").set_defaults(handler=run)
    chat_parser = commands.add_parser("chat", help="chat in the terminal (starts the assistant if it is not running)")
    chat_parser.add_argument("--url", help="Rasa server address, default from RASA_PORT")
    chat_parser.set_defaults(handler=chat_in_terminal)


def print_env(arguments: argparse.Namespace) -> int:
    if arguments.check_production:
        return check_production()
    for name, value in config.rasa_environment().items():
        print(f"export {name}={shlex.quote(value)}")
    return 0


def check_production() -> int:
    problems = production_problems()
    if not problems:
        print("These settings are fit for production (docs/security.md).")
        return 0
    print(f"Not fit for production ({len(problems)}; docs/security.md):", file=sys.stderr)
    for problem in problems:
        print(f"- {problem}", file=sys.stderr)
    return 1


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
        f"  REST 接口     POST {assistant.rest_webhook}  {_rest_mode()}\n"
        f"  动作服务器    {assistant.actions_url}/health\n"
        "  终端对话      在另一个终端运行 make shell\n"
        "按 Ctrl-C 停止。",
        flush=True,
    )
    try:
        return assistant.wait(on_action_server_exit=_action_server_exited)
    except KeyboardInterrupt:
        return 0
    finally:
        assistant.stop()


def _action_server_exited(code: int) -> None:
    """The Rasa server keeps serving: users get the busy message until the action server is back."""
    print(
        f"动作服务器已退出（退出码 {code}）。Rasa 服务器继续运行，用户会收到“系统繁忙”的提示；"
        "请重新启动（Ctrl-C 后再 make run），或由进程管理器自动重启（docs/operations.md）。",
        file=sys.stderr,
        flush=True,
    )


def _telegram_mode() -> str:
    if not config.get("TELEGRAM_BOT_TOKEN"):
        return "未启用（设置 TELEGRAM_BOT_TOKEN 后启用）"
    if config.get("TELEGRAM_WEBHOOK_URL"):
        return f"webhook：{config.get('TELEGRAM_WEBHOOK_URL')}"
    return "长轮询（long polling）"


def _rest_mode() -> str:
    """Who may use the REST channel, as `run` shows it (only `run` loads Rasa's modules for it)."""
    from bot.channels.rest import RestAccess

    access = RestAccess.from_config()
    if access.open_locally:
        return "（本机程序无需令牌：REST_OPEN_LOCALLY=true，仅供本地开发，切勿用于生产）"
    if access.token:
        return "（需要请求头 Authorization: Bearer <REST_API_TOKEN>）"
    return "（未开放：设置 REST_API_TOKEN 后启用）"


def chat_in_terminal(args: argparse.Namespace) -> int:
    environ = config.rasa_environment()
    base = args.url or f"http://{config.client_host(environ['BIND_HOST'])}:{environ['RASA_PORT']}"
    token = environ["REST_API_TOKEN"] or None
    started = None
    if not answers(f"{base}/webhooks/rest/"):
        print("助手没有在运行，正在为这次对话启动它（约半分钟）……", flush=True)
        # Without a configured token, one for this session only: the chat has it, nobody else.
        token = token or secrets.token_urlsafe(32)
        started = start_assistant({"REST_API_TOKEN": token})
        base = started.rasa_url
    try:
        chat(f"{base}/webhooks/rest/webhook", token=token)
    finally:
        if started:
            started.stop()
    return 0
