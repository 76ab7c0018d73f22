"""Inbound email, parsed: the bytes of one RFC 822 message in, a plain ``ParsedMail`` out.

Pure: no database, no Flask. The standard ``email`` package reads the MIME tree,
mail-parser-reply finds quoted history and signatures, nh3 and markdownify turn
HTML-only mail into Markdown. What is written here is the glue, and the choices
that are ours: which part is the body, what counts as machine mail, what is new.

``parse`` never raises for any bytes except ``MessageTooLarge``: mail from the
internet is often broken, and a broken message must still be logged, not lost.
"""

from __future__ import annotations

import codecs
import copy
import email
import email.charset
import email.header
import html
import mimetypes
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage as MimeMessage
from email.utils import parsedate_to_datetime

import nh3
from mailparser_reply.constants import MAIL_LANGUAGES, QUOTED_MATCH_INCLUDE
from mailparser_reply.parser import EmailMessage as ReplyMessage
from markdownify import ATX, MarkdownConverter


@dataclass(frozen=True)
class InboundAttachment:
    filename: str
    content_type: str
    data: bytes
    inline: bool
    content_id: str | None


@dataclass(frozen=True)
class Bounce:
    recipients: tuple[str, ...]
    status: str | None
    permanent: bool


@dataclass(frozen=True)
class ParsedMail:
    message_id: str | None
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    from_address: str | None
    from_name: str
    reply_to: str | None
    recipients: tuple[str, ...]
    subject: str
    date: datetime | None
    text: str
    new_text: str
    from_html: bool
    attachments: tuple[InboundAttachment, ...]
    auto_reason: str | None
    bounce: Bounce | None
    defects: tuple[str, ...]
    forwarded: bool = False  # the customer forwarded mail to us: new_text keeps the forwarded part


class MessageTooLarge(Exception):
    def __init__(self, size: int, limit: int):
        super().__init__(f"message of {size} bytes is over the limit of {limit}")
        self.size, self.limit = size, limit


def parse(raw: bytes, *, max_bytes: int | None = None, languages=("en", "es")) -> ParsedMail:
    if max_bytes is not None and len(raw) > max_bytes:
        raise MessageTooLarge(len(raw), max_bytes)
    defects: list[str] = []
    try:
        return _parse(email.message_from_bytes(raw, policy=policy.default), languages, defects)
    except Exception as error:  # a last net (deep nesting, a parser bug): the message is still logged
        defects.append(f"UnparsableMessage({type(error).__name__})")
        return ParsedMail(None, (), (), None, "", None, (), "", None, "", "", False, (), None, None,
                          tuple(dict.fromkeys(defects)))


def strip_reply(text: str, languages=("en", "es")) -> str:
    """The new text of a reply, without quoted history and signature ("" when nothing is new).

    A forward is returned whole: what the customer forwarded is what they are telling us."""
    text = text.replace("\r\n", "\n").strip()
    if not text:
        return ""
    # Unusual white space (form feeds, em spaces) as plain spaces: the patterns' \s spans it all.
    text = re.sub(r"[^\S\n]", " ", text[:STRIP_PREFIX])
    # A line too long to be a quote header stands aside while the patterns run, and comes back after.
    long_lines = [line for line in text.split("\n") if len(line) > STRIP_LINE]
    text = "\n".join(f"\ue000{long_lines.index(line)}\ue000" if len(line) > STRIP_LINE else line
                     for line in text.split("\n")) if long_lines else text
    stripped = _strip(text, languages)
    return re.sub("\ue000(\\d+)\ue000", lambda m: long_lines[int(m.group(1))], stripped) if long_lines else stripped


def _strip(text: str, languages) -> str:
    reply = _reply_message(text, languages)
    if _forward_marker_first(reply):
        return text
    first = reply.read().replies[0]
    new = first.content.replace(first.headers, "", 1) if first.headers else first.content
    if first.signatures:
        new = new.replace(first.signatures, "")
    lines = _original_lines(text, new.strip()).split("\n")
    # A quote at the end with no "On … wrote:" above it goes; inline answers keep the quotes between them.
    while lines and (not lines[-1].strip() or lines[-1].lstrip().startswith(">")):
        lines.pop()
    while first.headers and lines and (not lines[0].strip() or lines[0].lstrip().startswith(">")):
        lines.pop(0)  # bottom-posted: the header and its quote came first
    return _tidy("\n".join(lines))


