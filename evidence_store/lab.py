"""The lab's own settings, set once (``forensics lab configure``) and printed on every report."""
from __future__ import annotations

from sqlalchemy.orm import Session

from evidence_store.custody.ledger import Event, append
from evidence_store.db import Database
from evidence_store.models import LabSettings, utcnow
from evidence_store.store import StoreError


def configure(db: Database, *, name: str, address: str, accreditation: str | None = None,
              location: str | None = None, declaration: str | None = None,
              actor: tuple[str, str]) -> LabSettings:
    """Creates or changes the settings; each change is a custody event on the lab chain."""
    if not name.strip() or not address.strip():
        raise StoreError("the lab's name and address must not be empty")
    with db.session() as session:
        row = session.get(LabSettings, 1) or LabSettings(id=1)
        before = _values(row)
        row.name, row.address = name.strip(), address.strip()
        row.accreditation = accreditation if accreditation is not None else row.accreditation
        row.location = location if location is not None else row.location
        row.declaration = declaration if declaration is not None else row.declaration
        row.updated_at = utcnow()
        session.add(row)
        after = _values(row)
        if after != before:
            append(session, Event(action="lab-configured", actor=actor[0], actor_role=actor[1],
                                  idempotency_key=f"lab-configured:{row.updated_at.isoformat()}",
                                  details={"before": before, "after": after}))
        return row


def _values(row: LabSettings) -> dict[str, str | None]:
    return {"name": row.name, "address": row.address, "accreditation": row.accreditation,
            "location": row.location, "declaration": row.declaration}


def settings(session: Session) -> LabSettings:
    row = session.get(LabSettings, 1)
    if row is None:
        raise StoreError("the lab is not configured: run 'forensics lab configure --name NAME --address ADDRESS' "
                         "(name and address are printed on every report)")
    return row
