"""Back-office commands of the account store, registered in ``python -m bot``:

  db upgrade                      apply the schema migrations
  db seed-demo                    upgrade, then import the demo accounts
  accounts import FILE.yml        import accounts (docs/accounts-import.md)
  accounts show LOGIN             one account, identity data masked
  sms outbox [--phone] [--limit]  the SMS the assistant sent
  reviews list|approve|reject     manual real-name reviews
  appeals list|approve|reject     申诉找回 requests
  agents create|list|disable|password   support agents of the handoff console
  handoff report [--days N]       per-day figures of the human handoff
                                  (the last two: bot/handoff/cli.py)

Every command takes ``--database-url`` (default: ``DATABASE_URL``).  Errors
are printed as one line on stderr (a bad accounts file: one line per
problem) with exit status 1.  Audit entries name the actor ``cli:<OS user>``.
"""

from __future__ import annotations

import argparse
import functools
import getpass
import os
import sys
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterable, Iterator, List, Optional

if TYPE_CHECKING:  # the account store is imported only when a command runs
    from bot.accounts.database import Database
    from bot.accounts.service import AccountService

DEMO_FILE = Path(__file__).resolve().parent / "accounts" / "demo_accounts.yml"
DEMO_PASSWORD = "Demo@2026"
DECISIONS = ("pending", "approved", "rejected")
Handler = Callable[[argparse.Namespace], int]


class CliError(Exception):
    """A failure the operator can act on; printed as one line."""


def actor() -> str:
    """``cli:<OS user>``: who ran the command, for the audit log."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = f"uid{os.getuid()}"
    return f"cli:{user}"


# -- parser ---------------------------------------------------------------------------


def register(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Adds the db, accounts, sms, reviews, appeals, agents and handoff commands to ``python -m bot``."""
    from bot.handoff import cli as handoff_cli  # it builds on the helpers below

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--database-url",
        metavar="URL",
        help="SQLAlchemy URL of the account store (default: DATABASE_URL, " "see `python -m bot env`)",
    )
    for add in (
        _add_db,
        _add_accounts,
        _add_sms,
        _add_reviews,
        _add_appeals,
        handoff_cli.add_agents,
        handoff_cli.add_handoff,
    ):
        add(commands, common)


def _group(commands: Any, name: str, text: str) -> Any:
    parser = commands.add_parser(name, help=text, description=text)
    return parser.add_subparsers(dest=f"{name}_command", required=True, metavar="COMMAND")


def _command(
    group: Any, common: argparse.ArgumentParser, name: str, text: str, handler: Handler
) -> argparse.ArgumentParser:
    parser = group.add_parser(name, help=text, description=text, parents=[common])
    parser.set_defaults(handler=_guarded(handler))
    return parser


def _add_db(commands: Any, common: argparse.ArgumentParser) -> None:
    group = _group(commands, "db", "schema and demo data of the account store")
    _command(group, common, "upgrade", "apply the schema migrations (Alembic) up to the latest", _db_upgrade)
    seed = _command(
        group,
        common,
        "seed-demo",
        "upgrade, then import the demo accounts (bot/accounts/demo_accounts.yml); " "safe to run again",
        _db_seed_demo,
    )
    seed.add_argument(
        "--force", action="store_true", help="seed even if the store holds accounts that are not demo accounts"
    )


def _add_accounts(commands: Any, common: argparse.ArgumentParser) -> None:
    group = _group(commands, "accounts", "import and look at accounts")
    importer = _command(
        group,
        common,
        "import",
        "import accounts, grants and reviews from a YAML file (docs/accounts-import.md); " "all or nothing",
        _accounts_import,
    )
    importer.add_argument("file", metavar="FILE.yml", type=Path, help="the accounts file")
    show = _command(
        group,
        common,
        "show",
        "show one account: state, unit, grants, reviews " "(names, phones and documents masked)",
        _accounts_show,
    )
    show.add_argument("login", metavar="LOGIN", help="login name (any letter case)")


