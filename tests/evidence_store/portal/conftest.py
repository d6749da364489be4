from __future__ import annotations

import pytest

from tests.evidence_store.portal.portal_tools import build_portal


@pytest.fixture(scope="module")
def portal(demo_case):
    db, result, _ = demo_case
    built = build_portal(db, result)
    yield built
    built.app.state.db.dispose()
