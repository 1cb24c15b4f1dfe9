"""Reading raw tables: CSV, Parquet, SQL (any SQLAlchemy URL)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from mediamix.errors import DataError


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a CSV (``.csv``, ``.txt``, ``.tsv``) or Parquet (``.parquet``, ``.pq``) file."""
    p = Path(path)
    if not p.exists():
        raise DataError(f"data file '{p}' does not exist. Fix: check the path.")
    suffix = p.suffix.lower()
    try:
        if suffix in (".parquet", ".pq"):
            return pd.read_parquet(p)
        if suffix == ".tsv":
            return pd.read_csv(p, sep="\t")
        frame = pd.read_csv(p)
        if frame.shape[1] == 1 and any(ch in str(frame.columns[0]) for ch in ";\t|"):
            # not comma-separated: let the parser sniff the delimiter (';' is common)
            frame = pd.read_csv(p, sep=None, engine="python")
        return frame
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        raise DataError(
            f"could not read '{p}' as {'Parquet' if suffix in ('.parquet', '.pq') else 'CSV'}: "
            f"{exc}. Fix: check the file format."
        ) from exc


def read_sql(url: str, query: str) -> pd.DataFrame:
    """Run ``query`` against the database at SQLAlchemy ``url`` and return the result."""
    import sqlalchemy as sa

    try:
        engine = sa.create_engine(url)
    except (sa.exc.ArgumentError, ImportError) as exc:
        raise DataError(
            f"cannot open database URL '{url}': {exc}. "
            "Fix: use a SQLAlchemy URL such as sqlite:///file.db or postgresql+psycopg://..."
        ) from exc
    try:
        with engine.connect() as conn:
            return pd.read_sql_query(sa.text(query), conn)
    except (sa.exc.SQLAlchemyError, pd.errors.DatabaseError) as exc:
        msg = str(exc).splitlines()[0]
        raise DataError(f"SQL query failed on '{url}': {msg}. Fix: check the query.") from exc
    finally:
        engine.dispose()
