"""portal.mail.parse against a corpus of real-world shapes (tests/mail/corpus/*.eml), written
the way Gmail, Outlook, Apple Mail, Thunderbird, mutt, Postfix and qmail write them."""

from __future__ import annotations

import ast
import base64
import email
import io
import zipfile
from datetime import datetime
from email import policy
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mailparser_reply.constants import MAIL_LANGUAGES

from portal.mail import parse as parse_module
from portal.mail.parse import Bounce, MessageTooLarge, ParsedMail, parse, strip_reply

CORPUS = Path(__file__).parent / "corpus"
CORPUS_FILES = sorted(CORPUS.glob("*.eml"))
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAEUlEQVR4nGP4z8DA8B+MgBgAHfAD/dPQfSYAAAAASUVORK5CYII=")


def raw(name: str) -> bytes:
    return (CORPUS / f"{name}.eml").read_bytes()


def parsed(name: str) -> ParsedMail:
    return parse(raw(name))


def without_plain_alternative(data: bytes) -> bytes:
    """The same message as an HTML-only client would send it: its text/plain alternative removed."""
    message = email.message_from_bytes(data, policy=policy.default)
    for part in message.walk():
        if part.get_content_type() == "multipart/alternative":
            part.set_payload([sub for sub in part.get_payload() if sub.get_content_type() != "text/plain"])
    return message.as_bytes()


def message(headers: str, body: bytes = b"Hello.\n") -> bytes:
    return headers.strip().encode() + b"\n\n" + body


# --- replies: quoted history and signatures go, the new text stays ---------------------------------

GMAIL_EN_NEW = ("Hi,\n\nI tried the export again with the filter you suggested and it still stops\n"
                "at 30 seconds. The file has about 120,000 rows.\n\nIs there a way to run it in the background?"
                "\n\nAna")


def test_gmail_reply_in_english():
    mail = parsed("gmail_reply_en")
    assert mail.new_text == GMAIL_EN_NEW
    assert "wrote:" in mail.text and "> Could you try the export" in mail.text
    assert mail.message_id == "<CAJx8kQ3mF1+Zp7vYq2Rk9wQ0Lx_5hT2u9cN4e7bYpG3sVd6H8Q@mail.gmail.com>"
    assert mail.in_reply_to == ("<ticket-1042.reply-1@acme-support.com>",)
    assert mail.references == ("<ticket-1042.reply-1@acme-support.com>", "<ticket-1042@acme-support.com>")
    assert (mail.from_address, mail.from_name) == ("ana.garcia@gmail.com", "Ana Garcia")
    assert mail.recipients == ("support@acme-support.com",)  # Delivered-To and To, once
    assert mail.subject == "Re: [#1042] CSV export times out"
    assert mail.date == datetime(2026, 12, 1, 10, 14, 5)  # 11:14:05 +0100, in naive UTC
    assert (mail.from_html, mail.attachments, mail.auto_reason, mail.bounce, mail.defects) == (False, (), None, None, ())


def test_gmail_reply_in_spanish_with_its_real_header():
    mail = parsed("gmail_reply_es")
    assert mail.new_text == ("Hola:\n\nYa he restablecido la contraseña, pero sigo sin poder entrar. El mensaje\n"
                             'de error dice "Cuenta bloqueada".')  # "Un saludo, Lucía" is the signature
    assert "escribió" in mail.text
    assert (mail.from_address, mail.from_name) == ("lucia.fernandez@gmail.com", "Lucía Fernández")
    assert mail.subject == "Re: [#1043] No puedo iniciar sesión"
    assert mail.recipients == ("soporte@acme-support.com", "jorge.ruiz@empresa.es")


def test_outlook_reply_in_english():
    mail = parsed("outlook_reply_en")  # CRLF line ends, as Exchange hands them out
    assert mail.new_text == ("Hi,\n\nThe VAT number on invoice INV-2026-0311 is still DE123456789, it should be "
                             "DE987654321. Can you reissue it?")
    assert "From: Acme Support" in mail.text and "________________________________" in mail.text
    assert (mail.from_address, mail.from_name) == ("john.miller@contoso.com", "Miller, John")
    assert mail.recipients == ("support@acme-support.com", "sarah.lee@contoso.com")
    assert mail.message_id == "<AM9PR07MB72361F4C2B1E8E9D3F1AB2C3E8A12@AM9PR07MB7236.eurprd07.prod.outlook.com>"
    assert mail.from_html is False and mail.attachments == ()