def _add_sms(commands: Any, common: argparse.ArgumentParser) -> None:
    group = _group(commands, "sms", "the SMS outbox")
    outbox = _command(
        group,
        common,
        "outbox",
        "list the SMS the assistant sent, newest first " "(phones and texts unmasked: the operator's view)",
        _sms_outbox,
    )
    outbox.add_argument("--phone", help="only messages to this phone number")
    outbox.add_argument("--limit", type=_positive, default=20, metavar="N", help="at most N messages (default 20)")


def _add_reviews(commands: Any, common: argparse.ArgumentParser) -> None:
    group = _group(commands, "reviews", "manual reviews of real-name data (人工审核)")
    listing = _command(group, common, "list", "list manual reviews, oldest first", _reviews_list)
    listing.add_argument("--state", choices=DECISIONS, help="only reviews in this state")
    approve = _command(
        group,
        common,
        "approve",
        "approve a pending review: the account becomes " "verified_manual and the user gets an SMS",
        _reviews_approve,
    )
    approve.add_argument("id", metavar="ID", type=int, help="review id (see reviews list)")
    reject = _command(
        group,
        common,
        "reject",
        "reject a pending review: the account's state becomes " "failed and the user gets the reason by SMS",
        _reviews_reject,
    )
    reject.add_argument("id", metavar="ID", type=int, help="review id (see reviews list)")
    reject.add_argument("--reason", required=True, help="why, in words the user understands (sent by SMS)")


def _add_appeals(commands: Any, common: argparse.ArgumentParser) -> None:
    group = _group(
        commands, "appeals", "申诉找回 requests (getting an account back without " "login name or reserved phone)"
    )
    listing = _command(group, common, "list", "list appeals, oldest first", _appeals_list)
    listing.add_argument("--state", choices=DECISIONS, help="only appeals in this state")
    approve = _command(
        group,
        common,
        "approve",
        "approve an appeal: the account's reserved phone "
        "becomes the appeal's phone, which gets the login "
        "name by SMS",
        _appeals_approve,
    )
    approve.add_argument("number", metavar="NUMBER", help="appeal number, e.g. SS20261123012345")
    reject = _command(
        group, common, "reject", "reject an appeal; the reason goes to the appeal's " "phone by SMS", _appeals_reject
    )
    reject.add_argument("number", metavar="NUMBER", help="appeal number, e.g. SS20261123012345")
    reject.add_argument("--reason", required=True, help="why, in words the user understands (sent by SMS)")


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, not {text!r}")
    return value


# -- errors ---------------------------------------------------------------------------


def _guarded(handler: Handler) -> Handler:
    @functools.wraps(handler)
    def run(args: argparse.Namespace) -> int:
        try:
            return handler(args)
        except Exception as error:  # noqa: BLE001 - the operator gets one line, never a traceback
            for line in error_lines(error):
                print(line, file=sys.stderr)
            return 1

    return run


def error_lines(error: Exception) -> List[str]:
    from sqlalchemy.exc import SQLAlchemyError

    from bot.accounts.checks import InvalidInput
    from bot.accounts.service import NotFound
    from bot.accounts.sync import InvalidAccountsFile

    if isinstance(error, InvalidAccountsFile):
        return ["error: " + error.headline()] + ["  " + problem for problem in error.problems]
    if isinstance(error, SQLAlchemyError):
        return ["error: database: " + _database_message(error)]
    if isinstance(error, OSError) and error.filename:
        return [f"error: {error.filename}: {error.strerror}"]
    if isinstance(error, (CliError, NotFound, InvalidInput, OSError)) or "alembic" in type(error).__module__:
        return ["error: " + _one_line(str(error))]
    return [f"error: unexpected {type(error).__name__}: {_one_line(str(error))}"]


def _one_line(text: str) -> str:
    return " ".join(text.split()) or "(no message)"


def _database_message(error: Exception) -> str:
    text = str(getattr(error, "orig", None) or error).strip().splitlines()
    first = text[0] if text else type(error).__name__
    missing_table = "no such table" in first or ("relation" in first and "does not exist" in first)
    return _one_line(first) + (" (run: python -m bot db upgrade)" if missing_table else "")


