"""Build the dashboard of a demo month and write it as one self-contained HTML file.

    python examples/dashboard_report.py            # writes dashboard-ecommerce.html and dashboard-dental.html
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from invekto_integrations.core.clock import FrozenClock
from invekto_integrations.dashboard import ReportPeriod, build_report
from invekto_integrations.storage import SQLiteStore
from invekto_integrations.testing.dashboard_data import seed_dashboard_demo


def main() -> None:
    clock = FrozenClock(datetime(2026, 4, 1, 6, 0, tzinfo=UTC))
    for tenant, niche in (("demo-shop", "ecommerce"), ("demo-clinic", "dental")):
        period = ReportPeriod(tenant, date(2026, 3, 1), date(2026, 3, 31), "Europe/Istanbul")
        store = SQLiteStore()
        try:
            seed_dashboard_demo(store, period, niche=niche, clock=clock)  # type: ignore[arg-type]
            # The demo seeds no campaign run (a real one: tests/campaigns/test_dashboard_outbound.py).
            report = build_report(store, period, clock=clock, niche=niche, outbound=False)  # type: ignore[arg-type]
        finally:
            store.close()
        out = Path(f"dashboard-{niche}.html")
        out.write_text(report.to_html(), encoding="utf-8")
        for panel in report.panels:
            figures = ", ".join(f"{k.key}={k.value}" for k in panel.kpis())
            print(f"{tenant} {panel.kind}: {figures}")
        print(f"wrote {out} ({out.stat().st_size // 1024} KiB)")


if __name__ == "__main__":
    main()