def test_outlook_reply_in_spanish_with_its_logo():
    mail = parsed("outlook_reply_es")
    assert mail.new_text == ("Buenos días:\n\nAdjunto la captura: el error aparece al importar el fichero de "
                             "clientes con más de 500 filas.")
    assert "Enviado el: martes, 1 de diciembre de 2026 18:20" in mail.text
    assert mail.from_name == "María López" and mail.from_address == "maria.lopez@empresa.es"
    # multipart/related with a Content-ID and no Content-Disposition: still inline
    [logo] = mail.attachments
    assert (logo.filename, logo.content_type, logo.inline, logo.content_id, logo.data) == (
        "image001.png", "image/png", True, "image001.png@01DB44A9.9E229310", PNG)


HTML_NEW_TEXT = {
    "gmail_reply_en": ("Hi,\n\nI tried the export again with the filter you suggested and it still stops at 30 seconds."
                       " The file has about 120,000 rows.\n\nIs there a way to run it in the background?\n\nAna"),
    "gmail_reply_es": ("Hola:\n\nYa he restablecido la contraseña, pero sigo sin poder entrar. El mensaje de error "
                       'dice "Cuenta bloqueada".'),
    "outlook_reply_en": ("Hi,\n\nThe VAT number on invoice INV-2026-0311 is still DE123456789, it should be "
                         "DE987654321. Can you reissue it?"),
    "outlook_reply_es": ("Buenos días:\n\nAdjunto la captura: el error aparece al importar el fichero de clientes con "
                         "más de 500 filas."),
}


@pytest.mark.parametrize("name", HTML_NEW_TEXT)
def test_the_html_of_a_reply_loses_its_quote_too(name):
    mail = parse(without_plain_alternative(raw(name)))
    assert mail.from_html is True
    assert mail.new_text == HTML_NEW_TEXT[name]
    quoted = {"gmail_reply_en": "Could you try the export", "gmail_reply_es": "Puedes restablecer",
              "outlook_reply_en": "We have updated the VAT number", "outlook_reply_es": "Nos puede enviar"}[name]
    assert quoted in mail.text


def test_iphone_reply_in_spanish():
    mail = parsed("iphone_reply_es")
    assert mail.new_text == "Perfecto, haced el cambio al plan anual a partir de enero."  # no "Enviado desde mi iPhone"
    assert "> El 2 dic 2026, a las 18:05, Soporte Acme <soporte@acme-support.com> escribió:" in mail.text


@pytest.mark.parametrize("text, expected", [
    ("Sigue fallando.\n\n-----Mensaje original-----\nDe: Soporte <s@x.com>\nEnviado: martes, 1 de diciembre de "
     "2026 10:00\nPara: Ana <ana@example.com>\nAsunto: RE: [#12] Exportación\n\nHola", "Sigue fallando."),
    ("Still failing.\n\n-----Original Message-----\nFrom: Support <s@x.com>\nSent: Tuesday, December 1, 2026 "
     "10:00 AM\nTo: Ana <ana@example.com>\nSubject: RE: [#12] Export\n\nHello", "Still failing."),
    ("Still failing.\n\n-- \nAna García\nACME S.L. | +34 600 000 000", "Still failing."),
    ("Still failing.\n\nSent from my iPhone", "Still failing."),
    ("Sigue fallando.\n\nObtener Outlook para Android", "Sigue fallando."),
    # The customer's own words are not a sign-off, a signature or a quote header:
    ("Thanks, that fixed the export.\nThanks, but now the import fails too.", None),
    ("Steps:\n\n- open Reports\n- click Export\n    - choose CSV", None),
    ("El informe de ayer no llegó y Juan me escribió:\nque lo reenviáis hoy.", None),
    # Inline answers keep the question they answer; the trailing quote goes.
    ("> Which browser?\nFirefox 133.\n> Which plan?\nBusiness.\n\nOn Tue, Dec 1, 2026 at 10:00 AM S <s@x.com> "
     "wrote:\n> Which browser?\n> Which plan?", "> Which browser?\nFirefox 133.\n> Which plan?\nBusiness."),
    # Bottom-posted: the header and quote first, the new text below.
    ("On Tue, Dec 1, 2026 at 10:00 AM S <s@x.com> wrote:\n> Did it work?\n\nYes, it works now.", "Yes, it works now."),
    ("", ""),
])
def test_strip_reply(text, expected):
    assert strip_reply(text) == (text if expected is None else expected)


