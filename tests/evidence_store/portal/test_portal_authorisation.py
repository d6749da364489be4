"""The authorisation matrix: every route x every role x member / non-member case, expected statuses
written out here (not derived from the code's rules table), and every route of the app listed.

Roles in column order: technician, examiner, reviewer, prosecutor, auditor, admin. ``member``
users belong to DEMO-001 (the admin to no case); ``-out`` users to no case.
"""
from __future__ import annotations

import itertools

import pytest

from tests.evidence_store.portal.portal_tools import ROLES, client

C, X = "/api/cases/DEMO-001", "/api/cases/DEMO-001/exhibits/EX-1"
P = "/cases/DEMO-001"
ALL = (200,) * 6
_counter = itertools.count()

# (method, route template, url, form) -> (member statuses, non-member statuses)
MATRIX = {
    ("GET", "/api/me", "/api/me", None): (ALL, ALL),
    ("GET", "/api/cases", "/api/cases", None): ((200, 200, 200, 200, 200, 403), (200, 200, 200, 200, 200, 403)),
    ("GET", "/api/cases/{case}/exhibits", f"{C}/exhibits", None): ((200, 200, 200, 200, 200, 404), (404,) * 6),
    ("GET", "/api/cases/{case}/exhibits/{exhibit}/progress", f"{X}/progress", None):
        ((200, 200, 200, 403, 200, 404), (404,) * 6),
    ("GET", "/api/cases/{case}/exhibits/{exhibit}/progress/stream", f"{X}/progress/stream", None):
        ((200, 200, 200, 403, 200, 404), (404,) * 6),
    ("GET", "/api/cases/{case}/files", f"{C}/files?limit=5", None): ((403, 200, 200, 403, 403, 404), (404,) * 6),
    ("GET", "/api/cases/{case}/findings", f"{C}/findings", None): ((403, 200, 200, 200, 403, 404), (404,) * 6),
    ("GET", "/api/cases/{case}/exhibits/{exhibit}/carved", f"{X}/carved", None):
        ((403, 200, 200, 403, 403, 404), (404,) * 6),
    ("GET", "/api/files/{item_id}", "/api/files/{photo}", None):
        ((403, 200, 200, 403, 403, 403), (403, 404, 404, 403, 403, 403)),
    ("GET", "/api/files/{item_id}/content", "/api/files/{photo}/content?purpose=review", None):
        ((403, 200, 200, 403, 403, 403), (404, 404, 404, 404, 404, 403)),
    ("GET", "/api/files/{item_id}/content", "/api/files/{photo}/content", None):                  # no purpose
        ((403,) * 6, (404, 404, 404, 404, 404, 403)),
    ("GET", "/api/files/{item_id}/content", "/api/files/{restricted}/content?purpose=review", None):
        ((403, 403, 200, 403, 403, 403), (404, 404, 404, 404, 404, 403)),
    ("GET", "/api/files/{item_id}/thumbnail", "/api/files/{photo}/thumbnail?purpose=review", None):
        ((403, 200, 200, 403, 403, 403), (404, 404, 404, 404, 404, 403)),
    ("GET", "/api/files/{item_id}/thumbnail", "/api/files/{restricted}/thumbnail?purpose=review", None):
        ((403, 403, 200, 403, 403, 403), (404, 404, 404, 404, 404, 403)),
    ("GET", "/api/carved/{item_id}/content", "/api/carved/{carved}/content?purpose=review", None):
        ((403, 200, 200, 403, 403, 403), (404, 404, 404, 404, 404, 403)),
    ("GET", "/api/carved/{item_id}/thumbnail", "/api/carved/{carved}/thumbnail?purpose=review", None):
        ((403, 200, 200, 403, 403, 403), (404, 404, 404, 404, 404, 403)),
    ("POST", "/api/files/{item_id}/tags", "/api/files/{photo}/tags", (("tag", "seen"),)):
        ((403, 200, 200, 403, 403, 403), (403, 404, 404, 403, 403, 403)),
    ("GET", "/api/cases/{case}/custody", f"{C}/custody?limit=5", None): ((200, 200, 200, 403, 200, 404), (404,) * 6),
    ("POST", "/api/cases/{case}/custody/verify", f"{C}/custody/verify", ()):
        ((403, 200, 200, 403, 200, 404), (404,) * 6),
    ("GET", "/api/cases/{case}/custody/export", f"{C}/custody/export", None):
        ((403, 403, 403, 403, 200, 404), (404,) * 6),
    ("GET", "/api/cases/{case}/views", f"{C}/views", None): ((403, 403, 403, 403, 200, 404), (404,) * 6),
    ("GET", "/api/cases/{case}/reports", f"{C}/reports", None): ((403, 200, 200, 200, 200, 404), (404,) * 6),
    ("POST", "/api/cases/{case}/reports", f"{C}/reports", (("edition", "prosecution"), ("format", "html"))):
        ((403, 200, 403, 403, 403, 404), (404,) * 6),
    ("GET", "/api/reports/{report_id}", "/api/reports/{issued}", None):
        ((403, 200, 200, 200, 200, 403), (403, 404, 404, 404, 404, 403)),
    ("GET", "/api/reports/{report_id}/file", "/api/reports/{issued}/file", None):
        ((403, 200, 200, 200, 200, 403), (403, 404, 404, 404, 404, 403)),
    ("GET", "/api/reports/{report_id}/file", "/api/reports/{draft}/file", None):      # drafts: not prosecutors
        ((403, 200, 200, 404, 200, 403), (403, 404, 404, 404, 404, 403)),
    ("POST", "/api/reports/{report_id}/authorise", "/api/reports/{issued}/authorise", ()):   # 409: already issued
        ((403, 403, 409, 403, 403, 403), (403, 403, 404, 403, 403, 403)),
    ("POST", "/api/reports/{report_id}/issue", "/api/reports/{issued}/issue", ()):
        ((403, 409, 409, 403, 403, 403), (403, 404, 404, 403, 403, 403)),
    ("GET", "/api/cases/{case}/links", f"{C}/links", None): ((403, 200, 200, 403, 403, 404), (404,) * 6),
    ("GET", "/api/users", "/api/users", None): ((403,) * 5 + (200,), (403,) * 5 + (200,)),
    ("POST", "/api/users", "/api/users", "new-user"): ((403,) * 5 + (200,), (403,) * 5 + (200,)),
    ("POST", "/api/users/{name}/disable", "/api/users/{victim}/disable", ()): ((403,) * 5 + (200,), (403,) * 5 + (200,)),
    # pages
    ("GET", "/", "/", None): ((303,) * 6, (303,) * 6),
    ("GET", "/cases", "/cases", None): ((200,) * 5 + (403,), (200,) * 5 + (403,)),
    ("GET", "/cases/{case}", P, None): ((200,) * 5 + (404,), (404,) * 6),
    ("GET", "/cases/{case}/exhibits/{exhibit}", f"{P}/exhibits/EX-1", None):
        ((200, 200, 200, 403, 200, 404), (404,) * 6),
    ("GET", "/cases/{case}/exhibits/{exhibit}/progress-fragment", f"{P}/exhibits/EX-1/progress-fragment", None):
        ((200, 200, 200, 403, 200, 404), (404,) * 6),
    ("GET", "/cases/{case}/exhibits/{exhibit}/progress-events", f"{P}/exhibits/EX-1/progress-events", None):
        ((200, 200, 200, 403, 200, 404), (404,) * 6),
    ("GET", "/cases/{case}/files", f"{P}/files", None): ((403, 200, 200, 403, 403, 404), (404,) * 6),
    ("GET", "/files/{item_id}", "/files/{photo}", None): ((403, 200, 200, 403, 403, 403), (403, 404, 404, 403, 403, 403)),
    ("GET", "/files/{item_id}/view", "/files/{photo}/view?purpose=review", None):
        ((403, 200, 200, 403, 403, 403), (403, 404, 404, 403, 403, 403)),
    ("GET", "/cases/{case}/findings", f"{P}/findings", None): ((403, 200, 200, 200, 403, 404), (404,) * 6),
    ("GET", "/cases/{case}/exhibits/{exhibit}/carved", f"{P}/exhibits/EX-1/carved", None):
        ((403, 200, 200, 403, 403, 404), (404,) * 6),
    ("GET", "/cases/{case}/custody", f"{P}/custody", None): ((200, 200, 200, 403, 200, 404), (404,) * 6),
    ("POST", "/cases/{case}/custody/verify-fragment", f"{P}/custody/verify-fragment", ()):
        ((403, 200, 200, 403, 200, 404), (404,) * 6),
    ("GET", "/cases/{case}/views", f"{P}/views", None): ((403, 403, 403, 403, 200, 404), (404,) * 6),
    ("GET", "/cases/{case}/reports", f"{P}/reports", None): ((403, 200, 200, 200, 200, 404), (404,) * 6),
    ("POST", "/cases/{case}/reports/{report_id}/{action}", P + "/reports/{issued}/issue", ()):
        ((403, 409, 409, 403, 403, 404), (404,) * 6),
    ("POST", "/cases/{case}/reports-new", f"{P}/reports-new", (("edition", "prosecution"), ("format", "html"))):
        ((403, 303, 403, 403, 403, 404), (404,) * 6),
    ("GET", "/cases/{case}/links", f"{P}/links", None): ((403, 200, 200, 403, 403, 404), (404,) * 6),
    # 409: the demo case has no link to ask about; 404: no such request about this case
    ("POST", "/cases/{case}/links/requests", f"{P}/links/requests", (("other", "999999"), ("purpose", "x"))):
        ((403, 409, 409, 403, 403, 404), (404,) * 6),
    ("POST", "/cases/{case}/links/requests/{request_id}/{decision}", f"{P}/links/requests/999999/approve", ()):
        ((403, 403, 404, 403, 403, 404), (404,) * 6),
    ("GET", "/admin/users", "/admin/users", None): ((403,) * 5 + (200,), (403,) * 5 + (200,)),
    ("POST", "/admin/users", "/admin/users", "new-user"): ((403,) * 5 + (303,), (403,) * 5 + (303,)),
    ("POST", "/admin/users/{name}/disable", "/admin/users/{victim}/disable", ()): ((403,) * 5 + (303,), (403,) * 5 + (303,)),
}
PUBLIC = {("GET", "/login"), ("POST", "/login"), ("POST", "/logout")}      # /logout: tested on its own below


