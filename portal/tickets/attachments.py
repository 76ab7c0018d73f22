"""Files attached to tickets: checked by their content, stored outside static/."""

from __future__ import annotations

import errno
import hashlib
import io
import logging
import os
import secrets
import shutil
import struct
import warnings
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import filetype
from flask import current_app
from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import select

from ..errors import DomainError, lazy_gettext as _l, lazy_number
from ..extensions import db
from .models import Attachment

log = logging.getLogger(__name__)

# A decompression bomb (a small file of a huge picture) is refused before it is decoded: Pillow only
# warns between its limit and twice that, so the warning is an error in this process, for every thread.
warnings.filterwarnings("error", category=Image.DecompressionBombWarning)

IMAGE_TYPES = {"image/png": "png", "image/jpeg": "jpg", "image/gif": "gif", "image/webp": "webp"}
OTHER_TYPES = {"application/pdf": "pdf", "application/zip": "zip", "text/plain": "txt"}
ACCEPTED = {**IMAGE_TYPES, **OTHER_TYPES}
ACCEPTED_DESCRIPTION = _l("screenshots (PNG, JPEG, GIF, WebP), PDF, text logs and ZIP archives")


@dataclass
class Upload:
    """A file as received: its name as the customer gave it, and its bytes."""

    filename: str
    data: bytes


def limits() -> tuple[int, int]:
    """(files per message, bytes per file), from TICKET_MAX_FILES and TICKET_MAX_FILE_MB."""
    return current_app.config["TICKET_MAX_FILES"], current_app.config["TICKET_MAX_FILE_MB"] * 1024 * 1024


def inspect(upload: Upload) -> tuple[str, bool]:
    """(content type, is an image) judged from the bytes, or DomainError saying why not."""
    name = upload.filename or _l("the file")
    _max_files, max_bytes = limits()
    if not upload.data:
        raise DomainError(_l("%(name)s is empty.", name=name), "files")
    if len(upload.data) > max_bytes:
        raise DomainError(_l("%(name)s is %(size)s MB; the limit is %(limit)s MB per file.", name=name,
                             size=lazy_number(len(upload.data) / 2**20, "0.0"), limit=max_bytes // 2**20), "files")
    kind = filetype.guess(upload.data)
    if kind is not None:
        mime = kind.mime
        if mime not in ACCEPTED:
            raise DomainError(_l("%(name)s is not accepted (its content is %(kind)s); we accept %(accepted)s.",
                                 name=name, kind=kind.extension.upper(), accepted=ACCEPTED_DESCRIPTION), "files")
        if mime in IMAGE_TYPES:
            check_picture(name, upload.data)
            return mime, True
        return mime, False
    try:
        text = upload.data.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is not None and "\x00" not in text:
        return "text/plain", False
    raise DomainError(_l("%(name)s: this kind of file is not accepted; we accept %(accepted)s.", name=name,
                         accepted=ACCEPTED_DESCRIPTION), "files")


def max_pixels() -> int:
    return current_app.config["TICKET_MAX_IMAGE_PIXELS"]


def check_picture(name, data: bytes) -> None:
    """Refuse a picture that is damaged or has more pixels than TICKET_MAX_IMAGE_PIXELS, judged from
    its header: nothing is decoded here, so a small file of a huge picture costs nothing."""
    limit = max_pixels()
    megapixels = lazy_number(limit / 10**6, "0.#")
    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
            if width * height > limit:
                raise DomainError(_l("%(name)s is too large a picture (%(width)s × %(height)s pixels); we accept up "
                                     "to %(limit)s megapixels.", name=name, width=width, height=height,
                                     limit=megapixels), "files")
            image.verify()
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        # Pillow refused it while reading the header, before telling us its size.
        raise DomainError(_l("%(name)s is too large a picture to open (over %(mp)s megapixels).", name=name,
                             mp=megapixels), "files") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, struct.error, EOFError):
        raise DomainError(_l("%(name)s looks like an image but cannot be read; is it damaged?", name=name),
                          "files") from None


def check_files(files: list[Upload]) -> list[tuple[Upload, str, bool]]:
    max_files, _ = limits()
    files = [f for f in files if f.filename or f.data]
    if len(files) > max_files:
        raise DomainError(_l("Attach at most %(max)s files at a time (you chose %(count)s).", max=max_files,
                             count=len(files)), "files")
    return [(f, *inspect(f)) for f in files]


class StorageError(DomainError):
    """The files could not be written: the disk is full (507) or failing (503). Nothing is kept."""

    def __init__(self, error: OSError):
        full = error.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
        self.status = 507 if full else 503
        super().__init__(_l("The portal has no room to store files right now, so nothing was sent. Your text is kept "
                            "below: send it again later, or without the files.") if full else
                         _l("The portal cannot store files right now, so nothing was sent. Your text is kept below: "
                            "send it again later, or without the files."), "files")


def _write(target: Path, data: bytes) -> None:
    """Write ``target`` whole or not at all: through a .part file that a failure removes."""
    tmp = target.with_name(f".{target.name}.part")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, target)
    except OSError:
        tmp.unlink(missing_ok=True)
        raise


