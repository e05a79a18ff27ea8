"""cluster start|stop|status: the local production cluster (bot/cluster.py, docs/deploy.md).

``make cluster`` runs ``cluster start``, ``make cluster-stop`` runs ``cluster stop``.
``start`` returns once nginx and every server answer and prints where; a
failed start stops whatever it had started and prints one line (exit 1).
``stop`` prints whether a cluster was running (exit 0 either way).
``status`` prints supervisord's view, one line a process (exit 3 when the
cluster is not running or a process is not, as supervisorctl does).
"""

from __future__ import annotations

import argparse
import os
import sys

from bot import cluster
from bot.cli.common import Commands, positive


def register(commands: Commands, _common: argparse.ArgumentParser) -> None:
    parser = commands.add_parser(
        "cluster",
        help="the local production cluster: nginx, N Rasa servers, M action servers, PostgreSQL, Redis",
        description="The local production cluster under supervisord (docs/deploy.md).",
    )
    group = parser.add_subparsers(dest="cluster_command", required=True, metavar="COMMAND")
    start_parser = group.add_parser("start", help="start every process; returns when all answer")
    start_parser.add_argument(
        "--rasa", type=positive, metavar="N", help="Rasa servers (default: CLUSTER_RASA_REPLICAS)"
    )
    start_parser.add_argument(
        "--actions", type=positive, metavar="M", help="action servers (default: CLUSTER_ACTION_SERVERS)"
    )
    start_parser.set_defaults(handler=start)
    group.add_parser("stop", help="stop every process of the cluster").set_defaults(handler=stop)
    group.add_parser("status", help="each process of the cluster and its state").set_defaults(handler=status)


def _layout() -> cluster.Layout:
    return cluster.Layout.from_settings(os.environ)


def start(args: argparse.Namespace) -> int:
    print("正在启动集群：PostgreSQL、Redis、动作服务器、Rasa 服务器、nginx（加载模型约需一两分钟）……", flush=True)
    try:
        layout = cluster.start(rasa_replicas=args.rasa, action_servers=args.actions)
    except cluster.ClusterError as error:
        print(f"集群启动失败：{error}", file=sys.stderr)
        return 1
    print(
        "\n集群已就绪（nginx 是唯一入口）：\n"
        f"  演示页面      {layout.public_url}/webhooks/widget/demo\n"
        f"  REST 接口     POST {layout.public_url}/webhooks/rest/webhook  "
        f"（令牌 REST_API_TOKEN 见 {layout.secrets_file}）\n"
        f"  Rasa 服务器   {len(layout.rasa_ports)} 个，127.0.0.1:{','.join(map(str, layout.rasa_ports))}\n"
        f"  动作服务器    {len(layout.action_ports)} 个，127.0.0.1:{','.join(map(str, layout.action_ports))}\n"
        f"  日志          {layout.log_dir}\n"
        "  状态          python -m bot cluster status\n"
        "  停止          make cluster-stop",
        flush=True,
    )
    return 0


def stop(_: argparse.Namespace) -> int:
    layout = _layout()
    try:
        stopped = cluster.stop(layout)
    except cluster.ClusterError as error:
        print(f"集群停止失败：{error}", file=sys.stderr)
        return 1
    print("集群已停止。" if stopped else f"集群没有在运行（{layout.directory}）。")
    return 0


def status(_: argparse.Namespace) -> int:
    layout = _layout()
    lines = cluster.status_lines(layout)
    if not lines:
        print(f"集群没有在运行（{layout.directory}）。")
        return 3
    print("\n".join(lines))
    return 0 if all(" RUNNING " in line for line in lines) else 3
