"""Draw the dev/check halves of the corpus at random, stratified by tier.

Run once, after every entry in repos.toml was tiered and before any was graded:

    python3 corpus/split.py            # print the assignment
    python3 corpus/split.py --write    # also write `half = "..."` into repos.toml

Method: take the entry names in sorted() order (alphabetical by code point), group
them by tier (strong, average, weak), shuffle each group with
random.Random(20261206), then hand out "dev" and "check" alternately. The
alternation carries on from one tier to the next, so an odd-sized tier does not
tilt both halves the same way. Standard library only; the same file and seed
always give the same halves.

Entries added later carry ``batch = N`` (the first 54 are batch 1): each batch is drawn
on its own, the same way, with seed 20261206 + N - 1, once all its entries are tiered
and before any is graded, so adding a batch never moves an entry of an earlier one.

A batch in DEV_ONLY was graded and looked at before it joined the corpus (take-homes
tiered by reading, then graded to find where grader fails): none of it may be a check
entry, so all of it is dev, and it is not drawn.
"""

from __future__ import annotations

import random
import re
import sys
import tomllib
from pathlib import Path

SEED = 20261206
DEV_ONLY = frozenset({3})
TIERS = ("strong", "average", "weak")
CORPUS = Path(__file__).with_name("repos.toml")


def assign(entries: list[dict]) -> dict[str, str]:
    """Map each entry name to "dev" or "check", each batch drawn on its own."""
    halves: dict[str, str] = {}
    for batch in sorted({int(entry.get("batch", 1)) for entry in entries}):
        chosen = [entry for entry in entries if int(entry.get("batch", 1)) == batch]
        if batch in DEV_ONLY:
            halves |= {entry["name"]: "dev" for entry in chosen}
            continue
        halves |= _assign_batch(chosen, SEED + batch - 1)
    return halves


def _assign_batch(entries: list[dict], seed: int) -> dict[str, str]:
    rng = random.Random(seed)
    names_by_tier: dict[str, list[str]] = {tier: [] for tier in TIERS}
    for name in sorted(entry["name"] for entry in entries):
        tier = next(entry["tier"] for entry in entries if entry["name"] == name)
        names_by_tier[tier].append(name)
    halves: dict[str, str] = {}
    turn = 0
    for tier in TIERS:
        group = names_by_tier[tier]
        rng.shuffle(group)
        for name in group:
            halves[name] = ("dev", "check")[turn % 2]
            turn += 1
    return halves


def write(text: str, halves: dict[str, str]) -> str:
    """Put `half = "..."` at the end of each entry, replacing an existing one."""
    text = re.sub(r'^half = "[a-z]+"\n', "", text, flags=re.M)
    out, name = [], None
    lines = text.split("\n")
    for index, line in enumerate(lines):
        match = re.match(r'^name = "([^"]+)"$', line)
        if match:
            name = match.group(1)
        out.append(line)
        next_line = lines[index + 1] if index + 1 < len(lines) else ""
        entry_ends = next_line.startswith("[[repo]]") or not next_line.strip()
        if name and line.strip() and entry_ends:
            out.append(f'half = "{halves[name]}"')
            name = None
    return "\n".join(out)


def main() -> None:
    text = CORPUS.read_text(encoding="utf-8")
    entries = tomllib.loads(text)["repo"]
    halves = assign(entries)
    tier_of = {entry["name"]: entry["tier"] for entry in entries}
    for name in sorted(halves):
        print(f"{halves[name]:5s}  {tier_of[name]:7s}  {name}")
    for half in ("dev", "check"):
        counts = {
            tier: sum(1 for n, h in halves.items() if h == half and tier_of[n] == tier)
            for tier in TIERS
        }
        print(f"{half}: {sum(counts.values())} entries, {counts}")
    if "--write" in sys.argv[1:]:
        new_text = write(text, halves)
        expected = [dict(entry, half=halves[entry["name"]]) for entry in entries]
        if tomllib.loads(new_text)["repo"] != expected:
            sys.exit("not written: the rewritten file does not parse back the same")
        CORPUS.write_text(new_text, encoding="utf-8")


if __name__ == "__main__":
    main()
