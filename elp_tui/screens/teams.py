"""Teams: seat pools, their teams and members' seat states; create teams, add and remove members,
request more seats; make a member a team's Team Admin (seed 002).

A Team Admin (a regular member) sees only their teams and their pools' seat usage, and may add and
remove members there; New team, Request seats and Team Admin are an organization admin's.

A member holds one seat of a pool whatever the number of teams they are in; the confirmation of
Add member says whether it takes an unused seat or reuses the member's own (the portal's quote).
"""

from __future__ import annotations

from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.events import Resize
from textual.widgets import Static

from elp_tui.i18n import N_, _
from elp_tui.portal import PortalError
from elp_tui.portal.feed import feed_note
from elp_tui.screens.base import Page
from elp_tui.screens.details import DetailAction, show_details, team_sections, user_sections
from elp_tui.widgets.commands import Command
from elp_tui.screens.dialogs import ConfirmDialog, Field, FormDialog
from elp_tui.screens.requests import RequestsPanel
from elp_tui.widgets.filter import FilterBar
from elp_tui.portal.names import SEAT_STATE_NAMES
from elp_tui.widgets.safe import content
from elp_tui.widgets.table import Column, RecordTable

SEAT_LABELS = SEAT_STATE_NAMES  # the portal's names, shared with the details and `elp teams show`


def seat_label(state: Any) -> str:
    return _(SEAT_LABELS.get(str(state), str(state)))


def pool_summary(pool: dict[str, Any]) -> str:
    return _("{product}: {purchased} purchased · {active} active · {pending} pending · "
             "{unassigned} unassigned · {unused} unused").format(
        product=pool["product"], purchased=pool["purchased"], active=pool["active"],
        pending=pool["pending"], unassigned=pool["unassigned"], unused=pool["unused"],
    )


