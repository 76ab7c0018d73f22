"""Pictures made to exhaust a worker: refused by name from their header, never decoded."""

import functools
import io
import struct
import zlib

from PIL import Image

from portal.tickets import attachments
from portal.tickets.attachments import Upload
from portal.tickets.models import Attachment
from tests.conftest import csrf_token
from tests.factories import gen_ticket
from tests.tickets.test_routes import _customer, _file, png_bytes


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


@functools.cache
def png_of_zeros(width: int, height: int) -> bytes:
    """A real, valid black PNG (1 bit a pixel), compressed row by row: 30000 × 30000 is ~110 KB."""
    row, squeeze, idat = b"\x00" * (1 + (width + 7) // 8), zlib.compressobj(9), []
    for _ in range(height):
        idat.append(squeeze.compress(row))
    idat.append(squeeze.flush())
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0))
            + _chunk(b"IDAT", b"".join(idat)) + _chunk(b"IEND", b""))


def png_header(width: int, height: int) -> bytes:
    """Only a header that claims a size (and a little data): all a check from the header needs."""
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + _chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + _chunk(b"IEND", b""))


def test_a_decompression_bomb_is_refused_by_name_and_the_text_kept(client, auth, app):
    bomb = png_of_zeros(30000, 30000)
    assert len(bomb) < 200_000
    _customer(auth)
    response = _file(client, description="Keep this text, please.",
                     files=[(io.BytesIO(bomb), "bomb.png"), (io.BytesIO(png_bytes()), "fine.png")])
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "bomb.png is too large a picture" in page and "Keep this text, please." in page
    assert 'name="keep_file" value="fine.png"' in page and 'value="bomb.png"' not in page  # the stash took only one
    assert not app.extensions["sqlalchemy"].session.query(Attachment).count()


def test_a_huge_picture_in_a_reply_is_refused_by_name(client, auth, app):
    customer = _customer(auth)
    ticket = gen_ticket(customer)
    token = csrf_token(client, f"/tickets/{ticket.reference}")
    response = client.post(f"/tickets/{ticket.reference}/reply", content_type="multipart/form-data",
                           data={"csrf_token": token, "body": "Here is the screen.",
                                 "files": [(io.BytesIO(png_header(9000, 8000)), "wall.png")]},
                           follow_redirects=True)
    page = response.get_data(as_text=True)
    assert response.status_code < 500
    assert "wall.png is too large a picture (9000 × 8000 pixels); we accept up to 50 megapixels." in page
    assert not ticket.attachments


def test_the_pixel_limit_is_a_setting_and_applies_before_decoding(make_app):
    app = make_app(TICKET_MAX_IMAGE_PIXELS=20_000)
    with app.app_context(), app.test_request_context():
        assert attachments.inspect(Upload("small.png", png_bytes((200, 100)))) == ("image/png", True)
        for data in (png_bytes((201, 100)), png_header(100, 201)):
            try:
                attachments.inspect(Upload("big.png", data))
            except attachments.DomainError as exc:
                assert "big.png is too large a picture" in str(exc.message) and exc.field == "files"
            else:
                raise AssertionError("a picture over the limit was accepted")


def test_a_thumbnail_is_never_made_of_a_picture_over_the_limit(app, tmp_path, monkeypatch):
    def refuse_to_decode(*args, **kwargs):
        raise AssertionError("the picture was decoded")

    monkeypatch.setattr(Image.Image, "load", refuse_to_decode)
    target = tmp_path / "thumb.webp"
    assert attachments.make_thumbnail(png_header(8000, 8000), target) is False
    assert not target.exists()


def test_an_8k_screenshot_still_gets_a_thumbnail(app, tmp_path):
    target = tmp_path / "thumb.webp"
    assert attachments.make_thumbnail(png_of_zeros(7680, 4320), target) is True
    with Image.open(target) as thumb:
        assert thumb.size == (480, 270)