def test_the_library_table_is_corrected_in_a_copy():
    assert "Thanks," in MAIL_LANGUAGES["en"]["signatures"]  # as the library ships it
    assert r"\s escribió" in MAIL_LANGUAGES["es"]["wrote_header"]
    assert parse_module._LANGUAGES["es"]["wrote_header"] != MAIL_LANGUAGES["es"]["wrote_header"]


# --- HTML-only mail becomes Markdown -----------------------------------------------------------------

def test_html_only_mail_becomes_markdown_without_script_style_or_tracking():
    mail = parsed("html_only")
    assert mail.from_html is True
    assert mail.text == (
        "## Webhook signature mismatch\n\n"
        "Since this morning every webhook we receive fails the signature check. We follow "
        "[the signature guide](https://docs.acme-support.com/webhooks#signatures) exactly.\n\n"
        "- Endpoint: `https://hooks.novak-design.cz/acme`\n"
        "- Header: **X-Acme-Signature**\n\n"
        "Regards,  \nPeter")
    assert mail.new_text == mail.text.split("\n\nRegards,")[0]
    for gone in ("tracking", "xss", "font-family", "(draft)", "steal", "zmail.example.com"):
        assert gone not in mail.text


def test_multipart_related_inline_image():
    mail = parsed("related_inline_image")
    assert mail.text == ("Hi,\n\nThe revenue chart on the dashboard is empty since the update, see the\n"
                         "screenshot.\n\nLukas")  # text/plain preferred
    assert mail.from_html is False
    [image] = mail.attachments  # the HTML alternative is the body, not an attachment
    assert (image.filename, image.content_type, image.inline, image.content_id, image.data) == (
        "Screenshot 2026-12-03 at 18.04.12.png", "image/png", True, "8B2F4A11-3C5D-4E6F-A7B8-C9D0E1F2A3B4", PNG)

    html = parse(without_plain_alternative(raw("related_inline_image")))
    assert html.text == ("Hi,\n\nThe revenue chart on the **dashboard** is empty since the update, see the "
                         "screenshot.\n\nLukas")  # the cid: image is dropped, it is the attachment
    assert [a.filename for a in html.attachments] == ["Screenshot 2026-12-03 at 18.04.12.png"]


# --- charsets and encoded words ---------------------------------------------------------------------

def test_iso_8859_1_body():
    mail = parsed("iso_8859_1")
    assert mail.text == ("Hola,\n\n¿Podéis enviarme de nuevo las facturas del Año 2025? No encuentro la de \n"
                         "diciembre, y la de noviembre dice «pendiente».\n\nGracias,\nJosé")
    assert (mail.from_name, mail.subject) == ("José Muñoz", "Facturas del año pasado")
    assert mail.defects == ()


def test_windows_1252_body_with_euro_and_smart_quotes():
    mail = parsed("windows_1252")
    assert mail.text.splitlines()[2] == (
        "the invoice says “Premium plan – 49 €/month” but we’re on Basic (19 €). Could you correct it?")


@pytest.mark.parametrize("charset, body, defect", [
    ("iso-8859-1", "Año 49 € “ok”".encode("cp1252"), None),  # Windows-1252 sent as Latin-1: the common lie
    ("us-ascii", "Año 49 € “ok”".encode("utf-8"), "CharsetMismatch(ascii read as utf-8)"),
    ("utf-8", "Año 49 € “ok”".encode("cp1252"), "CharsetMismatch(utf-8 read as cp1252)"),
    ("x-mac-klingon", "Año 49 € “ok”".encode("utf-8"), "UnknownCharset('x-mac-klingon')"),
    ("x-mac-klingon", "Año 49 € “ok”".encode("cp1252"), "UnknownCharset('x-mac-klingon')"),
])
def test_wrong_and_unknown_charsets_still_decode(charset, body, defect):
    mail = parse(message(f"From: a@example.com\nContent-Type: text/plain; charset={charset}", body))
    assert mail.text == "Año 49 € “ok”"
    assert mail.defects == ((defect,) if defect else ())


