"""The conformance kit run against the example plugin (examples/plugin_echoshop), not installed.

The plugin's own test module is loaded from its folder, so this is exactly what a third party
runs with ``pytest`` in its project.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

PLUGIN = Path(__file__).resolve().parents[2] / "examples" / "plugin_echoshop"
if str(PLUGIN / "src") not in sys.path:
    sys.path.insert(0, str(PLUGIN / "src"))

_spec = importlib.util.spec_from_file_location("echoshop_plugin_conformance", PLUGIN / "tests" / "test_conformance.py")
assert _spec is not None and _spec.loader is not None
_module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_module)

TestEchoShopConformance = _module.TestEchoShopConformance