MAX_IDS = 50  # Message-IDs and recipients kept per message: enough to thread, never a query of thousands

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _clean(value: str) -> str:
    """No NUL or other control characters (PostgreSQL refuses NUL in text; a header cannot hold CR/LF)."""
    return _CONTROL.sub("", value or "")


def _tidy(text: str) -> str:
    """Blank lines made blank (Outlook writes " " ones), at most one in a row."""
    text = re.sub(r"^[ \t]+$", "", text.replace("\r\n", "\n"), flags=re.MULTILINE)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


# --- reply stripping: mail-parser-reply with a corrected copy of its language table ---------------

_WRAPPED = r"[^\n]{1,300}?(?:\n(?:> ?)*[^\n]{0,300}?)?[ \t]?"

# Reply stripping reads the start of the text, in lines of bounded length: what lies beyond is
# more than a ticket keeps anyway, and hostile input cannot make the patterns run for minutes.
STRIP_PREFIX, STRIP_LINE = 64 * 1024, 2000


def _language_table() -> dict:
    table = copy.deepcopy(MAIL_LANGUAGES)  # a copy: the library's own dict stays as it ships
    es = table["es"]
    # 1.36 wants two spaces before "escribió:", so Gmail's "El mar, 1 dic 2026 a las 10:00, Soporte
    # (<s@x.com>) escribió:" is missed. Like the English pattern, allow one wrapped line; a digit
    # (the date) on the first line keeps "El …" sentences of the customer's own text out.
    # The library's "(?:.+?\s?.+?)" is quadratic in a line's length (a hostile 40 KB line took 40 s):
    # here at most 300 characters, and one wrapped line.
    es["wrote_header"] = (r"^(" + QUOTED_MATCH_INCLUDE + r"El[ \t](?=[^\n]*\d)" + _WRAPPED + r"escribió:)$")
    table["en"]["wrote_header"] = (r"^(?!On[. \t]*On[ \t])(" + QUOTED_MATCH_INCLUDE + r"On[ \t]" + _WRAPPED
                                   + r"wrote:)$")
    # Outlook's Spanish block: desktop writes "Enviado el:", which 1.36 does not know; its older plain
    # text puts "-----Mensaje original-----" above the block.
    es["from_header"] = [
        r"((?:(?:^|\n|\n" + QUOTED_MATCH_INCLUDE + r")[* ]*(?:De|Enviado(?: el)?|Para|CC|Asunto|Fecha|Organización)"
        r":[ *]*(?:\s{,2}).*){2,}(?:\n.*){,1})",
        r"(^-{5,} ?Mensaje original ?-{5,}$)",
    ]
    es["sent_from"] += r"|Obtener Outlook para"
    # A sign-off counts only alone on its line ("Thanks," then a name): "Thanks, that fixed the
    # export but…" is the customer's text, and the library would drop everything from there on.
    for language in table.values():
        if language.get("signatures"):
            language["signatures"] = [rf"(?:{s.rstrip(',')})[ \t]*[,.!]?[ \t]*$" for s in language["signatures"]]
    return table


_LANGUAGES = _language_table()


class _ReplyText(ReplyMessage):
    """The library's reply splitter, reading our table instead of its global one."""

    def _get_language_regex(self, language: str, regex_key: str) -> str:
        value = _LANGUAGES.get(language, {}).get(regex_key, "")
        return "|".join(value) if isinstance(value, list) else value


def _reply_message(text: str, languages) -> _ReplyText:
    # keep_hyphen_lists: a customer's "- step one" list is not a signature ("-- " still is).
    return _ReplyText(text=text, languages=[lang for lang in languages if lang in _LANGUAGES],
                      keep_hyphen_lists=True)