def clean_filename(name: str) -> str:
    name = os.path.basename((name or "").replace("\\", "/")).strip() or "file"
    return "".join(c for c in name if c.isprintable() and c not in '"<>|:*?')[:200] or "file"


def store_files(ticket, user, message, files: list[Upload]) -> list[Attachment]:
    """Check and save files under UPLOAD_DIR with random names; rows join the session."""
    checked = check_files(list(files))
    upload_dir = Path(current_app.config["UPLOAD_DIR"])
    try:
        upload_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StorageError(exc) from None
    saved = []
    for upload, mime, is_image in checked:
        stored_name = f"{secrets.token_hex(16)}.{ACCEPTED[mime]}"
        try:
            _write(upload_dir / stored_name, upload.data)
        except OSError as exc:
            # The rows roll back with the message: the files written before this one go too.
            log.error("could not store an attachment in %s: %s", upload_dir, exc)
            for attachment in saved:
                remove_files(attachment)
            raise StorageError(exc) from None
        attachment = Attachment(ticket_id=ticket.id, message_id=message.id if message else None,
                                uploaded_by_id=user.id, filename=clean_filename(upload.filename),
                                stored_name=stored_name, content_type=mime, size=len(upload.data),
                                is_image=is_image)
        db.session.add(attachment)
        saved.append(attachment)
        if is_image:
            make_thumbnail(upload.data, thumbnail_path(attachment))
    return saved


def path_of(attachment: Attachment) -> Path:
    return Path(current_app.config["UPLOAD_DIR"]) / attachment.stored_name


def is_stored(attachment: Attachment) -> bool:
    """Whether the file is on disk: the ticket page says "file missing" rather than link to a 410."""
    return path_of(attachment).is_file()


def remove_files(attachment: Attachment) -> None:
    path_of(attachment).unlink(missing_ok=True)
    thumbnail_path(attachment).unlink(missing_ok=True)


THUMBNAIL_BOX = (480, 320)


def thumbnail_path(attachment: Attachment) -> Path:
    return Path(current_app.config["UPLOAD_DIR"]) / "thumbs" / f"{Path(attachment.stored_name).stem}.webp"