def test_undecodable_bytes_are_replaced():
    mail = parse(message("From: a@example.com\nContent-Type: text/plain; charset=utf-8", b"caf\xc3 \x81\x8d"))
    assert mail.text == "caf\ufffd \ufffd\ufffd"
    assert mail.defects == ("CharsetDecodeError(utf-8)",)


def test_encoded_word_subject_split_over_two_lines():
    mail = parsed("encoded_subject")
    assert mail.subject == "[Ticket] La factura de noviembre – ¿error de cálculo? 😕"
    assert mail.from_name == "Marco Rossi (Studio Rossi & Figli)"


def test_latin_1_encoded_words_and_folding_collapse_to_one_line():
    mail = parse(message("From: a@example.com\nSubject: =?iso-8859-1?Q?Re:_Factura_del_a=F1o?=\n"
                         " =?iso-8859-1?Q?_pasado?=\n\t(urgente)"))
    assert mail.subject == "Re: Factura del año pasado (urgente)"


def test_raw_8bit_headers_are_read_as_utf8_or_windows_1252():
    mail = parse(b"From: Jos\xe9 Mu\xf1oz <jose@example.com>\nSubject: A\xc3\xb1o\n\nHola\n")
    assert (mail.from_name, mail.subject) == ("José Muñoz", "Año")


# --- forwards: what was forwarded is the content --------------------------------------------------

def test_inline_forward_keeps_the_forwarded_message():
    mail = parsed("forward_inline")
    assert mail.forwarded is True
    assert mail.new_text == mail.text
    assert mail.text.startswith("Can you check why this payment failed? The card is valid.\n\n"
                                "---------- Forwarded message ---------\nFrom: Acme Billing <billing@acme-support.com>")
    assert mail.text.endswith("We could not charge your card ending in 4242 for order 88231.\n\nThanks,\nAcme Billing")

    html = parse(without_plain_alternative(raw("forward_inline")))  # Gmail puts it in a gmail_quote div
    assert html.forwarded is True and html.new_text == html.text
    assert "We could not charge your card ending in 4242 for order 88231." in html.new_text


@pytest.mark.parametrize("subject, forwarded", [("FW: Invoice 311", True), ("RV: Factura 311", True),
                                                ("RE: FW: Invoice 311", False)])
def test_outlook_forwards_are_known_by_their_subject(subject, forwarded):
    body = (b"Please look at the mail below.\n\n________________________________\nFrom: Billing <b@contoso.com>\n"
            b"Sent: Tuesday, December 1, 2026 10:00 AM\nTo: John <j@contoso.com>\nSubject: Invoice 311\n\n"
            b"The invoice is attached.")
    mail = parse(message(f"From: j@contoso.com\nSubject: {subject}", body))
    assert mail.forwarded is forwarded
    assert mail.new_text == (mail.text if forwarded else "Please look at the mail below.")


@pytest.mark.parametrize("marker", ["Begin forwarded message:", "Inicio del mensaje reenviado:",
                                    "-------- Forwarded Message --------", "---------- Mensaje reenviado ---------"])
def test_forward_markers_of_apple_mail_and_thunderbird(marker):
    text = f"Mira esto.\n\n{marker}\n\nFrom: Billing <b@x.com>\nDate: 1 Dec 2026\nSubject: Factura\nTo: a@x.com\n\nHola"
    assert strip_reply(text) == text


def test_a_forward_deep_in_quoted_history_is_no_forward():
    text = ("Thanks, it works.\n\nOn Tue, Dec 1, 2026 at 10:00 AM S <s@x.com> wrote:\n"
            "> ---------- Forwarded message ---------\n> From: Billing <b@x.com>\n> old")
    assert strip_reply(text) == "Thanks, it works."