_FORWARD_MARKER = re.compile(
    r"^(?:-{3,} ?(?:Forwarded message|Mensaje reenviado) ?-{3,}|Begin forwarded message:|Inicio del mensaje reenviado:)",
    re.IGNORECASE | re.MULTILINE)
_FORWARD_SUBJECT = re.compile(r"^\s*(?:fwd?|rv)\s*:", re.IGNORECASE)  # Outlook forwards have no marker line


def _forward_marker_first(reply: _ReplyText) -> bool:
    """A forward marker before any reply header (a forward deep in quoted history does not count)."""
    marker = _FORWARD_MARKER.search(reply.text)
    header = reply.HEADER_REGEX.search(reply.text)
    return bool(marker) and (header is None or marker.start() <= header.start())


def _original_lines(text: str, stripped: str) -> str:
    """The library strips every line; give back the original lines (Markdown indentation) when they
    line up, else its stripped text."""
    lines, wanted = text.split("\n"), stripped.split("\n")
    normalised = [line.strip() for line in lines]
    for start, line in enumerate(normalised):
        if line == wanted[0] and normalised[start:start + len(wanted)] == wanted:
            return "\n".join(lines[start:start + len(wanted)])
    return stripped


# --- HTML: nh3 cleans, markdownify converts; quote blocks dropped from the tree for new_text ----

_CLEAN_ATTRIBUTES = {**copy.deepcopy(nh3.ALLOWED_ATTRIBUTES), "*": {"class", "id"}}
_CLEAN_ATTRIBUTES["blockquote"] = {"cite", "type"}
_QUOTE_CLASSES = {"gmail_quote", "gmail_signature", "yahoo_quoted", "moz-cite-prefix"}
_QUOTE_FROM_HERE_IDS = {"appendonsend", "divRplyFwdMsg", "mail-editor-reference-message-container"}  # Outlook
_QUOTE_HINT = re.compile("|".join(map(re.escape, [*_QUOTE_CLASSES, *_QUOTE_FROM_HERE_IDS, "cite"])))


class _Markdown(MarkdownConverter):
    def __init__(self, *, drop_quotes: bool):
        super().__init__(heading_style=ATX, bullets="-")
        self.drop_quotes = drop_quotes

    def convert_soup(self, soup):
        if self.drop_quotes:
            _drop_quotes(soup)
        return super().convert_soup(soup)

    def convert_img(self, el, text, parent_tags):
        # nh3 removed cid: sources (the image is an attachment); a 1x1 image is a tracking pixel.
        pixel = el.get("width") in ("0", "1") or el.get("height") in ("0", "1")
        return super().convert_img(el, text, parent_tags) if el.get("src") and not pixel else ""


def _drop_quotes(soup) -> None:
    cut = soup.find(id=lambda value: value in _QUOTE_FROM_HERE_IDS)
    if cut is not None:  # Outlook puts the quoted message after its marker, as siblings: cut from there
        for node in [cut, *cut.parents]:
            for sibling in list(node.next_siblings):
                sibling.extract()
        cut.extract()
    for quote in soup.find_all(lambda tag: bool(_QUOTE_CLASSES & set(tag.get("class") or ()))
                               or (tag.name == "blockquote" and tag.get("type") == "cite")):
        quote.extract()


def _markdown(html: str) -> tuple[str, str]:
    """The Markdown of an HTML body, and the Markdown of it without its quote blocks (for new_text)."""
    clean = nh3.clean(html, clean_content_tags={"script", "style", "title"}, attributes=_CLEAN_ATTRIBUTES)
    text = _tidy(_Markdown(drop_quotes=False).convert(clean).replace("\xa0", " "))
    if not _QUOTE_HINT.search(clean):  # converting twice is slow on big HTML: only when there is a quote
        return text, text
    return text, _tidy(_Markdown(drop_quotes=True).convert(clean).replace("\xa0", " "))


# --- the message ---------------------------------------------------------------------------------

