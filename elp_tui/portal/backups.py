"""`elp backup PATH` and `elp restore PATH`: a copy of the whole store, and putting one back.

Both work on the file, for whoever can read and write it (the file's 0600 mode is the
boundary, not a portal role), so they take no acting user. A restore only ever puts back
a backup that is sound in every way `elp check` knows; otherwise the store stays as it is.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from elp_tui.i18n import _
from elp_tui.portal.base import T_LICENSES, T_ORGS, T_USERS, PortalBase
from elp_tui.portal.errors import InvalidInput
from elp_tui.store import Store, StoreError


def _summary(path: Path, tables: dict[str, dict[str, Any]]) -> dict[str, Any]:
    meta = tables.get("_meta", {}).get("1", {})
    return {
        "path": str(path.absolute()),
        "organizations": len(tables.get(T_ORGS, {})),
        "users": len(tables.get(T_USERS, {})),
        "licenses": len(tables.get(T_LICENSES, {})),
        "generation": meta.get("generation"),
    }


class BackupsMixin(PortalBase):
    def backup(self, target: str | Path, *, overwrite: bool = False) -> dict[str, Any]:
        """Copy the store, as committed now, to `target`; what the copy holds."""
        path = Path(target).expanduser()
        tables = self.store.backup(path, overwrite=overwrite)
        return _summary(path, tables)

    def _sound_backup(self, source: str | Path) -> Store:
        path = Path(source).expanduser()
        if not path.exists():
            raise InvalidInput(_("There is no backup at {path}: give the path of a file written by 'elp backup'.").format(path=path))
        backup = Store(path)
        try:
            backup.tables()  # JSON, schema, fields, references: refused with the problem named
        except StoreError as exc:
            raise InvalidInput(
                _("The backup {path} {problem}. Nothing was restored; the current store is unchanged.").format(
                    path=path, problem=exc.problem or exc)
            ) from None
        problems = self.invariant_problems(Store.view(backup.tables()))
        if problems:
            raise InvalidInput(
                _("The backup {path} is not consistent ({problem}{more}). Nothing was restored; the current store is "
                  "unchanged. Run 'elp --store {path} check' to see every problem.").format(
                    path=path, problem=problems[0],
                    more=_(" and {n} more").format(n=len(problems) - 1) if len(problems) > 1 else "",
                )
            )
        return backup

    def quote_restore(self, source: str | Path) -> dict[str, Any]:
        """What restoring `source` would put back (checked in full), before asking to go ahead."""
        backup = self._sound_backup(source)
        return _summary(backup.path, backup.tables())

    def restore(self, source: str | Path) -> dict[str, Any]:
        """Replace the store by the backup `source` (checked again at commit). The file it
        replaces is kept beside it as `<store>.before-restore`; its path is in the result."""
        backup = self._sound_backup(source)
        keep = self.store.path.with_name(self.store.path.name + ".before-restore")
        existed = self.store.path.exists()
        tables = self.store.replace_with(backup, keep if existed else None)
        result = _summary(backup.path, tables)
        result["previous"] = str(keep) if existed else None
        return result
