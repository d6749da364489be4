"""Locators: serialized dfvfs path specs naming bytes inside an image.

The JSON is the one dfvfs's ``JsonPathSpecSerializer`` reads, written with sorted
keys and no spaces so the same bytes always give the same locator string.
"""
from __future__ import annotations

import hashlib
import json
from typing import Any

from dfvfs.lib import definitions
from dfvfs.path import factory
from dfvfs.path.path_spec import PathSpec
from dfvfs.serializer.json_serializer import JsonPathSpecSerializer


def _register_every_path_spec_type() -> None:
    """dfvfs registers a path spec type when its module is imported, and ``dfvfs.path`` imports only
    some (not LUKSDE): a fresh worker process could not read a locator naming one."""
    import importlib
    import pkgutil

    import dfvfs.path

    for module in pkgutil.iter_modules(dfvfs.path.__path__):
        if module.name.endswith("_path_spec"):
            importlib.import_module(f"dfvfs.path.{module.name}")


_register_every_path_spec_type()


def canonical(obj: dict[str, Any]) -> str:
    """Locator JSON: sorted keys, no spaces, UTF-8 text; the same path spec always gives the same string."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def to_locator(path_spec: PathSpec) -> str:
    """Serializes a path spec canonically."""
    return canonical(json.loads(JsonPathSpecSerializer.WriteSerialized(path_spec)))


def from_locator(locator: str) -> PathSpec:
    return JsonPathSpecSerializer.ReadSerialized(locator)


def locator_key(locator: str) -> str:
    """Fixed-size key for unique indexes (locators can be long)."""
    return hashlib.sha256(locator.encode("utf-8")).hexdigest()


class ChildLocatorFactory:
    """Builds many child locators under one parent; parses the parent once."""

    def __init__(self, parent_locator: str, type_indicator: str) -> None:
        self._parent = json.loads(parent_locator)
        self._type = type_indicator

    def __call__(self, **attributes: Any) -> str:
        obj: dict[str, Any] = {"__type__": "PathSpec", "type_indicator": self._type}
        obj.update({k: v for k, v in attributes.items() if v not in (None, "")})
        obj["parent"] = self._parent
        return canonical(obj)


def os_path_spec(path: str) -> PathSpec:
    return factory.Factory.NewPathSpec(definitions.TYPE_INDICATOR_OS, location=path)
