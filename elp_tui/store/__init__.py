"""The document store: one JSON file, TinyDB tables, transactions across processes."""

from elp_tui.store.db import Store, StoreDamaged, StoreError, default_store_path

__all__ = ["Store", "StoreDamaged", "StoreError", "default_store_path"]
