"""Shared column types, naming convention and the declarative base."""
from __future__ import annotations

import enum
from datetime import datetime, timezone
from typing import Annotated, Any, Optional

from sqlalchemy import JSON, BigInteger, DateTime, Enum, Integer, MetaData, String
from sqlalchemy.orm import DeclarativeBase, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


intpk = Annotated[int, mapped_column(Integer, primary_key=True)]
bigint = Annotated[int, mapped_column(BigInteger)]
md5hex = Annotated[Optional[str], mapped_column(String(32))]
sha1hex = Annotated[Optional[str], mapped_column(String(40))]
sha256hex = Annotated[Optional[str], mapped_column(String(64))]
utc = Annotated[Optional[datetime], mapped_column(DateTime(timezone=True))]
created = Annotated[datetime, mapped_column(DateTime(timezone=True), default=utcnow)]


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dict[str, Any]: JSON}


def enum_column(kind: type[enum.Enum], name: str) -> Enum:
    """Stored as its value in a VARCHAR with a CHECK constraint on both back ends."""
    return Enum(kind, name=name, native_enum=False, create_constraint=True, length=20,
                values_callable=lambda members: [m.value for m in members])
