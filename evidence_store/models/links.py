"""Cross-case links: the values an exhibit can share with other cases, and access to the other side.

``link_values`` holds, once per exhibit, every value that may link it to another case: content
(SHA-256), PDQ and TLSH digests, and indicators (content and file system). Correlation
(``evidence_store.links``) joins this one table on ``value_key`` instead of the entry tables, so a
case with millions of files links in one indexed query. ``link_access`` records a request by a
person who is not a member of the other case to see that side of the links (need to know).
"""
from __future__ import annotations

import enum
from datetime import datetime
from typing import Optional

from sqlalchemy import DateTime, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from evidence_store.models.base import Base, bigint, created, enum_column, intpk


class LinkValue(Base):
    __tablename__ = "link_values"
    __table_args__ = (UniqueConstraint("exhibit_id", "kind", "value_key"),
                      Index("ix_link_values_value_key_case_id", "value_key", "case_id"),
                      # covering for "this case's values": correlation reads it without touching the table
                      Index("ix_link_values_case_id_kind_value_key", "case_id", "kind", "value_key"),
                      Index("ix_link_values_kind_case_id", "kind", "case_id"))      # every case's PDQ/TLSH
    id: Mapped[intpk]
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    exhibit_id: Mapped[int] = mapped_column(ForeignKey("exhibits.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))          # sha256 | pdq | tlsh | email | ... | sid
    value: Mapped[str] = mapped_column(Text)
    value_key: Mapped[str] = mapped_column(String(64))     # the SHA-256 itself, else SHA-256 of kind NUL value
    occurrences: Mapped[int]                               # items of the exhibit that have it
    size: Mapped[Optional[bigint]]                         # content size (sha256, pdq, tlsh)
    # the first item that shows it: file | carved | volume, its id, path (or volume) and byte offset
    item: Mapped[str] = mapped_column(String(10))
    item_id: Mapped[int]
    location: Mapped[str] = mapped_column(Text)
    offset: Mapped[Optional[bigint]]
    restricted: Mapped[bool] = mapped_column(default=False)


class AccessState(str, enum.Enum):
    PENDING = "pending"
    APPROVED = "approved"
    REFUSED = "refused"


class LinkAccess(Base):
    """A request to see the other side of the links between two cases, and its decision."""

    __tablename__ = "link_access"
    id: Mapped[intpk]
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)        # the requester's case
    other_case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)  # the case asked about
    purpose: Mapped[str] = mapped_column(Text)
    state: Mapped[AccessState] = mapped_column(enum_column(AccessState, "link_access_state"),
                                               default=AccessState.PENDING)
    decided_by: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[Optional[datetime]] = mapped_column(DateTime(timezone=True))
    reason: Mapped[Optional[str]] = mapped_column(Text)
    created_at: Mapped[created]
