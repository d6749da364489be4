"""SQLAlchemy 2 typed models of the case database, one module per concept.

Everything is re-exported here, so callers write ``from evidence_store.models import Exhibit``.
"""
from __future__ import annotations

from evidence_store.models.accounts import (
    ApiToken,
    CaseMember,
    LoginAttempt,
    PortalSession,
    Role,
    Tag,
    User,
)
from evidence_store.models.base import NAMING_CONVENTION, Base, utcnow
from evidence_store.models.carving import CarvedObjectRow, CarveRangeRow
from evidence_store.models.cases import Case, Exhibit
from evidence_store.models.custody import CustodyCheckpoint, CustodyEvent, CustodyKey
from evidence_store.models.entries import FileEntry, MatchedContent, Volume
from evidence_store.models.indicators import ContentIndicator, FileSystemIndicator
from evidence_store.models.links import AccessState, LinkAccess, LinkValue
from evidence_store.models.knowledge import Finding, HashSet, HashSetEntry, RuleSet
from evidence_store.models.reports import (
    LabSettings,
    Report,
    ReportEdition,
    ReportFormat,
    ReportState,
)
from evidence_store.models.runs import ProcessingRun, ProcessingWarning

__all__ = [
    "ApiToken", "CaseMember", "LoginAttempt", "PortalSession", "Role", "Tag", "User",
    "NAMING_CONVENTION", "Base", "CarveRangeRow", "CarvedObjectRow", "Case", "ContentIndicator", "CustodyCheckpoint", "FileSystemIndicator",
    "CustodyEvent",
    "CustodyKey", "Exhibit", "FileEntry", "Finding", "HashSet", "HashSetEntry", "LabSettings", "AccessState", "LinkAccess", "LinkValue", "MatchedContent",
    "ProcessingRun", "ProcessingWarning", "Report", "ReportEdition", "ReportFormat", "ReportState", "RuleSet",
    "Volume", "utcnow",
]