_AS_RECEIVED = policy.compat32.clone(max_line_length=None)  # headers written back as they came, not refolded
_MIME_TYPES = mimetypes.MimeTypes()  # Python's own table, not the host's /etc/mime.types
_MESSAGE_ID = re.compile(r"<([^<>\s]+)>")
_STATUS = re.compile(r"\b([245]\.\d{1,3}\.\d{1,3})\b")
_BULK_PRECEDENCE = {"bulk", "list", "junk", "auto_reply"}
_DAEMONS = {"mailer-daemon", "postmaster"}
_DAEMON_NAME = re.compile(r"^mail delivery (?:subsystem|system)$", re.IGNORECASE)
_MAX_FORWARD_DEPTH = 3


def _parse(msg: MimeMessage, languages, defects: list[str]) -> ParsedMail:
    headers = _Headers(msg, defects)
    from_name, from_address = (headers.addresses("From") or [("", None)])[0]
    reply_to = (headers.addresses("Reply-To") or [("", None)])[0][1]
    recipients = [address for name in ("To", "Cc", "Delivered-To", "X-Original-To", "Envelope-To")
                  for _, address in headers.addresses(name, every=True)]
    subject = " ".join(headers.text("Subject").split())

    body, leaves = _body_part(msg), list(_leaves(msg))
    text, from_html, unquoted_html = _body_text(body, defects)
    attached = [] if msg.get_content_type() == "multipart/report" else [  # a bounce's returned mail is no forward
        _forward_block(part, defects) for part, _ in leaves if part.get_content_type() == "message/rfc822"]
    # Forwarded inline: by its marker line, or (Outlook writes none) by its subject when nothing is attached.
    forwarded_inline = bool(text) and (_forward_marker_first(_reply_message(text, languages))
                                       or (not attached and bool(_FORWARD_SUBJECT.match(subject))))
    if forwarded_inline:
        new_text = text
    else:  # HTML quote blocks are dropped from the tree, which is surer than text patterns
        new_text = strip_reply(unquoted_html if from_html else text, languages)
    text = "\n\n".join(filter(None, [text, *attached]))
    new_text = "\n\n".join(filter(None, [new_text, *attached])) or text

    attachments = tuple(_attachments(leaves, body))
    bounce = _bounce(msg, leaves, from_name, from_address, headers)
    for part in msg.walk():  # after decoding: bad base64 is noticed by get_payload(decode=True)
        defects.extend(type(defect).__name__ for defect in part.defects)
    if from_address and len(from_address) > 254:  # longer than any address can be (RFC 5321)
        from_address = None
    return ParsedMail(
        message_id=next(iter(_message_ids(headers.text("Message-ID"))), None),
        in_reply_to=_message_ids(headers.text("In-Reply-To"))[:MAX_IDS],
        references=_message_ids(headers.text("References"))[-MAX_IDS:],  # the newest: the nearest ancestors
        from_address=from_address, from_name=_clean(from_name)[:200] if from_address else "", reply_to=reply_to,
        recipients=tuple(dict.fromkeys(recipients))[:MAX_IDS], subject=_clean(subject), date=headers.date(),
        text=_clean(text), new_text=_clean(new_text), from_html=from_html, attachments=attachments,
        auto_reason=_auto_reason(headers, bounce), bounce=bounce,
        defects=tuple(dict.fromkeys(defects)), forwarded=forwarded_inline or bool(attached))


