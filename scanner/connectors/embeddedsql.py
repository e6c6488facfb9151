"""SQLite and DuckDB tables: a database file, opened read-only to scan, in a transaction to delete."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from scanner.connectors.sqltables import SqlTableConnector
from scanner.connectors.files import copy_uri
from scanner.core.errors import UsageError


class EmbeddedSqlConnector(SqlTableConnector):
    """A database in one local file (`sqlite:PATH?table=NAME`, `duckdb:PATH?table=NAME`)."""

    def path(self) -> Path:
        path = Path(self.uri.path).expanduser()
        if not path.is_file():
            raise self.fail(f"no such database file: {self.uri.path}")
        return path

    def location(self) -> str:
        return str(Path(self.uri.path).expanduser().resolve())

    def copy_to(self, folder: Path) -> str:
        """The database file (and its write-ahead log, if one is beside it) copied whole."""
        source = self.path()
        for suffix in ("", "-wal", ".wal"):
            if Path(f"{source}{suffix}").exists():
                shutil.copy2(f"{source}{suffix}", folder / f"{source.name}{suffix}")
        return copy_uri(self.uri, self.name, self.source, str(folder / source.name))


class SqliteConnector(EmbeddedSqlConnector):
    name = "sqlite"
    extensions = (".db", ".sqlite", ".sqlite3")
    description = "SQLite tables: sqlite:PATH?table=NAME (text, JSON and array columns; by primary key)"
    residue_advice = ("SQLite keeps deleted rows in the database file's free pages (and its -wal file) until "
                      "they are reused: run VACUUM on {path} (or set PRAGMA secure_delete=ON before deleting), "
                      "then check its backups")

    def connect(self, write: bool):
        path = self.path()
        return sqlite3.connect(f"file:{path}?mode={'rw' if write else 'ro'}", uri=True, isolation_level="DEFERRED")

    def declared_columns(self, db) -> dict[str, str]:
        return {row[1]: row[2] or "" for row in db.execute(f"PRAGMA table_info({_literal(self.table)})")}

    def key_column(self, db) -> str | None:
        keys = [row[1] for row in db.execute(f"PRAGMA table_info({_literal(self.table)})") if row[5]]
        return keys[0] if len(keys) == 1 else None

    def kept_after_delete(self, db, record_ids: list[str]) -> dict | None:
        if db.execute("PRAGMA secure_delete").fetchone()[0]:
            return None
        n = len(set(record_ids))
        return {"event": "residue", "source": self.source, "records": n, "of": n,
                "summary": f"{n} deleted rows may still be in the database file's free pages",
                "advice": self.residue_advice.format(path=self.location())}


class DuckdbConnector(EmbeddedSqlConnector):
    name = "duckdb"
    extensions = (".duckdb",)
    explicit_begin = True
    description = "DuckDB tables: duckdb:PATH?table=NAME (text, JSON and list columns; by primary key)"
    residue_advice = ("DuckDB marks deleted rows and leaves their data in {path} until the row groups are "
                      "rewritten: copy the database into a new file (ATTACH it and COPY FROM DATABASE), replace "
                      "the old file with it and destroy the old one and its backups")

    def connect(self, write: bool):
        try:
            import duckdb
        except ImportError:
            raise UsageError("the duckdb connector needs duckdb: pip install 'dhscan[sql]'") from None
        return duckdb.connect(str(self.path()), read_only=not write)

    def declared_columns(self, db) -> dict[str, str]:
        schema, _, table = self.table.rpartition(".")
        rows = db.execute("SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ? "
                          "AND table_schema = ? ORDER BY ordinal_position", [table, schema or "main"]).fetchall()
        return dict(rows)

    def key_column(self, db) -> str | None:
        schema, _, table = self.table.rpartition(".")
        rows = db.execute("SELECT constraint_column_names FROM duckdb_constraints() WHERE table_name = ? AND "
                          "schema_name = ? AND constraint_type = 'PRIMARY KEY'", [table, schema or "main"]).fetchall()
        return rows[0][0][0] if rows and len(rows[0][0]) == 1 else None

    def kept_after_delete(self, db, record_ids: list[str]) -> dict | None:
        n = len(set(record_ids))
        return {"event": "residue", "source": self.source, "records": n, "of": n,
                "summary": f"{n} deleted rows are still in the database file until it is rewritten",
                "advice": self.residue_advice.format(path=self.location())}


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
