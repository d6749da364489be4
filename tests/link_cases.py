"""Five processed cases that share known things (forensics.link_material), in one database, with accounts:
``all`` (reviewer, member of every case), ``alice`` (examiner, OP-A only), ``bob`` (reviewer, OP-B only),
``audrey`` (auditor, OP-B)."""
from __future__ import annotations

from pathlib import Path

from tests.conftest import cli_for, require_tools

PASSWORD = "correct horse battery staple"     # as tests/evidence_store/portal/portal_tools.py
ACCOUNTS = (("all", "reviewer", ("OP-A", "OP-B", "OP-C", "CTRL-1", "CTRL-2")), ("alice", "examiner", ("OP-A",)),
            ("bob", "reviewer", ("OP-B",)), ("audrey", "auditor", ("OP-B",)))


def build_linked_cases(tmp: Path, url: str, filler: int = 6):
    """Processes the five cases into ``url`` (FORENSICS_KEY_DIR must be set); returns (cli, material)."""
    from evidence_store.accounts import add_user
    from evidence_store.db import Database
    from forensics.link_material import CONTROLS, OPERATIONS, link_material
    from forensics.sample import build_fat_image

    require_tools("mkfs.vfat", "mcopy")
    material = link_material(filler=filler)
    cli = cli_for(url)
    (tmp / "good.md5").write_text(material.known_good_md5)
    cli("hashset", "import", str(tmp / "good.md5"), "--name", "lab-os", "--kind", "known-good")
    for number, name in enumerate((*OPERATIONS, *CONTROLS)):
        cli("case", "create", name, "--contact", f"unit {number}, duty desk ext. 47{number}")
        image = build_fat_image(tmp / f"{name}.img", material.files[name], size_mib=16,
                                volume_id=material.volume_ids[name])
        cli("evidence", "add", str(image), "--case", name, "--exhibit", "1", "--examiner", "t")
        cli("process", "--case", name, "--exhibit", "1", "--no-carve", "--indicators")
    db = Database(url)
    for name, role, cases in ACCOUNTS:
        add_user(db, name, role, PASSWORD, list(cases))
    db.dispose()
    return cli, material
