"""The local production cluster (`make cluster`, bot/cluster.py), started as
operators start it (`python -m bot cluster start`) with two Rasa servers and two
action servers behind nginx, PostgreSQL and Redis, all under supervisord; every
conversation goes through nginx's one port.  One cluster serves the module; the
last test stops it and checks that nothing of it is left running."""
from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from types import SimpleNamespace
from typing import Dict, Iterator, List, Optional

import pytest
import requests
import sqlalchemy as sa

from bot import cluster, config
from bot.chat import send
from bot.handoff.agents import AgentDirectory
from bot.store import Database
from tests.console.console_client import Agent
from tests.assistants import RESULTS
from bot.channels.busy import BUSY_TEXT
from tests.load_users import (ATTEMPTS, KINDS, Conversation, Plan, Report, Target, Unexpected, WidgetConversation,
                              cluster_settings, run_load, socketio_replica)
from tests.servers import cluster_home
from tests.widget_client import WidgetClient

pytestmark = pytest.mark.integration

PROJECT = Path(__file__).resolve().parents[2]
REPLICAS, ACTION_SERVERS = 2, 2


def run_cli(environ: Dict[str, str], *arguments: str, timeout: float = 420) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bot", "cluster", *arguments], cwd=PROJECT, env=environ,
                          capture_output=True, text=True, timeout=timeout)


class Cluster(SimpleNamespace):
    environ: Dict[str, str]
    layout: cluster.Layout
    url: str
    rest_token: str
    database_url: str

    def supervisorctl(self, *arguments: str) -> str:
        return cluster.supervisorctl(self.layout, *arguments, check=False).stdout

    def pid(self, program: str) -> int:
        return int(self.supervisorctl("pid", program).strip())


@pytest.fixture(scope="module")
def running_cluster() -> Iterator[Cluster]:
    RESULTS.mkdir(exist_ok=True)
    # Its own directory, readable on the way down: PostgreSQL runs as `postgres` under root.
    directory = cluster_home("assistant-cluster-")
    # Free ports, and the settings of a load from one address (the load and chaos tests below).
    environ = cluster_settings(str(directory / "cluster"), REPLICAS, ACTION_SERVERS)
    started = run_cli(environ, "start", "--rasa", str(REPLICAS), "--actions", str(ACTION_SERVERS))
    (RESULTS / "integration-cluster.log").write_text(started.stdout + started.stderr, encoding="utf-8")
    layout = cluster.Layout.from_settings(environ)
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        secrets = dict(line.split("=", 1) for line in layout.secrets_file.read_text().splitlines())
        yield Cluster(environ=environ, layout=layout, url=layout.public_url, rest_token=secrets["REST_API_TOKEN"],
                      database_url=layout.database_url(secrets["POSTGRES_PASSWORD"]))
    finally:
        run_cli(environ, "stop")
        for log in layout.log_dir.glob("*.log"):
            (RESULTS / f"cluster-{log.name}").write_bytes(log.read_bytes())
        subprocess.run(["rm", "-rf", str(directory)], check=False)


def say(running: Cluster, sender: str, text: str) -> List[dict]:
    return send(f"{running.url}/webhooks/rest/webhook", sender, text, token=running.rest_token)


def test_every_process_runs_under_supervisord(running_cluster):
    status = run_cli(running_cluster.environ, "status", timeout=30)
    assert status.returncode == 0, status.stdout
    names = [line.split()[0] for line in status.stdout.splitlines()]
    assert sorted(names) == sorted(["stores:postgres", "stores:redis", "nginx", "actions:actions-1",
                                    "actions:actions-2", "rasa:rasa-1", "rasa:rasa-2"])


