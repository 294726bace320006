"""The HTML report in a real headless Chromium (Debian's ``chromium``, driven by Playwright through
``executable_path``; nothing is downloaded): every panel and chart is present and drawn, nothing
is fetched from the network, the page fits a phone, on a desktop and a phone-sized viewport.

Without a browser the test skips and says how to get one; under ``CI=true`` that is a failure
(.ci/run installs the package, so a missing browser there is a broken set-up, not a reason to skip).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from invekto_integrations.core.clock import FrozenClock
from invekto_integrations.dashboard import build_report
from invekto_integrations.storage import SQLiteStore

from .seed import NOW, PERIOD, extra_panels, seed_all

VIEWPORTS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


_INSPECT = """() => {
  const panels = [...document.querySelectorAll('section[data-panel]')].map(s => ({
    kind: s.dataset.panel, empty: s.dataset.empty,
    kpis: [...s.querySelectorAll('.kpi-value')].map(k => k.textContent.trim()),
    charts: [...s.querySelectorAll('figure[data-chart]')].map(f => {
      const svg = f.querySelector('svg'); const box = svg ? svg.getBoundingClientRect() : {width: 0, height: 0};
      return {key: f.dataset.chart, width: box.width, height: box.height,
              marks: svg ? svg.querySelectorAll('path, rect, use, line').length : 0,
              caption: f.querySelector('figcaption').textContent.trim()};
    }),
    tables: [...s.querySelectorAll('details[data-table] tbody tr')].length,
    heading: s.querySelector('h2').textContent.trim(),
  }));
  return {panels, scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth,
          title: document.title};
}"""


def _open(browser: Any, html_path: Path, viewport: dict[str, int], shot: Path) -> dict[str, Any]:
    page = browser.new_page(viewport=viewport)
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    page.goto(html_path.as_uri())
    page.wait_for_load_state("load")
    info: dict[str, Any] = page.evaluate(_INSPECT)
    page.screenshot(path=str(shot), full_page=True)
    page.close()
    info["requested"] = requested
    return info


@pytest.mark.parametrize("niche", ["ecommerce", "dental"])
@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_report_renders_every_panel_and_chart(browser: Any, tmp_path: Path, niche: Any, viewport: str) -> None:
    store = SQLiteStore()
    try:
        clock = FrozenClock(NOW)
        seed_all(store, clock)
        report = build_report(store, PERIOD, clock=clock, niche=niche, extra=extra_panels(store), outbound=False)
    finally:
        store.close()
    assert len(report.panels) == (5 if niche == "ecommerce" else 4)
    html = tmp_path / "report.html"
    html.write_text(report.to_html(), encoding="utf-8")
    shot = tmp_path / f"{niche}-{viewport}.png"
    info = _open(browser, html, VIEWPORTS[viewport], shot)

    expected = {p.kind: [c.key for c in p.charts() if not c.is_empty] for p in report.panels}
    # Each drawn value is at least one SVG mark (a bar, a wedge, a line point), plus the background.
    values = {c.key: sum(1 for s in c.series for v in s.values if v) for p in report.panels for c in p.charts()}
    assert [p["kind"] for p in info["panels"]] == list(expected)
    for panel in info["panels"]:
        assert panel["empty"] == "false", panel["kind"]
        assert panel["kpis"] and all(v and v != "–" for v in panel["kpis"]), panel
        assert panel["tables"] > 0, panel["kind"]
        assert [c["key"] for c in panel["charts"]] == expected[panel["kind"]]
        assert len(panel["charts"]) >= 2, panel["kind"]
        for chart in panel["charts"]:
            assert chart["width"] > 100 and chart["height"] > 80, chart
            assert chart["marks"] > min(values[chart["key"]], 12), chart
            assert chart["caption"], chart
    # One file, nothing fetched: the only request is the document itself.
    assert info["requested"] == [html.as_uri()]
    # Readable on a phone: nothing wider than the screen (wide tables scroll inside their box).
    assert info["scrollWidth"] <= info["innerWidth"], info["scrollWidth"]
    assert shot.stat().st_size > 10_000


def test_empty_report_says_no_data(browser: Any, tmp_path: Path) -> None:
    store = SQLiteStore()
    try:
        report = build_report(store, PERIOD, clock=FrozenClock(NOW), niche="aesthetic")
    finally:
        store.close()
    html = tmp_path / "empty.html"
    html.write_text(report.to_html(), encoding="utf-8")
    info = _open(browser, html, VIEWPORTS["phone"], tmp_path / "empty.png")
    assert [(p["kind"], p["empty"], p["charts"]) for p in info["panels"]] == [
        ("outbound", "true", []), ("attribution", "true", []), ("clinic", "true", []), ("reviews", "true", [])]
    assert info["panels"][2]["heading"].startswith("Estetik klinik")
