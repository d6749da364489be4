"""Who may do what: one table, read by every route and by the authorisation tests.

A permission is granted to roles; a case-scoped permission also needs membership of the
case (checked on the server for every request, never by hiding links). An admin manages
accounts and sees no evidence; only a reviewer may reveal restricted material.
"""
from __future__ import annotations

import enum

from evidence_store.models import Role


class Permission(str, enum.Enum):
    SESSION = "session"                      # any signed-in person: who am I, sign out
    CASES = "cases"                          # list the cases one is a member of
    CASE = "case"                            # a case's overview and exhibits
    PROGRESS = "progress"                    # an exhibit's live processing progress and warnings
    FILES = "files"                          # the file browser, carved objects (metadata)
    FINDINGS = "findings"                    # what matched (summaries; restricted items as metadata only)
    CONTENT = "content"                      # bytes and thumbnails of non-restricted items
    RESTRICTED = "restricted"                # thumbnails and bytes of restricted items (explicit, with purpose)
    TAG = "tag"                              # tag items
    CUSTODY = "custody"                      # read the custody log
    VERIFY = "verify"                        # verify the ledger now
    EXPORT = "export"                        # export a custody bundle
    VIEWS = "views"                          # who viewed which evidence
    REPORTS = "reports"                      # list reports (prosecutors: issued only)
    REPORT_DRAFTS = "report-drafts"          # see drafts and authorised, not issued, reports
    REPORT_CREATE = "report-create"
    REPORT_AUTHORISE = "report-authorise"
    REPORT_ISSUE = "report-issue"
    LINKS = "links"                          # cross-case links of a case (other cases as need to know allows)
    LINK_REQUEST = "link-request"            # ask to see another case's side of a link
    LINK_DECIDE = "link-decide"              # approve or refuse such a request about one's own case
    USERS = "users"                          # manage accounts


T, E, R, P, A, ADM = Role.TECHNICIAN, Role.EXAMINER, Role.REVIEWER, Role.PROSECUTOR, Role.AUDITOR, Role.ADMIN

RULES: dict[Permission, frozenset[Role]] = {
    Permission.SESSION: frozenset(Role),
    Permission.CASES: frozenset({T, E, R, P, A}),
    Permission.CASE: frozenset({T, E, R, P, A}),
    Permission.PROGRESS: frozenset({T, E, R, A}),
    Permission.FILES: frozenset({E, R}),
    Permission.FINDINGS: frozenset({E, R, P}),
    Permission.CONTENT: frozenset({E, R}),
    Permission.RESTRICTED: frozenset({R}),
    Permission.TAG: frozenset({E, R}),
    Permission.CUSTODY: frozenset({T, E, R, A}),
    Permission.VERIFY: frozenset({E, R, A}),
    Permission.EXPORT: frozenset({A}),
    Permission.VIEWS: frozenset({A}),
    Permission.REPORTS: frozenset({E, R, P, A}),
    Permission.REPORT_DRAFTS: frozenset({E, R, A}),
    Permission.REPORT_CREATE: frozenset({E}),
    Permission.REPORT_AUTHORISE: frozenset({R}),
    Permission.REPORT_ISSUE: frozenset({E, R}),
    Permission.LINKS: frozenset({E, R}),
    Permission.LINK_REQUEST: frozenset({E, R}),
    Permission.LINK_DECIDE: frozenset({R}),
    Permission.USERS: frozenset({ADM}),
}

CASE_SCOPED = frozenset(Permission) - {Permission.SESSION, Permission.CASES, Permission.USERS}


def allowed(role: Role, permission: Permission) -> bool:
    return role in RULES[permission]
