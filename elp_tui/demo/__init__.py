"""The demo organization: `elp demo` writes a store that shows every case of the portal.

`write_demo` is the entry point; `build_demo` returns the tables without writing them.
Never imports textual: the CLI runs it before any app starts.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from elp_tui.demo.build import SIZES, DemoData, build_demo
from elp_tui.demo.progress import ProgressBar
from elp_tui.portal.clock import system_clock
from elp_tui.store import Store, StoreError, is_url, open_store


def write_demo(
    store_path: Path,
    size: str = "small",
    force: bool = False,
    progress: bool = True,
    today: dt.date | None = None,
) -> dict[str, Any]:
    """Write the demo store at `store_path` in one atomic write; say who can sign in.

    Refuses to replace an existing store unless `force`. The content depends only on
    `size` and `today` (default: the portal clock, which honours ELP_TODAY).
    """
    if size not in SIZES:
        raise ValueError(f"Demo size {size!r} is unknown: use {' or '.join(SIZES)}.")
    path = store_path if is_url(store_path) else Path(store_path).expanduser()
    store = open_store(path)
    if store.exists() and not force:
        raise StoreError(f"A store already exists at {path}: pass --force to replace it.")
    bar = ProgressBar(enabled=progress and size != "small")
    demo = build_demo(today or system_clock(), size, progress=bar.update)
    bar.update(0.9, "writing")
    # --force replaces a demo freely; any other store is first kept beside it, so a mistyped
    # --store never costs real data. Whether the file is a demo is decided under the store
    # lock, on the very file replaced: two `elp demo --force` at once keep the real store once.
    keep = store.create(
        demo.tables, overwrite=force, meta={"demo": True},
        keep_previous=f"before-demo-{dt.datetime.now().strftime('%Y%m%dT%H%M%S')}",
        keep_if=lambda raw: not (Store.head_meta_of(raw) or {}).get("demo"),
    )
    bar.done()
    return {
        "admin": demo.admin,
        "regular": demo.regular,
        "vendor": demo.vendor,
        "team_admin": demo.team_admin,
        "team_admin_of": demo.team_admin_of,
        "store": str(path),
        "previous": str(keep) if keep else None,
        "counts": {name: len(docs) for name, docs in demo.tables.items()},
    }


__all__ = ["write_demo", "build_demo", "DemoData", "SIZES"]
