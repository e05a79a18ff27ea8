"""Search with and without the trigram indexes (revision 0008) on PostgreSQL: the figures
of docs/agent-console.md ("Search on PostgreSQL: the trigram indexes").

    python tests/bench/search_trigram.py [--handoffs 2000] [--runs 7]

Starts a throw-away PostgreSQL server (tests/servers.py), makes one database per character
classification (``LC_CTYPE`` C, what ``initdb --locale C`` gives, and C.utf8), migrates each,
fills it with ``--handoffs`` handoffs (a summary, six messages each, Chinese and English,
one login name of their own) and, for each search term, takes the plan and the median
execution time (``EXPLAIN ANALYZE`` of the search's own count query, an admin's) with the
indexes as the planner chooses, with index scans forced (``enable_seqscan = off``), and
after dropping the indexes.  Prints Markdown tables; asserts nothing.
"""
from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Dict, List, Tuple

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bot.handoff.access import readable  # noqa: E402
from bot.handoff.models import TRIGRAM_INDEXES, Handoff, HandoffMessage  # noqa: E402
from bot.handoff.search import SearchCriteria, conditions  # noqa: E402
from bot.store import Database  # noqa: E402
from tests.servers import postgres_server  # noqa: E402

PROBLEMS = ["实名认证失败", "忘记密码 / 提示登录名或密码错误", "收不到验证码", "没有权限 / 授权过期",
            "单位名称或信用代码已被注册", "页面乱码或空白", "账号被锁定", "Forgot password"]
USER_WORDS = ["我的账号实名认证失败了", "验证码一直收不到", "登录的时候提示密码错误", "单位信用代码显示已被注册",
              "Please help, I cannot log in", "my verification code never arrives", "the page is blank after login",
              "项目申报系统没有权限", "证件有效期怎么填写", "转人工", "我已经试了三次了", "手机号换了怎么办"]
AGENT_WORDS = ["请补全证件有效期", "请用重置密码功能", "请确认手机号是否为预留号码", "Please try the password reset",
               "已为您提交人工审核，请耐心等待", "请上传证件照片", "请联系单位管理员授权", "您好，请问还有什么问题？"]
RARE = "国家重点研发计划"  # in one handoff of a hundred
# (criterion, term, what it shows)
TERMS: List[Tuple[str, str, str]] = [
    ("text", "user01234", "ASCII, one handoff"),
    ("text", "password", "ASCII, common"),
    ("text", RARE, "Chinese, 8 characters, 1 %"),
    ("text", "实名认证", "Chinese, 4 characters, common"),
    ("text", "有效期", "Chinese, 3 characters"),
    ("text", "密码", "Chinese, 2 characters"),
    ("text", "码", "Chinese, 1 character"),
    ("text", "ok", "ASCII, 2 characters"),
    ("problem", "验证码", "problem, Chinese, 3 characters"),
    ("problem", "password", "problem, ASCII"),
]


def fill(database: Database, handoffs: int) -> None:
    chance = random.Random(7)
    start = datetime(2026, 1, 1)
    with database.engine.begin() as connection:
        rows, messages = [], []
        for number in range(1, handoffs + 1):
            problem = chance.choice(PROBLEMS)
            said = chance.sample(USER_WORDS, 3) + ([RARE + "的账号"] if number % 100 == 0 else [])
            summary = {"problem": problem, "last_messages": said, "checked": ["已找到要办理的账号"],
                       "told": [chance.choice(AGENT_WORDS)]}
            at = start + timedelta(minutes=7 * number)
            rows.append({"id": number, "sender_id": f"widget:{number}", "channel": "widget", "reason": "user_request",
                         "summary": json.dumps(summary, ensure_ascii=False), "state": "resolved",
                         "outcome": "resolved", "created_at": at, "user_seen_at": at, "closed_at": at,
                         "problem": problem, "user_key": f"widget:{number}"})
            texts = [f"我的登录名是 user{number:05d}", *chance.sample(USER_WORDS, 2), *chance.sample(AGENT_WORDS, 3)]
            messages += [{"handoff_id": number, "kind": "user" if index < 3 else "agent", "text": text, "at": at}
                         for index, text in enumerate(texts)]
        connection.execute(sa.insert(Handoff.__table__), rows)
        connection.execute(sa.insert(HandoffMessage.__table__), messages)
        connection.execute(sa.text("ANALYZE"))