def test_attached_forward_becomes_text_and_an_eml_attachment():
    mail = parsed("forward_attached")
    forwarded = ("---------- Forwarded message ---------\nFrom: Acme <noreply@acme-support.com>\n"
                 "Date: Thu, 03 Dec 2026 22:15:03 +0000\nSubject: Your API key was rotated\nTo: marek@kowalski.pl\n\n"
                 'Hello Marek,\n\nThe API key "production" of your organisation was rotated at 22:15 UTC.\n\n— Acme')
    assert mail.text == "We did not rotate our key. Who did this?\n\n-- \nMarek Kowalski\n\n" + forwarded
    assert mail.new_text == "We did not rotate our key. Who did this?\n\n" + forwarded  # the note's signature goes
    assert mail.forwarded is True
    [eml] = mail.attachments
    assert (eml.filename, eml.content_type) == ("forwarded.eml", "message/rfc822")
    again = email.message_from_bytes(eml.data, policy=policy.default)
    assert again["Message-ID"] == "<apikey-rotated.1764800103@acme-support.com>"
    assert again.get_content().endswith("— Acme\n")


# --- senders ------------------------------------------------------------------------------------------

def test_no_from():
    mail = parsed("no_from")
    assert (mail.from_address, mail.from_name) == (None, "")
    assert mail.text == "Sync finished: 1204 records, 0 errors."
    assert mail.auto_reason is None


@pytest.mark.parametrize("header", ["From: undisclosed-recipients:;", "From: <>", "From:", "From: not an address",
                                    'From: "Ana" <ana@>', "From: =?utf-8?q?=FF?= <@example.com>"])
def test_an_unusable_from_gives_no_address(header):
    mail = parse(message(f"{header}\nSubject: hi"))
    assert (mail.from_address, mail.from_name) == (None, "")


def test_reply_to_and_every_recipient_header():
    mail = parse(message("From: a@example.com\nReply-To: Team <Team@Example.com>\nTo: x@example.com, Y@example.com\n"
                         "Cc: x@example.com\nDelivered-To: support@acme-support.com\nDelivered-To: x@example.com\n"
                         "X-Original-To: help@acme-support.com\nEnvelope-To: inbox@acme-support.com"))
    assert mail.reply_to == "team@example.com"
    assert mail.recipients == ("x@example.com", "y@example.com", "support@acme-support.com",
                               "help@acme-support.com", "inbox@acme-support.com")


@pytest.mark.parametrize("header, expected", [
    ("Message-ID: <abc@host>", "<abc@host>"),
    ("Message-ID:   <abc@host>  ", "<abc@host>"),
    ("Message-ID: abc@host", "<abc@host>"),
    ("Message-ID: <<>>", None),
    ("Message-ID:", None),
    ("Subject: none", None),
])
def test_message_id_is_normalised(header, expected):
    assert parse(message(f"From: a@example.com\n{header}")).message_id == expected


@pytest.mark.parametrize("header, expected", [
    ("Date: Tue, 1 Dec 2026 11:14:05 +0100", datetime(2026, 12, 1, 10, 14, 5)),
    ("Date: 4 Dec 2026 11:20:01 -0000", datetime(2026, 12, 4, 11, 20, 1)),
    ("Date: yesterday", None),
    ("Date: Tue, 1 Dec 99999 11:14:05 +0100", None),
    ("Subject: none", None),
])
def test_date_is_naive_utc(header, expected):
    assert parse(message(f"From: a@example.com\n{header}")).date == expected


# --- machine mail ---------------------------------------------------------------------------------------

def test_out_of_office_auto_reply():
    mail = parsed("out_of_office")
    assert mail.auto_reason == "auto-submitted"
    assert mail.bounce is None  # a null Return-Path alone is no bounce: vacation replies use it too
    assert mail.in_reply_to == ("<ticket-1042.reply-2@acme-support.com>",)


def test_bulk_newsletter():
    mail = parsed("newsletter_bulk")
    assert mail.auto_reason == "precedence"
    assert mail.reply_to == "partners@example.net"
    assert parse(raw("newsletter_bulk").replace(b"Precedence: bulk\n", b"")).auto_reason == "list"


