"""Per-user API tokens (issue 14): what `elp serve` knows a client by (`Authorization: Bearer`).

- A user makes their own tokens (`create_token`): through their SSH session, or on the server by
  whoever can write the store (`elp tokens create --as EMAIL`). The secret (`elp_` and 32 base32
  characters: 160 random bits from `secrets`) is shown once, then never again: the store keeps
  only its SHA-256 in hex. 160 random bits need no slow hash, and a fast one keeps every request
  of the server cheap; a hash that is not 64 hex characters makes the store refuse to open, so a
  secret can never sit in the store in clear.
- Listed and revoked like SSH keys (`@member_or_vendor`): everyone their own; an organization's
  admins those of its members; the vendor's staff those of the vendor's staff. A revoked token
  stays in the table, marked with the day and who revoked it, so its use is told apart from a
  token that never existed; deleting a user revokes their tokens.
- `token_user` answers the server (no actor: the token is all it has): the token's user, or a
  one-line `SignInRefused` saying what to do. A revoked token's use is written to its
  organization's activity log. The comparison of the stored hash is constant-time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from typing import Any

from elp_tui.i18n import _
from elp_tui.models import ApiToken, Role, UserStatus
from elp_tui.portal.authority import member_or_vendor
from elp_tui.portal.base import PortalBase, clean_name, inactive_user, normalise_email, public_user
from elp_tui.portal.errors import InvalidInput, NotFound, RuleViolation, SignInRefused
from elp_tui.store.repository import View
from elp_tui.store.schema import T_TOKENS, T_USERS

PREFIX = "elp_"
SECRET_BYTES = 20  # base32: 32 characters, 160 bits
SECRET = re.compile(r"elp_[A-Z2-7]{32}")
TOKEN_ID = re.compile(r"tok-[0-9]{4,18}")
MAX_TOKENS = 20  # live tokens per user: one per machine or script is plenty
MAX_TOKEN_NAME = 80
# What `Portal.via_key` holds when a portal acts through a token (the activity entries say so).
VIA_TOKEN = "token:"


def new_secret() -> str:
    """A fresh token: `elp_` and 32 base32 characters from the operating system's random source."""
    return PREFIX + base64.b32encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def token_hash(secret: str) -> str:
    """What the store keeps of a token: the SHA-256 of the secret, in hex."""
    return hashlib.sha256((secret or "").strip().encode("utf-8", errors="replace")).hexdigest()


def check_token_id(text: str) -> str:
    text = (text or "").strip()
    if not TOKEN_ID.fullmatch(text):
        raise InvalidInput(
            _("{value!r} is not a token id: give it as 'elp tokens list' shows it (tok-0001).").format(value=text[:40]))
    return text


def via_token(via: str | None) -> str | None:
    """The token id an activity entry came through (its `via`), or None (an SSH key, or local)."""
    return via[len(VIA_TOKEN):] if via and via.startswith(VIA_TOKEN) else None


def unknown_token() -> str:
    return _("This API token is not one ELP knows (mistyped, or cut short?): check ELP_TOKEN or --token, "
             "or create a new one with 'elp tokens create'.")


