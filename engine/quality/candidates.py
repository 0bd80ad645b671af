"""The candidate pairs of a scan: records sharing a value of a key some rule reads, as arrays (low id, high id,
a bit per shared key name), built with numpy from the groups of records sharing each key value; a pair's
shared key names are read back as a set only for the pairs a rule looks at one by one."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np


class CandidatePairs:
    """Pairs (low id, high id), sorted, each with the names of the keys the two records share."""

    def __init__(self, names: tuple[str, ...], lows: np.ndarray, highs: np.ndarray, masks: np.ndarray) -> None:
        self.names, self.lows, self.highs, self.masks = names, lows, highs, masks

    @classmethod
    def from_groups(cls, names: Iterable[str], groups: Iterable[tuple[str, list[int]]]) -> CandidatePairs:
        """Every pair within each group (key name, record ids ascending) of records sharing one key value."""
        order = tuple(sorted(set(names)))
        if len(order) > 62:
            raise ValueError(f"a scan reads at most 62 keys, the rules read {len(order)}")
        bit = {name: 1 << n for n, name in enumerate(order)}
        members: list[int] = []
        sizes: list[int] = []
        bits: list[int] = []
        for name, ids in groups:
            members.extend(ids)
            sizes.append(len(ids))
            bits.append(bit[name])
        if not members:
            empty = np.zeros(0, dtype=np.int64)
            return cls(order, empty, empty, empty)
        ids_array = np.asarray(members, dtype=np.int64)
        size = np.repeat(np.asarray(sizes, dtype=np.int64), sizes)
        start = np.repeat(np.cumsum(sizes) - np.asarray(sizes), sizes)
        position = np.arange(len(ids_array)) - start
        count = size - 1 - position  # pairs a member makes with the members after it in its group
        first = np.repeat(np.arange(len(ids_array)), count)
        run = np.repeat(np.cumsum(count) - count, count)
        second = first + 1 + (np.arange(len(first)) - run)
        lows, highs = ids_array[first], ids_array[second]
        pair_bits = np.repeat(np.repeat(np.asarray(bits, dtype=np.int64), sizes), count)
        codes = lows * (int(ids_array.max()) + 1) + highs
        sort = np.argsort(codes, kind="stable")
        codes, pair_bits = codes[sort], pair_bits[sort]
        starts = np.flatnonzero(np.concatenate([[True], codes[1:] != codes[:-1]]))
        masks = np.bitwise_or.reduceat(pair_bits, starts)
        return cls(order, lows[sort][starts], highs[sort][starts], masks)

    def __len__(self) -> int:
        return len(self.lows)

    def __iter__(self) -> Iterator[tuple[int, int]]:
        return zip(self.lows.tolist(), self.highs.tolist(), strict=True)

    def __contains__(self, pair: object) -> bool:
        return isinstance(pair, tuple) and row_of(self.lows, self.highs, pair) is not None

    def __getitem__(self, pair: tuple[int, int]) -> set[str]:
        row = row_of(self.lows, self.highs, pair)
        if row is None:
            raise KeyError(pair)
        return self.shared(row)

    def items(self) -> Iterator[tuple[tuple[int, int], set[str]]]:
        """(pair, shared key names) of every pair."""
        for n, pair in enumerate(self):
            yield pair, self.shared(n)

    def shared(self, row: int) -> set[str]:
        """The names of the keys the pair at `row` shares."""
        mask = int(self.masks[row])
        return {name for n, name in enumerate(self.names) if mask >> n & 1}

    def rows_of(self, pairs: Iterable[tuple[int, int]]) -> np.ndarray:
        """The rows of pairs known to be among these (a binary search each)."""
        found = [row_of(self.lows, self.highs, pair) for pair in pairs]
        return np.asarray([row for row in found if row is not None], dtype=np.int64)

    def rows_in(self, lows: np.ndarray, highs: np.ndarray) -> np.ndarray:
        """For each of these pairs, its row in the sorted pairs (lows, highs), a subset of these; -1 when absent."""
        where = np.full(len(self.lows), -1, dtype=np.int64)
        if not len(lows):
            return where
        scale = int(max(self.highs.max(), self.lows.max())) + 1
        mine, theirs = self.lows * scale + self.highs, lows * scale + highs
        at = np.searchsorted(mine, theirs)
        where[at] = np.arange(len(lows))
        return where

    def involving(self, ids: Iterable[int]) -> CandidatePairs:
        """The pairs naming at least one of these records (the records an import just wrote)."""
        wanted = np.fromiter(set(ids), dtype=np.int64)
        chosen = np.isin(self.lows, wanted) | np.isin(self.highs, wanted)
        return CandidatePairs(self.names, self.lows[chosen], self.highs[chosen], self.masks[chosen])

    def sharing(self, names: Iterable[str]) -> np.ndarray:
        """Which pairs share at least one of the keys named."""
        wanted = sum(1 << n for n, name in enumerate(self.names) if name in set(names))
        found: np.ndarray = (self.masks & wanted) != 0
        return found


def row_of(lows: np.ndarray, highs: np.ndarray, pair: tuple[int, int]) -> int | None:
    """The row of a pair in arrays of pairs sorted by (low, high), or None: a binary search, no index to build."""
    low, high = pair
    start, end = np.searchsorted(lows, low, side="left"), np.searchsorted(lows, low, side="right")
    if start == end:
        return None
    at = int(start + np.searchsorted(highs[start:end], high))
    return at if at < end and highs[at] == high else None
