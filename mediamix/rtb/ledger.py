"""The bidder's ledger: every bid it made, its reservation and how it ended, in SQLite.

One row per bid: our bid id, the exchange's request and impression ids, the campaign (ad id),
the budget period it counts against, the bid price (CPM), the reservation it holds, when it
was made and when it expires, its state (``open`` until a win, a loss or its expiry is known;
then ``won``, ``lost`` or ``expired``) and, for a win, the clearing price. Money is held in
integer nano-currency units (1 CPM = 10^6 units), so sums are exact and "committed spend +
open reservations <= budget" holds without rounding slack.

The store also keeps the secret that signs the win and loss URLs of our bid responses, so a
notice for a bid made before a restart still verifies after it.

One bidder process per store: the connection takes SQLite's exclusive lock
(``locking_mode=EXCLUSIVE``) when it opens, and a second bidder on the same file is refused
with a `ConflictError` instead of spending the same budget a second time. Writes are
committed before the bidder answers (WAL journal, ``synchronous=NORMAL``: a killed process
loses nothing committed).
"""

from __future__ import annotations

import secrets
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from mediamix.errors import ConflictError, DataError

__all__ = ["NANOS_PER_CPM", "NANOS_PER_UNIT", "BidRow", "Ledger", "default_store_path"]

