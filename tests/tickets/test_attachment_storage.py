"""A full upload disk, a killed upload and a lost file: clear answers, nothing left behind,
and ``portal attachments check`` to find and clean what an interrupted upload left."""

import errno
import io
import os
from datetime import UTC, timedelta
from pathlib import Path

from sqlalchemy import func, select

from portal.extensions import db
from portal.tickets.models import Attachment, Message, Ticket
from tests.conftest import csrf_token, files_under
from tests.factories import gen_ticket, gen_user
from tests.tickets.test_routes import _customer, _file, png_bytes


def test_a_full_disk_while_filing_answers_507_keeps_the_text_and_leaves_no_file(client, auth, app, full_disk):
    _customer(auth)
    full_disk["after"] = 1  # the first file fits, the second does not
    response = _file(client, description="Please keep this description.",
                     files=[(io.BytesIO(png_bytes()), "screen.png"), (io.BytesIO(b"line 1\nline 2\n"), "app.log")])
    assert response.status_code == 507
    page = response.get_data(as_text=True)
    assert "no room to store files right now, so nothing was sent" in page
    assert "Please keep this description." in page and "Where is the export?" in page
    assert db.session.scalar(select(func.count()).select_from(Ticket)) == 0
    # Neither the stored first file, its thumbnail, the half-written .part nor a kept copy stays behind.
    assert files_under(Path(app.config["UPLOAD_DIR"])) == []


def test_a_failing_disk_while_replying_answers_503_and_keeps_the_reply(client, auth, app, full_disk):
    customer = _customer(auth)
    ticket = gen_ticket(customer)
    full_disk["errno"] = errno.EIO
    response = client.post(f"/tickets/{ticket.reference}/reply", content_type="multipart/form-data", data={
        "csrf_token": csrf_token(client, f"/tickets/{ticket.reference}"), "body": "Here is my log, as asked.",
        "files": [(io.BytesIO(b"log line\n"), "app.log")]})
    assert response.status_code == 503
    page = response.get_data(as_text=True)
    assert "cannot store files right now" in page and "Here is my log, as asked." in page
    assert db.session.scalar(select(func.count()).select_from(Message)) == 0
    assert files_under(Path(app.config["UPLOAD_DIR"])) == []


def test_a_file_missing_from_the_disk_is_a_clear_410_page(client, auth, app):
    _customer(auth)
    assert _file(client, files=[(io.BytesIO(b"line 1\n"), "app.log")]).status_code == 302
    item = db.session.scalar(select(Attachment))
    (Path(app.config["UPLOAD_DIR"]) / item.stored_name).unlink()
    response = client.get(f"/tickets/{item.ticket.reference}/files/{item.id}")
    assert response.status_code == 410
    assert "no longer stored on the portal" in response.get_data(as_text=True)
    page = client.get(f"/tickets/{item.ticket.reference}").get_data(as_text=True)
    assert "app.log" in page and "File missing" in page and f"/files/{item.id}" not in page


def _aged(path: Path, now, age: timedelta, data: bytes = b"x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        path.write_bytes(data)
    stamp = (now - age).replace(tzinfo=UTC).timestamp()  # now is naive UTC
    os.utime(path, (stamp, stamp))
    return path


def test_attachments_check_finds_orphans_and_missing_files_and_repairs_what_is_safe(client, auth, app, runner, now):
    _customer(auth)
    assert _file(client, files=[(io.BytesIO(png_bytes()), "screen.png"), (io.BytesIO(b"line 1\n"), "app.log")]
                 ).status_code == 302
    upload_dir = Path(app.config["UPLOAD_DIR"])
    shot, log = db.session.scalars(select(Attachment).order_by(Attachment.id)).all()
    hour, minute = timedelta(hours=1, minutes=1), timedelta(minutes=1)
    for kept in [upload_dir / shot.stored_name, upload_dir / log.stored_name,
                 upload_dir / "thumbs" / f"{Path(shot.stored_name).stem}.webp"]:
        _aged(kept, now, timedelta(days=30))  # old files with their rows are no one's business
    (upload_dir / log.stored_name).unlink()  # a row without its file
    orphans = [
        _aged(upload_dir / "0123456789abcdef0123456789abcdef.pdf", now, hour),  # killed after the write, before COMMIT
        _aged(upload_dir / ".fedcba9876543210fedcba9876543210.txt.part", now, hour),  # killed during the write
        _aged(upload_dir / "thumbs" / "0123456789abcdef0123456789abcdef.webp", now, hour),
        _aged(upload_dir / "drafts" / ("a" * 32) / "notes.txt", now, timedelta(days=8)).parent,  # a form never sent again
    ]
    _aged(orphans[-1], now, timedelta(days=8))  # the folder's own time: when the form was last sent
    recent = [
        _aged(upload_dir / ".aaaabbbbccccddddaaaabbbbccccdddd.png.part", now, minute),  # may be committing now
        _aged(upload_dir / "drafts" / ("b" * 32) / "kept.log", now, timedelta(days=2)).parent,  # still within its week
    ]
    _aged(recent[-1], now, timedelta(days=2))

    result = runner.invoke(args=["attachments", "check"])
    assert result.exit_code == 1
    for path in orphans:
        assert f"orphan: {path}" in result.output
    assert f"missing: {log.ticket.reference} attachment {log.id} (app.log)" in result.output
    assert "4 orphaned file(s), 0 removed, 1 missing, 2 too recent to judge." in result.output
    assert all(p.exists() for p in orphans)

    result = runner.invoke(args=["attachments", "check", "--repair"])
    assert result.exit_code == 1  # the missing file cannot be repaired, only reported
    assert "4 orphaned file(s), 4 removed, 1 missing" in result.output
    assert not any(p.exists() for p in orphans) and all(p.exists() for p in recent)
    assert (upload_dir / shot.stored_name).exists()
    assert (upload_dir / "thumbs" / f"{Path(shot.stored_name).stem}.webp").exists()

    db.session.delete(db.session.get(Attachment, log.id))
    db.session.commit()
    result = runner.invoke(args=["attachments", "check", "--min-age", "1440"])
    assert result.exit_code == 0, result.output
    assert "0 orphaned file(s), 0 removed, 0 missing, 2 too recent to judge." in result.output


def test_attachments_check_on_an_empty_portal_is_clean(app, runner):
    gen_user()
    result = runner.invoke(args=["attachments", "check"])
    assert result.exit_code == 0 and "0 orphaned file(s)" in result.output
