"""SSH keys and enrolment (issue 11): over SSH the key is who you are.

- A key is bound to one user (`ssh_keys` table, unique by its SHA256 fingerprint). Admins bind
  and revoke keys of their organization's members; the vendor's staff those of the vendor's
  staff; every user lists and revokes their own.
- An invitation carries a one-time enrolment code (`new_enrol_code`): 12 characters of a
  29-letter alphabet (58 bits), valid ENROL_DAYS days, kept only as a salted SHA-256 hash (58
  random bits take a year of a GPU's guessing to find from the hash, and the code lives 7 days;
  a slow hash would hold the store's lock for every invitation). The
  invited user connects with an unknown key, gives their address and the code (`enrol`): the key
  is bound to them and they become active. Wrong codes are counted; at MAX_ENROL_FAILURES the
  enrolment locks until an admin sends a new invitation (`resend_invitation`). Every enrolment
  and every failed one is in the activity log.
- `user_for_key` answers OpenSSH's AuthorizedKeysCommand (no actor: the key is all it has);
  `ssh_sign_in` starts a session for the key that authenticated, recording when it was last used.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import re
import secrets
import struct
from typing import Any

from pydantic import BaseModel

from elp_tui.i18n import _
from elp_tui.models import Role, SshKey, UserStatus
from elp_tui.portal.authority import member_or_vendor
from elp_tui.portal.base import ACTIVATION_ALPHABET, T_KEYS, T_ORGS, T_USERS, PortalBase, inactive_user, normalise_email, not_a_user, public_user
from elp_tui.portal.errors import InvalidInput, NotFound, PermissionDenied, RuleViolation, SignInRefused
from elp_tui.portal.quotes import Quote, keep_promise
from elp_tui.store.repository import Transaction, View

ENROL_DAYS = 7
MAX_ENROL_FAILURES = 5
CODE_LENGTH = 12  # 29**12 is about 2**58
# The key types OpenSSH accepts in an authorized_keys line (certificates and security keys included).
KEY_TYPES = (
    "ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com", "ssh-dss",
)
MAX_KEY_TEXT = 16_384
FINGERPRINT = re.compile(r"SHA256:[A-Za-z0-9+/]{43}")


# -- keys as text -----------------------------------------------------------------
class PublicKey(BaseModel):
    type: str
    key: str  # base64 blob
    comment: str = ""
    fingerprint: str

    def line(self) -> str:
        return f"{self.type} {self.key}" + (f" {self.comment}" if self.comment else "")


def fingerprint_of(blob: bytes) -> str:
    """OpenSSH's SHA256 fingerprint of a key blob: `SHA256:` and unpadded base64."""
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


