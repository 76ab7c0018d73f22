"""The API's answers when the upload disk is full or a file is gone: problem documents, not 500s."""

import errno
import io
from pathlib import Path

from sqlalchemy import func, select

from portal.auth.models import Role
from portal.extensions import db
from portal.tickets.models import Attachment
from tests.api.conftest import assert_problem
from tests.conftest import files_under
from tests.factories import gen_ticket, gen_user


def test_a_full_or_failing_disk_is_a_retryable_problem_and_stores_nothing(app, api, full_disk):
    customer = gen_user(Role.CUSTOMER)
    ticket = gen_ticket(customer)
    client = api(customer)
    url = f"/api/v1/tickets/{ticket.reference}/attachments"
    full = client.post(url, data={"files": [(io.BytesIO(b"one\n"), "a.log"), (io.BytesIO(b"two\n"), "b.log")]})
    body = assert_problem(full, 507, "storage-full")
    assert full.headers["Retry-After"] and "no room to store files" in body["detail"]
    full_disk["errno"] = errno.EIO
    failing = client.post(url, data={"files": (io.BytesIO(b"one\n"), "a.log")})
    assert_problem(failing, 503, "service-unavailable")
    assert db.session.scalar(select(func.count(Attachment.id))) == 0
    assert files_under(Path(app.config["UPLOAD_DIR"])) == []


def test_a_file_gone_from_the_disk_is_410_file_missing(app, api):
    customer = gen_user(Role.CUSTOMER)
    ticket = gen_ticket(customer)
    client = api(customer)
    saved = client.post(f"/api/v1/tickets/{ticket.reference}/attachments",
                        data={"files": (io.BytesIO(b"line\n"), "a.log")}).get_json()["attachments"][0]
    item = db.session.get(Attachment, saved["id"])
    (Path(app.config["UPLOAD_DIR"]) / item.stored_name).unlink()
    assert_problem(client.get(f"/api/v1/tickets/{ticket.reference}/attachments/{item.id}"), 410, "file-missing")
