"""PostgreSQL: what each contains-tier plan would cost for the query bench's names of 3+ characters, against the plan
`lookup.selectors` chooses, on a database that is already loaded (the figures behind ``_pg_phrase_plan``).

    BEIAN_HOME=/data/big BEIAN_DATABASE_URL=postgresql://… .venv/bin/python bench/name_plans.py [--names 2000]

For each name (the bench's, seed 11) whose rarest bigram is in fewer than ``--max-rows`` names (the others are read
in id order: walking or GIN-reading them costs tens of milliseconds), the first page through ``beian_name_page``
with each plan, best of three, interleaved: the chosen plan; GIN on its uncommon bigrams (the choice before the
bigram counts); GIN on its rarest bigram, on its two rarest; the rarest bigram's rows walked ("posting"). Printed by
how often the sample of names holds the phrase and by its rarest bigram's count, with the mean of the cheapest
per name (what a perfect choice would cost).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

PLANS = ("chosen", "gin uncommon", "gin rarest", "gin two rarest", "posting")
ROW_BANDS = (200, 1000, 5000, 20000)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--names", type=int, default=2000)
    ap.add_argument("--max-rows", type=int, default=100_000)
    args = ap.parse_args()
    import query_bench

    names = query_bench.sample_queries(dict(os.environ), args.names, 11)["name (3+ characters)"]
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "beian.web.settings")
    import django

    django.setup()
    from django.db import connection

    from beian.lookup import bigrams as bigram_rows
    from beian.lookup import selectors as s
    from beian.lookup.db import fetch
    from beian.registry.search import query_terms, rare_bigrams

    if connection.vendor != "postgresql":
        sys.exit("PostgreSQL only: set BEIAN_DATABASE_URL")
    counts = bigram_rows.counts()
    if not counts:
        sys.exit("no bigram counts: run `beian migrate` first")
    sample = s._name_sample()

    def best(q: str, term: str, variant: str, rare: str | None) -> float:
        params = {"q": q, "top": q + s.TOP, "want": s.PAGE_SIZE + 1, "limit": s.PAGE_SIZE + 1, "offset": 0}
        params |= {"term": term, "rare": rare, "variant": variant}
        times = []
        for _ in range(3):
            started = time.perf_counter()
            fetch(s.PG_NAME_CALL, params, prepare=True)
            times.append(time.perf_counter() - started)
        return min(times) * 1000

    groups: dict[tuple[str, int], list[dict[str, float]]] = defaultdict(list)
    skipped = 0
    for q in names:
        variant, term = query_terms(q, "postgresql")
        if variant != "phrase" or len(term.split()) < 2:
            continue
        ranked = sorted(term.split(), key=lambda b: counts.get(b, 0))
        first = counts.get(ranked[0], 0)
        if first >= args.max_rows:
            skipped += 1
            continue
        options = {
            "chosen": s._pg_phrase_plan(term),
            "gin uncommon": ("phrase", rare_bigrams(term) or " ".join(ranked)),
            "gin rarest": ("phrase", ranked[0]),
            "gin two rarest": ("phrase", " ".join(ranked[:2])),
            "posting": ("posting", ranked[0]),
        }
        timed = {name: best(q, term, *option) for name, option in options.items()}
        held = sum(term in n for n in sample.names)
        held_as = "0" if not held else "3+" if held >= s.MIN_SAMPLE_HITS else f"1-{s.MIN_SAMPLE_HITS - 1}"
        band = sum(first >= b for b in ROW_BANDS)
        groups[(held_as, band)].append(timed)
        groups[("all", 0)].append(timed)

    print(
        f"{len(groups[('all', 0)])} names timed, {skipped} skipped (rarest bigram in {args.max_rows:,}+ names)"
    )
    print(
        "| names: times the sample holds the phrase, its rarest bigram's names | n | "
        + " | ".join(PLANS)
        + " | cheapest |"
    )
    print("|---|---|" + "---|" * (len(PLANS) + 1))
    for key in sorted(groups, key=lambda k: (k[0] == "all", k)):
        rows = groups[key]
        held_as, band = key
        low, high = ([0, *ROW_BANDS][band], ([*ROW_BANDS, None])[band])
        label = (
            "all"
            if held_as == "all"
            else f"held {held_as}×, rarest in {low:,}–{high - 1:,}"
            if high
            else f"held {held_as}×, rarest in {low:,}+"
        )
        means = [statistics.mean(r[p] for r in rows) for p in PLANS]
        cheapest = statistics.mean(min(r.values()) for r in rows)
        print(f"| {label} | {len(rows)} | " + " | ".join(f"{m:.3f}" for m in means) + f" | {cheapest:.3f} |")
    print("(mean ms of a first page through beian_name_page, best of three)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