def key_from_parts(key_type: str, key_b64: str, comment: str = "") -> PublicKey:
    """A public key from its type and base64 blob (as sshd's %t %k give them), or InvalidInput."""
    key_type = (key_type or "").strip()
    if key_type not in KEY_TYPES:
        raise InvalidInput(
            _("{type!r} is not an SSH public key type ELP accepts: use an ssh-ed25519, ssh-rsa or ecdsa key "
              "(the .pub file ssh-keygen wrote).").format(type=key_type[:40]))
    try:
        blob = base64.b64decode((key_b64 or "").strip(), validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput(_("The key is not valid base64: copy the whole line of the .pub file.")) from None
    # The blob starts with its own type as an SSH string: a key pasted under another type is refused.
    if len(blob) < 4:
        raise InvalidInput(_("The key is too short to be an SSH public key: copy the whole line of the .pub file."))
    (length,) = struct.unpack(">I", blob[:4])
    if blob[4 : 4 + length] != key_type.encode():
        raise InvalidInput(
            _("The key's data is not a {type} key: copy the whole line of the .pub file, unchanged.").format(type=key_type))
    comment = " ".join((comment or "").split())
    if not comment.isprintable():
        comment = "".join(ch if ch.isprintable() else "?" for ch in comment)
    return PublicKey(type=key_type, key=base64.b64encode(blob).decode(), comment=comment[:200], fingerprint=fingerprint_of(blob))


def parse_public_key(text: str) -> PublicKey:
    """One line of a .pub file (`type base64 [comment]`), or InvalidInput saying what to give."""
    text = (text or "").strip()
    if not text:
        raise InvalidInput(_("No public key given: give the contents of a .pub file (e.g. ~/.ssh/id_ed25519.pub)."))
    if len(text) > MAX_KEY_TEXT:
        raise InvalidInput(_("That is too long for an SSH public key: give one line of a .pub file."))
    if "PRIVATE KEY" in text:
        raise InvalidInput(
            _("That is a PRIVATE key: never give it to anyone. Give the public key, the .pub file beside it."))
    lines = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    if len(lines) != 1:
        raise InvalidInput(_("Give exactly one public key (one line of a .pub file); this has {n}.").format(n=len(lines)))
    parts = lines[0].split(None, 2)
    if len(parts) < 2:
        raise InvalidInput(_("That is not an SSH public key: a .pub file's line reads 'ssh-ed25519 AAAA... comment'."))
    if parts[0] not in KEY_TYPES:
        raise InvalidInput(
            _("That line does not start with a key type ({start!r}): give the .pub file's line as it is, "
              "without options such as command=.").format(start=parts[0][:40]))
    return key_from_parts(parts[0], parts[1], parts[2] if len(parts) > 2 else "")


def check_fingerprint(text: str) -> str:
    text = (text or "").strip()
    if not FINGERPRINT.fullmatch(text):
        raise InvalidInput(
            _("{value!r} is not a key fingerprint: give it as 'elp keys list' shows it (SHA256:...).").format(value=text[:80]))
    return text


# -- enrolment codes ------------------------------------------------------------------
def new_enrol_code(rng: Any = None) -> str:
    """A one-time code, readable aloud: XXXX-XXXX-XXXX from the activation alphabet."""
    pick = rng.choice if rng is not None else secrets.choice
    raw = "".join(pick(ACTIVATION_ALPHABET) for _ in range(CODE_LENGTH))
    return "-".join(raw[i : i + 4] for i in range(0, CODE_LENGTH, 4))


def _canonical_code(code: str) -> str:
    return "".join(ch for ch in (code or "").upper() if ch.isalnum())


def hash_code(code: str, salt: bytes | None = None) -> str:
    """`sha256$SALT$DIGEST`: the stored form of an enrolment code (the code itself is never kept)."""
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = hashlib.sha256(salt + _canonical_code(code).encode()).hexdigest()
    return f"sha256${salt.hex()}${digest}"


def code_matches(code: str, stored: str | None) -> bool:
    try:
        scheme, salt, digest = (stored or "").split("$")
        if scheme != "sha256":
            return False
        got = hashlib.sha256(bytes.fromhex(salt) + _canonical_code(code).encode()).hexdigest()
    except ValueError:
        return False
    return hmac.compare_digest(got, digest)


class KeyQuote(Quote):
    """Binding a key to a member: who, which key."""

    email: str
    fingerprint: str
    type: str
    comment: str = ""

    def lines(self) -> list[tuple[str, Any]]:
        return [(_("User"), self.email), (_("Key"), f"{self.type} {self.fingerprint}"), (_("Comment"), self.comment or "-")]


class KeysMixin(PortalBase):
    # -- who may manage whose keys --------------------------------------------------
    def _keys_actor(self, db: View, actor: str) -> dict[str, Any]:
        """The signed-in user managing keys: an organization member or the vendor's staff."""
        user = self._user(db, actor) if actor else None
        if user is not None and user["role"] == Role.vendor.value:
            return self._vendor_actor(db, actor)
        return self._actor(db, actor, admin=False)

    def _may_manage_keys(self, me: dict[str, Any], owner: dict[str, Any]) -> bool:
        if me["email"] == owner["email"]:
            return True
        if me["role"] == Role.vendor.value:
            return owner["role"] == Role.vendor.value
        return me["role"] == Role.admin.value and owner.get("organization") == me["organization"]

    def _key_owner(self, db: View, me: dict[str, Any], email: str) -> dict[str, Any]:
        address = normalise_email(email)
        owner = self._user(db, address)
        if owner is None or not self._may_manage_keys(me, owner):
            if me["role"] == Role.regular.value and owner is not None and owner.get("organization") == me["organization"]:
                raise self._admin_required_refusal(me, "keys")
            raise NotFound(_("{email} is not a member of your organization: 'elp users list' shows them.").format(email=address))
        return dict(owner)

    @staticmethod
    def _key_row(key: dict[str, Any]) -> dict[str, Any]:
        return {field: key.get(field) for field in
                ("fingerprint", "email", "type", "comment", "added_on", "added_by", "last_used_on")}

    # -- binding, listing, revoking ---------------------------------------------------
    def _quote_add_key(self, db: View, me: dict[str, Any], email: str, public_key: str) -> KeyQuote:
        owner = self._key_owner(db, me, email)
        if owner["status"] == UserStatus.inactive.value:
            raise RuleViolation(inactive_user(owner["email"]))
        key = parse_public_key(public_key)
        bound = db.get(T_KEYS, fingerprint=key.fingerprint)
        if bound is not None and not bound.get("revoked_on"):
            if bound["email"] == owner["email"]:
                raise RuleViolation(_("That key ({fingerprint}) is already {email}'s.").format(
                    fingerprint=key.fingerprint, email=owner["email"]))
            raise RuleViolation(
                _("That key ({fingerprint}) already belongs to another user: a key is one person's identity. "
                  "Each person makes their own key with ssh-keygen.").format(fingerprint=key.fingerprint))
        return KeyQuote(email=owner["email"], fingerprint=key.fingerprint, type=key.type, comment=key.comment)

    @member_or_vendor
    def quote_add_key(self, actor: str, email: str, public_key: str) -> KeyQuote:
        """What binding `public_key` (a .pub line) to `email` would do, or its refusal; writes nothing."""
        db = self.store.read()
        return self._quote_add_key(db, self._keys_actor(db, actor), email, public_key)

    @member_or_vendor
    def add_key(self, actor: str, email: str, public_key: str, expected: Any = None) -> dict[str, Any]:
        """Bind a public key to a member (admins: their organization's members; anyone: themselves)."""
        with self.store.transaction() as db:
            me = self._keys_actor(db, actor)
            quote = self._quote_add_key(db, me, email, public_key)
            keep_promise(expected, quote)
            key = parse_public_key(public_key)
            owner = self._user(db, quote.email)
            assert owner is not None
            db.remove(T_KEYS, fingerprint=key.fingerprint)  # a revoked record of this key, if any: bound anew
            doc = SshKey(fingerprint=key.fingerprint, email=owner["email"], organization=owner.get("organization"),
                         type=key.type, key=key.key, comment=key.comment, added_on=self.today(), added_by=me["email"]).to_doc()
            db.insert(T_KEYS, doc)
            self._log(db, me.get("organization"), me["email"], "key-add", owner["email"],
                      f"{key.type} {key.fingerprint}" + (f" ({key.comment})" if key.comment else ""))
            return self._key_row(doc)

    @member_or_vendor
    def list_keys(self, actor: str, email: str | None = None) -> list[dict[str, Any]]:
        """Keys an actor may see: an admin those of their organization (or one member's), anyone their own."""
        db = self.store.read()
        me = self._keys_actor(db, actor)
        if email:
            owner = self._key_owner(db, me, email)
            found = db.find(T_KEYS, email=owner["email"])
        elif me["role"] == Role.admin.value:
            found = [k for k in db.all(T_KEYS) if k.get("organization") == me["organization"]]
        elif me["role"] == Role.vendor.value:
            vendors = {u["email"] for u in db.all(T_USERS) if u["role"] == Role.vendor.value}
            found = [k for k in db.all(T_KEYS) if k["email"] in vendors]
        else:
            found = db.find(T_KEYS, email=me["email"])
        found = [k for k in found if not k.get("revoked_on")]
        return [self._key_row(k) for k in sorted(found, key=lambda k: (k["email"], k["added_on"], k["fingerprint"]))]

    @member_or_vendor
    def revoke_key(self, actor: str, fingerprint: str) -> dict[str, Any]:
        """Unbind a key: it no longer signs anyone in (sshd asks again at every connection)."""
        fingerprint = check_fingerprint(fingerprint)
        with self.store.transaction() as db:
            me = self._keys_actor(db, actor)
            key = db.get(T_KEYS, fingerprint=fingerprint)
            if key is not None and key.get("revoked_on"):
                key = None
            owner = self._user(db, key["email"]) if key else None
            if key is None or owner is None or not self._may_manage_keys(me, owner):
                raise NotFound(_("No key {fingerprint} among the keys you manage: 'elp keys list' shows them.").format(
                    fingerprint=fingerprint))
            db.update(T_KEYS, {"revoked_on": self.today().isoformat(), "revoked_by": me["email"]}, fingerprint=fingerprint)
            self._log(db, me.get("organization"), me["email"], "key-revoke", key["email"], f"{key['type']} {fingerprint}")
            return self._key_row(key)

    # -- OpenSSH asks -----------------------------------------------------------------
    def user_for_key(self, fingerprint: str) -> dict[str, Any] | None:
        """The active user `fingerprint` is bound to; None for an unknown key. An inactive user's
        key, or one whose user is gone, gives PermissionDenied: sshd is then told nothing."""
        db = self.store.read()
        key = db.get(T_KEYS, fingerprint=fingerprint)
        if key is None:
            return None
        if key.get("revoked_on"):
            raise PermissionDenied(_("The key {fingerprint} was revoked on {date}: it signs no one in.").format(
                fingerprint=fingerprint, date=key["revoked_on"]))
        user = self._user(db, key["email"])
        if user is None:
            raise PermissionDenied(_("The key {fingerprint} belongs to a user who is no longer in ELP.").format(fingerprint=fingerprint))
        if user["status"] != UserStatus.active.value:
            raise PermissionDenied(inactive_user(user["email"]))
        return public_user(user)

    def ssh_sign_in(self, fingerprint: str) -> dict[str, Any]:
        """The user a session runs as: the key's, if still bound and active (checked again: it may
        have been revoked since sshd asked). Records the day the key was last used."""
        fingerprint = check_fingerprint(fingerprint)
        user = self.user_for_key(fingerprint)
        if user is None:
            raise SignInRefused(_("This key ({fingerprint}) is not bound to any ELP user (revoked?). "
                                  "Ask an admin, or enrol it with the code of your invitation.").format(fingerprint=fingerprint))
        key = self.store.read().get(T_KEYS, fingerprint=fingerprint)
        if key is not None and key.get("last_used_on") != self.today().isoformat():
            with self.store.transaction() as db:
                if db.exists(T_KEYS, fingerprint=fingerprint):
                    db.update(T_KEYS, {"last_used_on": self.today().isoformat()}, fingerprint=fingerprint)
        self.via_key = fingerprint
        return user

    # -- enrolment -----------------------------------------------------------------------
    def _issue_code(self, db: Transaction, address: str) -> tuple[str, dt.date]:
        """A fresh enrolment code for `address` (its hash stored, failures reset): the code and its last valid day."""
        code = new_enrol_code(self.rng)
        expires = self.today() + dt.timedelta(days=ENROL_DAYS)
        db.update(T_USERS, {"enrol_code": hash_code(code), "enrol_expires_on": expires.isoformat(), "enrol_failures": 0},
                  email=address)
        return code, expires

    def enrol(self, key_type: str, key_b64: str, email: str, code: str) -> dict[str, Any]:
        """Bind the key that connected to the invited user whose code this is, and activate them.
        A wrong code is counted and logged (committed) before the refusal; at MAX_ENROL_FAILURES
        the enrolment locks. No actor: the key is unknown, the code is the proof."""
        key = key_from_parts(key_type, key_b64)
        try:
            address = normalise_email(email)
        except InvalidInput as exc:
            raise SignInRefused(str(exc)) from None
        failure: str | None = None
        with self.store.transaction() as db:
            user = self._user(db, address)
            bound = db.get(T_KEYS, fingerprint=key.fingerprint)
            if bound is not None and bound.get("revoked_on"):
                raise RuleViolation(_("This key was revoked: it cannot be enrolled. Make a new key (ssh-keygen -t ed25519) "
                                      "and connect with it."))
            if bound is not None:
                raise RuleViolation(_("This key is already enrolled: connect again to use it."))
            if user is None or user.get("organization") is None and user["role"] != Role.vendor.value:
                self._log(db, None, address, "enrol-failed", address, f"no such invited user (key {key.fingerprint})")
                failure = not_a_user(address)
            elif user["status"] != UserStatus.invited.value or not user.get("enrol_code"):
                self._log(db, user.get("organization"), address, "enrol-failed", address,
                          f"no enrolment open for this user (key {key.fingerprint})")
                failure = _("{email} has no enrolment open: ask an admin to add your key ('elp keys add') "
                            "or to send a new invitation.").format(email=address)
            elif user.get("enrol_failures", 0) >= MAX_ENROL_FAILURES:
                self._log(db, user.get("organization"), address, "enrol-failed", address, f"locked (key {key.fingerprint})")
                failure = _("The enrolment of {email} is locked after {n} wrong codes: ask an admin of your "
                            "organization to send a new invitation.").format(email=address, n=MAX_ENROL_FAILURES)
            elif str(user.get("enrol_expires_on") or "") < self.today().isoformat():
                self._log(db, user.get("organization"), address, "enrol-failed", address, f"code expired (key {key.fingerprint})")
                failure = _("The enrolment code of {email} expired on {date}: ask an admin of your organization "
                            "to send a new invitation.").format(email=address, date=user.get("enrol_expires_on"))
            elif not code_matches(code, user.get("enrol_code")):
                failures = int(user.get("enrol_failures", 0)) + 1
                db.update(T_USERS, {"enrol_failures": failures}, email=address)
                self._log(db, user.get("organization"), address, "enrol-failed", address,
                          f"wrong code {failures}/{MAX_ENROL_FAILURES} (key {key.fingerprint})")
                left = MAX_ENROL_FAILURES - failures
                failure = (_("Wrong enrolment code for {email}: {left} tries left before the enrolment locks.").format(
                    email=address, left=left) if left else
                    _("Wrong enrolment code for {email}: the enrolment is now locked. Ask an admin of your "
                      "organization to send a new invitation.").format(email=address))
            else:
                db.insert(T_KEYS, SshKey(fingerprint=key.fingerprint, email=address, organization=user.get("organization"),
                                         type=key.type, key=key.key, added_on=self.today(), added_by=address,
                                         last_used_on=self.today()).to_doc())
                db.update(T_USERS, {"status": UserStatus.active.value, "signed_in_on": self.today().isoformat(),
                                    "enrol_code": None, "enrol_expires_on": None, "enrol_failures": 0}, email=address)
                self.via_key = key.fingerprint
                self._log(db, user.get("organization"), address, "enrol", address,
                          f"key {key.type} {key.fingerprint} enrolled: invited -> active")
                done = self._user(db, address)
        if failure is not None:
            raise SignInRefused(failure)
        return public_user(done)

    def resend_invitation(self, actor: str, email: str) -> dict[str, Any]:
        """A new invitation (a new enrolment code, the count of wrong codes reset) to an invited member."""
        with self.store.transaction() as db:
            me = self._actor(db, actor)
            user = self._member(db, me, email)  # type: ignore[attr-defined]
            if user["status"] != UserStatus.invited.value:
                raise RuleViolation(_("{email} is {status}, not invited: only an invited member gets a new invitation. "
                                      "To bind a key, use 'elp keys add'.").format(email=user["email"], status=user["status"]))
            # The code sent before stops working now; the new one is made as the new invitation is sent.
            db.update(T_USERS, {"enrol_code": None, "enrol_expires_on": None, "enrol_failures": 0}, email=user["email"])
            self._send_invitation(db, me, user["email"], Role(user["role"]))
            self._log(db, me["organization"], me["email"], "user-reinvite", user["email"], "new invitation and enrolment code")
            return self._user_row(self._user(db, user["email"]))  # type: ignore[attr-defined]
