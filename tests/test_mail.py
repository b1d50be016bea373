"""The texts of every email (portal/mail.py) in both languages, and the MIME message they become
(elp_tui/mailer.py): a header never carries what a value smuggles in."""

from __future__ import annotations

import string

import pytest

from elp_tui.config import ConfigError
from elp_tui.mailer import build_message, folded, sender_address
from elp_tui.portal import mail
from elp_tui.portal.outbox import DeliveryError

LICENSE = {"activation_id": "ABCD-EFGH-JKMN-PQRS", "product": "Quillstone Animate", "type": "floating", "computers": 3,
           "start": "2026-11-23", "expires_on": "2027-01-23", "assignee": "ana@lumenfox.studio"}
BUILDS = [{"version": "25.2", "released": "2026-10-01", "downloads": {"linux": "https://dl.example/25.2/linux"}}]
REQUEST = {"id": 7, "kind": "seats", "product": "Frameloop", "amount": 5, "actor": "admin@lumenfox.studio",
           "on": "2026-11-23", "target": "SP-0001", "state": "declined", "granted": None, "granted_target": None,
           "reason": "no budget"}
ORG = dict(org_id="lumenfox-studios", org="Lumenfox Studios")


def every_message(lang: str) -> list[mail.Message]:
    return [
        mail.invitation(lang, **ORG, inviter="admin@lumenfox.studio", to="ana@lumenfox.studio", role="regular",
                        reason="team", about="Story", ssh="ssh elp@licenses.lumenfox.studio",
                        code="K7QM-22XA-PQRS", code_expires="2026-12-03"),
        *[mail.license_notice(lang, **ORG, to="ana@lumenfox.studio", event=e, licenses=[LICENSE], builds=BUILDS,
                              by="admin@lumenfox.studio") for e in ("assigned", "reassigned", "renewed", "returned")],
        mail.team_joined(lang, **ORG, to="ana@lumenfox.studio", inviter="admin@lumenfox.studio", team="Story", product="Frameloop"),
        mail.vendor_request(lang, **ORG, to="desk@quillstone.example.com", request={**REQUEST, "state": "requested"}),
        mail.request_answer(lang, **ORG, to="admin@lumenfox.studio", request=REQUEST),
        mail.request_answer(lang, **ORG, to="admin@lumenfox.studio",
                            request={**REQUEST, "state": "granted", "granted": 5, "granted_target": "SP-0001", "reason": None}),
        mail.credits_expiring(lang, **ORG, to="admin@lumenfox.studio",
                              bank={"id": "BK-0001", "product": "Quillstone Animate", "remaining": 40, "expires_on": "2026-12-01"}, days=7),
        mail.license_expiring(lang, **ORG, to="ana@lumenfox.studio", license=LICENSE, days=30),
        mail.license_expiring(lang, **ORG, to="admin@lumenfox.studio", license=LICENSE, days=30),
    ]


def placeholders(text: str) -> set[str]:
    return {name for _lit, name, _spec, _conv in string.Formatter().parse(text) if name}


def test_both_languages_have_every_text_with_the_same_placeholders():
    assert set(mail.TEXTS["en"]) == set(mail.TEXTS["fr"])
    for key, english in mail.TEXTS["en"].items():
        assert placeholders(english) == placeholders(mail.TEXTS["fr"][key]), key


def test_french_messages_are_french_through_and_through():
    for en, fr in zip(every_message("en"), every_message("fr")):
        assert (en.language, fr.language) == ("en", "fr")
        assert en.subject != fr.subject and en.body != fr.body
        assert en.body.startswith("Hello,") and fr.body.startswith("Bonjour,")
        for english_only in ("Hello", "license(s) assigned", "Your request", "will be lost", "invited you", " of Lumenfox"):
            assert english_only not in fr.subject + fr.body, (english_only, fr.kind)
        assert (en.key, en.to, en.kind) == (fr.key, fr.to, fr.kind)  # what it is, whatever the language


