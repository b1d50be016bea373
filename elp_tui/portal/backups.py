"""`elp backup PATH` and `elp restore PATH`: a copy of the whole store, and putting one back.

Both are for admins. A backup is an admin operation like any other (`actor` first: the
authority guard refuses and logs a regular user). A restore must also mend a store nobody
can sign in to (damaged, missing), so it checks its restorer itself (`_restorer`). A restore
only ever puts back a backup that is sound in every way `elp check` knows; otherwise the
store stays as it is.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from elp_tui.i18n import _
from elp_tui.portal.base import T_LICENSES, T_ORGS, T_USERS, PortalBase
from elp_tui.portal.errors import AdminRequired, InvalidInput
from elp_tui.store import Store, StoreDamaged, StoreError
from elp_tui.store.repository import Tables, Transaction


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
    def backup(self, actor: str, target: str | Path, *, overwrite: bool = False) -> dict[str, Any]:
        """Copy the store, as committed now, to `target`; what the copy holds."""
        path = Path(target).expanduser()
        tables = self.store.backup(path, overwrite=overwrite)
        return _summary(path, tables)

    def _sound_backup(self, source: str | Path) -> Store:
        path = Path(source).expanduser()
        if not path.exists():
            raise InvalidInput(_("There is no backup at {path}: give the path of a file written by 'elp backup'.").format(path=path))
        # Judged as opening it would judge it (the same list `elp check` prints): a backup that
        # could not be opened once restored is refused here, before anything is written or kept.
        backup = Store(path, rules=self.invariant_problems)
        try:
            backup.tables()
        except StoreDamaged as exc:
            raise InvalidInput(
                _("The backup {path} {problem}. Nothing was restored; the current store is unchanged. "
                  "Run 'elp --store {path} check' to see every problem.").format(path=path, problem=exc.problem or exc)
            ) from None
        except StoreError as exc:
            raise InvalidInput(
                _("The backup {path} {problem}. Nothing was restored; the current store is unchanged.").format(
                    path=path, problem=exc.problem or exc)
            ) from None
        return backup

    def _restorer(self, by: str | None) -> dict[str, Any] | None:
        """Who restores: on a store that opens, an admin (a regular user's attempt raises
        AdminRequired, which the guard logs). A store that does not open has no one to sign in:
        access to its file is the authority (None)."""
        try:
            db = self.store.read()
        except StoreError:
            return None
        try:
            return self._actor(db, by)
        except AdminRequired as exc:
            exc.operation = "restore"  # logged as the restore it was, from its quote too
            raise

    def quote_restore(self, by: str | None, source: str | Path) -> dict[str, Any]:
        """What restoring `source` would put back (checked in full), before asking to go ahead."""
        self._restorer(by)
        backup = self._sound_backup(source)
        return _summary(backup.path, backup.tables())

    def restore(self, by: str | None, source: str | Path) -> dict[str, Any]:
        """Replace the store by the backup `source` (checked again at commit). The file it
        replaces is kept beside it (`<store>.before-restore-<time>`, never overwritten); its path
        is in the result. The restored log gets one entry saying who restored what."""
        me = self._restorer(by)
        backup = self._sound_backup(source)
        restored = backup.tables()

        def tables_for(keep: Path | None) -> dict[str, dict[str, Any]]:
            # Under the store lock, once the replaced file is kept: the log names the kept copy.
            tables = Tables(restored)
            db = Transaction(tables)
            # Logged to the restorer's organization if the backup holds it (a log entry of an
            # organization the store does not have would make the restored store refuse to open).
            org = me["organization"] if me and me["organization"] in {o["id"] for o in restored.get(T_ORGS, {}).values()} else None
            self._log(
                db, org, me["email"] if me else _("(file access)"), "restore",
                str(backup.path),
                _("store restored from {path}; the replaced file is kept as {kept}").format(
                    path=backup.path, kept=keep or _("(there was none)")),
            )
            return tables.applied(db.changes).data

        written, keep = self.store.replace_with(tables_for, f"before-restore-{self._now_stamp()}")
        result = _summary(backup.path, written)
        result["previous"] = str(keep) if keep else None
        return result

    def _now_stamp(self) -> str:
        return self._stamp().replace("-", "").replace(":", "")

