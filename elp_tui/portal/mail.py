"""The texts of every email ELP sends, built as `Message`s the portal queues in the outbox in the
same transaction as the change that causes them (PortalBase._queue).

Each builder takes the organization's language ("en" or "fr": `Organization.language`, set by
`elp org language`) and every value the text shows. The texts of both languages live here, in
`TEXTS`, not in the app's gettext catalog: an email is written in the language of the
organization that receives it, whatever language the admin's own terminal speaks, and the two
must never mix in one message (tests/test_mail.py checks both have the same texts with the same
placeholders).

Values are data (names, emails typed by users) and are never trusted in a header: the delivery
(elp_tui/mailer.py) refuses a recipient and folds a subject holding a line break or any other
control character.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

LANGUAGES = ("en", "fr")


class Message(BaseModel):
    kind: str
    to: str
    subject: str
    body: str
    organization: str | None = None  # whose Outbox page shows it (None: the vendor's side)
    language: str = "en"
    key: str | None = None  # set for a message sent at most once (a reminder)
    enrol: str | None = None  # an invitation whose enrolment code for this address is written in when sent


# -- the texts --------------------------------------------------------------------------------
# One entry per text; every language has the same keys and the same {placeholders}.
TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "greeting": "Hello,",
        "signature": "-- \nEnterprise License Portal (ELP) of {org}\nThis message was sent automatically; reply to your organization's admins.",
        # invitation
        "invitation.subject": "{inviter} invited you to {org} on the Enterprise License Portal",
        "invitation.intro": "{inviter} invited you to join {org} on the Enterprise License Portal (ELP) as {role}.",
        "invitation.why.licenses": "You are invited to receive {about} licenses.",
        "invitation.why.license": "You are invited to receive license {about}.",
        "invitation.why.team": "You are invited to join team {about}.",
        "invitation.why.other": "Reason: {about}.",
        "invitation.how.ssh": "How to sign in: ELP is reached over SSH and your SSH key becomes your identity, with no password. From your own computer, connect with your key (no key yet? make one with: ssh-keygen -t ed25519):",
        "invitation.how.nossh": "How to sign in: ELP is reached over SSH and your SSH key becomes your identity, with no password. Ask your admin for the address of the ELP server and connect to it with your key (no key yet? make one with: ssh-keygen -t ed25519).",
        "invitation.code": "ELP then asks for your email address ({to}) and this one-time enrolment code, valid until {expires}:",
        "invitation.code.unneeded": "(no code needed any more: your account is already active)",
        "invitation.code.after": "The code works once: after it, your key signs you in. If it expires, or too many wrong codes lock it, ask your admin to send a new invitation.",
        "role.admin": "an admin",
        "role.regular": "a member",
        # license notices
        "license.subject.assigned": "{product}: {n} license(s) assigned to you",
        "license.subject.reassigned": "{product}: license {id} assigned to you",
        "license.subject.renewed": "{product}: license {id} renewed until {expires_on}",
        "license.subject.returned": "{product}: license {id} returned",
        "license.intro.assigned": "{by} assigned you {n} {product} license(s) in {org}.",
        "license.intro.reassigned": "{by} assigned you a {product} license of {org}.",
        "license.intro.renewed": "{by} renewed your {product} license in {org}.",
        "license.intro.returned": "Your {product} license of {org} was returned: it is no longer assigned to you and your computers can no longer use it.",
        "license.someone": "An admin",
        "license.row": "Activation ID: {id}\n  Type: {type}\n  Computers: {computers}\n  Valid from {start} until {expires_on} (no longer valid on that day)",
        "license.downloads": "Downloads of the builds your organization allows:",
        "license.build": "{product} {version} (released {released}):",
        "license.link": "  {os}: {url}",
        "license.no_builds": "Your organization allows no build of {product} to download yet: ask an admin.",
        "license.mine": "'elp licenses mine' (or My Licenses in the app) shows your licenses at any time.",
        "type.node-lock": "node-lock",
        "type.multiseat": "multiseat",
        "type.floating": "floating",
        # teams
        "team.subject": "You joined team {team} ({product})",
        "team.body": "{inviter} added you to team {team} of {org}: you hold a {product} seat.",
        # requests to the vendor
        "request.subject.credits": "Request #{id}: {amount} credits of {product} for {org}",
        "request.subject.seats": "Request #{id}: {amount} seats of {product} for {org}",
        "request.body.credits": "{actor} of {org} asks for {amount} more monthly term credits of {product}, for bank {target}.",
        "request.body.seats": "{actor} of {org} asks for {amount} more seats of {product}, for seat pool {target}.",
        "request.details": "Organization: {org} ({org_id})\nProduct: {product}\nAmount: {amount}\nAsked by: {actor}\nOn: {on}\nRequest: #{id}",
        "request.answer_how": "Answer it with 'elp vendor grant {id}' or 'elp vendor decline {id} --reason TEXT'.",
        # answers to the admins
        "answer.subject.granted": "Request #{id} granted: {granted} {unit} of {product}",
        "answer.subject.declined": "Request #{id} declined: {product}",
        "answer.body.granted": "The vendor granted your request #{id} ({amount} {unit} of {product}, asked by {actor} on {on}): {granted} {unit} were added to {target}.",
        "answer.body.declined": "The vendor declined your request #{id} ({amount} {unit} of {product}, asked by {actor} on {on}).",
        "answer.reason": "Reason given: {reason}",
        "unit.credits": "credits",
        "unit.seats": "seats",
        # reminders
        "credits.subject": "{remaining} credits of {product} will be lost on {expires_on}",
        "credits.body": "Bank {bank} of {org} ({product}) expires on {expires_on}, in {days} days. Its {remaining} unused credits are lost on that day: use them before then (generate or renew licenses), or ask the vendor to extend the bank.",
        "expiring.subject": "Your {product} license {id} expires on {expires_on}",
        "expiring.subject.admin": "{product} license {id} of {assignee} expires on {expires_on}",
        "expiring.body": "License {id} ({product}, {type}, {computers} computer(s)) of {org} expires on {expires_on}, in {days} days.",
        "expiring.user": "Ask an admin of {org} to renew it if you still need it.",
        "expiring.admin": "It is assigned to {assignee}. Renew it with 'elp licenses renew {id} --months N' or on the Licenses page.",
        "expiring.nobody": "nobody",
        "digest.subject": "{n} license(s) of {org} reach their expiry reminder",
        "digest.body": "These licenses of {org} are {days} days or less from their expiry today (their users are reminded too):",
        "digest.row": "{id}  {product}  {assignee}  expires on {expires_on} (in {left} days)",
        "digest.more": "... and {n} more: 'elp licenses list' shows them all.",
        "digest.how": "Renew one with 'elp licenses renew ID --months N' or on the Licenses page.",
    },
    "fr": {
        "greeting": "Bonjour,",
        "signature": "-- \nPortail de licences entreprise (ELP) de {org}\nCe message est envoyé automatiquement ; répondez aux administrateurs de votre organisation.",
        "invitation.subject": "{inviter} vous invite à rejoindre {org} sur le portail de licences entreprise",
        "invitation.intro": "{inviter} vous invite à rejoindre {org} sur le portail de licences entreprise (ELP) en tant que {role}.",
        "invitation.why.licenses": "Vous êtes invité à recevoir des licences {about}.",
        "invitation.why.license": "Vous êtes invité à recevoir la licence {about}.",
        "invitation.why.team": "Vous êtes invité à rejoindre l'équipe {about}.",
        "invitation.why.other": "Motif : {about}.",
        "invitation.how.ssh": "Pour vous connecter : ELP s'utilise par SSH et votre clé SSH devient votre identité, sans mot de passe. Depuis votre ordinateur, connectez-vous avec votre clé (pas encore de clé ? créez-en une avec : ssh-keygen -t ed25519) :",
        "invitation.how.nossh": "Pour vous connecter : ELP s'utilise par SSH et votre clé SSH devient votre identité, sans mot de passe. Demandez à votre administrateur l'adresse du serveur ELP et connectez-vous-y avec votre clé (pas encore de clé ? créez-en une avec : ssh-keygen -t ed25519).",
        "invitation.code": "ELP vous demande alors votre adresse e-mail ({to}) et ce code d'inscription à usage unique, valable jusqu'au {expires} :",
        "invitation.code.unneeded": "(plus besoin de code : votre compte est déjà actif)",
        "invitation.code.after": "Le code ne sert qu'une fois : ensuite, votre clé vous identifie. S'il expire, ou si trop de codes erronés le bloquent, demandez à votre administrateur une nouvelle invitation.",
        "role.admin": "administrateur",
        "role.regular": "membre",
        "license.subject.assigned": "{product} : {n} licence(s) vous sont attribuées",
        "license.subject.reassigned": "{product} : la licence {id} vous est attribuée",
        "license.subject.renewed": "{product} : licence {id} renouvelée jusqu'au {expires_on}",
        "license.subject.returned": "{product} : licence {id} restituée",
        "license.intro.assigned": "{by} vous a attribué {n} licence(s) {product} dans {org}.",
        "license.intro.reassigned": "{by} vous a attribué une licence {product} de {org}.",
        "license.intro.renewed": "{by} a renouvelé votre licence {product} dans {org}.",
        "license.intro.returned": "Votre licence {product} de {org} a été restituée : elle ne vous est plus attribuée et vos ordinateurs ne peuvent plus l'utiliser.",
        "license.someone": "Un administrateur",
        "license.row": "ID d'activation : {id}\n  Type : {type}\n  Ordinateurs : {computers}\n  Valable du {start} au {expires_on} (plus valable ce jour-là)",
        "license.downloads": "Téléchargements des versions autorisées par votre organisation :",
        "license.build": "{product} {version} (sortie le {released}) :",
        "license.link": "  {os} : {url}",
        "license.no_builds": "Votre organisation n'autorise encore aucune version de {product} au téléchargement : demandez à un administrateur.",
        "license.mine": "'elp licenses mine' (ou Mes licences dans l'application) montre vos licences à tout moment.",
        "type.node-lock": "poste fixe",
        "type.multiseat": "multiposte",
        "type.floating": "flottante",
        "team.subject": "Vous avez rejoint l'équipe {team} ({product})",
        "team.body": "{inviter} vous a ajouté à l'équipe {team} de {org} : vous occupez un siège {product}.",
        "request.subject.credits": "Demande n° {id} : {amount} crédits {product} pour {org}",
        "request.subject.seats": "Demande n° {id} : {amount} sièges {product} pour {org}",
        "request.body.credits": "{actor} de {org} demande {amount} crédits mensuels supplémentaires de {product}, pour la banque {target}.",
        "request.body.seats": "{actor} de {org} demande {amount} sièges supplémentaires de {product}, pour le pool de sièges {target}.",
        "request.details": "Organisation : {org} ({org_id})\nProduit : {product}\nQuantité : {amount}\nDemandé par : {actor}\nLe : {on}\nDemande : n° {id}",
        "request.answer_how": "Répondez avec 'elp vendor grant {id}' ou 'elp vendor decline {id} --reason TEXTE'.",
        "answer.subject.granted": "Demande n° {id} accordée : {granted} {unit} {product}",
        "answer.subject.declined": "Demande n° {id} refusée : {product}",
        "answer.body.granted": "L'éditeur a accordé votre demande n° {id} ({amount} {unit} {product}, demandés par {actor} le {on}) : {granted} {unit} ont été ajoutés à {target}.",
        "answer.body.declined": "L'éditeur a refusé votre demande n° {id} ({amount} {unit} {product}, demandés par {actor} le {on}).",
        "answer.reason": "Motif donné : {reason}",
        "unit.credits": "crédits",
        "unit.seats": "sièges",
        "credits.subject": "{remaining} crédits {product} seront perdus le {expires_on}",
        "credits.body": "La banque {bank} de {org} ({product}) expire le {expires_on}, dans {days} jours. Ses {remaining} crédits inutilisés seront perdus ce jour-là : utilisez-les avant (générez ou renouvelez des licences), ou demandez à l'éditeur de prolonger la banque.",
        "expiring.subject": "Votre licence {product} {id} expire le {expires_on}",
        "expiring.subject.admin": "La licence {product} {id} de {assignee} expire le {expires_on}",
        "expiring.body": "La licence {id} ({product}, {type}, {computers} ordinateur(s)) de {org} expire le {expires_on}, dans {days} jours.",
        "expiring.user": "Demandez à un administrateur de {org} de la renouveler si vous en avez encore besoin.",
        "expiring.admin": "Elle est attribuée à {assignee}. Renouvelez-la avec 'elp licenses renew {id} --months N' ou sur la page Licences.",
        "expiring.nobody": "personne",
        "digest.subject": "{n} licence(s) de {org} atteignent leur rappel d'expiration",
        "digest.body": "Ces licences de {org} sont aujourd'hui à {days} jours ou moins de leur expiration (leurs utilisateurs sont prévenus aussi) :",
        "digest.row": "{id}  {product}  {assignee}  expire le {expires_on} (dans {left} jours)",
        "digest.more": "... et {n} de plus : 'elp licenses list' les montre toutes.",
        "digest.how": "Renouvelez-en une avec 'elp licenses renew ID --months N' ou sur la page Licences.",
    },
}


def text(lang: str, key: str, **values: Any) -> str:
    """The text `key` in `lang` (English for a language ELP has no emails in), filled in."""
    table = TEXTS.get(lang) or TEXTS["en"]
    return table[key].format(**values)


def _language(lang: str | None) -> str:
    return lang if lang in LANGUAGES else "en"


def _letter(lang: str, org: str, *paragraphs: str) -> str:
    """A plain-text body: greeting, paragraphs separated by a blank line, signature."""
    parts = [text(lang, "greeting"), *[p for p in paragraphs if p], text(lang, "signature", org=org)]
    return "\n\n".join(parts) + "\n"


# -- the builders ---------------------------------------------------------------------------
# What a queued invitation holds in place of its code and expiry: both are written in as it is sent.
CODE_MASK = "••••-••••-••••"
EXPIRY_MASK = "••••-••-••"


def fill_enrolment(body: str, lang: str, code: str | None, expires: str | None) -> str:
    """The invitation's body as sent: the code and its expiry written in place of the masks, or
    (`code` None: the member is active already) a line saying none is needed."""
    if code is None:
        return body.replace(CODE_MASK, text(_language(lang), "invitation.code.unneeded"))
    return body.replace(CODE_MASK, code).replace(EXPIRY_MASK, expires or "")


def invitation(lang: str, *, org_id: str, org: str, inviter: str, to: str, role: str, why: str | None = None,
               reason: str | None = None, about: str | None = None, ssh: str | None = None,
               code: str | None = None, code_expires: str | None = None) -> Message:
    """`reason`: licenses / license / team (the other action the invitation is part of, about
    `about`); `why`: a free-text reason instead. `ssh`: how to reach the ELP server from their own
    computer (`ssh elp@host`), when the server says; `code`: the one-time enrolment code that binds
    their SSH key, valid until `code_expires`."""
    lang = _language(lang)
    intro = text(lang, "invitation.intro", inviter=inviter, org=org, role=text(lang, f"role.{role}")
                 if f"role.{role}" in TEXTS[lang] else role)
    because = ""
    if reason in ("licenses", "license", "team") and about:
        because = text(lang, f"invitation.why.{reason}", about=about)
    elif why:
        because = text(lang, "invitation.why.other", about=why)
    how = text(lang, "invitation.how.ssh") + "\n\n    " + ssh if ssh else text(lang, "invitation.how.nossh")
    enrol = ""
    if code:
        enrol = (text(lang, "invitation.code", to=to, expires=code_expires or "") + "\n\n    " + code + "\n\n"
                 + text(lang, "invitation.code.after"))
    return Message(
        kind="invitation", to=to, organization=org_id, language=lang,
        subject=text(lang, "invitation.subject", inviter=inviter, org=org),
        body=_letter(lang, org, " ".join(p for p in (intro, because) if p), how, enrol),
        enrol=to if code == CODE_MASK else None,
    )


def _license_block(lang: str, lic: dict[str, Any]) -> str:
    kind = f"type.{lic['type']}"
    return text(lang, "license.row", id=lic["activation_id"], type=text(lang, kind) if kind in TEXTS[lang] else lic["type"],
                computers=lic["computers"], start=lic["start"], expires_on=lic["expires_on"])


def _downloads(lang: str, product: str, builds: list[dict[str, Any]]) -> str:
    if not builds:
        return text(lang, "license.no_builds", product=product)
    lines = [text(lang, "license.downloads")]
    for build in builds:
        lines.append(text(lang, "license.build", product=product, version=build["version"], released=build["released"]))
        links = build.get("downloads") or build.get("urls") or {}
        for os_name in sorted(links):
            lines.append(text(lang, "license.link", os=os_name, url=links[os_name]))
    return "\n".join(lines)


def license_notice(lang: str, *, org_id: str, org: str, to: str, event: str, licenses: list[dict[str, Any]],
                   builds: list[dict[str, Any]], by: str | None = None) -> Message:
    """`event`: assigned (generated for them), reassigned (a returned license given to them),
    renewed, returned. `builds`: the builds they may download ({version, released, downloads}).
    `by`: the admin who did it."""
    lang = _language(lang)
    first = licenses[0]
    product = first["product"]
    values = dict(product=product, n=len(licenses), id=first["activation_id"], expires_on=first["expires_on"], org=org,
                  by=by or text(lang, "license.someone"))
    paragraphs = [text(lang, f"license.intro.{event}", **values), *(_license_block(lang, lic) for lic in licenses)]
    if event != "returned":
        paragraphs += [_downloads(lang, product, builds), text(lang, "license.mine")]
    return Message(
        kind="license", to=to, organization=org_id, language=lang,
        subject=text(lang, f"license.subject.{event}", **values),
        body=_letter(lang, org, *paragraphs),
    )


def team_joined(lang: str, *, org_id: str, org: str, to: str, inviter: str, team: str, product: str) -> Message:
    lang = _language(lang)
    return Message(
        kind="team", to=to, organization=org_id, language=lang,
        subject=text(lang, "team.subject", team=team, product=product),
        body=_letter(lang, org, text(lang, "team.body", inviter=inviter, team=team, org=org, product=product)),
    )


def vendor_request(lang: str, *, org_id: str, org: str, to: str, request: dict[str, Any]) -> Message:
    """To the vendor: `request` is the Request document (kind, product, amount, actor, target, id)."""
    lang = _language(lang)
    kind = "credits" if request["kind"] == "credits" else "seats"
    values = dict(id=request["id"], amount=request["amount"], product=request["product"], org=org, org_id=org_id,
                  actor=request["actor"], target=request["target"], on=request.get("on", ""))
    return Message(
        kind="request", to=to, organization=org_id, language=lang,
        subject=text(lang, f"request.subject.{kind}", **values),
        body=_letter(lang, org, text(lang, f"request.body.{kind}", **values), text(lang, "request.details", **values),
                     text(lang, "request.answer_how", id=request["id"])),
    )


def request_answer(lang: str, *, org_id: str, org: str, to: str, request: dict[str, Any]) -> Message:
    """To an admin of the organization: the vendor granted or declined `request` (its document, answered)."""
    lang = _language(lang)
    unit = text(lang, "unit.credits" if request["kind"] == "credits" else "unit.seats")
    state = "granted" if request["state"] == "granted" else "declined"
    values = dict(id=request["id"], amount=request["amount"], product=request["product"], unit=unit,
                  actor=request["actor"], on=request.get("on", ""), granted=request.get("granted") or 0,
                  target=request.get("granted_target") or request["target"])
    paragraphs = [text(lang, f"answer.body.{state}", **values)]
    if request.get("reason"):
        paragraphs.append(text(lang, "answer.reason", reason=request["reason"]))
    return Message(
        kind="answer", to=to, organization=org_id, language=lang,
        subject=text(lang, f"answer.subject.{state}", **values),
        body=_letter(lang, org, *paragraphs),
    )


def credits_expiring(lang: str, *, org_id: str, org: str, to: str, bank: dict[str, Any], days: int,
                     left: int | None = None) -> Message:
    """To an admin: `bank` (a bank row: id, product, remaining, expires_on) loses its unused credits
    in `days` days (the reminder: 30 or 7, sent once each
    for each expiry: a bank whose expiry moves is reminded again); `left`: the days actually left, if fewer."""
    lang = _language(lang)
    values = dict(bank=bank["id"], product=bank["product"], remaining=bank["remaining"], expires_on=bank["expires_on"],
                  org=org, days=days if left is None else left)
    return Message(
        kind="credits-expiring", to=to, organization=org_id, language=lang,
        key=f"credits-expiring:{bank['id']}:{bank['expires_on']}:{days}:{to}",
        subject=text(lang, "credits.subject", **values),
        body=_letter(lang, org, text(lang, "credits.body", **values)),
    )


def license_expiring(lang: str, *, org_id: str, org: str, to: str, license: dict[str, Any], days: int,
                     left: int | None = None) -> Message:
    """To the license's user and the admins: `license` expires in `days` days (the reminder: 30 or
    7, sent once each for each expiry: a renewed license is reminded again); `left`: the days actually left, if fewer."""
    lang = _language(lang)
    assignee = license.get("assignee") or text(lang, "expiring.nobody")
    kind = f"type.{license['type']}"
    values = dict(id=license["activation_id"], product=license["product"], expires_on=license["expires_on"], org=org,
                  days=days if left is None else left, assignee=assignee, computers=license["computers"],
                  type=text(lang, kind) if kind in TEXTS[lang] else license["type"])
    to_user = license.get("assignee") == to
    return Message(
        kind="license-expiring", to=to, organization=org_id, language=lang,
        key=license_reminder_key(license, days, to),
        subject=text(lang, "expiring.subject" if to_user else "expiring.subject.admin", **values),
        body=_letter(lang, org, text(lang, "expiring.body", **values),
                     text(lang, "expiring.user" if to_user else "expiring.admin", **values)),
    )


DIGEST_ROWS = 40  # licenses listed in an admin's digest; the rest are counted


def license_reminder_key(license: dict[str, Any], days: int, to: str) -> str:
    """What makes a license's reminder to `to` one of a kind: the license, its expiry, the threshold."""
    return f"license-expiring:{license['activation_id']}:{license['expires_on']}:{days}:{to}"


