"""elp seats … and elp teams …: seat pools, their consumption, and the teams using them."""

from __future__ import annotations

from typing import Any

from elp_tui.cli.console import Column, plain
from elp_tui.cli.credits import say_posted
from elp_tui.cli.session import Session
from elp_tui.i18n import _

BAR_WIDTH = 40
# active / pending / unassigned / unused, in the order the dashboard bar shows them
BAR_MARKS = (("active", "#"), ("pending", "+"), ("unassigned", "-"), ("unused", "."))

POOL_COLUMNS = (
    Column("id", "POOL"),
    Column("product", "PRODUCT", flex=True),
    Column("purchased", "PURCHASED", right=True),
    Column("active", "ACTIVE", right=True),
    Column("pending", "PENDING", right=True),
    Column("unassigned", "UNASSIGNED", right=True),
    Column("unused", "UNUSED", right=True),
)
MEMBER_COLUMNS = (
    Column("team", "TEAM", flex=True),
    Column("email", "MEMBER", flex=True),
    Column("state", "SEAT"),
)
TEAM_COLUMNS = (
    Column("name", "TEAM", flex=True),
    Column("product", "PRODUCT", flex=True),
    Column("pool", "POOL"),
    Column("members", "MEMBERS", right=True, show=len),
    Column("admins", "TEAM ADMINS", flex=True, drop=1, show=lambda admins: ", ".join(admins or []) or "-"),
)


def consumption_bar(pool: dict[str, Any], width: int = BAR_WIDTH) -> str:
    """[####++--......]: one mark per share of the purchased seats (never below zero)."""
    total = max(pool["purchased"], 1)
    counts = [max(0, pool[state]) for state, _ in BAR_MARKS]
    cells = [round(n * width / total) for n in counts]
    # rounding must not change the bar's length: adjust the largest share
    cells[cells.index(max(cells))] += width - sum(cells)
    return "[" + "".join(mark * n for (_, mark), n in zip(BAR_MARKS, cells)) + "]"


def seats_add(s: Session) -> None:
    pool = s.portal.add_seats(s.actor, s.args.org or "", s.args.product, s.args.seats)
    if s.args.json:
        s.console.json(pool)
        return
    s.console.line(
        f"{plain(pool['id'])} {plain(pool['product'])}: {pool['purchased']} seat(s) purchased, {pool['unused']} unused."
    )


def seats_show(s: Session) -> None:
    pools = s.portal.seats_overview(s.actor)
    if s.args.json:
        s.console.json(pools)
        return
    c = s.console
    if not pools:
        c.line("No seat pools yet: the vendor grants them.")
        return
    c.table(POOL_COLUMNS, pools)
    c.line()
    for pool in pools:
        c.line(
            f"{plain(pool['id'])} {consumption_bar(pool)} {pool['active']} active, {pool['pending']} pending, "
            f"{pool['unassigned']} unassigned, {pool['unused']} unused"
        )
    c.line("  # active  + pending  - unassigned  . unused")
    for pool in pools:
        c.line()
        c.line(f"Members per team, {plain(pool['product'])} ({plain(pool['id'])}):")
        members = [
            {"team": team["name"], "email": m["email"], "state": m["state"]}
            for team in pool["teams"]
            for m in team["members"]
        ]
        members += [{"team": "(no team)", "email": e, "state": "unassigned"} for e in pool["unassigned_members"]]
        empty_teams = [t["name"] for t in pool["teams"] if not t["members"]]
        c.table(MEMBER_COLUMNS, members, indent="  ", empty="no members yet")
        if empty_teams:
            c.line(f"  Teams without members: {plain(', '.join(empty_teams))}")
        led = [(team["name"], team.get("admins") or []) for team in pool["teams"] if team.get("admins")]
        for name, admins in led:
            c.line(_("  Team Admins of {team}: {admins}").format(team=plain(name), admins=plain(", ".join(admins))))


