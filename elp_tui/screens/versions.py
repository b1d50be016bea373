"""Product Versions: which builds of each product the organization's users may download.

Restriction Disabled: every build is accessible. Enabled: only the selected builds.
"""

from __future__ import annotations

from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from elp_tui.i18n import N_, _
from elp_tui.screens.base import Page
from elp_tui.widgets.commands import Command
from elp_tui.screens.dialogs import ConfirmDialog, Field, FormDialog
from elp_tui.widgets.filter import FilterBar
from elp_tui.widgets.safe import content
from elp_tui.widgets.table import Column, RecordTable

RESTRICTION_LABELS = {"enabled": N_("Enabled"), "disabled": N_("Disabled")}
OPERATING_SYSTEMS = [("windows", N_("Windows")), ("macos", N_("macOS")), ("linux", N_("Linux"))]


def restriction_label(value: Any) -> str:
    return _(RESTRICTION_LABELS.get(str(value), str(value)))


def available(url: Any) -> str:
    return "✓" if url else "—"


def build_rows(product: dict[str, Any]) -> list[dict[str, Any]]:
    """The builds of a product as table rows: one column per operating system.

    While the restriction is disabled the kept selection means nothing, so it is not shown.
    """
    enabled = product["restriction"] == "enabled"
    return [
        {
            **build,
            **{f"os_{os}": (build.get("downloads") or {}).get(os) for os, _label in OPERATING_SYSTEMS},
            "selected": build["selected"] if enabled else None,
        }
        for build in product["builds"]
    ]