def make_thumbnail(data: bytes, target: Path) -> bool:
    """A small WebP of a screenshot for the ticket page, so a 5 MB capture is not
    downloaded to show 160 pixels. The original stays as it was uploaded."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.width * image.height > max_pixels():
                return False  # never decoded: check_picture refuses these, this keeps a caller from forgetting
            image.draft("RGB", THUMBNAIL_BOX)  # JPEG: decode at a reduced size, much faster
            image = ImageOps.exif_transpose(image)
            image.thumbnail(THUMBNAIL_BOX)
            if image.mode not in ("RGB", "RGBA"):
                image = image.convert("RGBA")
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_suffix(".part")
            try:
                image.save(tmp, "WEBP", quality=80)
                os.replace(tmp, target)
            finally:
                tmp.unlink(missing_ok=True)
        return True
    except (OSError, ValueError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        return False  # the page falls back to the original image


# --- files kept while a form is corrected ------------------------------------
# A browser cannot refill a file input, so when a form comes back with an
# error the files that passed the checks wait here, under the draft's key,
# and the form lists them; the next submission takes them along.

def _stash_dir(user_id: int, draft_key: str) -> Path:
    digest = hashlib.sha256(f"{user_id}:{draft_key}".encode()).hexdigest()[:32]
    return Path(current_app.config["UPLOAD_DIR"]) / "drafts" / digest


def stash(user_id: int, draft_key: str, uploads: list[Upload]) -> list[str]:
    """Keep the acceptable files among ``uploads``; returns their names."""
    folder = _stash_dir(user_id, draft_key)
    shutil.rmtree(folder, ignore_errors=True)
    kept = []
    for upload in uploads:
        try:
            inspect(upload)
        except DomainError:
            continue
        name = clean_filename(upload.filename)
        if name in kept:
            continue
        try:
            folder.mkdir(parents=True, exist_ok=True)
            _write(folder / name, upload.data)
        except OSError as exc:  # a full disk: the form comes back without its files, never a 500
            log.error("could not keep a file of a form being corrected in %s: %s", folder, exc)
            break
        kept.append(name)
    return kept


def stashed(user_id: int, draft_key: str, names: list[str] | None = None) -> list[Upload]:
    folder = _stash_dir(user_id, draft_key)
    if not folder.is_dir():
        return []
    return [Upload(p.name, p.read_bytes()) for p in sorted(folder.iterdir())
            if p.is_file() and (names is None or p.name in names)]


def drop_stash(user_id: int, draft_key: str) -> None:
    shutil.rmtree(_stash_dir(user_id, draft_key), ignore_errors=True)


# --- the upload folder against the rows ---------------------------------------

# A form's kept files wait this long for the form to be sent again.
STASH_LIFETIME = timedelta(days=7)


@dataclass
class StorageReport:
    """What ``check_storage`` found: files without a row, rows without a file."""

    orphans: list[Path] = field(default_factory=list)  # old enough that no upload is still committing them
    recent: list[Path] = field(default_factory=list)  # without a row yet: maybe committing right now
    missing: list[tuple[str, int, str]] = field(default_factory=list)  # (ticket reference, attachment id, file name)
    removed: list[Path] = field(default_factory=list)

    @property
    def problems(self) -> int:
        return len(self.orphans) - len(self.removed) + len(self.missing)


def _age(path: Path, now: datetime) -> timedelta:
    return now - datetime.fromtimestamp(path.stat().st_mtime, UTC).replace(tzinfo=None)


def check_storage(upload_dir: Path, now: datetime, min_age: timedelta, repair: bool = False) -> StorageReport:
    """Compare UPLOAD_DIR with the attachment rows. Orphans are files no row names (stored files
    and thumbnails of uploads that never committed, ``.part`` files of interrupted writes) older
    than ``min_age``, and kept form files past STASH_LIFETIME; ``repair`` deletes them. Younger
    files are left alone: their row may be committing at this moment."""
    from .models import Ticket

    upload_dir = Path(upload_dir)
    rows = db.session.execute(select(Attachment.stored_name, Ticket.reference, Attachment.id, Attachment.filename)
                              .join(Ticket, Ticket.id == Attachment.ticket_id).order_by(Attachment.id)).all()
    stored = {row.stored_name for row in rows}
    stems = {Path(name).stem for name in stored}
    report = StorageReport()
    if upload_dir.is_dir():
        candidates = [(p, min_age) for p in upload_dir.iterdir() if p.is_file() and p.name not in stored]
        thumbs = upload_dir / "thumbs"
        if thumbs.is_dir():
            candidates += [(p, min_age) for p in thumbs.iterdir()
                           if p.is_file() and (p.suffix != ".webp" or p.stem not in stems)]
        drafts = upload_dir / "drafts"
        if drafts.is_dir():
            candidates += [(p, max(min_age, STASH_LIFETIME)) for p in drafts.iterdir() if p.is_dir()]
        for path, safe_age in sorted(candidates):
            (report.orphans if _age(path, now) >= safe_age else report.recent).append(path)
    files = {p.name for p in upload_dir.iterdir()} if upload_dir.is_dir() else set()
    report.missing = [(row.reference, row.id, row.filename) for row in rows if row.stored_name not in files]
    if repair:
        for path in report.orphans:
            try:
                shutil.rmtree(path) if path.is_dir() else path.unlink()
            except FileNotFoundError:
                pass
            except OSError as exc:
                log.error("could not remove %s: %s", path, exc)
                continue
            report.removed.append(path)
    return report