class TokensMixin(PortalBase):
    # -- who may manage whose tokens: as for SSH keys (KeysMixin) ------------------------
    def _token_owner(self, db: View, me: dict[str, Any], email: str) -> dict[str, Any]:
        address = normalise_email(email)
        owner = self._user(db, address)
        if owner is None or not self._may_manage_keys(me, owner):  # type: ignore[attr-defined]
            if me["role"] == Role.regular.value and owner is not None and owner.get("organization") == me["organization"]:
                raise self._admin_required_refusal(me, "list_tokens")
            raise NotFound(_("{email} is not a member of your organization: 'elp users list' shows them.").format(email=address))
        return dict(owner)

    @staticmethod
    def _token_row(token: dict[str, Any]) -> dict[str, Any]:
        """A token as it is listed: never its hash (nor, of course, its secret)."""
        return {field: token.get(field) for field in
                ("id", "name", "email", "created_on", "last_used_on", "revoked_on", "revoked_by")}

    # -- creating, listing, revoking ---------------------------------------------------------
    @member_or_vendor
    def create_token(self, actor: str, name: str | None = None) -> dict[str, Any]:
        """A new API token of the actor's own. The result holds the secret ("token"): shown once,
        never stored (the store keeps its hash), never shown again."""
        label = clean_name(name, _("The token's name"), limit=MAX_TOKEN_NAME)
        with self.store.transaction() as db:
            me = self._keys_actor(db, actor)  # type: ignore[attr-defined]
            live = [t for t in db.find(T_TOKENS, email=me["email"]) if not t.get("revoked_on")]
            if len(live) >= MAX_TOKENS:
                raise RuleViolation(
                    _("{email} already has {n} API tokens: revoke one you no longer use ('elp tokens list', "
                      "'elp tokens revoke ID') before creating another.").format(email=me["email"], n=len(live)))
            secret = new_secret()
            while db.exists(T_TOKENS, hash=token_hash(secret)):  # 160 random bits: never, but never twice either
                secret = new_secret()
            doc = ApiToken(id=self._next_id(db, T_TOKENS, "tok-"), email=me["email"], organization=me.get("organization"),
                           name=label, hash=token_hash(secret), created_on=self.today()).to_doc()
            db.insert(T_TOKENS, doc)
            self._log(db, me.get("organization"), me["email"], "token-create", me["email"],
                      doc["id"] + (f" ({label})" if label else ""))
            return {**self._token_row(doc), "token": secret}

    @member_or_vendor
    def list_tokens(self, actor: str, email: str | None = None) -> list[dict[str, Any]]:
        """Tokens an actor may see (an admin those of their organization's members, or one
        member's; anyone their own), revoked ones too (with `revoked_on`); never a hash or a secret."""
        db = self.store.read()
        me = self._keys_actor(db, actor)  # type: ignore[attr-defined]
        if email:
            owner = self._token_owner(db, me, email)
            found = db.find(T_TOKENS, email=owner["email"])
        elif me["role"] == Role.admin.value:
            found = [t for t in db.all(T_TOKENS) if t.get("organization") == me["organization"]]
        elif me["role"] == Role.vendor.value:
            vendors = {u["email"] for u in db.all(T_USERS) if u["role"] == Role.vendor.value}
            found = [t for t in db.all(T_TOKENS) if t["email"] in vendors]
        else:
            found = db.find(T_TOKENS, email=me["email"])
        order = sorted(found, key=lambda t: (t["email"], bool(t.get("revoked_on")), t["created_on"], t["id"]))
        return [self._token_row(t) for t in order]

    @member_or_vendor
    def revoke_token(self, actor: str, token_id: str) -> dict[str, Any]:
        """Revoke a token: from the next request on, the server refuses it (and logs its use)."""
        token_id = check_token_id(token_id)
        with self.store.transaction() as db:
            me = self._keys_actor(db, actor)  # type: ignore[attr-defined]
            token = db.get(T_TOKENS, id=token_id)
            owner = self._user(db, token["email"]) if token else None
            if token is None or owner is None or not self._may_manage_keys(me, owner):  # type: ignore[attr-defined]
                if (token is not None and owner is not None and me["role"] == Role.regular.value
                        and owner.get("organization") == me["organization"]):
                    raise self._admin_required_refusal(me, "revoke_token")
                raise NotFound(_("No token {id} among the tokens you manage: 'elp tokens list' shows them.").format(
                    id=token_id))
            if token.get("revoked_on"):
                raise RuleViolation(_("Token {id} of {email} was already revoked on {date}: it signs no one in.").format(
                    id=token_id, email=token["email"], date=token["revoked_on"]))
            db.update(T_TOKENS, {"revoked_on": self.today().isoformat(), "revoked_by": me["email"]}, id=token_id)
            self._log(db, me.get("organization"), me["email"], "token-revoke", token["email"],
                      token_id + (f" ({token['name']})" if token.get("name") else ""))
            return self._token_row(db.get(T_TOKENS, id=token_id) or token)

    # -- the server asks ------------------------------------------------------------------------
    def token_user(self, secret: str) -> dict[str, Any]:
        """The user a request with this token acts as (the public user document), or SignInRefused
        with one line saying what to do: an unknown token, a revoked one (its use logged in its
        organization's activity log), one whose user is inactive or gone. Sets `via_key` to
        `token:<id>`, so every activity entry this portal writes names the token; records the day
        the token was last used."""
        secret = (secret or "").strip()
        digest = token_hash(secret)
        token = self.store.read().get(T_TOKENS, hash=digest) if SECRET.fullmatch(secret) else None
        # The lookup is by the hash (nothing to learn from its timing); the comparison is constant-time all the same.
        if token is None or not hmac.compare_digest(str(token.get("hash", "")), digest):
            raise SignInRefused(unknown_token())
        if token.get("revoked_on"):
            self.via_key = VIA_TOKEN + token["id"]
            with self.store.transaction() as db:
                self._log(db, token.get("organization"), token["email"], "token-refused", token["id"],
                          f"revoked token used (revoked on {token['revoked_on']} by {token.get('revoked_by') or '?'})")
            self.via_key = None
            raise SignInRefused(
                _("This API token ({id}) was revoked on {date}: it signs no one in. Create a new one with "
                  "'elp tokens create' and set ELP_TOKEN to it.").format(id=token["id"], date=token["revoked_on"]))
        db = self.store.read()
        user = self._user(db, token["email"])
        if user is None:
            raise SignInRefused(_("This API token ({id}) belongs to {email}, who is no longer in ELP.").format(
                id=token["id"], email=token["email"]))
        if user["status"] == UserStatus.inactive.value:
            raise SignInRefused(inactive_user(user["email"]))
        if user["status"] != UserStatus.active.value:
            raise SignInRefused(_("{email} has not signed in yet: sign in first (run any command --as them).").format(
                email=user["email"]))
        today = self.today().isoformat()
        if token.get("last_used_on") != today:
            with self.store.transaction() as tx:
                if tx.exists(T_TOKENS, id=token["id"]):
                    tx.update(T_TOKENS, {"last_used_on": today}, id=token["id"])
        self.via_key = VIA_TOKEN + token["id"]
        return public_user(user)
