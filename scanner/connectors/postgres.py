"""PostgreSQL tables, pgvector's included, through psycopg 3: `postgresql://USER@HOST:PORT/DB?table=NAME`.

The password comes from the URI (shown as *** everywhere), `password_env=VAR`, or libpq's own
PGPASSWORD and ~/.pgpass. Scans run in read-only transactions; a delete or redaction is one transaction.
"""

from __future__ import annotations

import os
from pathlib import Path

from scanner.connectors.sqltables import SqlTableConnector
from scanner.core.errors import UsageError
from scanner.core.uri import SourceURI, redact_uri_text

DEAD_TUPLE_ADVICE = ("PostgreSQL keeps deleted and overwritten rows as dead tuples in {table}'s files until VACUUM "
                     "reclaims them, and in its WAL, archives, replicas and backups: run VACUUM (VACUUM FULL to "
                     "rewrite the table), then let the WAL and backup retention pass")


class PostgresConnector(SqlTableConnector):
    name = "postgresql"
    description = ("PostgreSQL tables, pgvector's included: postgresql://USER@HOST:PORT/DB?table=NAME "
                   "(text, JSONB and array columns; by primary key)")
    options = SqlTableConnector.options | {"password_env", "sslmode", "connect_timeout"}
    placeholder = "%s"
    server = True

    def __init__(self, uri: SourceURI):
        super().__init__(uri)
        env = uri.options.get("password_env")
        if env and env not in os.environ:
            raise UsageError(f"source {uri.redacted()!r}: password_env names {env}, which is not set")

    def location(self) -> str:
        return redact_uri_text(f"postgresql:{self.uri.path}")

    def connect(self, write: bool):
        try:
            import psycopg
        except ImportError:
            raise UsageError("the postgresql connector needs psycopg: pip install 'dhscan[sql]'") from None
        extra = {k: self.uri.options[k] for k in ("sslmode", "connect_timeout") if self.uri.options.get(k)}
        extra.setdefault("connect_timeout", "10")
        env = self.uri.options.get("password_env")
        if env:
            extra["password"] = os.environ[env]
        db = psycopg.connect(f"postgresql:{self.uri.path}", **extra)
        db.read_only = not write
        return db

    def declared_columns(self, db) -> dict[str, str]:
        schema, _, table = self.table.rpartition(".")
        rows = db.execute("SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
                          "WHERE a.attrelid = to_regclass(%s) AND a.attnum > 0 AND NOT a.attisdropped "
                          "ORDER BY a.attnum", (self._regclass(),)).fetchall()
        return dict(rows)

    def _regclass(self) -> str:
        return ".".join('"' + part.replace('"', '""') + '"' for part in self.table.split("."))

    def key_column(self, db) -> str | None:
        rows = db.execute("SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND "
                          "a.attnum = ANY(i.indkey) WHERE i.indrelid = to_regclass(%s) AND i.indisprimary",
                          (self._regclass(),)).fetchall()
        return rows[0][0] if len(rows) == 1 else None

    def written(self, declared: str, value):
        from psycopg.types.json import Json, Jsonb

        if declared.startswith("jsonb"):
            return Jsonb(value)
        return Json(value) if declared.startswith("json") else value

    def kept_after_delete(self, db, record_ids: list[str]) -> dict | None:
        n = len(set(record_ids))
        return {"event": "residue", "source": self.source, "records": n, "of": n,
                "summary": f"{n} deleted rows stay as dead tuples until VACUUM",
                "advice": DEAD_TUPLE_ADVICE.format(table=self.table)}

    def copy_to(self, folder: Path) -> str:
        raise UsageError(f"source {self.source!r}: a PostgreSQL table cannot be copied from here: redact it "
                         "--in-place (or a copy made with pg_dump)")