def test_rest_through_nginx_needs_the_token_and_reaches_the_action_servers(running_cluster):
    sender = f"cl-{uuid.uuid4().hex[:8]}"
    assert "账号助手" in say(running_cluster, sender, "你好")[0]["text"]
    # /nlu_fallback runs custom actions: Rasa -> nginx's internal upstream -> an action server.
    assert say(running_cluster, sender, "/nlu_fallback")
    refused = requests.post(f"{running_cluster.url}/webhooks/rest/webhook", json={"sender": sender, "message": "你好"},
                            timeout=30)
    assert refused.status_code == 401
    with sa.create_engine(running_cluster.database_url).connect() as connection:
        turns = connection.execute(sa.text("SELECT COUNT(*) FROM events WHERE sender_id = :s AND type_name = 'user'"),
                                   {"s": f"rest:{sender}"}).scalar_one()
    assert turns == 2  # both turns in the cluster's PostgreSQL


def test_the_rasa_servers_listen_on_loopback_only(running_cluster):
    for port in running_cluster.layout.rasa_ports + running_cluster.layout.action_ports:
        listening = subprocess.run(["ss", "-Hltn", f"sport = :{port}"], capture_output=True, text=True).stdout
        assert listening.split()[3] == f"127.0.0.1:{port}", listening


def test_nginx_refuses_a_body_larger_than_the_rasa_server_reads(running_cluster):
    too_large = b"x" * (config.max_request_bytes() + 1)
    answer = requests.post(f"{running_cluster.url}/webhooks/account/upload", data=too_large, timeout=30)
    assert answer.status_code == 413
    assert "nginx" in answer.text  # refused at the entry, never passed on to a Rasa server


def test_a_forged_x_forwarded_for_is_replaced_by_nginx(running_cluster):
    """The console's login throttle counts per client address: a client that could name its
    own address through nginx would get a fresh allowance with every forged header."""
    agent = Agent(SimpleNamespace(url=f"{running_cluster.url}/webhooks/console/", origin=running_cluster.url))
    forged = "203.0.113.77"
    agent.http.headers["X-Forwarded-For"] = forged
    assert agent.login_attempt("nobody-here", "wrong-password").status_code in (200, 401, 403, 429)
    with sa.create_engine(running_cluster.database_url).connect() as connection:
        addresses = set(connection.execute(sa.text("SELECT client_ip FROM login_attempts")).scalars())
    assert forged not in addresses and "127.0.0.1" in addresses, addresses


@pytest.mark.parametrize("transport", ["websocket", "polling"])
@pytest.mark.asyncio
async def test_the_widget_over_socketio_through_nginx(running_cluster, transport):
    """Long polling needs every request of a session on one replica (nginx's ip_hash)."""
    user = WidgetClient(running_cluster.url, transports=[transport])
    await user.connect()
    try:
        await user.start_session()
        await user.say("你好")
        assert "账号助手" in (await user.next("bot_uttered"))["text"]
        await user.say("/nlu_fallback")
        assert await user.replies_until_quiet(quiet=1.0)
    finally:
        await user.close()


@pytest.mark.asyncio
async def test_an_agent_on_the_console_through_nginx_answers_a_widget(running_cluster):
    """The console's requests go round-robin over the replicas; the reply reaches the widget
    wherever its socket is (socket.io rooms in Redis)."""
    AgentDirectory(Database(running_cluster.database_url)).create("cluster", "赵敏", "Agent-Passw0rd", "agent",
                                                                    actor="test")
    user = WidgetClient(running_cluster.url)
    await user.connect()
    try:
        await user.start_session()
        await user.say("/request_human", {"display_text": "转人工客服"})
        await user.replies_until_quiet(quiet=1.0)
        agent = Agent(SimpleNamespace(url=f"{running_cluster.url}/webhooks/console/", origin=running_cluster.url))
        await asyncio.to_thread(agent.login, "cluster", "Agent-Passw0rd")
        queue = (await asyncio.to_thread(agent.get, "api/queue", headers={"Accept": "application/json"})).json()
        waiting = [entry["id"] for entry in queue["waiting"]]
        assert waiting
        handoff = waiting[-1]
        assert (await asyncio.to_thread(agent.post, f"conversations/{handoff}/claim")).status_code == 303
        for _ in range(4):  # several requests: round robin sends them to both replicas
            await asyncio.to_thread(agent.post, f"conversations/{handoff}/reply", {"text": "集群里的客服回复"})
        texts = [message["text"] for message in await user.replies_until_quiet(quiet=1.5)]
        assert sum("集群里的客服回复" in text for text in texts) == 4, texts
    finally:
        await user.close()


