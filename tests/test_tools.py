"""The notebook builder keeps the final frame of redrawn lines (progress bars)."""
from __future__ import annotations

import sys

from bookfiles import ROOT

sys.path.insert(0, str(ROOT / "tools"))
from build_notebooks import collapse_carriage_returns, target_of  # noqa: E402


def test_collapse_carriage_returns_keeps_what_a_terminal_shows():
    text = "epoch:   0%|   | 0/3\repoch:  33%|#  | 1/3\repoch: 100%|###| 3/3\nloss 0.5\n"
    assert collapse_carriage_returns(text) == "epoch: 100%|###| 3/3\nloss 0.5\n"
    assert collapse_carriage_returns("done\r\n") == "done\n"


def test_target_of_maps_sources_to_book():
    assert target_of(ROOT / "chapters" / "zh" / "02_x.md") == ROOT / "book" / "zh" / "02_x.ipynb"
