"""Batches from the command line (issue 13): `elp licenses renew --expiring-within DAYS`,
`elp licenses assign --from-csv FILE`, `elp users import FILE.csv`.

Each prints the batch quote the portal computed (per bank before → after, each row's effect,
the refused rows and why), asks once (y/N, or --yes), then commits the very quote it showed:
the portal re-checks it in its transaction. With --all-or-nothing and a refused row, or with
nothing to do, nothing is asked: the commit is refused, and the store unchanged.
"""

from __future__ import annotations


from elp_tui.cli import credits
from elp_tui.cli.console import Console, Refused, plain
from elp_tui.cli.session import Session
from elp_tui.i18n import _, ngettext
from elp_tui.portal.batches import ALL_OR_NOTHING, ALLOWED_ONLY, BatchQuote, read_batch_csv, read_batch_file


def _mode(s: Session) -> str:
    return ALL_OR_NOTHING if getattr(s.args, "all_or_nothing", False) else ALLOWED_ONLY


def show_batch(console: Console, title: str, quote: BatchQuote) -> None:
    """The quote as lines: every label and value through plain() (refs come from files)."""
    console.line(title)
    for label, value in quote.lines():
        console.line(f"  {plain(label)}: {plain(value)}")


def _goes_ahead(s: Session, quote: BatchQuote, writes: int) -> bool:
    """Whether to ask: a batch the portal would refuse as confirmed (all or nothing with a refused
    row, nothing to do) goes straight to the commit, which refuses it and writes nothing."""
    if writes == 0 or (_mode(s) == ALL_OR_NOTHING and quote.refused):
        return False
    return True


def _json_or_line(s: Session, quote: BatchQuote, line: str) -> None:
    if getattr(s.args, "json", False):
        s.console.json(quote.model_dump(mode="json"))
    else:
        s.console.line(line)


# -- elp licenses renew ------------------------------------------------------------
def licenses_renew(s: Session) -> None:
    a = s.args
    filters = [name for name, value in (("--product", a.product), ("--bank", a.bank), ("--assignee", a.assignee),
                                        ("--all-or-nothing", a.all_or_nothing)) if value]
    if a.expiring_within is None:
        if filters:
            raise Refused(_("{options} choose the licenses of a batch: add --expiring-within DAYS (or leave them out "
                            "and name one license).").format(options=", ".join(filters)))
        if a.activation_id is None:
            raise Refused(_("say which license: 'elp licenses renew ACTIVATION_ID', or 'elp licenses renew "
                            "--expiring-within DAYS' for every license that expires within DAYS days."))
        credits.licenses_renew(s)
        return
    if a.activation_id is not None:
        raise Refused(_("give an ACTIVATION_ID or --expiring-within DAYS, not both: one license, or a batch."))
    if a.computers is not None:
        raise Refused(_("--computers raises one multiseat license: renew it alone with 'elp licenses renew ACTIVATION_ID "
                        "--computers N'."))
    ids = s.portal.licenses_expiring(s.actor, a.expiring_within, product=a.product, bank=a.bank, assignee=a.assignee)
    days = int(a.expiring_within)
    if not ids:
        s.console.line(ngettext("No license expires within {n} day (with these filters): nothing to renew.",
                                "No license expires within {n} days (with these filters): nothing to renew.",
                                days).format(n=days))
        return
    quote = s.portal.quote_batch_renew(s.actor, ids, months=a.months)
    if a.months is None:
        how = _("each for its current term")
    else:
        how = ngettext("each for {n} month", "each for {n} months", int(a.months)).format(n=int(a.months))
    quiet = bool(a.yes and a.json)
    if not quiet:
        show_batch(s.console, ngettext(
            "Renew {n} license that expires within {days} days ({how}):",
            "Renew {n} licenses that expire within {days} days ({how}):", len(ids)).format(n=len(ids), days=days, how=how),
            quote)
    if _goes_ahead(s, quote, len(quote.allowed)):
        if quote.refused and not quiet:
            s.console.line(ngettext("{n} license above is refused and will not be renewed (--all-or-nothing: none would be).",
                                    "{n} licenses above are refused and will not be renewed (--all-or-nothing: none would be).",
                                    len(quote.refused)).format(n=len(quote.refused)))
        s.console.confirm(a.yes)
    done = s.portal.batch_renew(s.actor, quote, _mode(s))
    _json_or_line(s, done, ngettext(
        "Renewed {n} license; {credits} credit(s) deducted ({banks}).",
        "Renewed {n} licenses; {credits} credit(s) deducted ({banks}).", len(done.allowed)).format(
            n=len(done.allowed), credits=done.credits,
            banks="; ".join(_("{bank}: {left} left").format(bank=plain(b.bank), left=b.remaining_after) for b in done.banks)))


# -- elp licenses assign --------------------------------------------------------------
def licenses_assign(s: Session) -> None:
    a = s.args
    if a.from_csv is None:
        if a.activation_id is None or a.email is None:
            raise Refused(_("say which license and to whom: {one}, or {many} for many (rows of activation ID, email).").format(
                one="'elp licenses assign ACTIVATION_ID --email EMAIL'", many="'elp licenses assign --from-csv FILE'"))
        if a.all_or_nothing:
            raise Refused(_("--all-or-nothing is for a batch: add --from-csv FILE, or leave it out."))
        credits.licenses_assign(s)
        return
    if a.activation_id is not None or a.email is not None:
        raise Refused(_("give ACTIVATION_ID --email EMAIL or --from-csv FILE, not both: one license, or a batch."))
    rows = read_batch_csv(read_batch_file(a.from_csv), a.from_csv, "assign")
    quote = s.portal.quote_batch_assign(s.actor, rows)
    show_batch(s.console, ngettext(
        "Assign licenses from {file} ({n} row; an email to each recipient is queued):",
        "Assign licenses from {file} ({n} rows; an email to each recipient is queued):", len(rows)).format(
            file=plain(a.from_csv), n=len(rows)), quote)
    if _goes_ahead(s, quote, len(quote.allowed)):
        s.console.confirm(a.yes)
    done = s.portal.batch_assign(s.actor, quote, _mode(s))
    s.console.line(ngettext("Assigned {n} license", "Assigned {n} licenses", len(done.allowed)).format(n=len(done.allowed))
                   + _refused_tail(done))


def _refused_tail(done: BatchQuote) -> str:
    if not done.refused:
        return "."
    return "; " + ngettext("{n} row refused (nothing written for it).", "{n} rows refused (nothing written for them).",
                           len(done.refused)).format(n=len(done.refused))


# -- elp users import -----------------------------------------------------------------
def users_import(s: Session) -> None:
    a = s.args
    rows = read_batch_csv(read_batch_file(a.file), a.file, "users")
    quote = s.portal.quote_users_import(s.actor, rows)
    title = _("Import {file}: {new} new, {there} already there, {refused} refused.").format(
        file=plain(a.file), new=len(quote.new), there=len(quote.members), refused=len(quote.refused))
    show_batch(s.console, title, quote)
    if _goes_ahead(s, quote, quote.changes()):
        s.console.confirm(a.yes)
    done = s.portal.users_import(s.actor, quote, _mode(s))
    joined = sum(1 for r in done.new + done.members if r.teams)
    s.console.line(_("Imported: {new} invited (each gets an invitation email), {joined} joined teams").format(
        new=len(done.new), joined=joined) + _refused_tail(done))