# -- opening the store ----------------------------------------------------------------


@contextmanager
def _database(args: argparse.Namespace) -> Iterator["Database"]:
    from bot.accounts.database import Database

    database = Database(args.database_url)
    try:
        yield database
    finally:
        database.dispose()


@contextmanager
def _service(args: argparse.Namespace) -> Iterator["AccountService"]:
    from bot.accounts.service import AccountService

    with _database(args) as database:
        yield AccountService(database)


def _shown_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _logins(database: "Database", account_ids: Iterable[Optional[int]]) -> Dict[int, str]:
    from sqlalchemy import select

    from bot.accounts.models import Account

    ids = sorted({account_id for account_id in account_ids if account_id})
    if not ids:
        return {}
    with database.session() as session:
        rows = session.execute(select(Account.id, Account.login_name).where(Account.id.in_(ids)))
        return {account_id: login for account_id, login in rows}


# -- db -------------------------------------------------------------------------------


def _db_upgrade(args: argparse.Namespace) -> int:
    with _database(args) as database:
        database.upgrade()
        print(f"account store {_shown_url(database.url)} is up to date")
    return 0


def _db_seed_demo(args: argparse.Namespace) -> int:
    from bot.accounts.sync import import_accounts, load_yaml

    data = load_yaml(DEMO_FILE)
    if data is None:  # the file ships with the code; empty only in a broken checkout
        raise CliError(f"{DEMO_FILE} is empty")
    logins = [entry["login_name"] for entry in data["accounts"]]
    with _database(args) as database:
        database.upgrade()
        if not args.force:
            _refuse_real_store(database, logins)
        report = import_accounts(database, data, actor())
        rows = _demo_rows(database, logins)
    from bot.admin_views import table

    print(f"demo accounts imported into {_shown_url(database.url)}: {report.summary()}")
    print(table(["login name", "kind", "real-name state"], rows))
    print(f"password of every demo account: {DEMO_PASSWORD}")
    return 0


def _refuse_real_store(database: "Database", demo_logins: List[str]) -> None:
    """Demo accounts have a published password: keep them out of a real deployment's store."""
    from sqlalchemy import func, select

    from bot.accounts.models import Account

    with database.session() as session:
        others = session.execute(
            select(func.count())
            .select_from(Account)
            .where(func.lower(Account.login_name).notin_([login.lower() for login in demo_logins]))
        ).scalar_one()
    if others:
        raise CliError(
            f"the store holds {others} account(s) that are not demo accounts; demo accounts "
            "have a published password, so seeding is refused (--force on a demo or test store)"
        )


def _demo_rows(database: "Database", logins: List[str]) -> List[tuple]:
    from sqlalchemy import select

    from bot.accounts.models import Account
    from bot.admin_views import kind_label, state_label

    with database.session() as session:
        accounts = {
            account.login_name: account
            for account in session.execute(select(Account).where(Account.login_name.in_(logins))).scalars()
        }
        return [
            (login, kind_label(accounts[login].kind), state_label(accounts[login].realname_state)) for login in logins
        ]


# -- accounts -------------------------------------------------------------------------


def _accounts_import(args: argparse.Namespace) -> int:
    from bot.accounts.sync import InvalidAccountsFile, import_accounts, load_yaml

    data = load_yaml(args.file)
    with _database(args) as database:
        try:
            report = import_accounts(database, data, actor())
        except InvalidAccountsFile as error:
            error.source = str(args.file)
            raise
    print(f"{args.file}: {report.summary()}")
    for what in ("created", "updated"):
        names = getattr(report, what)
        if names:
            print(f"{what}: {', '.join(names)}")
    return 0


def _accounts_show(args: argparse.Namespace) -> int:
    from sqlalchemy import func, select

    from bot.accounts.models import Account
    from bot.admin_views import describe_account

    with _database(args) as database, database.session() as session:
        account = session.execute(
            select(Account).where(func.lower(Account.login_name) == args.login.strip().lower())
        ).scalar_one_or_none()
        if account is None:
            raise CliError(f"no account with the login name {args.login}")
        print(describe_account(account, date.today()))
    return 0


