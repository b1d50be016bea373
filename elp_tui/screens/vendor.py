"""The vendor's desk: what the vendor's enterprise team sees when it signs in. Open requests of
every organization (grant or decline them) and the organizations (grant a credit bank or seats,
top up a bank). The same portal operations as `elp vendor ...`."""

from __future__ import annotations

from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.widgets import Static

from elp_tui.i18n import N_, _
from elp_tui.screens.base import Page
from elp_tui.widgets.commands import Command
from elp_tui.screens.dialogs import ConfirmDialog, Field, FormDialog
from elp_tui.screens.requests import answer_text, request_rows, state_label
from elp_tui.widgets.filter import FilterBar
from elp_tui.widgets.safe import content
from elp_tui.widgets.table import Column, RecordTable


def _unit(request: dict[str, Any]) -> str:
    return _("credits") if request["kind"] == "credits" else _("seats")


class VendorRequestsPage(Page):
    PAGE_ID = "vendor-requests"
    TITLE = N_("Requests")
    ADMIN_ONLY = False
    VENDOR_ONLY = True

    # What to decide on first: who, what, how much, whether it is still open; then the details.
    COLUMNS = [
        Column("id", N_("#"), 3, "right", priority=1, fit=True),
        Column("on", N_("Asked on"), 10),
        Column("organization_name", N_("Organization"), 16, min_width=12, priority=1),
        Column("product", N_("Product"), 16, min_width=12, priority=1),
        Column("wanted", N_("Wanted"), 12, "right", priority=1),
        Column("state", N_("State"), 9, format=state_label, priority=1),
        Column("target", N_("For"), 8),
        Column("actor", N_("Asked by"), 26, priority=3),
        Column("answer", N_("Answer"), 28, min_width=16, priority=3),
    ]
    COMMANDS = [
        Command("vendor.grant", "add", "grant", N_("Grant"), N_("Grant the selected request (approve)"),
                title=N_("Grant request")),
        Command("vendor.decline", "remove", "decline", N_("Decline"), N_("Decline the selected request, saying why"),
                title=N_("Decline request")),
        Command("vendor.all", "view", "toggle_all", N_("Open/all"), N_("Show answered requests too, or only open ones")),
    ]
    DEFAULT_CSS = """
    VendorRequestsPage #vendor-requests-table { height: 1fr; }
    VendorRequestsPage #vendor-request-detail { height: auto; max-height: 5; border-top: solid $panel; }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.open_only = True

    def compose(self) -> ComposeResult:
        self.table = RecordTable(self.COLUMNS, id="vendor-requests-table", flex="organization_name", flex_max=30,
                                 muted=lambda r: r.get("state") != "requested")
        yield self.title_widget()
        yield Static("", id="vendor-requests-note", classes="page-note")
        yield FilterBar(self.table, id="vendor-requests-filter")
        yield self.table
        yield Static("", id="vendor-request-detail")

    def fetch(self) -> list[dict[str, Any]]:
        return self.portal.vendor_requests(self.me, open_only=self.open_only)

    def show_data(self, data: list[dict[str, Any]]) -> None:
        rows = [{**r, "wanted": f"{r['amount']} {_unit(r)}"} for r in request_rows(data)]
        self.table.set_rows(rows, keep="id")
        if self.open_only:
            note = _("{n} open requests from every organization, newest first · {key}: show answered ones too").format(
                n=len(data), key=self.key_of("toggle_all"))
        else:
            note = _("{n} requests, open and answered · {key}: open ones only").format(n=len(data), key=self.key_of("toggle_all"))
        self.query_one("#vendor-requests-note", Static).update(content(note))
        self._detail(self.table.current_row)

    @on(RecordTable.Highlighted, "#vendor-requests-table")
    def _highlighted(self, event: RecordTable.Highlighted) -> None:
        self._detail(event.row)

    def _detail(self, request: dict[str, Any] | None) -> None:
        text = ""
        if request is not None:
            text = _("#{id} · {org} asks {n} {unit} of {product} for {target} · asked on {day} by {who}").format(
                id=request["id"], org=request.get("organization_name") or request["organization"], n=request["amount"],
                unit=_unit(request), product=request["product"], target=request["target"], day=request["on"],
                who=request["actor"])
            text += "\n" + _("State: {state} · {answer}").format(state=state_label(request["state"]), answer=answer_text(request))
            if request["state"] == "requested":
                text += "\n" + _("{grant}: grant · {decline}: decline").format(grant=self.key_of("grant"), decline=self.key_of("decline"))
        self.query_one("#vendor-request-detail", Static).update(content(text))

    def action_toggle_all(self) -> None:
        self.open_only = not self.open_only
        self.reload()

    def _open_request(self) -> dict[str, Any] | None:
        request = self.table.current_row
        if request is None:
            self.notify(_("No request selected."), severity="warning", markup=False)
            return None
        if request["state"] != "requested":
            self.notify(_("Request #{id} is already {state}.").format(id=request["id"], state=state_label(request["state"])),
                        severity="warning", markup=False)
            return None
        return request

    def action_grant(self) -> None:
        request = self._open_request()
        if request is not None:
            self._grant_flow(request)

    @work(exclusive=True, group="vendor-flow")
    async def _grant_flow(self, request: dict[str, Any]) -> None:
        what = N_("Credits to grant") if request["kind"] == "credits" else N_("Seats to grant")
        where = N_("Into bank") if request["kind"] == "credits" else N_("Into pool")
        now = N_("Granted now") if request["kind"] == "credits" else N_("Seats now")

        def dialog(quote: Any) -> ConfirmDialog:
            rows = [(N_("Request"), f"#{request['id']}"), (N_("Product"), quote["product"]), (where, quote["target"]),
                    (N_("Wanted"), str(quote["asked"])), (what, str(quote["amount"])),
                    (now, f"{quote['before']} → {quote['after']}")]
            if quote.get("expires_on"):
                rows.append((N_("Expiration date"), quote["expires_on"]))
            return ConfirmDialog(
                _("Grant {n} {unit} to {org}?").format(n=quote["amount"], unit=_unit(request), org=quote["organization_name"]),
                rows, confirm_label=N_("Grant"),
            )

        async def submit(values: dict[str, Any]) -> Any:
            # A wrong bank or pool, an expired bank: said in the form, before asking to confirm.
            amount, target = int(values["amount"]), values["target"].strip()
            return await self.quote_confirm_commit(
                lambda: self.portal.quote_grant(self.me, request["id"], amount=amount, target=target),
                dialog,
                lambda q: (q, self.portal.grant_request(self.me, request["id"], amount=q["amount"], target=q["target"])),
            )

        result = await self.app.push_screen_wait(FormDialog(
            _("Grant request #{id}").format(id=request["id"]),
            [
                Field("org", N_("Organization"), "info", value=request.get("organization_name") or request["organization"]),
                Field("amount", what, "int", value=str(request["amount"])),
                Field("target", where, "text", value=request["target"]),
            ],
            submit_label=N_("Continue"),
            note=_("The grant is added and an email to the organization's admins is queued, in one step."),
            submit=submit, refusal_field="target",
        ))
        if result:
            quote, _done = result
            amount, target = quote["amount"], quote["target"]
            self.done(_("Request #{id} granted: {n} {unit} to {target}.").format(
                id=request["id"], n=amount, unit=_unit(request), target=target))

    def action_decline(self) -> None:
        request = self._open_request()
        if request is not None:
            self._decline_flow(request)

    @work(exclusive=True, group="vendor-flow")
    async def _decline_flow(self, request: dict[str, Any]) -> None:
        async def submit(values: dict[str, Any]) -> Any:
            return await self.quote_confirm_commit(
                lambda: values["reason"],
                lambda reason: ConfirmDialog(
                    _("Decline request #{id}?").format(id=request["id"]),
                    [(N_("Organization"), request.get("organization_name") or request["organization"]),
                     (N_("Wanted"), f"{request['amount']} {_unit(request)} · {request['product']}"), (N_("Why"), reason)],
                    confirm_label=N_("Decline"), danger=True,
                ),
                lambda reason: self.portal.decline_request(self.me, request["id"], reason),
            )

        done = await self.app.push_screen_wait(FormDialog(
            _("Decline request #{id}").format(id=request["id"]),
            [Field("reason", N_("Why"), "name", placeholder=_("e.g. the contract allows 200 at most"))],
            submit_label=N_("Continue"),
            note=_("An email with the reason is queued to the organization's admins."),
            submit=submit, refusal_field="reason",
        ))
        if done:
            self.done(_("Request #{id} declined.").format(id=request["id"]))


class VendorOrganizationsPage(Page):
    PAGE_ID = "vendor-orgs"
    TITLE = N_("Organizations")
    ADMIN_ONLY = False
    VENDOR_ONLY = True

    COLUMNS = [
        Column("id", N_("ID"), 18),
        Column("name", N_("Organization"), 24),
        Column("banks", N_("Banks"), 5, "right"),
        Column("pools", N_("Pools"), 5, "right"),
        Column("open_requests", N_("Open requests"), 13, "right"),
        Column("language", N_("Mail"), 4),
    ]
    COMMANDS = [
        Command("vendor.bank", "add", "grant_bank", N_("Grant bank"), N_("Grant a credit bank to the selected organization"),
                title=N_("Grant a credit bank")),
        Command("vendor.seats", "more", "grant_seats", N_("Grant seats"), N_("Grant seats to the selected organization")),
        Command("vendor.topup", "extend", "top_up", N_("Top up"), N_("Add credits to a bank or move its expiry"),
                title=N_("Top up a bank")),
    ]
    DEFAULT_CSS = """
    VendorOrganizationsPage #vendor-orgs-table { height: 1fr; }
    """

    def compose(self) -> ComposeResult:
        self.table = RecordTable(self.COLUMNS, id="vendor-orgs-table", flex="name", flex_max=40)
        yield self.title_widget()
        yield FilterBar(self.table, id="vendor-orgs-filter")
        yield self.table
        yield Static(content(_("{bank}: grant a credit bank · {seats}: grant seats · {top_up}: top up a bank").format(
            bank=self.key_of("grant_bank"), seats=self.key_of("grant_seats"), top_up=self.key_of("top_up"))), classes="page-note")

    def fetch(self) -> list[dict[str, Any]]:
        return self.portal.list_organizations(self.me)

    def show_data(self, data: list[dict[str, Any]]) -> None:
        self.table.set_rows(data, keep="id")

    def _org(self) -> dict[str, Any] | None:
        org = self.table.current_row
        if org is None:
            self.notify(_("Select an organization first."), severity="warning", markup=False)
        return org

    def action_grant_bank(self) -> None:
        org = self._org()
        if org is not None:
            self._bank_flow(org)

    @work(exclusive=True, group="vendor-flow")
    async def _bank_flow(self, org: dict[str, Any]) -> None:
        today = self.portal.today()

        def dialog(values: dict[str, Any]) -> ConfirmDialog:
            rows = [(N_("Organization"), org["name"]), (N_("Product"), values["product"]), (N_("Credits"), str(values["credits"])),
                    (N_("Valid"), f"{values['start']} .. {values['expires']}"), (N_("Version"), values.get("version") or "—"),
                    (N_("Portable"), _("yes") if values.get("portable") == "yes" else _("no"))]
            return ConfirmDialog(_("Grant this bank?"), rows, confirm_label=N_("Grant"))

        async def submit(values: dict[str, Any]) -> Any:
            # The vendor's refusals (an expired bank, an expiry not after the start) come back to the form.
            return await self.quote_confirm_commit(
                lambda: values,
                dialog,
                lambda v: self.portal.add_bank(
                    self.me, organization=org["id"], product=v["product"], credits=v["credits"], start=v["start"],
                    expires_on=v["expires"], product_version=v.get("version") or None, portable=v.get("portable") == "yes"),
            )

        bank = await self.app.push_screen_wait(FormDialog(
            _("Grant a credit bank to {org}").format(org=org["name"]),
            [
                Field("product", N_("Product"), "name", placeholder="Quillstone Animate"),
                Field("credits", N_("Credits"), "int"),
                Field("start", N_("Start date"), "date", value=today.isoformat()),
                Field("expires", N_("Expiration date"), "date", placeholder="YYYY-MM-DD"),
                Field("version", N_("Version"), "text", required=False, placeholder="25.1"),
                Field("portable", N_("Portable"), "select", value="no",
                      options=[(content(_("no")), "no"), (content(_("yes")), "yes")]),
            ],
            submit_label=N_("Continue"),
            submit=submit,
        ))
        if bank:
            self.done(_("Bank {bank} granted to {org}: {n} credits of {product}.").format(
                bank=bank["id"], org=org["name"], n=bank["credits_granted"], product=bank["product"]))

    def action_grant_seats(self) -> None:
        org = self._org()
        if org is not None:
            self._seats_flow(org)

    @work(exclusive=True, group="vendor-flow")
    async def _seats_flow(self, org: dict[str, Any]) -> None:
        async def submit(values: dict[str, Any]) -> Any:
            return await self.quote_confirm_commit(
                lambda: values,
                lambda v: ConfirmDialog(
                    _("Grant these seats?"),
                    [(N_("Organization"), org["name"]), (N_("Product"), v["product"]), (N_("Seats"), str(v["seats"]))],
                    confirm_label=N_("Grant"),
                ),
                lambda v: self.portal.add_seats(self.me, org["id"], v["product"], v["seats"]),
            )

        pool = await self.app.push_screen_wait(FormDialog(
            _("Grant seats to {org}").format(org=org["name"]),
            [Field("product", N_("Product"), "name", placeholder="Quillstone Frameloop"), Field("seats", N_("Seats"), "int")],
            submit_label=N_("Continue"),
            note=_("Adds seats to the organization's pool of that product, or opens the pool."),
            submit=submit,
        ))
        if pool:
            self.done(_("{org} now has {n} seats of {product}.").format(org=org["name"], n=pool["purchased"], product=pool["product"]))

    def action_top_up(self) -> None:
        org = self._org()
        if org is not None:
            self._top_up_flow(org)

    @work(exclusive=True, group="vendor-flow")
    async def _top_up_flow(self, org: dict[str, Any]) -> None:
        def dialog(values: dict[str, Any]) -> ConfirmDialog:
            rows = [(N_("Organization"), org["name"]), (N_("Bank"), values["bank"]),
                    (N_("Credits to add"), str(values.get("credits") or "—")),
                    (N_("New expiration date"), values.get("expires") or "—")]
            return ConfirmDialog(_("Top up this bank?"), rows, confirm_label=N_("Top up"))

        async def submit(values: dict[str, Any]) -> Any:
            return await self.quote_confirm_commit(
                lambda: values,
                dialog,
                lambda v: self.portal.top_up_bank(self.me, v["bank"], credits=v.get("credits") or None,
                                                  expires_on=v.get("expires") or None),
            )

        bank = await self.app.push_screen_wait(FormDialog(
            _("Top up a bank of {org}").format(org=org["name"]),
            [
                Field("bank", N_("Bank"), "text", placeholder="BK-0001"),
                Field("credits", N_("Credits to add"), "int", required=False),
                Field("expires", N_("New expiration date"), "date", required=False, placeholder="YYYY-MM-DD"),
            ],
            submit_label=N_("Continue"),
            note=_("Leave a field empty to keep it. An expiry never moves before a license the bank already covers."),
            submit=submit,
        ))
        if bank:
            self.done(_("Bank {bank}: {n} credits granted, expires on {day}.").format(
                bank=bank["id"], n=bank["credits_granted"], day=bank["expires_on"]))