def seats_request(s: Session) -> None:
    pool = s.portal.quote_request_seats(s.actor, s.args.product, s.args.seats)
    seats = pool["seats"]
    vendor = s.portal.vendor_contact(s.actor, pool["product"]) or {}
    s.console.line(_(
        "Request {seats} more seat(s) of {product} (pool {pool}, {purchased} purchased): the request is recorded "
        "and an email to the vendor's enterprise team ({vendor}) is queued."
    ).format(seats=seats, product=plain(pool["product"]), pool=plain(pool["pool"]), purchased=pool["purchased"],
             vendor=plain(vendor.get("email"))))
    s.console.confirm(s.args.yes)
    request = s.portal.request_seats(s.actor, pool["product"], seats, expected=pool)
    s.console.line(f"Request #{request['id']} recorded: {seats} seat(s) of {plain(pool['product'])} asked from the vendor.")
    say_posted(s, request)


# -- teams -------------------------------------------------------------------------
def teams_list(s: Session) -> None:
    teams = s.portal.list_teams(s.actor)
    if s.args.json:
        s.console.json(teams)
        return
    s.console.table(TEAM_COLUMNS, teams, empty="No teams yet: create one with 'elp teams create NAME --pool PRODUCT'.")


def teams_create(s: Session) -> None:
    team = s.portal.create_team(s.actor, s.args.name, s.args.pool)
    s.console.line(f"Team {plain(team['name'])} created in pool {plain(team['pool'])}.")


def team_add_lines(quote: dict[str, Any]) -> list[tuple[str, str]]:
    """What `portal.quote_team_add` says adding a member does, as a confirmation lists it."""
    member = quote["email"] + (" " + _("(will be invited)") if quote["invites"] else "")
    seat = _("takes an unused seat") if quote["takes_seat"] else _("reuses the seat they already hold")
    return [
        (_("Team"), quote["team"]),
        (_("Member"), member),
        (_("Seat pool"), quote["product"]),
        (_("Seat"), seat),
        (_("Unused seats"), f"{quote['unused_before']} → {quote['unused_after']}"),
    ]


def teams_add(s: Session) -> None:
    quote = s.portal.quote_team_add(s.actor, s.args.team, s.args.email)  # refusals before the question
    s.console.line(_("Add to a team:"))
    s.console.pairs(team_add_lines(quote))
    s.console.confirm(s.args.yes)
    pool = s.portal.team_add(s.actor, s.args.team, quote["email"], expected=quote)
    s.console.line(
        _("{email} joined {team}; {product} pool: {unused} unused seat(s) left.").format(
            email=plain(quote["email"]), team=plain(quote["team"]), product=plain(pool["product"]), unused=pool["unused"]
        )
    )


def teams_remove(s: Session) -> None:
    # The portal's quote says what happens to the seat; the commit re-checks it (StaleQuote if not).
    quote = s.portal.quote_team_remove(s.actor, s.args.team, s.args.email)
    s.portal.team_remove(s.actor, s.args.team, quote.email, expected=quote)
    s.console.line(_("{email} left {team}.").format(email=plain(quote.email), team=plain(quote.team))
                   + " " + plain(quote.seat_effect()))


def teams_admin(s: Session) -> None:
    """Make a regular member the Team Admin of a team (seed 002), or no longer (--remove)."""
    admin = not s.args.remove
    quote = s.portal.quote_set_team_admin(s.actor, s.args.team, s.args.email, admin=admin)  # refusals first
    team = s.portal.set_team_admin(s.actor, quote["team"], quote["email"], admin=admin, expected=quote)
    if getattr(s.args, "json", False):
        s.console.json(team)
        return
    if admin:
        s.console.line(_("{email} is now a Team Admin of {team}: they may add and remove its members and see its "
                         "pool's seats.").format(email=plain(quote["email"]), team=plain(team["name"])))
    else:
        s.console.line(_("{email} is no longer a Team Admin of {team}.").format(email=plain(quote["email"]),
                                                                               team=plain(team["name"])))
    s.console.line(_("Team Admins of {team}: {admins}").format(team=plain(team["name"]),
                                                             admins=plain(", ".join(team["admins"])) or _("none")))
