"""The document store: one JSON file (TinyDB tables, transactions across processes), or a
PostgreSQL database (store/pg.py) behind the same seam; `open_store` picks by the target."""

from elp_tui.store.db import Store, StoreDamaged, StoreError, default_store_path
from elp_tui.store.pg import PgStore, is_url, open_store

__all__ = ["Store", "StoreDamaged", "StoreError", "default_store_path", "PgStore", "open_store", "is_url"]
