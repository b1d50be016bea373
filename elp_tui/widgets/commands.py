"""One command object per action: its key, its labels and the page method it runs.

A page declares its commands once (`COMMANDS`); its key bindings (the footer, Help) and its
entries in the command palette are both made from them, and a user remaps a command's key in
the settings file by its id (`{"keys": {"licenses.renew": "n"}}`, see `check_keymap`).

One key, one meaning: a command's key comes from its *verb* (`VERBS`), so `e` extends on every
page that has something to extend (a license, a bank) and never means anything else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from textual.binding import Binding

from elp_tui.i18n import N_, _


@dataclass(frozen=True)
class Verb:
    """What a key means across the app (the README's key table is this table)."""

    key: str
    meaning: str  # message id


# A page action's key is its verb's key. Two commands share a key only if they mean the same thing.
VERBS: dict[str, Verb] = {
    "add": Verb("a", N_("add: licenses, a member to a team, a user (invite); vendor: a bank, or what a request asks for (grant)")),
    "admin": Verb("A", N_("admin or not: a user's role, a team's Team Admin")),
    "bind-key": Verb("b", N_("bind an SSH key to a user")),
    "revoke-key": Verb("B", N_("revoke an SSH key of a user")),
    "copy": Verb("c", N_("copy the activation ID")),
    "details": Verb("enter", N_("details of the highlighted license, member, bank or team")),
    "download": Verb("d", N_("download a CSV file")),
    "extend": Verb("e", N_("extend: renew a license, top up a bank (vendor)")),
    "restrict": Verb("f", N_("restrict the builds of a product")),
    "allow-all": Verb("F", N_("allow every build of a product again")),
    "send-again": Verb("i", N_("send again: a new invitation, a failed email")),
    "more": Verb("m", N_("more credits or seats: request them (organization), grant them (vendor)")),
    "import": Verb("I", N_("import users from a CSV file (email, role, teams)")),
    "mark": Verb("space", N_("mark or unmark the highlighted license: Renew, Return and Assign act on every marked one")),
    "mark-all": Verb("*", N_("mark every license the filter shows (again: unmark them); escape clears the marks")),
    "new": Verb("n", N_("new team")),
    "new-token": Verb("N", N_("new API token of your own, shown once")),
    "product": Verb("p", N_("the licenses of the selected product (Manage Licenses)")),
    "assign": Verb("s", N_("assign a returned license to a member")),
    "take-back": Verb("t", N_("take back: return a license")),
    "revoke-token": Verb("T", N_("take back an API token: revoke it")),
    "url": Verb("u", N_("copy a download URL")),
    "view": Verb("v", N_("view open requests or all of them")),
    "who": Verb("w", N_("who is in which team: seats per team")),
    "remove": Verb("x,delete", N_("remove or refuse: a member from a team, a user, a request")),
    "status": Verb("z", N_("activate or deactivate a user")),
}

# Keys of the screen, the tables and the app: no page command may take them (nor a remap).
RESERVED_KEYS: dict[str, str] = {
    "ctrl+q": N_("quit"),
    "question_mark": N_("help"), "f1": N_("help"),
    "ctrl+p": N_("command palette"),
    "slash": N_("filter"),
    "r": N_("refresh"),
    "escape": N_("back, or clear the filter"),
    "tab": N_("next pane"), "shift+tab": N_("previous pane"),
    "backslash": N_("hide or show the sidebar"),
    "j": N_("down"), "k": N_("up"), "down": N_("down"), "up": N_("up"),
    "g": N_("first row"), "G": N_("last row"), "home": N_("first row or column"), "end": N_("last row or column"),
    "h": N_("left"), "l": N_("right"), "left": N_("left"), "right": N_("right"),
    "pageup": N_("page up"), "pagedown": N_("page down"),
    "o": N_("sort"), "less_than_sign": N_("sort"), "greater_than_sign": N_("sort"), "enter": N_("open or select"),
    "q": N_("nothing: too close to quit in other tools"),
    "y": N_("yes in a confirmation"),
    **{str(n): N_("go to a page") for n in range(1, 10)},
}


@dataclass(frozen=True)
class Command:
    """An action of a page: `id` (remappable, "page.name"), its verb (hence its default key),
    the page method `action_<action>` it runs, its footer label, palette title and help."""

    id: str
    verb: str
    action: str
    label: str  # message id: the footer
    help: str  # message id: the tooltip, Help and the palette
    title: str = ""  # message id: the palette (default: the label)
    show: bool = True  # in the footer (else in Help and the palette only)
    admin_only: bool = False  # not offered to a Team Admin

    @property
    def key(self) -> str:
        return VERBS[self.verb].key

    @property
    def palette_title(self) -> str:
        return self.title or self.label

    def binding(self) -> Binding:
        return Binding(self.key, self.action, self.label, id=self.id, tooltip=self.help, show=self.show)


def bindings_of(commands: Iterable[Command]) -> list[Binding]:
    return [command.binding() for command in commands]


def normalize_key(key: str) -> str:
    """"?" -> "question_mark", as Textual's keymap does."""
    from textual.keys import _normalize_key_list

    return _normalize_key_list(key)


def check_keymap(
    wanted: Any, scopes: Mapping[str, Iterable[Command]],
) -> tuple[dict[str, str], list[str]]:
    """The user's remaps (`{"licenses.renew": "n"}`) that can work, and one line per entry that
    cannot: an unknown command, a key that is not text, a key the app reserves, or a key another
    command of the same page already has. `scopes`: page id -> its commands."""
    if wanted is None:
        return {}, []
    if not isinstance(wanted, dict):
        return {}, [_("\"keys\" in the settings file must map command ids to keys, e.g. {example}.").format(
            example='{"licenses.renew": "n"}')]
    commands = {c.id: (scope, c) for scope, cs in scopes.items() for c in cs}
    keymap: dict[str, str] = {}
    problems: list[str] = []
    for command_id, key in wanted.items():
        if command_id not in commands:
            problems.append(_("Key setting {id}: there is no such command (see ? for the ids).").format(id=command_id))
            continue
        if not isinstance(key, str) or not key.strip():
            problems.append(_("Key setting {id}: the key must be text, such as \"n\".").format(id=command_id))
            continue
        scope, _command = commands[command_id]
        taken = None
        for part in normalize_key(key).split(","):
            if part in RESERVED_KEYS:
                taken = _(RESERVED_KEYS[part])
                break
            for other in scopes[scope]:
                if other.id == command_id:
                    continue
                other_keys = normalize_key(keymap.get(other.id) or _remapped(wanted, other) or other.key).split(",")
                if part in other_keys:
                    taken = _(other.label)
                    break
            if taken:
                break
        if taken:
            problems.append(_("Key setting {id}: {key} is already {action}; kept {default}.").format(
                id=command_id, key=key, action=taken, default=commands[command_id][1].key))
            continue
        keymap[command_id] = normalize_key(key)
    return keymap, problems


def _remapped(wanted: Mapping[str, Any], command: Command) -> str | None:
    """Another command's key as the user wants it, if that wish can hold (text, no reserved key)."""
    key = wanted.get(command.id)
    if not isinstance(key, str) or not key.strip():
        return None
    if any(part in RESERVED_KEYS for part in normalize_key(key).split(",")):
        return None
    return key
