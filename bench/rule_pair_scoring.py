"""The rule pairs of an import, without the database: synthetic contacts (bench/synthetic.py) keyed 500 at a time
as an import's batches write them, and each batch's candidate pairs (records sharing a key some rule reads, up to
200 per key value, naming a record of the batch) scored as `engine.quality.new_pairs` scores them (`rule_levels`,
then `scored_pairs`) with the shipped Contact rules. Prints the pairs compared and found, the CPU seconds of the
scoring alone and a digest of every (pair, score, rule, reasons): run it on two commits to compare them.

    python -m bench.rule_pair_scoring --rows 100000"""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path
from time import process_time
from typing import Any

from bench.synthetic import contact_base
from engine.config.loader import load_bundle, read_bundle_dir
from engine.quality.candidates import CandidatePairs
from engine.quality.matching import record_keys
from engine.quality.pair_scoring import rule_levels, scored_pairs

BATCH = 500
MAX_BLOCK = 200


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    config = load_bundle(read_bundle_dir(Path(__file__).parents[1])).duplicates["Contact"]
    fields = config.fields()
    values = {
        n + 1: {k: v for k, v in row.data.items() if k in fields}
        for n, row in enumerate(contact_base(args.rows, args.seed).rows)
    }
    names = {rule.key for rule in config.rules if rule.key} | {b for rule in config.rules for b in rule.block}
    groups: dict[tuple[str, str], list[int]] = {}
    cpu, compared, found = 0.0, 0, []
    for start in range(0, args.rows, BATCH):
        batch = range(start + 1, min(args.rows, start + BATCH) + 1)
        for record_id in batch:
            for name, keys in record_keys(config, values[record_id], config.region).items():
                for value in keys if name in names else ():
                    groups.setdefault((name, value), []).append(record_id)
        touched = [(name, ids) for (name, _), ids in groups.items() if 2 <= len(ids) <= MAX_BLOCK and ids[-1] > start]
        pairs = CandidatePairs.from_groups(names, touched).involving(batch)
        began = process_time()
        levels = rule_levels(config, pairs, values)
        scored: list[Any] = [
            (low, high, c.score, c.rule, c.reasons) for low, high, c in scored_pairs(config, pairs, values, levels, {})
        ]
        cpu += process_time() - began
        compared += len(pairs)
        found.extend(scored)
    digest = hashlib.sha1(repr(found).encode(), usedforsecurity=False).hexdigest()[:12]
    print(
        f"{args.rows} rows: {compared} candidate pairs, {len(found)} matched, scoring {cpu:.2f} s CPU, digest {digest}"
    )


if __name__ == "__main__":
    main()
