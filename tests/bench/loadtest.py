"""The load test (`make loadtest`; docs/capacity.md): simulated users over the widget's
socket.io and over REST against the local production cluster (nginx in front of N Rasa
servers, M action servers, PostgreSQL, Redis: bot/cluster.py), once per number of Rasa
servers, so the scaling shows.

    python tests/bench/loadtest.py [--users 500] [--seconds 300] [--replicas 1 2 3] [--actions 2]

For each number of Rasa servers it starts a fresh cluster (its own directory, free ports,
the settings of tests/load_users.py's ``LOAD_SETTINGS``), runs the users
(tests/load_users.py: FAQ questions, password resets with the code from the SMS outbox,
real-name diagnoses with two photo uploads, handoffs answered by agents on the console's
API), measures what each process used, and stops the cluster.  It prints a table and writes
``results/loadtest-<time>.json`` and ``.md``.  Exit status 1 when any reply was lost, out
of order or duplicated, any error occurred or any user gave up (a message answered busy eight
times in a row); speed is reported, never asserted.

Per configuration it reports turns/s; p50/p95/p99 per kind of turn (``faq``, ``reset``,
``realname``, ``handoff``: user message → first reply; ``upload``: a photo's HTTP upload;
``handoff_wait``: 转人工 → the agent's words on the user's screen; ``agent_reply``: the
agent's POST → the user's screen); busy answers, users who gave up, errors, lost,
out-of-order and duplicated replies; the
CPU seconds per turn of the Rasa servers, the action servers, PostgreSQL, Redis, nginx and
this load generator; the memory of each server; the database's transactions, rows
written and bytes grown per turn; Redis commands per turn.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import redis  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from bot import cluster  # noqa: E402
from tests.load_users import KINDS, Plan, Target, cluster_settings, run_load  # noqa: E402
from tests.servers import cluster_home  # noqa: E402

RESULTS = ROOT / "results"
TICKS = os.sysconf("SC_CLK_TCK")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024
ROLES = ("rasa", "actions", "postgres", "redis", "nginx")


# -- what the processes used -------------------------------------------------------------------


def _children() -> Dict[int, List[int]]:
    tree: Dict[int, List[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            tree.setdefault(parent, []).append(int(entry.name))
    return tree


def _tree(pid: int, children: Dict[int, List[int]]) -> List[int]:
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        pending.extend(children.get(current, []))
    return found


def _cpu_and_rss(pid: int, children: Dict[int, List[int]]) -> Dict[str, float]:
    """CPU seconds (the process tree's, and its reaped children's) and resident MB."""
    cpu, rss = 0.0, 0.0
    for index, member in enumerate(_tree(pid, children)):
        try:
            fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
            statm = Path(f"/proc/{member}/statm").read_text().split()
        except OSError:
            continue
        ticks = int(fields[11]) + int(fields[12])  # utime, stime
        if index == 0:
            ticks += int(fields[13]) + int(fields[14])  # cutime, cstime: children gone meanwhile
        cpu += ticks / TICKS
        rss += int(statm[1]) * PAGE_KB / 1024
    return {"cpu": cpu, "rss_mb": rss}


def process_usage(layout: cluster.Layout) -> Dict[str, Dict[str, float]]:
    """Per program of the cluster (``rasa:rasa-1`` …): CPU seconds so far and resident MB."""
    children = _children()
    usage = {}
    for line in cluster.status_lines(layout):
        name = line.split()[0]
        pid = cluster.supervisorctl(layout, "pid", name, check=False).stdout.strip()
        if pid.isdigit() and int(pid) > 0:
            usage[name] = _cpu_and_rss(int(pid), children)
    return usage


def store_counters(database_url: str, redis_port: int) -> Dict[str, float]:
    with sa.create_engine(database_url).connect() as connection:
        row = connection.execute(sa.text(
            "SELECT xact_commit + xact_rollback, tup_inserted, tup_updated, tup_deleted, tup_returned + tup_fetched, "
            "pg_database_size(datname) FROM pg_stat_database WHERE datname = current_database()")).one()
        events = connection.execute(sa.text("SELECT pg_total_relation_size('events')")).scalar_one()
    info = redis.Redis(port=redis_port).info()
    names = ("transactions", "rows_inserted", "rows_updated", "rows_deleted", "rows_read", "database_bytes")
    counters = {name: float(value) for name, value in zip(names, row, strict=True)}
    counters["events_table_bytes"] = float(events)
    counters["redis_commands"] = float(info["total_commands_processed"])
    counters["redis_used_memory"] = float(info["used_memory"])
    return counters


# -- one configuration --------------------------------------------------------------------------


def run_configuration(replicas: int, args: argparse.Namespace) -> Dict[str, Any]:
    directory = cluster_home("assistant-loadtest-")
    environ = cluster_settings(str(directory / "cluster"), replicas, args.actions)
    print(f"\n== {replicas} Rasa server(s), {args.actions} action servers: starting the cluster …", flush=True)
    started = time.monotonic()
    layout = cluster.start(environ, rasa_replicas=replicas, action_servers=args.actions)
    try:
        secrets = dict(line.split("=", 1) for line in layout.secrets_file.read_text().splitlines())
        target = Target(layout.public_url, secrets["REST_API_TOKEN"], layout.database_url(secrets["POSTGRES_PASSWORD"]))
        print(f"   ready in {time.monotonic() - started:.0f} s; {args.users} users for {args.seconds:.0f} s …",
              flush=True)
        plan = Plan(users=args.users, seconds=args.seconds, think=(args.think_min, args.think_max), agents=args.agents,
                    resend_busy=not args.busy_is_error, widget_addresses=args.widget_addresses)
        before_processes, before_stores = process_usage(layout), store_counters(target.database_url, layout.redis_port)
        own_before = time.process_time()
        report = asyncio.run(run_load(target, plan))
        own_cpu = time.process_time() - own_before
        after_processes, after_stores = process_usage(layout), store_counters(target.database_url, layout.redis_port)
        summary = report.summary()
        summary["replicas"], summary["action_servers"], summary["users"] = replicas, args.actions, args.users
        summary["usage"] = usage_per_turn(before_processes, after_processes, before_stores, after_stores,
                                          summary["turns"], summary["seconds"], own_cpu)
        return summary
    finally:
        cluster.stop(layout)
        for log in layout.log_dir.glob("*.log"):
            (RESULTS / f"loadtest-{replicas}-{log.name}").write_bytes(log.read_bytes())
        subprocess.run(["rm", "-rf", str(directory)], check=False)


def usage_per_turn(before: Dict[str, Dict[str, float]], after: Dict[str, Dict[str, float]],
                   stores_before: Dict[str, float], stores_after: Dict[str, float], turns: int, seconds: float,
                   own_cpu: float) -> Dict[str, Any]:
    turns = max(turns, 1)
    cpu: Dict[str, float] = {role: 0.0 for role in ROLES}
    memory: Dict[str, float] = {}
    for name, now in after.items():
        role = next(role for role in ROLES if name.split(":")[-1].startswith(role))
        # A program restarted meanwhile has a new process: count its CPU from zero.
        used = now["cpu"] - before.get(name, {}).get("cpu", 0.0)
        cpu[role] += used if used >= 0 else now["cpu"]
        memory[name] = round(now["rss_mb"])
    return {
        "cpu_ms_per_turn": {role: round(seconds_used * 1000 / turns, 1) for role, seconds_used in cpu.items()},
        "cpu_ms_per_turn_load_generator": round(own_cpu * 1000 / turns, 1),
        "cores_busy": {role: round(seconds_used / seconds, 2) for role, seconds_used in cpu.items()},
        "memory_mb": memory,
        "per_turn": {name: round((stores_after[name] - stores_before[name]) / turns, 2)
                     for name in stores_after if name != "redis_used_memory"},
        "redis_used_memory_mb": round(stores_after["redis_used_memory"] / 1024**2, 1),
        "database_mb": round(stores_after["database_bytes"] / 1024**2, 1),
    }


# -- the table ----------------------------------------------------------------------------------


def table(results: List[Dict[str, Any]]) -> str:
    kinds = [*KINDS, "upload", "handoff_wait", "agent_reply"]
    head = ["Rasa servers", "turns/s"] + [f"{kind} p50/p95/p99 ms" for kind in kinds]
    head += ["busy (sent again)", "gave up (busy ×8)", "errors", "lost", "out of order", "duplicated"]
    head += ["Rasa CPU ms/turn", "Rasa MB each"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for result in results:
        cells = [str(result["replicas"]), f"{result['turns_per_second']:.1f}"]
        for kind in kinds:
            figures = result["kinds"].get(kind)
            cells.append(f"{figures['p50_ms']}/{figures['p95_ms']}/{figures['p99_ms']}" if figures else "–")
        problems, counts = result["problems"], result["counts"]
        cells += [f"{counts.get('busy', 0)} ({counts.get('resent_after_busy', 0)})", str(problems.get("gave_up", 0)),
                  str(problems.get("errors", 0)), str(problems.get("lost", 0) + problems.get("handoff_lost", 0)),
                  str(problems.get("out_of_order", 0)),
                  str(problems.get("duplicated", 0) + problems.get("handoff_duplicated", 0))]
        usage = result["usage"]
        rasa_memory = [mb for name, mb in usage["memory_mb"].items() if name.startswith("rasa:")]
        cells += [str(usage["cpu_ms_per_turn"]["rasa"]), "/".join(map(str, rasa_memory))]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def failures(result: Dict[str, Any]) -> int:
    counted = ("errors", "gave_up", "lost", "out_of_order", "duplicated", "handoff_lost", "handoff_duplicated",
               "handoff_misdelivered")
    return sum(result["problems"].get(kind, 0) for kind in counted)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=500, help="concurrent conversations (default 500)")
    parser.add_argument("--seconds", type=float, default=300.0, help="how long users start conversations (300)")
    parser.add_argument("--replicas", type=int, nargs="+", default=[1, 2, 3], help="Rasa servers, one run each")
    parser.add_argument("--actions", type=int, default=2, help="action servers (2)")
    parser.add_argument("--agents", type=int, default=4, help="agents answering handoffs on the console (4)")
    parser.add_argument("--busy-is-error", action="store_true",
                        help="a busy message ends the conversation as an error (default: the user sends again)")
    parser.add_argument("--widget-addresses", type=int, default=64,
                        help="loopback addresses the widgets connect from (64): nginx's ip_hash spreads them "
                             "over the Rasa servers as it spreads real users; 1 puts every widget on one server")
    parser.add_argument("--think-min", type=float, default=3.0, help="a user's pause between turns, from (3 s)")
    parser.add_argument("--think-max", type=float, default=10.0, help="… to (10 s): reading the answer, typing")
    args = parser.parse_args()
    RESULTS.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    machine = {"cores": os.cpu_count(), "load_average_before": os.getloadavg(), "started": stamp,
               "command": " ".join([Path(sys.executable).name, *sys.argv])}
    results = []
    for replicas in args.replicas:
        results.append(run_configuration(replicas, args))
        print(table(results[-1:]), flush=True)
    machine["load_average_after"] = os.getloadavg()
    output = {"machine": machine, "arguments": vars(args), "results": results}
    (RESULTS / f"loadtest-{stamp}.json").write_text(json.dumps(output, ensure_ascii=False, indent=1), encoding="utf-8")
    text = table(results)
    (RESULTS / f"loadtest-{stamp}.md").write_text(
        f"Load test {stamp}: {args.users} users, {args.seconds:.0f} s, {args.actions} action servers, "
        f"{os.cpu_count()} cores\n\n{text}\n", encoding="utf-8")
    print(f"\n{text}\n\nresults/loadtest-{stamp}.json, results/loadtest-{stamp}.md")
    failed = sum(failures(result) for result in results)
    if failed:
        print(f"{failed} lost, out-of-order or duplicated replies or errors (see problem_examples in the json)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