class _Headers:
    """First-of-each header reads that never raise, with the parser's complaints kept as defects."""

    def __init__(self, msg: MimeMessage, defects: list[str]):
        self.msg, self.defects = msg, defects

    def all(self, name: str) -> list:
        found = []
        for key, value in self.msg.raw_items():
            if key.lower() != name.lower():
                continue
            try:  # unfolded as the email package does, with raw 8-bit bytes read as text first
                header = self.msg.policy.header_factory(name, _unescape("".join(re.split(r"[\r\n]", str(value)))))
            except Exception as error:
                self.defects.append(f"UnparsableHeader({name}: {type(error).__name__})")
                continue
            self.defects.extend(type(defect).__name__ for defect in header.defects)
            found.append(header)
        return found

    def first(self, name: str):
        values = self.all(name)
        if len(values) > 1 and name in ("From", "Subject", "Date", "Message-ID", "Reply-To"):
            self.defects.append(f"DuplicateHeader({name})")
        return values[0] if values else None

    def text(self, name: str) -> str:
        value = self.first(name)
        return "" if value is None else _unescape(str(value))  # a broken encoded word leaves surrogates

    def addresses(self, name: str, every: bool = False) -> list[tuple[str, str]]:
        """(display name, lower-case addr-spec) of the usable addresses; groups and "<>" give none."""
        values = self.all(name) if every else [self.first(name)]
        found = []
        for value in filter(None, values):
            try:  # Delivered-To and friends are not address headers to the email package
                parsed = value if hasattr(value, "addresses") else self.msg.policy.header_factory("To", str(value))
                for address in parsed.addresses:
                    spec = _unescape(address.addr_spec).strip().lower()
                    local, _, domain = spec.rpartition("@")
                    if local and domain and not re.search(r"[\s<>]", spec):
                        found.append((" ".join(_unescape(address.display_name).split()), spec))
            except Exception as error:
                self.defects.append(f"UnparsableHeader({name}: {type(error).__name__})")
        return found

    def date(self) -> datetime | None:
        value = self.first("Date")
        if value is None:
            return None
        try:
            when = getattr(value, "datetime", None) or parsedate_to_datetime(str(value))
            return when.astimezone(UTC).replace(tzinfo=None) if when.tzinfo else when  # -0000: taken as UTC
        except Exception:
            return None


def _unescape(value: str) -> str:
    """Raw 8-bit bytes in a header (the parser keeps them as surrogates): UTF-8, else Windows-1252."""
    if not re.search("[\udc80-\udcff]", value):
        return value
    data = value.encode("utf-8", "surrogateescape")
    try:
        return data.decode("utf-8")
    except UnicodeError:
        return data.decode("cp1252", errors="replace")


def _message_ids(value: str) -> tuple[str, ...]:
    ids = _MESSAGE_ID.findall(value) or [token for token in value.split() if "@" in token and "<" not in token
                                         and ">" not in token]
    return tuple(dict.fromkeys(f"<{message_id}>" for message_id in ids))


def _leaves(part, parents=()):
    """Every non-multipart part with its multipart ancestors; message/* parts are leaves."""
    if part.get_content_maintype() == "multipart" and part.is_multipart():
        for sub in part.iter_parts():
            yield from _leaves(sub, (*parents, part))
    else:
        yield part, parents


def _body_part(msg: MimeMessage):
    try:
        body = msg.get_body(preferencelist=("plain", "html"))
        if body is not None and body.get_content_subtype() == "plain" and not _payload(body).strip():
            body = msg.get_body(preferencelist=("html",)) or body  # an empty text/plain beside real HTML
    except Exception:
        body = None
    if body is None and not msg.is_multipart() and msg.get_content_maintype() == "multipart":
        return msg  # a multipart with no boundary: the parser leaves its text as one payload
    return body


def _body_text(body, defects: list[str]) -> tuple[str, bool, str]:
    """(text, from_html, for HTML: the Markdown of it without its quote blocks)."""
    if body is None:
        return "", False, ""
    content = _text_of(body, defects).replace("\r\n", "\n")
    if body.get_content_subtype() == "html":
        try:
            text, unquoted = _markdown(content)
        except RecursionError:  # HTML nested thousands deep: its words, without the structure
            defects.append("HTMLTooDeep")
            text = unquoted = _tidy(html.unescape(nh3.clean(content, tags=set())))
        return text, True, unquoted
    return _tidy(content), False, ""


