"""Retention (docs/security.md section 11): ``python -m bot privacy purge`` deletes what is older
than RETENTION_DAYS — conversations (tracker events), uploads (files and rows), SMS outbox rows,
kept flow values, handoff transcripts — keeps what is newer and what a pending review needs,
reports counts, and deletes nothing more when run again.  On SQLite and PostgreSQL."""
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy import select

from bot import privacy
from bot.accounts.models import AccountKind, Appeal, ConversationValue, Decision, SmsMessage, Upload
from bot.accounts.service import AppealDraft
from bot.cli.main import main
from bot.handoff.models import Handoff, HandoffMessage, HandoffReason, HandoffState, AuthorKind
from bot.handoff.service import HandoffService
from tests.accounts.conftest import START
from tests.accounts.factories import photo

OLD = START - timedelta(days=40)
RECENT = START - timedelta(days=2)
CUTOFF = START - timedelta(days=30)
EPOCH = datetime(1970, 1, 1)


def add_tracker_events(database, rows) -> None:
    """Rasa's SQL tracker store table (the columns the purge reads), with events at the given times."""
    metadata = sa.MetaData()
    table = sa.Table("events", metadata, sa.Column("id", sa.Integer, primary_key=True),
                     sa.Column("sender_id", sa.String(255), nullable=False),
                     sa.Column("type_name", sa.String(255), nullable=False),
                     sa.Column("timestamp", sa.Float), sa.Column("data", sa.Text))
    metadata.create_all(database.engine)
    with database.engine.begin() as connection:
        connection.execute(table.insert(), [
            {"sender_id": sender, "type_name": "user", "timestamp": (at - EPOCH).total_seconds(), "data": "{}"}
            for sender, at in rows])


def tracker_senders(database):
    with database.engine.connect() as connection:
        return sorted(row[0] for row in connection.execute(sa.text("SELECT DISTINCT sender_id FROM events")))


def upload_at(service, clock, sender, at):
    clock.now = at
    upload = service.save_upload(sender, photo("PNG"), "a.png")
    clock.now = START
    return upload


def appeal_with(service, clock, sender, at, state=Decision.PENDING):
    front, back = upload_at(service, clock, sender, at), upload_at(service, clock, sender, at)
    clock.now = at
    appeal = service.create_appeal(AppealDraft(kind=AccountKind.NATURAL, phone="13900139000",
                                               front_upload_id=front.id, back_upload_id=back.id,
                                               person_name="张三", doc_type="居民身份证",
                                               doc_number="110101199003074514"), sender)
    clock.now = START
    with service.db.session() as session:
        session.get(Appeal, appeal.id).state = state
    return front, back


def handoff(database, sender, closed_at, state=HandoffState.RESOLVED):
    with database.session() as session:
        row = Handoff(sender_id=sender, channel="rest", reason=HandoffReason.USER_REQUEST,
                      summary='{"problem": "忘记密码"}', state=state,
                      created_at=(closed_at or START) - timedelta(hours=1),
                      user_seen_at=(closed_at or START) - timedelta(hours=1), closed_at=closed_at)
        session.add(row)
        session.flush()
        session.add(HandoffMessage(handoff_id=row.id, kind=AuthorKind.USER, text="我的手机 13900139000",
                                   at=row.created_at))
        return row.id


def test_purge_deletes_what_is_older_and_keeps_the_rest(database, service, clock):
    add_tracker_events(database, [("rest:old", OLD), ("rest:old", OLD + timedelta(minutes=1)),
                                  ("rest:recent", OLD), ("rest:recent", RECENT)])
    old_upload = upload_at(service, clock, "rest:old", OLD)
    recent_upload = upload_at(service, clock, "rest:recent", RECENT)
    pending_front, _ = appeal_with(service, clock, "rest:pending", OLD, Decision.PENDING)
    decided_front, _ = appeal_with(service, clock, "rest:decided", OLD, Decision.REJECTED)
    with database.session() as session:
        session.add(SmsMessage(phone="13900139000", text="old", purpose="verify", status="stored", created_at=OLD))
        session.add(SmsMessage(phone="13900139000", text="new", purpose="verify", status="stored",
                               created_at=RECENT))
        session.add(ConversationValue(sender_id="rest:old", name="phone", value="13900139000", updated_at=OLD))
        session.add(ConversationValue(sender_id="rest:recent", name="phone", value="13900139001",
                                      updated_at=RECENT))
    old_handoff = handoff(database, "rest:old", OLD)
    recent_handoff = handoff(database, "rest:recent", RECENT)
    open_handoff = handoff(database, "rest:waiting", None, HandoffState.WAITING)
    handoffs = HandoffService(database, clock=clock)

    counts = privacy.purge(database, service, handoffs, CUTOFF)

    assert counts == {"conversations": 1, "sms_outbox": 1, "conversation_values": 1,
                      "uploads": 1, "photo_files": 3, "handoff_messages": 1, "handoff_summaries": 1}
    assert tracker_senders(database) == ["rest:recent"]  # a conversation goes whole, or not at all
    with database.session() as session:
        assert [message.text for message in session.execute(select(SmsMessage)).scalars()] == ["new"]
        assert [row.sender_id for row in session.execute(select(ConversationValue)).scalars()] == ["rest:recent"]
        assert session.get(Upload, old_upload.id) is None
        assert session.get(Upload, recent_upload.id) is not None
        pending = session.get(Upload, pending_front.id)
        decided = session.get(Upload, decided_front.id)
        assert pending.stored_name and decided is not None and decided.stored_name == ""
        remaining = {row.handoff_id for row in session.execute(select(HandoffMessage)).scalars()}
        assert remaining == {recent_handoff, open_handoff}
        assert session.get(Handoff, old_handoff).summary == ""
    assert not service.uploads.path_of(old_upload).exists()
    assert service.uploads.path_of(recent_upload).exists()
    assert service.uploads.path_of(pending).exists()
    assert service.stored_photos([decided_front.id]) is None

    again = privacy.purge(database, service, handoffs, CUTOFF)
    assert set(again.values()) == {0}


def test_purge_without_a_tracker_table_purges_the_rest(database, service, clock):
    upload_at(service, clock, "rest:old", OLD)
    counts = privacy.purge(database, service, HandoffService(database, clock=clock), CUTOFF)
    assert counts["conversations"] == 0 and counts["uploads"] == 1


def test_the_command_reports_counts_and_a_second_run_deletes_nothing(database, capsys, monkeypatch):
    add_tracker_events(database, [("rest:ancient", datetime(2000, 1, 1)), ("rest:now", datetime.utcnow())])
    monkeypatch.setenv("RETENTION_DAYS", "30")
    assert main(["privacy", "purge", "--database-url", database.url]) == 0
    output = capsys.readouterr().out
    assert "       1  conversations (tracker events) deleted" in output
    assert tracker_senders(database) == ["rest:now"]
    assert main(["privacy", "purge", "--database-url", database.url]) == 0
    assert "       0  conversations (tracker events) deleted" in capsys.readouterr().out
    # --days overrides the setting for one run.
    assert main(["privacy", "purge", "--days", "1", "--database-url", database.url]) == 0
    assert tracker_senders(database) == ["rest:now"]