async def widget_greeting(url: str) -> dict:
    user = WidgetClient(url)
    await user.connect()
    try:
        await user.start_session()
        await user.say("你好")
        return await user.next("bot_uttered", timeout=90)
    finally:
        await user.close()


def test_a_killed_rasa_server_is_restarted_and_conversations_go_on(running_cluster):
    victim = running_cluster.pid("rasa:rasa-1")
    os.kill(victim, signal.SIGKILL)
    # A request the replica held when it died is lost (nginx never sends a POST twice);
    # once it is gone, nginx skips it (connection refused) or its restart queues the request.
    deadline = time.monotonic() + 30
    while running_cluster.pid("rasa:rasa-1") in (0, victim):
        assert time.monotonic() < deadline, running_cluster.supervisorctl("status")
        time.sleep(0.2)
    sender = f"cl-kill-{uuid.uuid4().hex[:8]}"
    for _ in range(4):
        assert "账号助手" in say(running_cluster, sender, "你好")[0]["text"]
    assert "账号助手" in asyncio.run(widget_greeting(running_cluster.url))["text"]
    port = running_cluster.layout.rasa_ports[0]
    deadline = time.monotonic() + 150
    while not cluster.answers(f"http://127.0.0.1:{port}/webhooks/rest/"):
        assert time.monotonic() < deadline, running_cluster.supervisorctl("status")
        time.sleep(1)
    for _ in range(4):  # both replicas again
        assert "账号助手" in say(running_cluster, sender, "你好")[0]["text"]


def load_target(running: Cluster) -> Target:
    return Target(running.url, running.rest_token, running.database_url)


def assert_nothing_lost(report: Report, name: str) -> dict:
    summary = report.summary()
    (RESULTS / f"cluster-{name}.json").write_text(json.dumps(summary, ensure_ascii=False, indent=1), encoding="utf-8")
    assert report.problems == {}, summary["problem_examples"]
    assert report.counts["messages_in"] == report.counts["replies_out"] > 0, summary["counts"]
    return summary


@pytest.mark.parametrize("answers, kind", [
    ([[BUSY_TEXT]] * ATTEMPTS, "gave_up"),  # every send answered, none taken: overload
    ([[BUSY_TEXT]] * (ATTEMPTS - 1) + [None], "errors"),  # the last send failed in transport
])
def test_the_load_users_tell_giving_up_after_busy_answers_from_errors(monkeypatch, answers, kind):
    class Scripted(Conversation):
        async def _turn(self, *_: object) -> Optional[List[str]]:
            return answers.pop(0)

    async def no_wait(_: float) -> None:
        pass

    monkeypatch.setattr(asyncio, "sleep", no_wait)
    report = Report()
    user = Scripted(Target("http://unused", "token", "sqlite://"), Plan(resend_busy=True), report, None)
    with pytest.raises(Unexpected):
        asyncio.run(user.say("忘记密码", "登录名", "reset"))
    assert list(report.problems) == [kind] and report.counts["busy"] == ATTEMPTS - (kind == "errors")


@pytest.mark.parametrize("seen, problems, shown_later", [
    (["答复一"], [], 2),  # missed while it could not reconnect: the history shows them
    (["答复一", "别的"], ["lost"], 0),  # seen and not stored: the history would take it away
])
def test_a_widget_that_could_not_reconnect_is_shown_the_history_when_it_does(monkeypatch, seen, problems,
                                                                             shown_later):
    """The sixth-to-eighth runs at 1 server: a widget whose socket dropped while it waited for an
    agent and that could not reconnect for 120 s (an error of its own) was counted as having lost
    the agent's reply, stored in its history.  The real widget reconnects until it gets through
    and then shows that history, so only a history lacking what was seen is a loss."""
    report = Report()
    user = WidgetConversation(Target("http://unused", "token", "sqlite://"), Plan(), report, None)
    user.session_id, user.gone, user.seen = "a" * 32, True, list(seen)

    async def history() -> List[dict]:
        return [{"sender": "bot", "text": text} for text in ("答复一", "客服回复", "评分")]

    monkeypatch.setattr(user, "_history", history)
    asyncio.run(user.check())
    assert list(report.problems) == problems
    assert report.counts["shown_by_a_later_reconnect"] == shown_later