class VersionsPage(Page):
    PAGE_ID = "versions"
    TITLE = N_("Product Versions")
    ADMIN_ONLY = True

    DEFAULT_CSS = """
    VersionsPage #versions-products { height: auto; max-height: 8; min-height: 3; }
    VersionsPage #versions-detail { height: 1fr; }
    VersionsPage #versions-builds { height: 1fr; }
    VersionsPage .versions-heading { height: 1; color: $text-muted; text-style: bold; margin-top: 1; }
    VersionsPage #versions-rule { height: auto; }
    VersionsPage #versions-rule.-enabled { color: $warning; }
    """

    PRODUCT_COLUMNS = [
        Column("product", N_("Product"), 20),
        Column("restriction", N_("Restriction"), 11, format=restriction_label),
        Column("access", N_("Accessible"), 10),
    ]
    BUILD_COLUMNS = [
        Column("version", N_("Version"), 8),
        Column("released", N_("Released"), 10),
        Column("accessible", N_("Accessible"), 10),
        Column("selected", N_("Selected"), 8),
        *[Column(f"os_{os}", label, 7, "left", available) for os, label in OPERATING_SYSTEMS],
    ]

    COMMANDS = [
        Command("versions.restrict", "restrict", "restrict", N_("Restrict"),
                N_("Enable the restriction: only the builds you select are accessible"), title=N_("Restrict builds")),
        Command("versions.allow_all", "allow-all", "allow_all", N_("Allow all"),
                N_("Disable the restriction: every build is accessible"), title=N_("Allow all builds")),
    ]

    def compose(self) -> ComposeResult:
        self.table = RecordTable(self.PRODUCT_COLUMNS, id="versions-products", flex="product", flex_max=36)
        self.builds = RecordTable(self.BUILD_COLUMNS, id="versions-builds", muted=lambda r: not r.get("accessible"))
        yield self.title_widget()
        yield FilterBar(self.table, id="versions-filter")
        yield self.table
        with Vertical(id="versions-detail"):
            yield Static("", id="versions-builds-heading", classes="versions-heading")
            yield Static("", id="versions-rule")
            yield self.builds


    # -- data --------------------------------------------------------------------------
    def fetch(self) -> list[dict[str, Any]]:
        return self.portal.list_versions(self.me)

    def show_data(self, data: list[dict[str, Any]]) -> None:
        rows = []
        for product in data:
            accessible = [b for b in product["builds"] if b["accessible"]]
            rows.append(
                {**product, "access": _("{n} of {total}").format(n=len(accessible), total=len(product["builds"]))}
            )
        self.table.set_rows(rows, keep="product")
        self._show_product(self.table.current_row)

    def _show_product(self, product: dict[str, Any] | None) -> None:
        heading = self.query_one("#versions-builds-heading", Static)
        rule = self.query_one("#versions-rule", Static)
        if product is None:
            heading.update(content(_("Builds")))
            rule.update(content(_("The vendor catalog lists no product yet.")))
            self.builds.set_rows([])
            return
        heading.update(content(_("Builds of {product}").format(product=product["product"])))
        enabled = product["restriction"] == "enabled"
        if enabled:
            text = _("Restriction enabled: only the selected builds are accessible (d allows all).")
        else:
            text = _("Restriction disabled: all builds are accessible (e restricts them).")
        if not product["builds"]:
            text = _("The vendor has published no build of {product} yet.").format(product=product["product"])
        rule.update(content(text))
        rule.set_class(enabled, "-enabled")
        self.builds.set_rows(build_rows(product), keep="version")

    @on(RecordTable.Highlighted, "#versions-products")
    def _product_highlighted(self, event: RecordTable.Highlighted) -> None:
        self._show_product(event.row)

    @on(RecordTable.Selected, "#versions-products")
    def _product_selected(self, event: RecordTable.Selected) -> None:
        self.builds.focus()

    def _product(self) -> dict[str, Any] | None:
        product = self.table.current_row
        if product is None and not self.table.total_count:
            self.notify(_("The vendor catalog lists no product yet."), severity="warning", markup=False)
        elif product is None:
            self.notify(_("Select a product first."), severity="warning", markup=False)
        return product

    # -- restrict ----------------------------------------------------------------------
    def action_restrict(self) -> None:
        product = self._product()
        if product is None:
            return
        if not product["builds"]:
            self.notify(_("The vendor has published no build of {product} yet.").format(product=product["product"]),
                        severity="warning", markup=False)
            return
        self._restrict_flow(product)

    @work(exclusive=True, group="versions-flow")
    async def _restrict_flow(self, product: dict[str, Any]) -> None:
        name = product["product"]
        options = [(content(f"{b['version']}  ({b['released']})"), b["version"]) for b in product["builds"]]
        chosen = [b["version"] for b in product["builds"] if b["selected"]]
        shown = [b["version"] for b in product["builds"]]  # newest first, as on the page

        def ordered(versions: list[str]) -> str:
            return ", ".join(sorted(versions, key=lambda v: shown.index(v) if v in shown else -1)) or _("none")

        async def submit(values: dict[str, Any]) -> Any:
            # With no build selected the portal refuses (beside the builds, the form open; nothing written).
            return await self.quote_confirm_commit(
                lambda: self.portal.quote_restrict(self.me, name, list(values["builds"] or [])),
                lambda q: ConfirmDialog(
                    _("Restrict {product}?").format(product=name),
                    [
                        (N_("Restriction"), restriction_label("enabled")),
                        (N_("Accessible builds"), ordered(q["builds"])),
                        (N_("Not accessible"), ordered(q["blocked"])),
                    ],
                    warning=_("Only these builds will be accessible: users see download links for them only."),
                    confirm_label=N_("Restrict"),
                ),
                lambda q: self.portal.restrict(self.me, name, q["builds"], q),
            )

        rule = await self.app.push_screen_wait(
            FormDialog(
                _("Restrict the builds of {product}").format(product=name),
                [Field("builds", N_("Accessible builds"), "multi", value=chosen, options=options, required=False)],
                submit_label=N_("Continue"),
                note=_("Select the builds your users may download (space toggles a build)."),
                submit=submit, refusal_field="builds",
            )
        )
        if rule:
            self.done(_("{product}: only builds {builds} are accessible now.").format(
                product=name, builds=", ".join(rule["builds"])))

    # -- allow all ---------------------------------------------------------------------
    def action_allow_all(self) -> None:
        product = self._product()
        if product is None:
            return
        if product["restriction"] != "enabled":
            self.notify(_("{product} is not restricted: all builds are already accessible.").format(
                product=product["product"]), markup=False)
            return
        self._allow_flow(product)

    @work(exclusive=True, group="versions-flow")
    async def _allow_flow(self, product: dict[str, Any]) -> None:
        name = product["product"]
        ok = await self.app.push_screen_wait(
            ConfirmDialog(
                _("Allow all builds of {product}?").format(product=name),
                [
                    (N_("Restriction"), restriction_label("disabled")),
                    (N_("Accessible builds"), ", ".join(b["version"] for b in product["builds"]) or _("none")),
                ],
                warning=_("Every build will be accessible: users see download links for all of them."),
                confirm_label=N_("Allow all"),
            )
        )
        if not ok:
            return
        rule = await self.call_portal(self.portal.unrestrict, self.me, name)
        if rule is not None:
            self.done(_("{product}: all builds are accessible now.").format(product=name))
