"""``python -m tests.fuzz.run TARGET [libFuzzer flags]``: one target under atheris (coverage-guided).

Seeds are written to ``<corpus>/`` first (``-corpus DIR``, default a temporary directory); crashes are
written by libFuzzer as ``crash-*`` under ``-artifact_prefix``. Exit status 0: no crash in the runs.
"""
from __future__ import annotations

import os
import sys
import tempfile


def main() -> None:
    import atheris

    name, flags = sys.argv[1], sys.argv[2:]
    corpus = next((f.split("=", 1)[1] for f in flags if f.startswith("-corpus=")), None)
    flags = [f for f in flags if not f.startswith("-corpus=")]
    with atheris.instrument_imports():
        import forensics.carving  # noqa: F401  (instrumented for coverage)
        import forensics.matchers.hashsets  # noqa: F401
        import forensics.matchers.pdq  # noqa: F401
        import forensics.volumes  # noqa: F401
        import forensics.walk  # noqa: F401
    from tests.fuzz.targets import TARGETS

    function, seeds = TARGETS[name]
    corpus = corpus or tempfile.mkdtemp(prefix=f"fuzz-{name}-")
    os.makedirs(corpus, exist_ok=True)
    for number, seed in enumerate(seeds()):
        with open(os.path.join(corpus, f"seed-{number}"), "wb") as out:
            out.write(seed)
    atheris.Setup([sys.argv[0], *flags, corpus], function)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