def test_a_short_load_through_nginx_loses_nothing(running_cluster):
    """The smoke form of `make loadtest` (tests/bench/loadtest.py): every kind of conversation
    at once, each reply checked against the stored conversation, every handoff answered once
    by an agent (claimed by her or given to her by auto-assignment).  Speed is not asserted."""
    plan = Plan(users=20, seconds=20, think=(0.5, 1.5), agents=2)
    summary = assert_nothing_lost(asyncio.run(run_load(load_target(running_cluster), plan)), "smoke-load")
    assert all(summary["kinds"].get(kind, {}).get("n") for kind in KINDS), summary["kinds"]
    assert summary["counts"]["conversations_completed"] >= len(KINDS)
    assert summary["counts"]["handoffs_answered"] == summary["counts"]["handoffs_asked"] > 0


def test_chaos_under_load_no_message_goes_unanswered(running_cluster):
    """Under load: the Rasa server holding the widgets' sockets is killed, then an action
    server; PostgreSQL and then Redis are restarted.  Every message gets a reply (the busy
    message counts), the widgets reconnect to the other replica and find their history,
    no handoff is lost or doubled, and what was stored is what the users saw."""
    layout = running_cluster.layout
    cluster.wait_until_ready(layout, 300)

    def kill(program: str) -> None:
        os.kill(running_cluster.pid(program), signal.SIGKILL)

    def socketio_server() -> None:
        kill(f"rasa:rasa-{socketio_replica(layout.rasa_ports)}")

    def restart(program: str) -> None:
        running_cluster.supervisorctl("restart", program)

    chaos = [
        (8, "kill the Rasa server of the sockets", lambda: asyncio.to_thread(socketio_server)),
        (22, "kill an action server", lambda: asyncio.to_thread(kill, "actions:actions-1")),
        (34, "restart PostgreSQL", lambda: asyncio.to_thread(restart, "stores:postgres")),
        (48, "restart Redis", lambda: asyncio.to_thread(restart, "stores:redis")),
    ]
    plan = Plan(users=12, seconds=62, think=(0.5, 1.5), agents=2, strict=False, reply_timeout=90,
                handoff_timeout=150, seed=7)
    summary = assert_nothing_lost(asyncio.run(run_load(load_target(running_cluster), plan, chaos)), "chaos")
    assert summary["counts"]["reconnected_with_history"] >= 1, summary
    assert summary["counts"]["handoffs_answered"] == summary["counts"]["handoffs_asked"] > 0, summary
    cluster.wait_until_ready(layout, 300)  # every process back
    assert all(" RUNNING " in line for line in cluster.status_lines(layout))


def test_stop_leaves_nothing_running(running_cluster):
    layout = running_cluster.layout
    pids = [running_cluster.pid(name) for name in ("stores:postgres", "stores:redis", "nginx", "rasa:rasa-1",
                                                   "rasa:rasa-2", "actions:actions-1", "actions:actions-2")]
    supervisord = cluster.supervisord_pid(layout)
    stopped = run_cli(running_cluster.environ, "stop", timeout=120)
    assert stopped.returncode == 0 and "集群已停止" in stopped.stdout, stopped.stdout + stopped.stderr
    for pid in [supervisord, *pids]:
        assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text().lower(), pid
    leftovers = subprocess.run(["pgrep", "-f", str(layout.directory)], capture_output=True, text=True).stdout
    assert leftovers == ""
    for port in [layout.public_port, layout.actions_port, layout.postgres_port, layout.redis_port,
                 *layout.rasa_ports, *layout.action_ports]:
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", port)) != 0, port
    assert run_cli(running_cluster.environ, "status", timeout=30).returncode == 3
