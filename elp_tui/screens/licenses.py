"""Manage Licenses: every license of the organization, and adding, renewing, returning, assigning them.

The rows, the quotes and every refusal come from the portal; this page only shows them, asks,
and commits what the admin confirmed.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import errno
import os
import re
import tempfile
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Static

from elp_tui.portal.credits import LICENSE_STATUS_NAMES
from elp_tui.i18n import N_, _, ngettext
from elp_tui.screens.base import Page
from elp_tui.screens.details import DetailAction, license_sections, show_details
from elp_tui.widgets.commands import Command
from elp_tui.screens.dialogs.actions import ActionMenu
from elp_tui.screens.dialogs.confirm import ConfirmDialog, spends_many
from elp_tui.screens.dialogs.batch import BatchConfirmDialog, batch_summary
from elp_tui.screens.dialogs.form import Field, FormDialog
from elp_tui.screens.dialogs.licenses_forms import (
    ASSIGN_NOTE, GENERATE_NOTE, LARGE_CLIPBOARD, RENEW_NOTE, RETURN_NOTE, ExportDoneDialog, GenerateForm,
    assign_fields, generate_fields, human_size, renew_fields, return_fields,
)
from elp_tui.widgets.filter import FilterBar
from elp_tui.widgets.safe import content, plain
from elp_tui.widgets.table import Column, RecordTable

# Values the portal stores, offered to the catalog so they can be shown translated.
STATUS_LABELS = LICENSE_STATUS_NAMES
TYPE_LABELS = {"node-lock": N_("node-lock"), "multiseat": N_("multiseat"), "floating": N_("floating")}
SHOWN_IDS = 8
BATCH_RENEW_NOTE = N_(
    "Every marked license is renewed by the same number of months, or each for its own term when Months is "
    "empty. The next screen shows the credits per bank and the rows that would be refused, before anything "
    "is written."
)
BATCH_ASSIGN_NOTE = N_(
    "Give every marked returned license to one member. The next screen shows the rows that would be "
    "refused, before anything is written."
)


def _label(table: dict[str, str]) -> Callable[[Any], str]:
    return lambda value: "—" if value is None else _(table.get(value, str(value)))


def _assignee(value: Any) -> str:
    return value if value else _("(returned)")


def export_dir() -> Path:
    """Where the CSV goes: $ELP_EXPORT_DIR if set, else the current directory."""
    return Path(os.environ.get("ELP_EXPORT_DIR") or os.getcwd())


def export_name(org_id: str, today: str) -> str:
    safe_org = re.sub(r"[^A-Za-z0-9_-]+", "_", org_id or "org")
    return f"elp-licenses-{safe_org}-{today}.csv"


def export_names(org_id: str, today: str, now: dt.datetime) -> Iterator[str]:
    """The names a download may take, first free one wins: the day's name, then with the time,
    then with a counter (two downloads in the same second)."""
    base = export_name(org_id, today).removesuffix(".csv")
    yield f"{base}.csv"
    stamp = now.strftime("%H%M%S")
    yield f"{base}-{stamp}.csv"
    for n in range(2, 1000):
        yield f"{base}-{stamp}-{n}.csv"


def write_new_file(folder: Path, names: Iterable[str], text: str) -> Path:
    """Write `text` under the first of `names` that is free, and never over an earlier file.

    The CSV goes whole into a temp file, then is linked under its name: a reader never sees half
    a CSV, and the link refuses a name that exists (two sessions downloading at once get two
    files). Where links are not allowed, the file is created exclusively instead."""
    folder.mkdir(parents=True, exist_ok=True)
    payload = text.encode("utf-8")
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".elp-export.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        for name in names:
            path = folder / name
            try:
                os.link(tmp, path)
            except FileExistsError:
                continue
            except OSError:  # no hard links here (some network or FAT folders)
                try:
                    out = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                except FileExistsError:
                    continue
                with os.fdopen(out, "wb") as fh:
                    fh.write(payload)
                    fh.flush()
                    os.fsync(fh.fileno())
            return path
        raise FileExistsError(errno.EEXIST, _("every name for today's CSV is taken"), str(folder))
    finally:
        os.unlink(tmp)


class LicensesPage(Page):
    PAGE_ID = "licenses"
    TITLE = N_("Manage Licenses")
    ADMIN_ONLY = True

    DEFAULT_CSS = """
    LicensesPage #licenses-header { height: 1; margin: 0 0 1 0; }
    LicensesPage #licenses-header .licenses-title { width: auto; text-style: bold; color: $accent; }
    LicensesPage #licenses-count { width: 1fr; text-align: right; color: $text-muted; }
    LicensesPage #licenses-detail { height: auto; padding: 0 1; background: $boost; border-top: solid $panel; }
    LicensesPage #licenses-detail Static { height: 1; text-wrap: nowrap; text-overflow: ellipsis; }
    LicensesPage #detail-license { text-style: bold; }
    LicensesPage #detail-marks { color: $accent; text-style: bold; }
    LicensesPage #licenses-detail .available { color: $success; }
    LicensesPage #licenses-detail .blocked { color: $text-muted; }
    /* Why an action is not available is the portal's whole sentence: two lines rather than cut. */
    LicensesPage #licenses-detail Static.blocked { height: auto; max-height: 2; text-wrap: wrap; }
    """

    COMMANDS = [
        Command("licenses.add", "add", "add_licenses", N_("Add licenses"), N_("Generate new licenses from a credit bank")),
        Command("licenses.renew", "extend", "renew", N_("Renew"),
                N_("Extend the selected license (and raise a multiseat's computers)")),
        Command("licenses.return", "take-back", "return_license", N_("Return"),
                N_("Take the selected license back from its user (portable banks 25.1+)")),
        Command("licenses.assign", "assign", "assign", N_("Assign"), N_("Give the selected returned license to a member")),
        Command("licenses.mark", "mark", "mark", N_("Mark"),
                N_("Mark or unmark the highlighted license: Renew, Return and Assign then act on every marked license")),
        Command("licenses.mark_all", "mark-all", "mark_all", N_("Mark shown"),
                N_("Mark every license the filter shows; again: unmark them (escape clears every mark)"),
                title=N_("Mark every license shown"), show=False),
        Command("licenses.download", "download", "download_csv", N_("CSV"),
                N_("Download every license (active and expired) as CSV"), title=N_("Download CSV")),
        Command("licenses.details", "details", "details", N_("Details"),
                N_("Every field of the selected license, why an action is not possible, its history"),
                title=N_("License details"), show=False),
    ]

    COLUMNS = [
        # Narrow screens keep the ID, who holds it, its status and expiry; the rest follows on the right.
        Column("activation_id", N_("Activation ID"), 19, priority=1),
        Column("product", N_("Product"), 21, min_width=18),
        Column("assignee", N_("Assigned user email"), 30, format=_assignee, min_width=16, max_width=40, priority=1),
        Column("status", N_("Status"), 9, format=_label(STATUS_LABELS), priority=1),
        Column("expires_on", N_("Expiration"), 10, priority=1),
        Column("start", N_("Start date"), 10, priority=3),
        Column("computers", N_("Computers"), 9, "right", min_width=5, priority=3),
        Column("type", N_("Type"), 9, format=_label(TYPE_LABELS), priority=3),
        Column("credits_used", N_("Credits used"), 12, "right", min_width=7, priority=3),
        Column("bank", N_("Bank"), 7, priority=3),
        Column("bank_start", N_("Bank start"), 10, priority=4),
        Column("bank_expires_on", N_("Bank expiry"), 11, min_width=10, priority=3),
    ]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._fetched = False
        self._pending_focus: str | None = None

    def compose(self) -> ComposeResult:
        self.table = RecordTable(self.COLUMNS, id="licenses-table", muted=lambda r: r["status"] == "expired",
                                 sort=("expires_on", True), mark="activation_id")
        with Horizontal(id="licenses-header"):
            yield Static(content(_(self.TITLE)), classes="licenses-title")
            yield Static(content(_("Loading licenses…")), id="licenses-count")
        yield FilterBar(self.table, id="licenses-filter")
        yield self.table
        with Vertical(id="licenses-detail"):
            yield Static("", id="detail-marks")
            yield Static("", id="detail-license")
            yield Static("", id="detail-renew")
            yield Static("", id="detail-move")

    # -- data ------------------------------------------------------------------------
    def fetch(self) -> tuple[list[dict[str, Any]], list[str]]:
        rows = self.portal.list_licenses(self.me)
        # The filter text of 100k rows takes a moment: build it here, in the worker thread.
        return rows, RecordTable.build_haystack(self.COLUMNS, rows)

    def show_data(self, data: tuple[list[dict[str, Any]], list[str]]) -> None:
        rows, haystack = data
        self._fetched = True
        self.table.set_rows(rows, keep="activation_id", haystack=haystack)
        if self._pending_focus:
            self._move_to(self._pending_focus)
            self._pending_focus = None
        self._update_counts()
        self._update_detail(self.table.current_row)

    def _move_to(self, activation_id: str) -> None:
        """Put the cursor on a license just created (if the filter shows it)."""
        for pos, row in enumerate(self.table.visible_rows()):
            if row["activation_id"] == activation_id:
                self.table.cursor = pos
                return

    def on_record_table_highlighted(self, event: RecordTable.Highlighted) -> None:
        if event.table is self.table:
            self._update_counts()
            self._update_detail(event.row)

    def _update_counts(self) -> None:
        if not self._fetched:
            return
        total, shown = self.table.total_count, self.table.row_count
        text = ngettext("{n} license", "{n} licenses", total).format(n=total)
        if self.table.filter_text:  # the words of every filter: "N of M shown", "no rows match"
            text = "{total} · {shown}".format(total=text, shown=FilterBar.counts_text(self.table.filter_text, shown, total))
        marked = len(self.table.marked)
        if marked:
            if self.table.filter_text and shown:  # narrow screens: "40 of 138 shown · 40 marked" says it all
                text = FilterBar.counts_text(self.table.filter_text, shown, total)
            text = "{total} · {marked}".format(total=text, marked=_("{n} marked").format(n=marked))
        self.query_one("#licenses-count", Static).update(content(text))
        line = self.query_one("#detail-marks", Static)
        line.display = bool(marked)
        if marked:
            line.update(content(ngettext(
                "{n} marked · {renew} {ret} {assign} act on it · escape unmarks",
                "{n} marked · {renew} {ret} {assign} act on them · escape unmarks",
                marked).format(n=marked, renew=self.key_of("renew"), ret=self.key_of("return_license"),
                               assign=self.key_of("assign"))))

    def on_record_table_marks_changed(self, event: RecordTable.MarksChanged) -> None:
        if event.table is self.table:
            self._update_counts()

    # -- marking rows --------------------------------------------------------------------
    def action_mark(self) -> None:
        if self.table.toggle_mark() is None:
            self.notify(_("No license selected: pick one in the table first."), severity="warning", markup=False)

    def action_mark_all(self) -> None:
        """`*`: the filter's rows marked, or unmarked when all were; the header and the line
        under the table say how many are marked (no toast over the confirmation that follows)."""
        self.table.mark_shown()

    def _marked_ids(self) -> list[str]:
        return [row["activation_id"] for row in self.table.marked_rows()]

    def narrow(self, text: str) -> None:
        """Narrow the table to one product (the Dashboard and Manage Banks send the user here with it)."""
        self.show_product(text)

    def show_product(self, product: str) -> None:
        """Narrow the table to one product."""
        bar = self.query_one(FilterBar)
        with bar.prevent(Input.Changed):  # filtered once, here, not again by the bar's own event
            bar.value = product
        self.table.set_filter(product)
        self._update_counts()

    # -- what the selected row allows (said, never a dead key) ---------------------------
    def actions_of(self, row: dict[str, Any]) -> dict[str, str | None]:
        """The portal's answer for this row: each action's refusal, the commit's own sentence, or None."""
        return self.portal.license_row_actions(row)

    def move_line(self, actions: dict[str, str | None]) -> tuple[str, bool]:
        """Return and Assign in one line, with their keys: which of the two the row allows, or why neither."""
        keys = {"return_key": self.key_of("return_license"), "assign_key": self.key_of("assign")}
        if actions["return"] is None:
            return _("Return ({return_key}): available · Assign ({assign_key}): after a return").format(**keys), True
        if actions["assign"] is None:
            return _("Assign ({assign_key}): available · Return: already returned").format(**keys), True
        return actions["return"] or "", False

    def _update_detail(self, row: dict[str, Any] | None) -> None:
        lines: dict[str, tuple[str, bool | None]] = {
            "detail-license": (_("No license selected. Press a to add licenses."), None),
            "detail-renew": ("", None),
            "detail-move": ("", None),
        }
        if row is not None:
            holder = row.get("assignee") or _("nobody (returned)")
            lines["detail-license"] = (
                _("{aid} · {product} · {holder}").format(aid=row["activation_id"], product=row["product"], holder=holder),
                None,
            )
            actions = self.actions_of(row)
            renewing = actions["renew"]
            lines["detail-renew"] = (renewing, False) if renewing else (
                _("Renew ({key}): available").format(key=self.key_of("renew")), True)
            lines["detail-move"] = self.move_line(actions)
        for wid, (text, available) in lines.items():
            widget = self.query_one(f"#{wid}", Static)
            widget.update(content(text))
            widget.tooltip = content(text) if text else None
            widget.set_class(available is True, "available")
            widget.set_class(available is False, "blocked")

    def _selected(self) -> dict[str, Any] | None:
        row = self.table.current_row
        if row is None:
            self.notify(_("No license selected: pick one in the table first."), severity="warning", markup=False)
        return row

    def _say(self, message: str, severity: str = "information", timeout: float = 6) -> None:
        self.notify(plain(message), severity=severity, timeout=timeout, markup=False)  # type: ignore[arg-type]

    # -- quote, confirm, then commit, from within the form ----------------------------------
    def _credits_dialog(self, title: str, confirm_label: str, warning: Callable[[Any], str]) -> Callable[[Any], ConfirmDialog]:
        """The confirmation of a quote that spends credits: many credits (or an invitation) open it on Cancel."""
        return lambda q: ConfirmDialog(
            title, q.lines(), warning=warning(q), confirm_label=confirm_label,
            careful=spends_many(q.credits) or bool(getattr(q, "invites_recipient", False)),
        )

    # -- details (enter on a license) ----------------------------------------------
    def on_record_table_selected(self, event: RecordTable.Selected) -> None:
        """Enter on a license: its details, with its actions and why one is not possible."""
        event.stop()
        if event.row is not None:
            self._details_flow(event.row["activation_id"])

    def action_details(self) -> None:
        row = self._selected()
        if row is not None:
            self._details_flow(row["activation_id"])

    @work(exclusive=True, group="licenses-details")
    async def _details_flow(self, activation_id: str) -> None:
        details = await self.call_portal(self.portal.license_details, self.me, activation_id)
        if details is None:
            return
        why = details["actions"]
        actions = [
            DetailAction("renew", self.key_of("renew"), N_("Renew"), why["renew"]),
            DetailAction("return", self.key_of("return_license"), N_("Return"), why["return"]),
            DetailAction("assign", self.key_of("assign"), N_("Assign"), why["assign"]),
        ]
        show_details(self, _("License {aid}").format(aid=details["license"]["activation_id"]),
                     license_sections(details), actions,
                     {"renew": self.action_renew, "return": self.action_return_license, "assign": self.action_assign})

    # -- add licenses --------------------------------------------------------------------
    def action_add_licenses(self) -> None:
        self._add_flow()

    @work(exclusive=True, group="licenses-flow")
    async def _add_flow(self) -> None:
        banks = await self.call_portal(self.portal.list_banks, self.me)
        if banks is None:
            return
        valid = [b for b in banks if not b["expired"]]
        if not valid:
            self._say(_("No valid credit bank: every bank has expired. Request credits on Manage Banks."), severity="warning")
            return
        today = self.portal.today().isoformat()
        values: dict[str, Any] = {"bank": self._preferred_bank(valid)}

        async def submit(answer: dict[str, Any]) -> Any:
            # A refusal shows beside its field, the form open; cancelling the confirmation returns to it.
            return await self.quote_confirm_commit(
                lambda: self.portal.quote_generate(
                    self.me, bank=answer["bank"], type=answer["type"], months=answer["months"],
                    quantity=answer["quantity"], start=answer["start"], email=answer["email"],
                ),
                self._credits_dialog(_("Confirm new licenses"), N_("Add licenses"), self._generate_warning),
                lambda q: self.portal.generate(self.me, q),
            )

        created = await self.app.push_screen_wait(
            GenerateForm(_("Add licenses"), generate_fields(valid, values, today), submit_label=N_("Review"),
                         note=_(GENERATE_NOTE), submit=submit)
        )
        if created is None:
            return
        ids = [row["activation_id"] for row in created]
        shown = ", ".join(ids[:SHOWN_IDS])
        if len(ids) > SHOWN_IDS:
            shown = _("{ids} and {n} more").format(ids=shown, n=len(ids) - SHOWN_IDS)
        self._say(ngettext("Created {n} license: {ids}", "Created {n} licenses: {ids}", len(ids)).format(n=len(ids), ids=shown),
                  severity="information", timeout=10)
        self._pending_focus = ids[0]
        self.reload()

    def _preferred_bank(self, banks: list[dict[str, Any]]) -> str:
        """The highlighted license's bank if still valid, else the first bank with credits left."""
        row = self.table.current_row
        if row is not None and any(b["id"] == row["bank"] for b in banks):
            bank = next(b for b in banks if b["id"] == row["bank"])
            if bank["remaining"] > 0:
                return bank["id"]
        with_credits = [b for b in banks if b["remaining"] > 0]
        return (with_credits or banks)[0]["id"]

    @staticmethod
    def _generate_warning(quote: Any) -> str:
        lines = []
        if quote.cut_by_bank:
            lines.append(_(
                "Bank {bank} expires on {date}: the license ends then instead of after {months} months, "
                "and only the {charged} month(s) it covers are charged."
            ).format(bank=quote.bank, date=quote.bank_expires_on.isoformat(), months=quote.months, charged=quote.months_charged))
        if quote.invites_recipient:
            lines.append(_("{email} is not a member yet: they will be invited to your organization.").format(email=quote.email))
        return "\n".join(lines)

    # -- renew -----------------------------------------------------------------------
    def action_renew(self) -> None:
        if self.table.marked:
            self._batch_renew_flow(self._marked_ids())
            return
        row = self._selected()
        if row is None:
            return
        blocked = self.actions_of(row)["renew"]
        if blocked:
            self._say(blocked, severity="warning")
            return
        self._renew_flow(row)

    @work(exclusive=True, group="licenses-flow")
    async def _renew_flow(self, row: dict[str, Any]) -> None:
        async def submit(answer: dict[str, Any]) -> Any:
            return await self.quote_confirm_commit(
                lambda: self.portal.quote_renew(
                    self.me, row["activation_id"], months=answer["months"], computers=answer.get("computers"),
                ),
                self._credits_dialog(_("Confirm renewal"), N_("Renew"), self._renew_warning),
                lambda q: self.portal.renew(self.me, q),
            )

        renewed = await self.app.push_screen_wait(
            FormDialog(_("Renew license {aid}").format(aid=row["activation_id"]),
                       renew_fields(row, term=self.portal.license_term(row)),
                       submit_label=N_("Review"), note=_(RENEW_NOTE), submit=submit, refusal_field="months")
        )
        if renewed is None:
            return
        self._say(_("License {aid} renewed: now expires on {date}, {n} computer(s).").format(
            aid=renewed["activation_id"], date=renewed["expires_on"], n=renewed["computers"]), timeout=8)
        self.reload()

    @staticmethod
    def _renew_warning(quote: Any) -> str:
        if not quote.cut_by_bank:
            return ""
        return _(
            "Bank {bank} expires on {date}: the license cannot run past it, so only the {charged} month(s) "
            "it covers are charged."
        ).format(bank=quote.bank, date=quote.bank_expires_on.isoformat(), charged=quote.months_charged)

    # -- return ------------------------------------------------------------------------
    def action_return_license(self) -> None:
        if self.table.marked:
            self._batch_return_flow(self._marked_ids())
            return
        row = self._selected()
        if row is None:
            return
        blocked = self.actions_of(row)["return"]
        if blocked:
            self._say(blocked, severity="warning", timeout=8)
            return
        self._return_flow(row)

    @work(exclusive=True, group="licenses-flow")
    async def _return_flow(self, row: dict[str, Any]) -> None:
        aid = row["activation_id"]

        def dialog(email: str) -> ConfirmDialog:
            return ConfirmDialog(
                _("Return license {aid}?").format(aid=aid),
                [
                    (N_("Activation ID"), aid),
                    (N_("Product"), row["product"]),
                    (N_("User"), email),
                    (N_("Expires on"), _("{date} (unchanged)").format(date=row["expires_on"])),
                    (N_("Credits back"), _("none")),
                ],
                warning=_("{email} can no longer use this license. It stays returned until you assign it.").format(
                    email=email),
                confirm_label=N_("Return"), danger=True,
            )

        async def submit(answer: dict[str, Any]) -> Any:
            def checked() -> str:
                # The portal's checks (fresh data) before the confirmation: never confirm what it will refuse.
                self.portal.quote_return(self.me, aid, answer["email"])
                return answer["email"]

            return await self.quote_confirm_commit(
                checked,
                dialog,
                lambda email: self.portal.return_license(self.me, aid, email),
            )

        done = await self.app.push_screen_wait(
            FormDialog(_("Return license"), return_fields(row), submit_label=N_("Review"), note=_(RETURN_NOTE),
                       submit=submit, refusal_field="email")
        )
        if done is None:
            return
        self._say(_("License {aid} returned: press {key} to assign it to another member.").format(aid=aid, key=self.key_of("assign")), timeout=8)
        self.reload()

    # -- assign ------------------------------------------------------------------------
    def action_assign(self) -> None:
        if self.table.marked:
            self._batch_assign_flow(self._marked_ids())
            return
        row = self._selected()
        if row is None:
            return
        blocked = self.actions_of(row)["assign"]
        if blocked:
            self._say(blocked, severity="warning", timeout=8)
            return
        self._assign_flow(row)

    @work(exclusive=True, group="licenses-flow")
    async def _assign_flow(self, row: dict[str, Any]) -> None:
        aid = row["activation_id"]

        def dialog(quote: dict[str, Any]) -> ConfirmDialog:
            email = quote["email"]
            warning = ""
            if quote["invites"]:
                warning = _("{email} is not a member yet: they will be invited to your organization.").format(email=email)
            return ConfirmDialog(
                _("Assign license {aid}?").format(aid=aid),
                [
                    (N_("Activation ID"), aid),
                    (N_("Product"), quote["product"]),
                    (N_("Type"), _(TYPE_LABELS.get(quote["type"], quote["type"]))),
                    (N_("Computers"), str(quote["computers"])),
                    (N_("Expires on"), quote["expires_on"]),
                    (N_("Assign to"), email),
                ],
                warning=warning, confirm_label=N_("Assign"), careful=bool(quote["invites"]),
            )

        async def submit(answer: dict[str, Any]) -> Any:
            # The portal's quote: refusals (another organization's member, an inactive user) come before
            # the confirmation, and it says whether the recipient will be invited.
            return await self.quote_confirm_commit(
                lambda: self.portal.quote_assign(self.me, aid, answer["email"]),
                dialog,
                lambda q: self.portal.assign_license(self.me, aid, q["email"], q),
            )

        done = await self.app.push_screen_wait(
            FormDialog(_("Assign license"), assign_fields(row), submit_label=N_("Review"), note=_(ASSIGN_NOTE),
                       submit=submit, refusal_field="email")
        )
        if done is None:
            return
        self._say(_("License {aid} assigned to {email}; an email to them is queued.").format(aid=aid, email=done["assignee"]),
                  timeout=8)
        self.reload()

    # -- batches: the marked licenses ---------------------------------------------------------
    @staticmethod
    def _ids_text(ids: list[str]) -> str:
        shown = ", ".join(ids[:SHOWN_IDS])
        if len(ids) > SHOWN_IDS:
            shown = _("{ids} and {n} more").format(ids=shown, n=len(ids) - SHOWN_IDS)
        return shown

    def _batch_dialog(self, title: str, done: str, confirm_label: str, *, careful: Callable[[Any], bool],
                      warning: Callable[[Any], str] = lambda q: "") -> Callable[[Any], BatchConfirmDialog]:
        return lambda q: BatchConfirmDialog(title, q, summary=batch_summary(q, done), warning=warning(q),
                                            confirm_label=confirm_label, careful=careful(q))

    def _batch_done(self, message: str) -> None:
        """A batch went through: said, its marks cleared (the batch is done), the page re-read."""
        self.table.clear_marks()
        self._say(message, timeout=10)
        self.reload()

    @staticmethod
    def _committed_refused(quote: Any) -> str:
        if not quote.refused:
            return ""
        return " " + ngettext("{n} refused row was left out.", "{n} refused rows were left out.",
                              len(quote.refused)).format(n=len(quote.refused))

    @work(exclusive=True, group="licenses-flow")
    async def _batch_renew_flow(self, ids: list[str]) -> None:
        title = ngettext("Renew {n} marked license", "Renew {n} marked licenses", len(ids)).format(n=len(ids))

        async def submit(answer: dict[str, Any]) -> Any:
            months = answer.get("months") or None
            return await self.batch_confirm_commit(
                lambda: self.portal.quote_batch_renew(self.me, ids, months=months),
                self._batch_dialog(_("Confirm the renewal of {n} licenses").format(n=len(ids)), _("renewed"), N_("Renew"),
                                   careful=lambda q: spends_many(q.credits)),
                lambda q, mode: self.portal.batch_renew(self.me, q, mode),
            )

        fields = [
            Field("licenses", N_("Licenses"), kind="info", value=self._ids_text(ids)),
            Field("months", N_("Months"), kind="int", value="", required=False,
                  placeholder=_("empty: each license for its own term")),
        ]
        done = await self.app.push_screen_wait(
            FormDialog(title, fields, submit_label=N_("Review"), note=_(BATCH_RENEW_NOTE), submit=submit))
        if done is None:
            return
        self._batch_done(ngettext(
            "{n} license renewed, {credits} credit(s) deducted.", "{n} licenses renewed, {credits} credit(s) deducted.",
            len(done.allowed)).format(n=len(done.allowed), credits=done.credits) + self._committed_refused(done))

    @work(exclusive=True, group="licenses-flow")
    async def _batch_return_flow(self, ids: list[str]) -> None:
        done = await self.batch_confirm_commit(
            lambda: self.portal.quote_batch_return(self.me, ids),
            self._batch_dialog(_("Return {n} marked licenses?").format(n=len(ids)), _("returned"), N_("Return"),
                               careful=lambda q: True,
                               warning=lambda q: _("Their users can no longer use them; no credits come back. "
                                                   "They stay returned until you assign them.")),
            lambda q, mode: self.portal.batch_return(self.me, q, mode),
            in_form=False,
        )
        if done is None:
            return
        self._batch_done(ngettext("{n} license returned.", "{n} licenses returned.", len(done.allowed)).format(
            n=len(done.allowed)) + self._committed_refused(done))

    @work(exclusive=True, group="licenses-flow")
    async def _batch_assign_flow(self, ids: list[str]) -> None:
        title = ngettext("Assign {n} marked license", "Assign {n} marked licenses", len(ids)).format(n=len(ids))

        async def submit(answer: dict[str, Any]) -> Any:
            pairs = [(aid, answer["email"]) for aid in ids]
            return await self.batch_confirm_commit(
                lambda: self.portal.quote_batch_assign(self.me, pairs),
                self._batch_dialog(_("Assign {n} licenses?").format(n=len(ids)), _("assigned"), N_("Assign"),
                                   careful=lambda q: any(a.invites for a in q.allowed)),
                lambda q, mode: self.portal.batch_assign(self.me, q, mode),
            )

        fields = [
            Field("licenses", N_("Licenses"), kind="info", value=self._ids_text(ids)),
            Field("email", N_("User email"), kind="email", value="", placeholder=_("e.g. ana@studio.com")),
        ]
        done = await self.app.push_screen_wait(
            FormDialog(title, fields, submit_label=N_("Review"), note=_(BATCH_ASSIGN_NOTE), submit=submit))
        if done is None:
            return
        self._batch_done(ngettext("{n} license assigned; an email is queued.", "{n} licenses assigned; emails are queued.",
                                  len(done.allowed)).format(n=len(done.allowed)) + self._committed_refused(done))

    # -- CSV download ------------------------------------------------------------------
    def action_download_csv(self) -> None:
        self._download_flow()

    @work(exclusive=True, group="licenses-export")
    async def _download_flow(self) -> None:
        only: set[str] | None = None
        table = self.table
        if table.filter_text and table.row_count < table.total_count:
            shown, total = table.row_count, table.total_count
            scope = await self.app.push_screen_wait(ActionMenu(_("Download CSV"), [
                ("all", ngettext("All {n} license", "All {n} licenses", total).format(n=total), "a", None),
                ("shown", ngettext("Only the {n} license shown by the filter", "Only the {n} licenses shown by the filter",
                                   shown).format(n=shown), "f", None),
            ]))
            if scope is None:
                self.notify(_("Cancelled: nothing was written."), timeout=3, markup=False)
                return
            if scope == "shown":
                only = {row["activation_id"] for row in table.visible_rows()}
        csv_text = await self.call_portal(self.portal.export_csv, self.me, only=only)
        if csv_text is None:
            return
        org = self.elp.user.get("organization") or ""
        names = export_names(org, self.portal.today().isoformat(), dt.datetime.now())
        try:
            path = await asyncio.to_thread(write_new_file, export_dir(), names, csv_text)
        except OSError as exc:
            self._say(_("Could not write {path}: {error}").format(path=str(export_dir()), error=exc.strerror or str(exc)),
                      severity="error", timeout=10)
            return
        data = csv_text.encode("utf-8")
        licenses = max(0, csv_text.count("\n") - 1)
        where = str(path.resolve())
        copy = await self.app.push_screen_wait(ExportDoneDialog(where, licenses, len(data), filtered=only is not None))
        if copy and len(data) > LARGE_CLIPBOARD:
            copy = await self.app.push_screen_wait(ConfirmDialog(
                _("Copy {size} to the clipboard?").format(size=human_size(len(data))),
                [(N_("File"), where), (N_("Size"), human_size(len(data)))],
                warning=_("This is more than 1 MB: it travels through your terminal (OSC 52), which may be slow "
                          "or ignore it. The file is complete either way."),
                confirm_label=N_("Copy"), danger=True,
            ))
        if copy:
            self.app.copy_to_clipboard(csv_text)
            self._say(_("CSV copied to the clipboard ({size}). File: {path}").format(size=human_size(len(data)), path=where),
                      timeout=6)
        else:
            self._say(_("CSV saved: {path}").format(path=where), timeout=6)
