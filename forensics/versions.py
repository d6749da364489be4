"""Versions of every library that touches evidence bytes, for processing records."""
from __future__ import annotations

import platform
from functools import lru_cache

import forensics

NATIVE_BINDINGS = ("pyewf", "pyqcow", "pyvhdi", "pyvmdk", "pybde", "pyluksde", "pyvslvm", "pyfsapfs")


@lru_cache(maxsize=1)
def library_versions() -> dict[str, str]:
    import dfvfs
    import pytsk3

    versions = {
        "forensics": forensics.__version__, "python": platform.python_version(),
        "dfvfs": dfvfs.__version__, "pytsk3": pytsk3.get_version(),
        "tsk": getattr(pytsk3, "TSK_VERSION_STR", ""),
    }
    for module in NATIVE_BINDINGS:
        try:
            versions[module] = __import__(module).get_version()
        except (ImportError, AttributeError):
            continue
    try:
        import magic

        versions["libmagic"] = str(magic.version())
    except (ImportError, AttributeError):
        pass
    return versions
