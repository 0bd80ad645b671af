"""Tables of the dedup, import and filters parts (bench/report.py renders the rest and calls these)."""

from __future__ import annotations

from typing import Any

from bench.report import _table


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def dedup_en(part: dict[str, Any]) -> list[str]:
    """The English benchmark-style person base: P/R/F1 with default settings and the scan time per size."""
    out = [f"Probabilistic duplicate detection on {part['backend']}: English person base in the style of record-"
           "linkage benchmarks (bench/synthetic_en.py), Person rules of bench/person_model/ with default settings, "
           "one scan that trains the model first (EM, no labels)"]
    out += _table(
        ["records", "true pairs", "found", "precision", "recall", "F1", "keys s", "scan s", "scan CPU s", "compared"],
        [[r["records"], r["true_pairs"], r["found"], _pct(r["precision"]), _pct(r["recall"]), _pct(r["f1"]),
          r["keys_s"], r["scan_s"], r["scan_cpu_s"], r["compared_pairs"]] for r in part["runs"]],
    )
    for r in part["runs"]:
        out.append(f"  {r['records']:,}: recall by corruption: " + ", ".join(
            f"{k} {_pct(v)}" for k, v in r["recall_by_corruption"].items()))
    return out


def dedup(part: dict[str, Any]) -> list[str]:
    """Precision, recall, F1 and times per size; related suggestions; recall per variation."""
    out = [f"Duplicate detection on {part['backend']}: labelled synthetic contacts (bench/synthetic.py), bulk "
           "insert, rebuild_keys, one scan; truth = same person"]
    scanned = [r for r in part["runs"] if "scan_skipped" not in r]
    out += _table(
        ["records", "people", "true pairs", "found", "precision", "recall", "F1", "merge|related recall",
         "keys s", "scan s", "compared", "pair bound"],
        [[r["records"], r["people"], r["true_duplicate_pairs"], r["merge_suggested"], _pct(r["precision"]),
          _pct(r["recall"]), _pct(r["f1"]), _pct(r["recall_merge_or_related"]), r["keys_s"], r["scan_s"],
          r["scan_compared_pairs"], r["pair_upper_bound"]] for r in scanned],
    )
    for r in part["runs"]:
        if "scan_skipped" in r:
            estimate = f"{r['estimated_scan_s']:,} s" if r["estimated_scan_s"] else "unknown"
            out.append(f"  {r['records']:,} records ({r['people']:,} people): insert {r['insert_s']} s, keys "
                       f"{r['keys_s']} s; scan NOT run: {r['scan_skipped']}; estimated scan time {estimate} "
                       "(bound x the smaller run's seconds per bound pair)")
    for r in scanned:
        fp, rel = r["false_positives_by_kind"], r["related_by_kind"]
        out.append(
            f"  {r['records']:,}: false merges {r['false_positives']} (households {fp['household']}, namesakes "
            f"{fp['namesake']}, other {fp['other']}); suggested related {r['related_suggested']} (true households "
            f"{rel['household']} of {r['household_pairs']} = {_pct(r['households_suggested_related'])}, duplicates "
            f"{rel['duplicate']}, namesakes {rel['namesake']}, other {rel['other']}); namesake pairs "
            f"{r['namesake_pairs']}; insert {r['insert_s']} s; {r['match_key_rows']:,} match keys")
        out.append("    recall by variation: " + ", ".join(
            f"{name} {_pct(v['recall'])} ({v['pairs']})" for name, v in r["recall_by_variation"].items()))
    return out


def imports(part: dict[str, Any]) -> list[str]:
    """Rows per second of each variant (median of the timed runs after a warm-up) and their ratios."""
    out = [f"CSV import on {part['backend']}: {part['rows']:,} rows ({part['csv_mb']} MB, {part['people']:,} people, "
           f"{part['duplicate_pairs']:,} duplicate pairs), mode {part['mode']}; each run in a fresh database, "
           f"median of {part.get('repeats', 1)} after a {part.get('warmup_rows', 0):,}-row warm-up; executemany "
           "writes the records and their field history"]
    rows = []
    for name, v in part["variants"].items():
        counts = ", ".join(f"{k} {n:,}" for k, n in v["counts"].items() if n)
        rows.append([name, v.get("rows", part["rows"]), v["seconds"], v.get("cpu_s"), v["rows_per_s"],
                     f"{v['times_plain']}x", v.get("share_of_plain_rate"), v.get("cpu_share_of_plain_rate"),
                     v["records_after"], counts])
    out += _table(["variant", "rows", "seconds", "CPU s", "rows/s", "vs executemany", "share of its rate",
                   "share (CPU)", "records", "outcomes"], rows)
    out.append(f"  dedup on / dedup off time = {part['dedup_on_to_off']}x; batch path / row by row rate = "
               f"{part.get('batch_speedup')}x; dedup on per 100k rows = {part.get('dedup_on_seconds_per_100k')} s "
               "(goal <= 60 s); CPU s = this process (SQLite's work included, PostgreSQL's server not)")
    return out


def filters(part: dict[str, Any]) -> list[str]:
    """Median and p95 per filter: hand-written SQL, compiled statement, find_records; ratios; ids equal."""
    data = part["data"]
    rows_text = ", ".join(f"{k} {v:,}" for k, v in data["rows"].items())
    reused = " (reused from an earlier run)" if data.get("reused") else ""
    size = data.get("database_size") or f"{data.get('database_mb')} MB"
    out = [f"Filters on {part['backend']}: {rows_text}; {size}; generated in {data['generate_total_s']} s{reused}; "
           f"deploy incl. the searchable-field indexes {data['deploy_s']} s",
           "  ms: hand = hand-written SQL (page of 50 + count), compiled = the engine's statement (page + count), "
           "service = find_records (page + total + views)"]
    rows = []
    for c in part["cases"]:
        rows.append([c["name"], c["matches"], c["hand_sql"]["median_ms"], c["hand_sql"]["p95_ms"],
                     c["compiled"]["median_ms"], c["compiled"]["p95_ms"], c["service"]["median_ms"],
                     c["service"]["p95_ms"], f"{c['ratio_compiled_to_hand_median']}x",
                     f"{c['ratio_service_to_hand_median']}x", c["compiled"]["n"],
                     "yes" if c["same_ids"] and c["same_first_page"] else "NO"])
    out += _table(["filter", "matches", "hand med", "hand p95", "comp med", "comp p95", "svc med", "svc p95",
                   "comp/hand", "svc/hand", "runs", "same ids"], rows)
    for c in part["cases"]:
        if not (c["same_ids"] and c["same_first_page"]):
            out.append(f"  {c['name']}: ids differ (only engine {c['only_engine']}, only hand {c['only_hand']}, "
                       f"same first page {c['same_first_page']})")
    out.append("  indexes on record: " + ", ".join(data["record_indexes"]))
    return out