def test_every_route_is_in_the_matrix(portal):
    from fastapi.routing import APIRoute

    routes = {(method, route.path) for route in portal.app.routes if isinstance(route, APIRoute)
              for method in route.methods}
    listed = {(method, template) for method, template, _, _ in MATRIX}
    assert routes - PUBLIC == listed


def test_every_route_checks_a_permission_from_the_rules_table(portal):
    from fastapi.routing import APIRoute

    for route in portal.app.routes:
        if isinstance(route, APIRoute) and (next(iter(route.methods)), route.path) not in PUBLIC:
            permissions = [getattr(d.call, "permission", None) for d in route.dependant.dependencies]
            assert any(permissions), f"{route.path} has no need(...) dependency"


@pytest.mark.parametrize("membership", ["member", "non-member"])
def test_authorisation_matrix(portal, membership):
    from evidence_store.accounts import add_user

    failures = []
    for column, role in enumerate(ROLES):
        name = role if membership == "member" else f"{role}-out"
        http = client(portal, name)
        for (method, template, url, form), expected in MATRIX.items():
            victim = f"victim-{next(_counter)}"
            if "{victim}" in url:
                add_user(portal.db, victim, "examiner", "correct horse battery staple")
            concrete = url.format(photo=portal.photo_id, restricted=portal.restricted_id, carved=portal.carved_id,
                                  issued=portal.issued, draft=portal.draft, victim=victim)
            if method == "GET":
                response = http.get(concrete, headers={"accept": "application/json"} if url.startswith("/api")
                                    else {})
            else:
                body = dict(form) if isinstance(form, tuple) else {
                    "name": f"new-{next(_counter)}", "role": "auditor", "password": "correct horse battery staple"}
                response = http.post(concrete, data=body, headers={"X-CSRF-Token": http.csrf})
            want = expected[0 if membership == "member" else 1][column]
            if response.status_code != want:
                failures.append(f"{name:>16} {method} {concrete}: {response.status_code}, expected {want} "
                                f"({response.text[:120]!r})")
    assert failures == []
