"""Delivery settings of this machine: the SMTP server that sends the outbox, the vendor feed.

They come from the environment first, then from the config file (`settings.json`, where the
app keeps its theme, or $ELP_CONFIG), under "smtp" and "vendor_feed":

    {"smtp": {"host": "mail.example.com", "port": 587, "user": "elp", "password": "...",
              "tls": "starttls", "mail_from": "ELP <elp@example.com>"},
     "vendor_feed": {"url": "https://vendor.example.com/elp/feed", "token": "..."}}

Secrets (the SMTP password, the feed token) belong to the machine that sends, never to the
shared store. What the store keeps about the vendor (name, address, feed URL) is in its
`vendors` table; ELP_VENDOR_FEED names the feed when the store names none (and must match it when it does).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import urlsplit, urlunsplit

from elp_tui.i18n import _
from elp_tui.errors import PortalError
from elp_tui.settings import load_settings, settings_path

TLS_MODES = ("none", "starttls", "tls")


class ConfigError(PortalError):
    """A delivery setting that cannot work: says which one and what to put instead."""


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    user: str | None
    password: str | None
    tls: str  # none | starttls | tls
    mail_from: str

    def describe(self) -> str:
        """Where mail goes, without the password."""
        who = f"{self.user}@" if self.user else ""
        return f"smtp://{who}{self.host}:{self.port} ({self.tls})"


@dataclass(frozen=True)
class FeedSettings:
    url: str  # the feed; requests are POSTed to <url>/requests
    token: str | None

    @property
    def requests_url(self) -> str:
        return self.url.rstrip("/") + "/requests"

    @property
    def shown(self) -> str:
        """The URL for the activity log: without a user or password in it, nor its query (where a
        token could be)."""
        parts = urlsplit(self.url)
        host = parts.hostname or ""
        if ":" in host:
            host = f"[{host}]"
        try:
            port = parts.port
        except ValueError:  # not a port: shown without one
            port = None
        netloc = host + (f":{port}" if port else "")
        return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _file_section(name: str, path: Path | None) -> Mapping[str, Any]:
    try:
        where = path if path is not None else settings_path()
    except Exception:  # no config folder at all: nothing configured in a file
        return {}
    section = load_settings(where).get(name)
    return section if isinstance(section, dict) else {}


def _pick(env: Mapping[str, str], key: str, section: Mapping[str, Any], field: str) -> str | None:
    value = env.get(key)
    if value not in (None, ""):
        return str(value).strip()
    value = section.get(field)
    return None if value in (None, "") else str(value).strip()


def smtp_settings(env: Mapping[str, str] | None = None, path: Path | None = None) -> SmtpSettings | None:
    """The SMTP server to deliver through, or None when none is configured (mail then waits in
    the outbox). A setting that cannot work raises ConfigError naming it."""
    env = os.environ if env is None else env
    section = _file_section("smtp", path)
    host = _pick(env, "ELP_SMTP_HOST", section, "host")
    if not host:
        return None
    tls = (_pick(env, "ELP_SMTP_TLS", section, "tls") or "none").lower()
    if tls not in TLS_MODES:
        raise ConfigError(_("ELP_SMTP_TLS={value!r} is not a TLS mode: use none, starttls or tls.").format(value=tls))
    port_text = _pick(env, "ELP_SMTP_PORT", section, "port") or {"none": "25", "starttls": "587", "tls": "465"}[tls]
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ConfigError(_("ELP_SMTP_PORT={value!r} is not a port: use a number from 1 to 65535.").format(value=port_text))
    mail_from = _pick(env, "ELP_MAIL_FROM", section, "mail_from")
    if not mail_from:
        raise ConfigError(
            _("ELP_SMTP_HOST is set but ELP_MAIL_FROM is not: set the address ELP sends from (e.g. ELP_MAIL_FROM=elp@example.com).")
        )
    return SmtpSettings(
        host=host,
        port=int(port_text),
        user=_pick(env, "ELP_SMTP_USER", section, "user"),
        password=env.get("ELP_SMTP_PASSWORD") or (str(section["password"]) if section.get("password") else None),
        tls=tls,
        mail_from=mail_from,
    )


def ssh_login(env: Mapping[str, str] | None = None, path: Path | None = None) -> str | None:
    """How members reach the ELP server from their own computer, e.g. `ssh elp@licenses.example.com`
    (ELP_SSH, else "ssh" in the config file): invitations then show the whole line. None: not said."""
    env = os.environ if env is None else env
    value = env.get("ELP_SSH") or _file_section_value("ssh", path)
    value = " ".join(str(value or "").split())
    return value if value and value.isprintable() else None


def _file_section_value(name: str, path: Path | None) -> Any:
    try:
        where = path if path is not None else settings_path()
    except Exception:
        return None
    return load_settings(where).get(name)


def check_feed_url(url: str, what: str = "ELP_VENDOR_FEED") -> str:
    """An http or https URL with a host, or ConfigError saying what to give."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            _("{what}={value!r} is not a feed address: give an http:// or https:// URL, e.g. https://vendor.example.com/elp/feed.").format(
                what=what, value=url)
        )
    return url


def _same_feed(a: str, b: str) -> bool:
    return a.strip().rstrip("/") == b.strip().rstrip("/")


def feed_settings(store_feed: str | None = None, env: Mapping[str, str] | None = None,
                  path: Path | None = None) -> FeedSettings | None:
    """The vendor feed to read: the feed the store names for the vendor (`store_feed`, set by the
    vendor's staff), else ELP_VENDOR_FEED, else the config file; None when there is none (Refresh
    then re-reads the store). When the store names a feed, an ELP_VENDOR_FEED (or config file URL)
    that differs from it is refused (ConfigError): an organization's admin cannot point Refresh at
    a feed of their own. The token comes from ELP_VENDOR_TOKEN or the config file either way."""
    env = os.environ if env is None else env
    section = _file_section("vendor_feed", path)
    from_env = (env.get("ELP_VENDOR_FEED") or "").strip()
    local = from_env or _pick({}, "", section, "url")
    store_feed = (store_feed or "").strip() or None
    if store_feed and local and not _same_feed(local, store_feed):
        if from_env:
            raise ConfigError(
                _("ELP_VENDOR_FEED is {url}, but the vendor set this store's feed to {store}: unset ELP_VENDOR_FEED "
                  "to read the vendor's feed. Nothing was changed.").format(url=local, store=store_feed))
        raise ConfigError(
            _("The config file's vendor_feed url is {url}, but the vendor set this store's feed to {store}: remove "
              "that url from the config file to read the vendor's feed. Nothing was changed.").format(
                url=local, store=store_feed))
    url = store_feed or local
    if not url:
        return None
    token = _pick(env, "ELP_VENDOR_TOKEN", section, "token")
    return FeedSettings(url=check_feed_url(url), token=token)