# -- sms ------------------------------------------------------------------------------


def _sms_outbox(args: argparse.Namespace) -> int:
    from bot.accounts.checks import InvalidInput, parse_phone
    from bot.admin_views import outbox_table

    try:
        phone = parse_phone(args.phone) if args.phone else None
    except InvalidInput:
        raise CliError(f"--phone {args.phone!r} is not a mobile number like 13800138000") from None
    with _service(args) as service:
        messages = service.outbox(phone, args.limit)
    print(outbox_table(messages) if messages else "no messages")
    return 0


# -- reviews --------------------------------------------------------------------------


def _decision(state: Optional[str]) -> Any:
    from bot.accounts.models import Decision

    return Decision(state) if state else None


def _reviews_list(args: argparse.Namespace) -> int:
    from bot.admin_views import reviews_table

    with _service(args) as service:
        reviews = service.list_reviews(_decision(args.state))
        photos = _photo_lines(
            service, [(f"review {r.id}", r.front_upload_id, r.back_upload_id) for r in reviews if r.state == "pending"]
        )
        logins = {review.account_id: review.account.login_name for review in reviews}
    print(reviews_table(reviews, logins) if reviews else "no reviews")
    for line in photos:
        print(line)
    return 0


def _photo_lines(service: "AccountService", items: List[tuple]) -> List[str]:
    """Where the photos of pending requests are; imported reviews have none."""
    from bot.accounts.models import Upload

    lines = []
    with service.db.session() as session:
        for what, *upload_ids in items:
            uploads = [session.get(Upload, upload_id) for upload_id in upload_ids]
            if all(upload is not None and upload.stored_name for upload in uploads):
                front, back = (service.uploads.path_of(upload) for upload in uploads)
                lines.append(f"{what}: front {front}, back {back}")
            else:
                lines.append(f"{what}: no photos (imported from the platform)")
    return lines


def _review_decided(review: Any, approved: bool) -> str:
    from bot.accounts.masking import mask_phone

    account = review.account
    state = "verified_manual" if approved else "failed"
    sms = f"SMS sent to {mask_phone(account.phone)}" if account.phone else "no reserved phone, no SMS sent"
    return f"review {review.id} {'approved' if approved else 'rejected'}: {account.login_name} is now {state}; {sms}"


def _reviews_approve(args: argparse.Namespace) -> int:
    with _service(args) as service:
        review = service.decide_review(args.id, True, None, actor())
    print(_review_decided(review, True))
    return 0


def _reviews_reject(args: argparse.Namespace) -> int:
    with _service(args) as service:
        review = service.decide_review(args.id, False, args.reason, actor())
    print(_review_decided(review, False))
    return 0


# -- appeals --------------------------------------------------------------------------


def _appeals_list(args: argparse.Namespace) -> int:
    from bot.admin_views import appeals_table

    with _service(args) as service:
        appeals = service.list_appeals(_decision(args.state))
        logins = _logins(service.db, (appeal.account_id for appeal in appeals))
        photos = _photo_lines(
            service,
            [(f"appeal {a.number}", a.front_upload_id, a.back_upload_id) for a in appeals if a.state == "pending"],
        )
    print(appeals_table(appeals, logins) if appeals else "no appeals")
    for line in photos:
        print(line)
    return 0


def _appeals_approve(args: argparse.Namespace) -> int:
    from bot.accounts.masking import mask_phone

    with _service(args) as service:
        appeal = service.decide_appeal(args.number.strip(), True, None, actor())
    print(
        f"appeal {appeal.number} approved: reserved phone set to {mask_phone(appeal.phone)}, "
        "which got the login name by SMS"
    )
    return 0


def _appeals_reject(args: argparse.Namespace) -> int:
    from bot.accounts.masking import mask_phone

    with _service(args) as service:
        appeal = service.decide_appeal(args.number.strip(), False, args.reason, actor())
    print(f"appeal {appeal.number} rejected: the reason was sent by SMS to {mask_phone(appeal.phone)}")
    return 0