def count_query(criterion: str, term: str) -> Any:
    """The search's own count query (an admin's) for one criterion."""
    criteria = SearchCriteria(**{criterion: term})
    return sa.select(sa.func.count()).select_from(Handoff).where(readable(0, True), *conditions(criteria, "postgresql"))


def measure(database: Database, query: Any, runs: int, seqscan: bool = True) -> Tuple[float, int, str]:
    """Median execution time (ms), the count, and the plan's scans (for an index: the rows it
    gave, of how many); ``seqscan=False``: index scans forced where possible."""
    times = []
    compiled = query.compile(dialect=database.engine.dialect)  # bound as psycopg2 binds a search's values
    with database.engine.connect() as connection:
        found = connection.execute(query).scalar_one()
        connection.execute(sa.text(f"SET enable_seqscan = {'on' if seqscan else 'off'}"))
        for _ in range(runs):
            explained = connection.exec_driver_sql("EXPLAIN ANALYZE " + str(compiled), compiled.params)
            plan = "\n".join(explained.scalars())
            times.append(float(re.search(r"Execution Time: ([\d.]+) ms", plan).group(1)))
    scans = []
    for line in plan.splitlines():
        scan = re.search(r"((?:Parallel )?(?:Seq|Bitmap Index|Index Only|Index) Scan (?:on|using) \w+)", line)
        if scan:
            rows = re.search(r"actual time=[\d.]+\.\.[\d.]+ rows=(\d+)", line)
            gave = f" → {rows.group(1)} rows" if rows and "Bitmap Index" in scan.group(1) else ""
            scans.append(scan.group(1).replace("Bitmap Index Scan on ", "index ") + gave)
    return statistics.median(times), found, "; ".join(sorted(set(scans)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--handoffs", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=7)
    options = parser.parse_args()
    with postgres_server() as server_url:
        admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT", future=True)
        results: Dict[str, List[Tuple[str, str, str, int, float, str, float, str, float]]] = {}
        for ctype in ("C", "C.utf8"):
            name = "bench_" + re.sub(r"\W", "", ctype).lower()
            with admin.connect() as connection:
                connection.execute(sa.text(f"CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8' "
                                           f"LC_COLLATE 'C' LC_CTYPE '{ctype}'"))
            database = Database(server_url.rsplit("/", 1)[0] + "/" + name)
            database.upgrade()
            fill(database, options.handoffs)
            with_index = {(c, t): measure(database, count_query(c, t), options.runs) for c, t, _ in TERMS}
            forced = {(c, t): measure(database, count_query(c, t), options.runs, False) for c, t, _ in TERMS}
            with database.engine.begin() as connection:
                for index in TRIGRAM_INDEXES:
                    connection.execute(sa.text(f"DROP INDEX {index}"))
            without = {(c, t): measure(database, count_query(c, t), options.runs) for c, t, _ in TERMS}
            results[ctype] = [(c, t, what, with_index[c, t][1], with_index[c, t][0], with_index[c, t][2],
                               forced[c, t][0], forced[c, t][2], without[c, t][0]) for c, t, what in TERMS]
            database.dispose()
        admin.dispose()
    print(f"{options.handoffs} handoffs, {options.handoffs * 6} messages; median of {options.runs} runs "
          "(EXPLAIN ANALYZE of the search's count query, an admin's)\n")
    for ctype, rows in results.items():
        print(f"LC_CTYPE {ctype}\n")
        print("| criterion | term | what | found | indexes, planner's choice (ms) | plan | index forced (ms) | "
              "forced plan | no index (ms) |")
        print("|---|---|---|---|---|---|---|---|---|")
        for criterion, term, what, found, fast, plan, pushed, pushed_plan, slow in rows:
            print(f"| {criterion} | {term} | {what} | {found} | {fast:.1f} | {plan} | {pushed:.1f} | {pushed_plan} "
                  f"| {slow:.1f} |")
        print()


if __name__ == "__main__":
    main()