@pytest.mark.parametrize("header, reason", [
    ("Auto-Submitted: auto-replied", "auto-submitted"),  # forged or not: the caller decides what to do
    ("Auto-Submitted: auto-generated; owner-email=it@example.com", "auto-submitted"),
    ("Auto-Submitted: no", None),
    ("Auto-Submitted: No", None),
    ("X-Autoreply: yes", "x-autoreply"),
    ("X-Autorespond: Out of office", "x-autoreply"),
    ("Precedence: junk", "precedence"),
    ("Precedence: list", "precedence"),
    ("Precedence: auto_reply", "precedence"),
    ("Precedence: first-class", None),
    ("List-Id: Customers <customers.lists.example.com>", "list"),
    ("List-Unsubscribe: <https://example.com/u>", "list"),
    ("X-Mailer: Thunderbird", None),
])
def test_auto_reason(header, reason):
    assert parse(message(f"From: Ana <ana@example.com>\n{header}")).auto_reason == reason


def test_dsn_bounce():
    mail = parsed("dsn_bounce")
    assert mail.bounce == Bounce(("ana@example.com",), "5.1.1", True)
    assert mail.auto_reason == "bounce"
    assert mail.from_address == "mailer-daemon@mail.acme-support.com"
    assert mail.text.startswith("This is the mail system at host mail.acme-support.com.")
    assert "Could you try the export" not in mail.text  # the returned mail is an attachment, not the text
    assert [(a.filename, a.content_type) for a in mail.attachments] == [
        ("attachment-1.txt", "message/delivery-status"), ("forwarded.eml", "message/rfc822")]
    assert b"Final-Recipient: rfc822; Ana@Example.com" in mail.attachments[0].data


def test_a_delayed_dsn_is_not_permanent():
    delayed = raw("dsn_bounce").replace(b"Action: failed", b"Action: delayed").replace(b"5.1.1", b"4.4.7")
    assert parse(delayed).bounce == Bounce((), "4.4.7", False)


def test_classic_mailer_daemon_bounce():
    mail = parsed("mailer_daemon_classic")
    assert mail.bounce == Bounce((), None, True)
    assert mail.auto_reason == "bounce"
    assert mail.date == datetime(2026, 12, 4, 11, 20, 1)


def test_mail_delivery_subsystem_by_name():
    mail = parse(message("Return-Path: <>\nFrom: Mail Delivery Subsystem <mailer-daemon@googlemail.com>\n"
                         "Subject: Delivery Status Notification (Failure)"))
    assert mail.bounce == Bounce((), None, True)
    # a person answering from a postmaster mailbox sends with a real envelope sender
    assert parse(message("Return-Path: <postmaster@example.com>\nFrom: postmaster@example.com")).bounce is None


# --- broken mail -------------------------------------------------------------------------------------------

def test_malformed_mime():
    mail = parsed("malformed")
    assert (mail.from_address, mail.from_name) == ("noreply@legacy-erp.example.com", "Legacy ERP")  # the first From
    assert mail.subject == "Order export 2026-12-04"  # the first Subject
    assert mail.date is None
    assert mail.text == "Attached is the order export for 4 December."
    assert [(a.filename, a.content_type) for a in mail.attachments] == [
        ("orders.pdf", "application/pdf"), ("orders.csv", "text/csv")]
    assert mail.attachments[1].data == b"order,total\n88231,49.00"  # before the boundary that never closes
    for defect in ("DuplicateHeader(From)", "DuplicateHeader(Subject)", "CloseBoundaryNotFoundDefect",
                   "InvalidDateDefect"):
        assert defect in mail.defects
    assert any(defect.startswith("InvalidBase64") for defect in mail.defects)


def test_multipart_without_boundary_is_read_as_text():
    mail = parse(message("From: a@example.com\nContent-Type: multipart/mixed", b"Just text.\n"))
    assert mail.text == "Just text."
    assert "NoBoundaryInMultipartDefect" in mail.defects


# --- attachments ----------------------------------------------------------------------------------------------