def licenses_expiring_digest(lang: str, *, org_id: str, org: str, to: str, day: str,
                             licenses: list[tuple[dict[str, Any], int, int]]) -> Message:
    """To an admin, once a day at most: the organization's licenses that reached a reminder
    (30 or 7 days before they expire) today, as (license, threshold days, days left). One message
    however many licenses: an admin of 10,000 licenses gets a list, not 10,000 emails."""
    lang = _language(lang)
    licenses = sorted(licenses, key=lambda item: (item[0]["expires_on"], item[0]["activation_id"]))
    rows = [text(lang, "digest.row", id=lic["activation_id"], product=lic["product"],
                 assignee=lic.get("assignee") or text(lang, "expiring.nobody"), expires_on=lic["expires_on"], left=left)
            for lic, _days, left in licenses[:DIGEST_ROWS]]
    if len(licenses) > DIGEST_ROWS:
        rows.append(text(lang, "digest.more", n=len(licenses) - DIGEST_ROWS))
    days = max(days for _lic, days, _left in licenses)
    return Message(
        kind="license-expiring", to=to, organization=org_id, language=lang,
        key=f"licenses-expiring-digest:{org_id}:{day}:{to}",
        subject=text(lang, "digest.subject", n=len(licenses), org=org),
        body=_letter(lang, org, text(lang, "digest.body", org=org, days=days), "\n".join(rows), text(lang, "digest.how")),
    )
