"""Loads the shipped reference data (data/README.md says where each file comes from). Idempotent:
rows already present are left as they are, so an administrator's edits survive a re-run."""

from __future__ import annotations

import csv
import json
from datetime import date
from importlib import resources
from typing import Any

from sqlalchemy import Boolean, Connection, Date, Integer, String, Text, column, insert, select, table


def _rows(name: str) -> list[dict[str, str]]:
    text = resources.files("hazard_registry.reference").joinpath("data", name).read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


def _d(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


# Lightweight table descriptions: migrations must not depend on the ORM classes of a later schema.
_regions = table(
    "regions", column("code", String), column("name", String), column("level", String), column("parent_code", String)
)
_sectors = table("sectors", column("code", String), column("name", String), column("high_risk", Boolean))
_industries = table(
    "industries",
    column("code", String),
    column("name", String),
    column("level", String),
    column("section", String),
    column("sector_code", String),
)
_standards = table(
    "standards",
    column("id", Integer),
    column("family", String),
    column("title", String),
    column("edition", String),
    column("document_number", String),
    column("issuer", String),
    column("sector_code", String),
    column("published_on", Date),
    column("effective_from", Date),
    column("effective_to", Date),
    column("note", Text),
)
_clauses = table("standard_clauses", column("standard_id", Integer), column("number", String), column("title", String))


def _insert_missing(conn: Connection, tbl: Any, key: str, rows: list[dict[str, Any]]) -> int:
    have = set(conn.execute(select(tbl.c[key])).scalars())
    new = [r for r in rows if r[key] not in have]
    for i in range(0, len(new), 500):
        conn.execute(insert(tbl), new[i : i + 500])
    return len(new)


def load_reference_data(conn: Connection) -> dict[str, int]:
    counts = {}
    counts["sectors"] = _insert_missing(
        conn,
        _sectors,
        "code",
        [{"code": r["code"], "name": r["name"], "high_risk": r["high_risk"] == "1"} for r in _rows("sectors.csv")],
    )
    regions = sorted(_rows("regions.csv"), key=lambda r: (len(r["parent"]), r["code"]))
    counts["regions"] = _insert_missing(
        conn,
        _regions,
        "code",
        [
            {"code": r["code"], "name": r["name"], "level": r["level"], "parent_code": r["parent"] or None}
            for r in regions
        ],
    )
    counts["industries"] = _insert_missing(
        conn,
        _industries,
        "code",
        [
            {
                "code": r["code"],
                "name": r["name"],
                "level": r["level"],
                "section": r["section"],
                "sector_code": r["sector"],
            }
            for r in _rows("industries.csv")
        ],
    )
    text = resources.files("hazard_registry.reference").joinpath("data", "standards.json").read_text("utf-8")
    have = {(f, e) for f, e in conn.execute(select(_standards.c.family, _standards.c.edition))}
    added = 0
    for s in json.loads(text):
        if (s["family"], s["edition"]) in have:
            continue
        std_id = conn.execute(
            insert(_standards)
            .values(
                family=s["family"],
                title=s["title"],
                edition=s["edition"],
                document_number=s["document_number"],
                issuer=s["issuer"],
                sector_code=s["sector"],
                published_on=_d(s.get("published_on")),
                effective_from=_d(s["effective_from"]),
                effective_to=_d(s.get("effective_to")),
                note=s.get("note"),
            )
            .returning(_standards.c.id)
        ).scalar_one()
        if s["clauses"]:
            conn.execute(
                insert(_clauses),
                [{"standard_id": std_id, "number": c["number"], "title": c["title"]} for c in s["clauses"]],
            )
        added += 1
    counts["standards"] = added
    return counts