def test_pdf_and_zip_with_rfc2231_names():
    mail = parsed("attachments_rfc2231")
    pdf, archive = mail.attachments
    assert (pdf.filename, pdf.content_type, pdf.inline, pdf.content_id) == (
        "informe año.pdf", "application/pdf", False, None)
    assert pdf.data.startswith(b"%PDF-1.4\n") and pdf.data.endswith(b"%%EOF\n") and len(pdf.data) == 125
    assert (archive.filename, archive.content_type) == ("registros del servidor de diciembre – año 2026.zip",
                                                        "application/zip")
    assert zipfile.ZipFile(io.BytesIO(archive.data)).read("server.log") == b"2026-12-01 10:00:00 ERROR import failed\n"
    assert mail.new_text == "Hola,\n\nOs adjunto el informe anual y los registros del servidor."


@pytest.mark.parametrize("disposition, expected", [
    ('attachment; filename="=?UTF-8?Q?informe_a=C3=B1o.pdf?="', "informe año.pdf"),  # Gmail, Outlook
    ('attachment; filename="../../etc/passwd"', "passwd"),
    ('attachment; filename="/tmp/factura.pdf"', "factura.pdf"),
    ("attachment", "attachment-1.pdf"),
])
def test_attachment_names(disposition, expected):
    mail = parse(message(
        'From: a@example.com\nContent-Type: multipart/mixed; boundary="b"',
        f"--b\nContent-Type: text/plain\n\nSee attached.\n--b\nContent-Type: application/pdf\n"
        f"Content-Disposition: {disposition}\nContent-Transfer-Encoding: base64\n\nJVBERi0xLjQK\n--b--\n".encode()))
    [attachment] = mail.attachments
    assert (attachment.filename, attachment.data) == (expected, b"%PDF-1.4\n")


# --- limits and robustness ------------------------------------------------------------------------------------

def test_a_message_over_the_limit_is_refused_before_parsing():
    fifty_mb = b"From: a@example.com\n\n" + b"x" * (50 * 1024 * 1024)
    with pytest.raises(MessageTooLarge) as refused:
        parse(fifty_mb, max_bytes=10 * 1024 * 1024)
    assert (refused.value.size, refused.value.limit) == (len(fifty_mb), 10 * 1024 * 1024)
    small = message("From: a@example.com")
    assert parse(small, max_bytes=len(small)).from_address == "a@example.com"


def test_parse_has_no_flask():
    tree = ast.parse(Path(parse_module.__file__).read_text())
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module or "." for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert not [name for name in imported if name.split(".")[0] == "flask"]


def check_never_raises(data: bytes) -> None:
    mail = parse(data)
    assert isinstance(mail, ParsedMail)
    for text in (mail.text, mail.new_text, mail.subject, mail.from_name, *(a.filename for a in mail.attachments)):
        text.encode("utf-8")  # no lone surrogates left for the database to choke on
    assert bool(mail.new_text) == bool(mail.text)
    assert not any(defect.startswith("UnparsableMessage") for defect in mail.defects)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_never_raise(data):
    check_never_raises(data)


@st.composite
def mutated_corpus(draw):
    data = bytearray(draw(st.sampled_from(CORPUS_FILES)).read_bytes())
    for _ in range(draw(st.integers(1, 12))):
        at = draw(st.integers(0, len(data)))
        action = draw(st.sampled_from(["cut", "insert", "copy"]))
        if action == "cut":
            del data[at:at + draw(st.integers(1, 40))]
        elif action == "insert":
            data[at:at] = draw(st.sampled_from([b"=?", b"?=", b"\n--", b"\n\n", b";", b"<", b">", b"\r\n ", b"=?utf-8?b?",
                                                b'boundary="', b"charset=", b"*0*=", b"\xff\xfe\xc3", b"\x00",
                                                b"Content-Type: message/rfc822\n\n"])) + draw(st.binary(max_size=8))
        else:
            start = draw(st.integers(0, len(data)))
            data[at:at] = data[start:start + draw(st.integers(1, 300))]
    return bytes(data)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(mutated_corpus())
def test_mutated_corpus_files_never_raise(data):
    check_never_raises(data)


@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda path: path.stem)
def test_every_corpus_file_parses_cleanly(path):
    check_never_raises(path.read_bytes())
