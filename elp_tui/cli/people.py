"""elp users …, elp versions …, elp log, elp signin."""

from __future__ import annotations

from elp_tui.cli.console import Column, only, plain
from elp_tui.cli.keys import short_fingerprint
from elp_tui.cli.session import Session
from elp_tui.i18n import _

USER_KEYS = ("email", "role", "status", "organization")

USER_COLUMNS = (
    Column("email", "EMAIL", flex=True),
    Column("role", "ROLE"),
    Column("status", "STATUS"),
)
BUILD_COLUMNS = (
    Column("version", "VERSION"),
    Column("released", "RELEASED"),
    Column("accessible", "ACCESSIBLE"),
    Column("downloads", "DOWNLOADS", flex=True, show=lambda urls: ", ".join(sorted(urls or {}))),
)
ACTIVITY_COLUMNS = (
    Column("on", "DATE"),
    Column("actor", "BY", flex=True, drop=2),
    Column("action", "ACTION"),
    Column("target", "TARGET", flex=True),
    Column("details", "DETAILS", flex=True),
    Column("credits", "CREDITS", right=True, drop=3, show=lambda v: v or ""),
    Column("seats", "SEATS", right=True, drop=4, show=lambda v: v or ""),
    # The SSH key the change came through (empty: run locally); the full fingerprint is in --json.
    Column("via", "VIA KEY", drop=5, show=lambda v: short_fingerprint(v)),
)


def signin(s: Session) -> None:
    user = s.user or s.sign_in()
    org = s.portal.organization_name(user.get("organization"))
    s.console.line(f"Signed in as {plain(user['email'])}: {user['role']}, {user['status']}, organization {plain(org)}.")
    teams = s.portal.my_team_admin(user["email"]) if user.get("role") == "regular" and user.get("organization") else []
    if teams:  # seed 002: they manage these teams' members ('elp teams list', 'elp teams add', 'elp teams remove')
        s.console.line(_("Team Admin of: {teams} ('elp teams list' shows them; 'elp teams add' and 'elp teams remove' "
                         "change their members).").format(teams=plain(", ".join(teams))))


# -- users -------------------------------------------------------------------------
def users_list(s: Session) -> None:
    users = s.portal.list_users(s.actor)
    if s.args.json:
        s.console.json([only(u, USER_KEYS) for u in users])
        return
    s.console.line(f"Organization: {plain(s.portal.organization_name(s.user.get('organization')))}")
    s.console.table(USER_COLUMNS, users)


def users_invite(s: Session) -> None:
    user = s.portal.invite(s.actor, s.args.email, s.args.role)
    s.console.line(
        f"Invited {plain(user['email'])} as {user['role']}: they are active from their first sign-in "
        f"(elp --as {plain(user['email'])} signin)."
    )


def users_set_role(s: Session) -> None:
    user = s.portal.set_role(s.actor, s.args.email, s.args.role)
    s.console.line(f"{plain(user['email'])} is now {user['role']}.")


def users_set_status(s: Session) -> None:
    user = s.portal.set_status(s.actor, s.args.email, s.args.status)
    s.console.line(f"{plain(user['email'])} is now {user['status']}.")


def users_delete(s: Session) -> None:
    # The portal's quote refuses first (not a member, last admin, licenses held): no question for nothing.
    quote = s.portal.quote_delete_user(s.actor, s.args.email)
    address = quote["email"]
    org = s.portal.organization_name(s.user.get("organization"))
    if quote["seats_returned"]:
        seats = _("their seat of {products} returns to the pool").format(products=", ".join(quote["seats_returned"]))
    else:
        seats = _("they hold no seat")
    s.console.line(
        _("Delete {email} ({role}, {status}) from {org}: {seats}.").format(
            email=plain(address), role=quote["role"], status=quote["status"], org=plain(org), seats=plain(seats)
        )
    )
    if quote["teams"]:
        s.console.line(_("They leave the team(s) {teams}.").format(teams=plain(", ".join(quote["teams"]))))
    s.console.confirm(s.args.yes)
    s.portal.delete_user(s.actor, address, expected=quote)
    s.console.line(f"{plain(address)} was removed from {plain(org)}.")


# -- product versions --------------------------------------------------------------
def versions_list(s: Session) -> None:
    products = s.portal.list_versions(s.actor)
    if s.args.json:
        s.console.json(products)
        return
    c = s.console
    if not products:
        c.line("No products in the catalog yet.")
        return
    for n, product in enumerate(products):
        if n:
            c.line()
        if product["restriction"] == "enabled":
            rule = "restriction enabled: only the selected builds are accessible"
        else:
            rule = "restriction disabled: all builds are accessible"
        c.line(f"{plain(product['product'])} ({product['kind']}) - {rule}")
        c.table(BUILD_COLUMNS, product["builds"], indent="  ", empty="no builds published")


def versions_restrict(s: Session) -> None:
    builds = [b.strip() for b in s.args.builds.split(",") if b.strip()]
    rule = s.portal.restrict(s.actor, s.args.product, builds)
    s.console.line(f"{plain(rule['product'])}: only builds {plain(', '.join(rule['builds']))} are accessible now.")


def versions_unrestrict(s: Session) -> None:
    rule = s.portal.unrestrict(s.actor, s.args.product)
    s.console.line(f"{plain(rule['product'])}: every build is accessible again.")


# -- activity ----------------------------------------------------------------------
def log(s: Session) -> None:
    entries = s.portal.activity(s.actor)
    if s.args.json:
        s.console.json(entries)
        return
    s.console.table(ACTIVITY_COLUMNS, entries, empty="The activity log is empty.")
