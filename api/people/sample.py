"""Loading the sample town's residents (``people.csv`` and friends, data_samples/people.py).

Adds the household-registration grid layer ``household`` (kind ``registration``: one
grid per community, ``HJ`` + the community code, so it differs from the residence
grids), imports the persons through :func:`api.people.importer.import_people`, then
the organisations, the special populations and the visit histories. Nothing
happens when the sample has no ``people.csv`` (the small test sample).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from sqlalchemy import Connection, text

from api.audit.service import Actor
from api.imports.admin_codes import DivisionTable
from api.people.importer import import_people
from api.personal.cipher import PersonalCipher
from api.personal.service import seal

SAMPLE = Actor("sample")

_REGISTRATION_LAYER = """
WITH layer AS (
  INSERT INTO grid_layers (name, kind, exclusive, description)
  VALUES ('household', 'registration', true, '户籍网格: residents by registered address')
  RETURNING id)
INSERT INTO grids (layer_id, code, name, community_code, geom)
SELECT layer.id, 'HJ' || a.code, a.name || '户籍网格', a.code, a.geom
FROM layer, admin_areas a WHERE a.level = 'community' AND a.geom IS NOT NULL
"""


def load_people(conn: Connection, d: Path, cipher: PersonalCipher) -> int:
    """Load the residents of the sample in ``d``; the number of persons (0 without them)."""
    if not (d / "people.csv").exists():
        return 0
    conn.execute(text(_REGISTRATION_LAYER))
    counts = import_people(conn, d / "people.csv", cipher, DivisionTable.load(), SAMPLE)
    _organisations(conn, d, cipher)
    _tags(conn, d, cipher)
    _visits(conn, d, cipher)
    return counts["persons"]


def _organisations(conn: Connection, d: Path, cipher: PersonalCipher) -> None:
    orgs = pd.read_csv(d / "organisations.csv", dtype=str)
    conn.execute(text(
        "INSERT INTO organisations (name, credit_code, kind, building_id, contact_phone, "
        "contact_phone_hash) SELECT o.name, o.code, o.kind, b.id, o.phone, o.hash FROM "
        "unnest(CAST(:n AS text[]), CAST(:c AS text[]), CAST(:k AS text[]), CAST(:b AS "
        "text[]), CAST(:p AS text[]), CAST(:h AS text[])) AS o(name, code, kind, building, "
        "phone, hash) JOIN buildings b ON b.code = o.building"),
        {"n": list(orgs["name"]), "c": list(orgs["credit_code"]), "k": list(orgs["kind"]),
         "b": list(orgs["building_code"]), **_phones(cipher, len(orgs))})


def _phones(cipher: PersonalCipher, n: int) -> dict[str, list[str | None]]:
    sealed = [seal(cipher, "organisations", {"contact_phone": f"0755{2000_0000 + i}"})
              for i in range(n)]
    return {"p": [s["contact_phone"] for s in sealed],
            "h": [s["contact_phone_hash"] for s in sealed]}


def _hashes(cipher: PersonalCipher, numbers: pd.Series) -> list[str | None]:
    return [cipher.lookup_hash(v, "id_number") for v in numbers]


def _tags(conn: Connection, d: Path, cipher: PersonalCipher) -> None:
    tags = pd.read_csv(d / "person_tags.csv", dtype=str)
    conn.execute(text(
        "INSERT INTO person_tags (person_id, tag_id, level, since) SELECT p.id, t.id, "
        "CAST(x.level AS int), CAST(x.since AS date) FROM unnest(CAST(:h AS text[]), "
        "CAST(:t AS text[]), CAST(:l AS text[]), CAST(:s AS text[])) AS x(hash, tag, level, "
        "since) JOIN persons p ON p.id_number_hash = x.hash JOIN special_tags t ON "
        "t.code = x.tag"), {"h": _hashes(cipher, tags["id_number"]), "t": list(tags["tag"]),
                            "l": list(tags["level"]), "s": list(tags["since"])})


def _visits(conn: Connection, d: Path, cipher: PersonalCipher) -> None:
    visits = pd.read_csv(d / "visits.csv", dtype=str)
    conn.execute(text(
        "INSERT INTO visits (person_id, visited_at, worker_name, notes) SELECT p.id, "
        "CAST(x.at AS timestamptz), 'sample', x.notes FROM unnest(CAST(:h AS text[]), "
        "CAST(:a AS text[]), CAST(:n AS text[])) AS x(hash, at, notes) JOIN persons p ON "
        "p.id_number_hash = x.hash"), {"h": _hashes(cipher, visits["id_number"]),
                                       "a": list(visits["visited_at"]),
                                       "n": list(visits["notes"])})