def _forward_block(part, defects: list[str], depth: int = 1) -> str:
    """An attached message/rfc822 laid out as Gmail lays out an inline forward, so it reads as text."""
    inner = _inner_message(part)
    if inner is None or depth > _MAX_FORWARD_DEPTH:
        return ""
    headers = _Headers(inner, defects)
    values = {name: " ".join(headers.text(name).split()) for name in ("From", "Date", "Subject", "To")}
    lines = ["---------- Forwarded message ---------", *(f"{name}: {value}" for name, value in values.items() if value)]
    text, _, _ = _body_text(_body_part(inner), defects)
    nested = [_forward_block(leaf, defects, depth + 1) for leaf, _ in _leaves(inner)
              if leaf.get_content_type() == "message/rfc822"]
    return "\n\n".join(filter(None, ["\n".join(lines), text, *nested]))


def _inner_message(part):
    payload = part.get_payload()
    if isinstance(payload, list):
        return payload[0] if payload else None
    data = _payload(part)  # a base64-encoded message/rfc822: not allowed, but sent
    return email.message_from_bytes(data, policy=policy.default) if data.strip() else None


def _attachments(leaves, body):
    alternative = next((p for leaf, parents in leaves if leaf is body for p in reversed(parents)
                        if p.get_content_type() == "multipart/alternative"), None)
    number = 0
    for part, parents in leaves:
        content_type = part.get_content_type()
        if part is body or (alternative is not None and any(p is alternative for p in parents)
                            and content_type in ("text/plain", "text/html") and not _is_attachment(part)):
            continue  # the body, or the other rendering of it
        number += 1
        content_id = _header_text(part, "Content-ID").strip().strip("<>").strip() or None
        related = any(p.get_content_type() == "multipart/related" for p in parents)
        yield InboundAttachment(
            filename=_filename(part, content_type, number),
            content_type=content_type,
            data=_message_bytes(part) if part.get_content_maintype() == "message" else _payload(part),
            inline=_disposition(part) == "inline" or (related and content_id is not None),
            content_id=content_id,
        )


def _header_text(part, name: str) -> str:
    try:
        return _unescape(str(part.get(name) or ""))
    except Exception:
        return ""


def _disposition(part) -> str | None:
    try:
        return part.get_content_disposition()
    except Exception:
        return None


def _is_attachment(part) -> bool:
    return _disposition(part) == "attachment"


def _filename(part, content_type: str, number: int) -> str:
    try:
        name = _unescape(part.get_filename() or "")
        if "=?" in name:  # encoded words inside a quoted parameter: not standard, sent by Outlook and others
            name = _unescape(str(email.header.make_header(email.header.decode_header(name))))
    except Exception:
        name = ""
    # Only a name: no folders (a "../" or "C:\" from the sender), no control characters.
    name = re.sub(r"[\x00-\x1f\x7f]", "", re.split(r"[\\/]", name)[-1]).strip().strip(".")
    if name:
        return name
    if content_type == "message/rfc822":
        return "forwarded.eml"
    extension = _MIME_TYPES.guess_extension(content_type) or (".txt" if content_type.startswith(("text/", "message/"))
                                                              else ".bin")
    return f"attachment-{number}{extension}"


def _payload(part) -> bytes:
    try:
        payload = part.get_payload(decode=True)
    except Exception:
        payload = None
    return payload if isinstance(payload, bytes) else b""


def _message_bytes(part) -> bytes:
    """A message/* part as bytes: the email package parsed it into messages (or status blocks)."""
    if part.get_content_type() != "message/rfc822" and isinstance(part.get_payload(), list):
        return b"".join(_message_bytes_of(block) for block in part.get_payload())  # message/delivery-status
    inner = _inner_message(part)
    return _payload(part) if inner is None else _message_bytes_of(inner)


def _message_bytes_of(inner) -> bytes:
    for serialise in (lambda: inner.as_bytes(policy=_AS_RECEIVED), inner.as_bytes):
        try:
            return serialise()
        except Exception:
            continue
    return b""


_GUESSED = {None, *(codecs.lookup(name).name for name in ("ascii", "latin-1", "cp1252", "utf-8"))}