FORMAT = 1
NANOS_PER_UNIT = 10**9  # one unit of the currency
NANOS_PER_CPM = 10**6  # a CPM price is per 1000 impressions: 1 CPM = 1/1000 unit per impression
STATES = ("open", "won", "lost", "expired")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS bids (
    bid_id TEXT PRIMARY KEY,
    campaign TEXT NOT NULL,
    period TEXT NOT NULL,
    request_id TEXT NOT NULL,
    imp_id TEXT NOT NULL,
    price_cpm REAL NOT NULL,
    reserve INTEGER NOT NULL,
    made_at REAL NOT NULL,
    expires_at REAL NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('open', 'won', 'lost', 'expired')),
    clear INTEGER,
    settled_at REAL,
    note TEXT
);
CREATE INDEX IF NOT EXISTS bids_open ON bids (state, campaign);
CREATE INDEX IF NOT EXISTS bids_period ON bids (campaign, period, state);
"""


def default_store_path() -> Path:
    """``$MEDIAMIX_HOME/rtb.sqlite``, else ``~/.mediamix/rtb.sqlite`` (the planner's home)."""
    import os

    home = os.environ.get("MEDIAMIX_HOME")
    base = Path(home).expanduser() if home else Path.home() / ".mediamix"
    return base / "rtb.sqlite"


@dataclass(frozen=True)
class BidRow:
    """One bid of the ledger (money in nano units; prices in CPM)."""

    bid_id: str
    campaign: str
    period: str
    request_id: str
    imp_id: str
    price_cpm: float
    reserve: int
    made_at: float
    expires_at: float
    state: str = "open"
    clear: int | None = None
    settled_at: float | None = None
    note: str | None = None


_COLUMNS = ", ".join(BidRow.__dataclass_fields__)


class Ledger:
    """The SQLite store of one bidder (``path=None``: in memory, for tests and benchmarks)."""

    def __init__(self, path: str | Path | None = None):
        self.path = None if path is None else Path(path).expanduser()
        target = ":memory:" if self.path is None else str(self.path)
        if self.path is not None:
            if self.path.is_dir():
                raise DataError(f"the bidder store {target!r} is a folder; give a file path")
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise DataError(
                    f"cannot create the folder of the bidder store {target!r}: {exc}"
                ) from None
        try:
            self._db = sqlite3.connect(target, timeout=0.5, check_same_thread=False)
        except sqlite3.Error as exc:
            raise DataError(f"cannot open the bidder store {target!r}: {exc}") from None
        try:
            self._open_schema(target)
        except BaseException:
            self._db.close()
            raise

    def _open_schema(self, target: str) -> None:
        db = self._db
        try:
            db.execute("PRAGMA locking_mode=EXCLUSIVE")
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("BEGIN IMMEDIATE")  # takes the exclusive lock now, kept until close
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise ConflictError(
                    f"the bidder store {target!r} is in use by another bidder process; one "
                    "store holds one bidder's spend: stop the other one or give this one its "
                    "own --store"
                ) from None
            raise DataError(f"cannot open the bidder store {target!r}: {exc}") from None
        except sqlite3.DatabaseError as exc:
            raise DataError(f"{target!r} is not a bidder store (SQLite says: {exc})") from None
        try:
            tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            if tables and "meta" not in tables:
                raise DataError(
                    f"{target!r} is an SQLite file of something else (tables: "
                    f"{', '.join(sorted(tables))}); give the bidder its own --store"
                )
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    db.execute(statement)
            meta = dict(db.execute("SELECT key, value FROM meta"))
            version = int(meta.get("format", FORMAT))
            if version != FORMAT:
                raise DataError(
                    f"the bidder store {target!r} has format {version}; this mediamix reads "
                    f"format {FORMAT}"
                )
            if "secret" not in meta:
                meta["secret"] = secrets.token_hex(32)
                db.executemany(
                    "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                    [("format", str(FORMAT)), ("secret", meta["secret"])],
                )
            db.commit()
        except sqlite3.DatabaseError as exc:
            raise DataError(f"{target!r} is not a bidder store (SQLite says: {exc})") from None
        self.secret = bytes.fromhex(meta["secret"])

    # ------------------------------------------------------------------ writes (committed)
    def add_bids(self, rows: list[BidRow]) -> None:
        """Record new open bids in one transaction (raises `sqlite3.Error` on failure)."""
        marks = ", ".join("?" * len(BidRow.__dataclass_fields__))
        with self._db:
            self._db.executemany(
                f"INSERT INTO bids ({_COLUMNS}) VALUES ({marks})",
                [tuple(r.__dict__.values()) for r in rows],
            )

    def settle(
        self,
        bid_ids: list[str],
        state: str,
        at: float,
        clear: int | None = None,
        note: str | None = None,
    ) -> None:
        """Close open bids: ``won`` (with the clearing price), ``lost`` or ``expired``."""
        if state not in STATES[1:]:
            raise ValueError(f"unknown final state {state!r}")
        with self._db:
            self._db.executemany(
                "UPDATE bids SET state = ?, clear = ?, settled_at = ?, note = ? "
                "WHERE bid_id = ? AND state = 'open'",
                [(state, clear, at, note, b) for b in bid_ids],
            )

    # ------------------------------------------------------------------ reads
    def get(self, bid_id: str) -> BidRow | None:
        row = self._db.execute(
            f"SELECT {_COLUMNS} FROM bids WHERE bid_id = ?", (bid_id,)
        ).fetchone()
        return None if row is None else BidRow(*row)

    def open_bids(self, campaign: str) -> list[BidRow]:
        rows = self._db.execute(
            f"SELECT {_COLUMNS} FROM bids WHERE state = 'open' AND campaign = ?", (campaign,)
        )
        return [BidRow(*r) for r in rows]

    def spent(self, campaign: str, period: str) -> int:
        """Committed spend (nano units): the clearing prices of the period's won bids."""
        rows = self._db.execute(
            "SELECT clear FROM bids WHERE campaign = ? AND period = ? AND state = 'won'",
            (campaign, period),
        )
        return sum(c for (c,) in rows)

    def counts(self, campaign: str, period: str) -> dict[str, int]:
        """Bids of the period by state."""
        rows = self._db.execute(
            "SELECT state, COUNT(*) FROM bids WHERE campaign = ? AND period = ? GROUP BY state",
            (campaign, period),
        )
        out = dict.fromkeys(STATES, 0)
        out.update(dict(rows))
        return out

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