class TeamsPage(Page):
    PAGE_ID = "teams"
    TITLE = N_("Teams")
    ADMIN_ONLY = True

    DEFAULT_CSS = """
    TeamsPage #teams-pools { height: auto; }
    TeamsPage #teams-body { height: 1fr; layout: vertical; }
    TeamsPage.-wide #teams-body { layout: horizontal; }
    TeamsPage #teams-left { height: 1fr; width: 1fr; }
    TeamsPage #teams-right { height: 1.2fr; width: 1fr; }
    TeamsPage.-wide #teams-right { height: 1fr; }
    TeamsPage.-wide #teams-right { margin-left: 2; }
    TeamsPage #teams-table, TeamsPage #team-members { height: 1fr; }
    TeamsPage .teams-heading { height: 1; color: $accent; text-style: bold; }
    TeamsPage #teams-unassigned { height: auto; max-height: 2; color: $text-muted; }
    TeamsPage #teams-requests { height: auto; max-height: 6; border-top: solid $panel; }
    TeamsPage #teams-requests-table { height: auto; max-height: 4; }
    """

    TEAM_COLUMNS = [
        Column("name", N_("Team"), 18, min_width=12, priority=1),
        Column("member_count", N_("Members"), 7, "right", priority=1),
        Column("product", N_("Seat pool"), 16, min_width=12),
    ]
    MEMBER_COLUMNS = [
        Column("email", N_("Member"), 26, min_width=18, priority=1),
        Column("state", N_("Seat"), 10, format=seat_label, priority=1),
        Column("team_admin", N_("Team Admin"), 10, format=lambda v: _("yes") if v else ""),
    ]

    # New team, Request seats and Team Admin are an organization admin's: a Team Admin's footer and
    # palette do not offer them, and their keys do nothing (reached anyway, the portal refuses).
    COMMANDS = [
        Command("teams.add", "add", "add_member", N_("Add member"), N_("Add a member to the selected team")),
        Command("teams.remove", "remove", "remove_member", N_("Remove member"),
                N_("Remove the selected member from the selected team")),
        Command("teams.create", "new", "create_team", N_("New team"), N_("Create a team in a seat pool"),
                title=N_("Create team"), admin_only=True),
        Command("teams.admin", "admin", "team_admin", N_("Team Admin"),
                N_("Make the selected member the team's Team Admin, or no longer"), admin_only=True),
        Command("teams.request", "more", "request_seats", N_("Request seats"),
                N_("Ask the vendor's enterprise team for more seats"), admin_only=True),
        Command("teams.details", "details", "details", N_("Details"),
                N_("The selected team's members, seats, Team Admins and history"),
                title=N_("Team details"), show=False),
    ]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.pools: list[dict[str, Any]] = []
        self._select_after: str | None = None

    def compose(self) -> ComposeResult:
        self.table = RecordTable(self.TEAM_COLUMNS, id="teams-table", flex="name", flex_max=40)
        self.members = RecordTable(
            self.MEMBER_COLUMNS, id="team-members", flex="email", flex_max=50, muted=lambda r: r.get("state") != "active"
        )
        yield self.title_widget()
        yield Static("", id="teams-pools")
        yield FilterBar(self.table, id="teams-filter")
        with Vertical(id="teams-body"):
            with Vertical(id="teams-left"):
                yield self.table
            with Vertical(id="teams-right"):
                yield Static("", id="team-members-heading", classes="teams-heading")
                yield self.members
                yield Static("", id="teams-unassigned")
        yield RequestsPanel("seats", N_("Seat requests"), id="teams-requests")

    def on_mount(self) -> None:
        # A Team Admin asks the vendor for nothing: the seat requests are an organization admin's.
        self.query_one(RequestsPanel).display = self.elp.is_admin

    def on_resize(self, event: Resize) -> None:
        self.set_class(event.size.width >= 110, "-wide")

    def _admin_only(self, attempt: Any) -> bool:
        """A Team Admin who reached an admin's action anyway (palette, action string): the portal
        refuses it, and logs the refusal like every other; True when refused."""
        if self.elp.is_admin:
            return False
        try:
            attempt()
        except PortalError as exc:
            self.elp.refuse(exc)
        return True

    # -- data --------------------------------------------------------------------------
    def fetch(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        requests = self.portal.list_requests(self.me) if self.elp.is_admin else []
        return self.portal.seats_overview(self.me), requests

    def show_data(self, data: tuple[list[dict[str, Any]], list[dict[str, Any]]]) -> None:
        data, requests = data
        self.query_one(RequestsPanel).show(requests)
        self.pools = data
        rows = [
            {**team, "pool": pool["id"], "product": pool["product"], "member_count": len(team["members"]),
             "members": [{**m, "team_admin": m["email"] in team.get("admins", [])} for m in team["members"]]}
            for pool in data
            for team in pool["teams"]
        ]
        self.table.set_rows(rows, keep="id")
        if self._select_after is not None:
            for index, row in enumerate(self.table.visible_rows()):
                if row["id"] == self._select_after:
                    self.table.cursor = index
            self._select_after = None
        if data:
            summary = "\n".join(pool_summary(pool) for pool in data)
        else:
            summary = _("Your organization has no seat pool: pools appear here once seats are purchased from the vendor.")
        self.query_one("#teams-pools", Static).update(content(summary))
        self._show_team(self.table.current_row)

    def _pool(self, pool_id: str) -> dict[str, Any] | None:
        return next((p for p in self.pools if p["id"] == pool_id), None)

    def _show_team(self, team: dict[str, Any] | None) -> None:
        heading = self.query_one("#team-members-heading", Static)
        unassigned = self.query_one("#teams-unassigned", Static)
        if team is None:
            self.members.set_rows([])
            heading.update(content(_("Members")))
            unassigned.update(content(_("No team yet: press {key} to create one.").format(key=self.key_of("create_team")) if self.pools else ""))
            return
        self.members.set_rows(list(team["members"]), keep="email")
        heading.update(content(_("Members of {team} ({n})").format(team=team["name"], n=len(team["members"]))))
        pool = self._pool(team["pool"]) or {}
        waiting = pool.get("unassigned_members", [])
        outside = [a for a in team.get("admins", []) if a not in {m["email"] for m in team["members"]}]
        if not self.elp.is_admin:  # a Team Admin: the members outside their teams are not theirs to see
            unassigned.update(content(_("Team Admins of {team}: {admins}").format(
                team=team["name"], admins=", ".join(team.get("admins", [])))))
            return
        if outside:  # Team Admins who are not members of the team themselves
            text = _("Team Admins of {team} outside it: {admins}").format(team=team["name"], admins=", ".join(outside))
        elif waiting:
            text = _("Unassigned in {product} (hold a seat, in no team): {members}").format(
                product=pool["product"], members=", ".join(waiting)
            )
        else:
            text = _("No unassigned member in {product}.").format(product=pool.get("product", ""))
        unassigned.update(content(text))

    @on(RecordTable.Highlighted, "#teams-table")
    def _team_highlighted(self, event: RecordTable.Highlighted) -> None:
        self._show_team(event.row)

    @on(RecordTable.Selected, "#teams-table")
    def _team_selected(self, event: RecordTable.Selected) -> None:
        """Enter on a team: its details (members and since when, seats, Team Admins, history)."""
        event.stop()
        if event.row is not None:
            self._details_flow(event.row["id"])

    def action_details(self) -> None:
        team = self._team()
        if team is not None:
            self._details_flow(team["id"])

    @work(exclusive=True, group="teams-details")
    async def _details_flow(self, team_id: str) -> None:
        details = await self.call_portal(self.portal.team_details, self.me, team_id)
        if details is None:
            return
        actions = [DetailAction("add_member", self.key_of("add_member"), N_("Add member"))]
        run = {"add_member": self.action_add_member}
        if self.elp.is_admin:  # a Team Admin asks the vendor for nothing
            actions.append(DetailAction("request_seats", self.key_of("request_seats"), N_("Request seats")))
            run["request_seats"] = self.action_request_seats
        show_details(self, _("Team {team}").format(team=details["team"]["name"]), team_sections(details), actions, run)

    @on(RecordTable.Selected, "#team-members")
    def _member_selected(self, event: RecordTable.Selected) -> None:
        """Enter on a member: an organization admin sees their details (a Team Admin sees only their
        teams, not the members' other licenses and teams: the portal would refuse it)."""
        event.stop()
        if event.row is not None and self.elp.is_admin:
            self._member_details_flow(event.row["email"])

    @work(exclusive=True, group="teams-details")
    async def _member_details_flow(self, email: str) -> None:
        details = await self.call_portal(self.portal.user_details, self.me, email)
        if details is None:
            return
        team = (self.table.current_row or {}).get("name", "")
        actions = [DetailAction("remove_member", self.key_of("remove_member"),
                                _("Remove from {team}").format(team=team), None, N_("Remove member"))]
        show_details(self, _("Member {email}").format(email=details["user"]["email"]), user_sections(details), actions,
                     {"remove_member": self.action_remove_member})

    # -- helpers -----------------------------------------------------------------------
    def _team(self) -> dict[str, Any] | None:
        team = self.table.current_row
        if team is None:
            self.notify(_("Select a team first (or press {key} to create one).").format(key=self.key_of("create_team")), severity="warning", markup=False)
        return team

    def _pool_field(self, name: str, label: str, current: str | None) -> Field:
        if len(self.pools) == 1:
            return Field(name, label, "info", value=self.pools[0]["product"])
        options = [(content(p["product"]), p["product"]) for p in self.pools]
        return Field(name, label, "select", value=current or "", options=options)

    def _no_pool(self) -> bool:
        if not self.pools:
            self.notify(
                _("Your organization has no seat pool yet: seats are bought from the vendor's enterprise team."),
                severity="warning", markup=False,
            )
            return True
        return False

    # -- create team -------------------------------------------------------------------
    def action_create_team(self) -> None:
        if self._admin_only(lambda: self.portal.create_team(self.me, "", "")):
            return
        if not self._no_pool():
            self._create_flow()

    @work(exclusive=True, group="teams-flow")
    async def _create_flow(self) -> None:
        current = (self.table.current_row or {}).get("product")

        async def submit(values: dict[str, Any]) -> Any:
            # The portal's checks (a name taken, `animation` beside `Animation`) before the confirmation.
            return await self.quote_confirm_commit(
                lambda: self.portal.quote_create_team(self.me, values["name"], values["product"]),
                lambda q: ConfirmDialog(
                    _("Create this team?"),
                    [(N_("Team"), q["name"]), (N_("Seat pool"), q["product"])],
                    warning=_("The team starts empty; add members with a."),
                    confirm_label=N_("Create"),
                ),
                lambda q: self.portal.create_team(self.me, q["name"], q["product"]),
            )

        team = await self.app.push_screen_wait(
            FormDialog(
                _("Create a team"),
                [Field("name", N_("Team name"), "name"), self._pool_field("product", N_("Seat pool"), current)],
                submit_label=N_("Create"),
                note=_("Members of the team take seats of its pool; a member in several teams holds one seat."),
                submit=submit, refusal_field="name",
            )
        )
        if team:
            self._select_after = team["id"]
            self.done(_("Team {team} created.").format(team=team["name"]))

    # -- add member --------------------------------------------------------------------
    def action_add_member(self) -> None:
        team = self._team()
        if team is not None:
            self._add_flow(team)

    @work(exclusive=True, group="teams-flow")
    async def _add_flow(self, team: dict[str, Any]) -> None:
        def dialog(quote: dict[str, Any]) -> ConfirmDialog:
            lines = quote.lines()
            if quote["invites"]:
                warning = _("{email} is not a member yet: they will be invited to the organization by email, "
                            "and their seat stays pending until they sign in.").format(email=quote["email"])
            else:
                warning = _("An email to {email} is queued.").format(email=quote["email"])
            return ConfirmDialog(_("Add {email} to {team}?").format(email=quote["email"], team=team["name"]), lines,
                                 warning=warning, confirm_label=N_("Add"), careful=bool(quote["invites"]))

        async def submit(values: dict[str, Any]) -> Any:
            # Refusals (already in the team, another organization, no seat left) beside the email.
            return await self.quote_confirm_commit(
                lambda: self.portal.quote_team_add(self.me, team["id"], values["email"]),
                dialog,
                lambda q: (q, self.portal.team_add(self.me, team["id"], q["email"], q)),
            )

        result = await self.app.push_screen_wait(
            FormDialog(
                _("Add a member to {team}").format(team=team["name"]),
                [Field("email", N_("Email"), "email", placeholder="ana@studio.com")],
                submit_label=N_("Continue"),
                note=_("Someone who is not a member of the organization yet is invited as a regular user."),
                submit=submit, refusal_field="email",
            )
        )
        if result:
            quote, _pool = result
            self.done(_("{email} joined {team}.").format(email=quote["email"], team=team["name"]))

    # -- remove member -----------------------------------------------------------------
    def action_remove_member(self) -> None:
        team = self._team()
        if team is None:
            return
        member = self.members.current_row
        if member is None:
            self.notify(_("This team has no member to remove."), severity="warning", markup=False)
            return
        self._remove_flow(team, member)

    @work(exclusive=True, group="teams-flow")
    async def _remove_flow(self, team: dict[str, Any], member: dict[str, Any]) -> None:
        email = member["email"]
        quote = await self.call_portal(self.portal.quote_team_remove, self.me, team["id"], email)
        if quote is None:
            return

        def dialog(q: Any) -> ConfirmDialog:
            # What happens to the seat is the portal's quote (its lines and its seat_effect), never re-derived here.
            return ConfirmDialog(
                _("Remove {email} from {team}?").format(email=email, team=team["name"]),
                q.lines(),
                warning=q.seat_effect(),
                confirm_label=N_("Remove"),
                danger=True,
            )

        row = await self.confirm_and_commit(dialog, lambda q: self.portal.team_remove(self.me, team["id"], email, q), quote)
        if row is not None:
            self.done(_("{email} left {team}.").format(email=email, team=team["name"]))

    # -- request seats -----------------------------------------------------------------
    def action_request_seats(self) -> None:
        if self._admin_only(lambda: self.portal.quote_request_seats(self.me, "", 1)):
            return
        if not self._no_pool():
            self._request_flow()

    @work(exclusive=True, group="teams-flow")
    async def _request_flow(self) -> None:
        current = (self.table.current_row or {}).get("product")
        contact: dict[str, str] = {}

        def quote_with_contact(values: dict[str, Any]) -> Any:
            quoted = self.portal.quote_request_seats(self.me, values["product"], values["seats"])
            contact["email"] = (self.portal.vendor_contact(self.me, quoted["product"]) or {}).get("email", "")
            return quoted

        async def submit(values: dict[str, Any]) -> Any:
            return await self.quote_confirm_commit(
                lambda: quote_with_contact(values),
                lambda q: ConfirmDialog(
                    _("Request {n} more seats?").format(n=q["seats"]),
                    [(N_("Seat pool"), q["product"]), (N_("Seats requested"), str(q["seats"])),
                     (N_("Purchased now"), str(q["purchased"])), (N_("Email to (queued)"), contact["email"])],
                    warning=_("Nothing changes in the pool until the vendor grants the seats."),
                    confirm_label=N_("Record request"),
                ),
                lambda q: (q, self.portal.request_seats(self.me, q["product"], q["seats"], q)),
            )

        result = await self.app.push_screen_wait(
            FormDialog(
                _("Request more seats"),
                [self._pool_field("product", N_("Seat pool"), current), Field("seats", N_("Seats wanted"), "int", minimum=1)],
                submit_label=N_("Continue"),
                note=_("The request is recorded and an email to the vendor's enterprise team is queued; they will reply to you."),
                submit=submit, refusal_field="seats",
            )
        )
        if result:
            quote, request = result
            vendor_email = contact["email"]
            self.done(_("Request for {n} seats of {product} recorded; its email to {vendor} is queued.").format(
                n=quote["seats"], product=quote["product"], vendor=vendor_email))
            note = feed_note(request)
            if note:  # the request is recorded either way; whether the vendor's feed has it too
                self.elp.notify(note, severity="information" if request.get("posted") else "warning", timeout=8,
                                markup=False)

    # -- Team Admin ----------------------------------------------------------------------
    def action_team_admin(self) -> None:
        team = self._team()
        if self._admin_only(lambda: self.portal.quote_set_team_admin(self.me, (team or {}).get("id", ""), self.me)):
            return
        if team is None:
            return
        member = self.members.current_row
        if member is None:
            self.notify(_("This team has no member: add one with a, then make them its Team Admin."),
                        severity="warning", markup=False)
            return
        self._team_admin_flow(team, member["email"], not member.get("team_admin"))

    @work(exclusive=True, group="teams-flow")
    async def _team_admin_flow(self, team: dict[str, Any], email: str, admin: bool) -> None:
        quote = await self.call_portal(self.portal.quote_set_team_admin, self.me, team["id"], email, admin)
        if quote is None:
            return

        def dialog(q: Any) -> ConfirmDialog:
            if q["admin"]:
                title = _("Make {email} a Team Admin of {team}?").format(email=email, team=team["name"])
                warning = _("They may add members to {team} (taking seats, with the same confirmation) and remove "
                            "them, and see its pool's seat usage; nothing else of the admin pages.").format(team=team["name"])
                label = N_("Make Team Admin")
            else:
                title = _("Stop {email} being a Team Admin of {team}?").format(email=email, team=team["name"])
                warning = _("They stay a member of the team; they can no longer add or remove its members.")
                label = N_("Remove Team Admin")
            return ConfirmDialog(title, q.lines(), warning=warning, confirm_label=label, danger=not q["admin"])

        done = await self.confirm_and_commit(
            dialog, lambda q: self.portal.set_team_admin(self.me, team["id"], email, admin, q), quote)
        if done is not None:
            if admin:
                self.done(_("{email} is now a Team Admin of {team}.").format(email=email, team=team["name"]))
            else:
                self.done(_("{email} is no longer a Team Admin of {team}.").format(email=email, team=team["name"]))
