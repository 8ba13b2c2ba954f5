"""Key rotation for the sealed identities and payees."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from hazard_registry.complaints.crypto import Vault
from hazard_registry.complaints.models import (
    Complaint,
    Reward,
)


def rotate_keys(session: Session, vault: Vault, batch: int = 500) -> int:
    """Re-seal every identity and payee with the vault's first key; afterwards older keys may be dropped.
    Runs in batches by id so a large register does not load at once; returns how many secrets were resealed."""
    done = 0
    for model, column in ((Complaint, "identity_enc"), (Reward, "payee_enc")):
        last = 0
        while True:
            rows = list(
                session.scalars(
                    select(model)
                    .where(model.id > last, getattr(model, column).is_not(None))
                    .order_by(model.id)
                    .limit(batch)
                )
            )
            if not rows:
                break
            for row in rows:
                session.execute(
                    model.__table__.update()
                    .where(model.id == row.id)
                    .values({column: vault.rotate(getattr(row, column))})
                )
                done += 1
            last = rows[-1].id
    return done