def _text_of(part, defects: list[str]) -> str:
    """A text part in whatever charset it really is. Valid UTF-8 is UTF-8 when a western charset or
    none was declared (clients mislabel it); ISO-8859-1 is read as its superset Windows-1252, as
    browsers do, so "€" and smart quotes survive; an unknown charset gets the same guesses."""
    data, declared = _payload(part), None
    try:
        declared = part.get_content_charset()
        codec = codecs.lookup(email.charset.Charset(declared).input_codec or declared).name if declared else None
    except Exception:
        defects.append(f"UnknownCharset({declared!r})")
        codec = None
    tries = ("utf-8", "cp1252") if codec in _GUESSED else (codec, "utf-8")
    fallback = "cp1252" if codec in (None, "ascii", "iso8859-1") else codec
    for name in tries:
        try:
            text = data.decode(name)
        except UnicodeError:
            continue
        if codec and name != codec and not data.isascii() and (codec, name) != ("iso8859-1", "cp1252"):
            defects.append(f"CharsetMismatch({codec} read as {name})")
        return text
    defects.append(f"CharsetDecodeError({codec})")
    return data.decode(fallback, errors="replace")


def _auto_reason(headers: _Headers, bounce: Bounce | None) -> str | None:
    if bounce is not None:
        return "bounce"
    if headers.text("Auto-Submitted").strip().lower() not in ("", "no"):
        return "auto-submitted"
    if headers.first("X-Autoreply") is not None or headers.first("X-Autorespond") is not None:
        return "x-autoreply"
    if headers.text("Precedence").strip().lower() in _BULK_PRECEDENCE:
        return "precedence"
    if headers.first("List-Id") is not None or headers.first("List-Unsubscribe") is not None:
        return "list"
    return None


def _bounce(msg, leaves, from_name: str, from_address: str | None, headers: _Headers) -> Bounce | None:
    reports = [part for part, _ in leaves
               if part.get_content_type() in ("message/delivery-status", "message/global-delivery-status")]
    if reports:
        return _read_dsn(reports)
    declared_dsn = msg.get_content_type() == "multipart/report" and \
        str(msg.get_param("report-type") or "").lower() == "delivery-status"  # with its status part missing
    return_path = headers.first("Return-Path")
    null_sender = return_path is None or str(return_path).strip() in ("", "<>")
    daemon = (from_address or "").partition("@")[0] in _DAEMONS or bool(_DAEMON_NAME.match(from_name))
    return Bounce((), None, True) if declared_dsn or (daemon and null_sender) else None


def _read_dsn(reports) -> Bounce:
    """RFC 3464 per-recipient fields: which addresses failed, and the status of the first failure."""
    failed, failed_statuses, statuses = [], [], []
    for fields in (block for part in reports for block in _dsn_blocks(part)):
        found = _STATUS.search(fields.get("status") or fields.get("diagnostic-code") or "")
        status = found.group(1) if found else None
        addresses = [value.rpartition(";")[2].strip().strip("<>").lower()
                     for value in (fields.get("original-recipient", ""), fields.get("final-recipient", ""))]
        addresses = [address for address in addresses if "@" in address]
        statuses += [status] if status else []
        if addresses and (fields.get("action", "").lower() == "failed" or (status or "").startswith("5")):
            failed += addresses
            failed_statuses += [status] if status else []
    status = next(iter(failed_statuses + statuses), None)
    permanent = bool(failed) or (status or "5").startswith("5")  # a "delayed" report alone is not final
    return Bounce(tuple(dict.fromkeys(failed)), status, permanent)


def _dsn_blocks(part) -> list[dict[str, str]]:
    payload = part.get_payload()
    if isinstance(payload, list):  # the email package splits message/delivery-status into blocks
        blocks = [list(block.raw_items()) for block in payload if hasattr(block, "raw_items")]
    else:  # encoded or mislabelled: read the text ourselves
        text = _text_of(part, []).replace("\r\n", "\n")
        blocks = [list(email.message_from_string(block.strip() + "\n", policy=policy.compat32).items())
                  for block in re.split(r"\n\s*\n", text)]
    return [{name.lower(): " ".join(str(value).split()) for name, value in block} for block in blocks]
