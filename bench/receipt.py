"""Benchmark: one 业务受理表 and a 10-page 补贴发放明细, with and without the font fallback scan.

Run: ``.venv/bin/python bench/receipt.py [--runs N]``. Prints median milliseconds; no assertions.
Goal (issue 5): ≤ 40 ms per form and ≤ 1.5× the floor. The floor is the same layout drawn with
the primary font only (no per-character coverage check). "warm" is steady state (labels seen
before are cached in the chain); "cold" clears the chain's cache before every render.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from counter_app.receipts import ReportLabReceiptRenderer
from counter_app.receipts.fonts import FontChain, default_chain, floor_chain
from counter_app.receipts.samples import sample_form, sample_statement
from counter_app.workflows.ports import SubsidyStatement


def median_ms(fn: Callable[[], object], runs: int, before: Callable[[], None] = lambda: None) -> float:
    before()
    fn()  # warm-up (first use registers fonts, loads the catalog)
    times = []
    for _ in range(runs):
        before()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def statement_with_pages(renderer: ReportLabReceiptRenderer, pages: int) -> SubsidyStatement:
    low, high = 1, 800
    while low < high:  # the fewest payments that make `pages` pages
        mid = (low + high) // 2
        if renderer.render_subsidy_statement(sample_statement(mid)).page_count < pages:
            low = mid + 1
        else:
            high = mid
    return sample_statement(low)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    with_fallback = ReportLabReceiptRenderer(chain=default_chain)
    floor = ReportLabReceiptRenderer(chain=floor_chain)
    chain: FontChain = default_chain()

    def cold() -> None:
        chain._cache.clear()

    form = sample_form("replace")
    statement = statement_with_pages(with_fallback, 10)
    pages = with_fallback.render_subsidy_statement(statement).page_count
    runs_statement = max(5, args.runs // 5)
    rows: list[tuple[str, Callable[[ReportLabReceiptRenderer], object], int]] = [
        ("受理表 A4 two-part", lambda r: r.render_form(form), args.runs),
        (f"补贴发放明细 {pages} pages", lambda r: r.render_subsidy_statement(statement), runs_statement),
    ]
    print(f"{'':28}{'fallback warm':>15}{'fallback cold':>15}{'floor':>10}{'ratio':>8}")
    for name, render, runs in rows:
        warm = median_ms(partial(render, with_fallback), runs)
        cold_ms = median_ms(partial(render, with_fallback), runs, before=cold)
        base = median_ms(partial(render, floor), runs)
        print(f"{name:28}{warm:12.1f} ms{cold_ms:12.1f} ms{base:7.1f} ms{warm / base:7.2f}x")
    print("goal: ≤ 40 ms per form, ≤ 1.5× the floor (ratio = warm / floor)")


if __name__ == "__main__":
    main()