def test_every_message_says_what_it_is_about():
    invitation, assigned, reassigned, renewed, returned, team, request, declined, granted, credits, user, admin = every_message("en")
    assert "admin@lumenfox.studio invited you to join Lumenfox Studios" in invitation.body
    assert "You are invited to join team Story." in invitation.body
    assert "\n    K7QM-22XA-PQRS\n" in invitation.body and "valid until 2026-12-03" in invitation.body
    assert "\n    ssh elp@licenses.lumenfox.studio\n" in invitation.body and "--as" not in invitation.body
    for notice in (assigned, reassigned, renewed):
        assert "Activation ID: ABCD-EFGH-JKMN-PQRS" in notice.body and "Type: floating" in notice.body
        assert "Computers: 3" in notice.body and "Valid from 2026-11-23 until 2027-01-23" in notice.body
        assert "linux: https://dl.example/25.2/linux" in notice.body
    assert "https://" not in returned.body and "no longer assigned to you" in returned.body
    assert request.subject == "Request #7: 5 seats of Frameloop for Lumenfox Studios"
    assert "Asked by: admin@lumenfox.studio" in request.body and "seat pool SP-0001" in request.body
    assert declined.subject == "Request #7 declined: Frameloop" and "Reason given: no budget" in declined.body
    assert granted.subject == "Request #7 granted: 5 seats of Frameloop"
    assert credits.key == "credits-expiring:BK-0001:2026-12-01:7:admin@lumenfox.studio" and "in 7 days" in credits.body
    assert user.subject.startswith("Your ") and "of ana@lumenfox.studio" in admin.subject
    assert user.key != admin.key


def test_an_unknown_language_falls_back_to_english():
    [message] = every_message("de")[:1]
    assert message.language == "en" and message.body.startswith("Hello,")


# -- the MIME message -----------------------------------------------------------------------
def doc(**fields) -> dict:
    base = {"id": 3, "to": "ana@lumenfox.studio", "subject": "Hi", "body": "Line one\nLine two\n",
            "message_id": "<elp.3.abc@lumenfox.studio>"}
    return {**base, **fields}


def test_the_mime_message_has_every_header_and_keeps_its_message_id():
    msg = build_message(doc(), "ELP <elp@lumenfox.studio>")
    raw = msg.as_bytes()
    assert msg["From"] == "ELP <elp@lumenfox.studio>" and msg["To"] == "ana@lumenfox.studio"
    assert msg["Message-ID"] == "<elp.3.abc@lumenfox.studio>" and msg["Date"] and msg["Subject"] == "Hi"
    assert b"\r\n\r\nLine one\r\nLine two\r\n" in raw and msg.get_content_type() == "text/plain"
    assert build_message(doc(), "elp@x.example")["Message-ID"] == msg["Message-ID"]  # stable across attempts
    assert build_message(doc(message_id="<a>\r\nBcc: x@y>"), "elp@x.example")["Message-ID"] == "<elp.3@elp.invalid>"


@pytest.mark.parametrize("to", ["a@b.example\r\nBcc: c@d.example", "a@b.example\n", "a@b.example,c@d.example",
                                "A <a@b.example>", "a@b.example\x00", "a@b.example\u2029", "a@b.example\u200b",
                                " a@b.example", "", "nobody"])
def test_a_recipient_that_is_not_one_plain_address_is_refused(to):
    with pytest.raises(DeliveryError) as info:
        build_message(doc(to=to), "elp@x.example")
    assert info.value.permanent


def test_control_characters_in_a_subject_fold_into_spaces():
    assert folded("Hi\r\nBcc: x@y\u2028z\x1b[31m\tend") == "Hi Bcc: x@y z [31m end"
    msg = build_message(doc(subject="A\r\nBcc: evil@x.example"), "elp@x.example")
    assert msg["Subject"] == "A Bcc: evil@x.example" and msg["Bcc"] is None


@pytest.mark.parametrize("mail_from", ["", "not an address", "ELP <elp@x.example>\r\nBcc: y@z.example", "a@b\x00"])
def test_a_bad_mail_from_is_a_configuration_error(mail_from):
    with pytest.raises(ConfigError, match="ELP_MAIL_FROM"):
        sender_address(mail_from)


def test_non_ascii_names_are_encoded_not_raw():
    msg = build_message(doc(subject="Licence attribuée à Zoé"), "Équipe ELP <elp@x.example>")
    raw = msg.as_bytes()
    assert b"=?utf-8?" in raw.split(b"\r\n\r\n")[0]
    assert "Licence attribuée à Zoé" == str(msg["Subject"])
