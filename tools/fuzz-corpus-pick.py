#!/usr/bin/env python3
"""Picks a small fuzz corpus: greedy set cover of the coverage edges recorded in a libFuzzer
merge control file (-merge_control_file), most new edges first, at most N files.
Usage: fuzz-corpus-pick.py CONTROL_FILE MAX_FILES  -> prints the chosen paths."""
import sys

control, limit = sys.argv[1], int(sys.argv[2])
lines = open(control).read().splitlines()
count = int(lines[0])
paths = lines[2:2 + count]
cover = {}
for line in lines[2 + count:]:
    if line.startswith("COV "):
        fields = line.split()
        cover[int(fields[1])] = set(fields[2:])

everything = set().union(*cover.values()) if cover else set()
covered, chosen = set(), []
while len(chosen) < limit:
    best = max(cover, key=lambda i: len(cover[i] - covered), default=None)
    if best is None or not cover[best] - covered:
        break
    covered |= cover[best]
    chosen.append(best)
for i in chosen:
    print(paths[i])
print(f"{len(chosen)} files cover {len(covered)} of {len(everything)} edges", file=sys.stderr)
