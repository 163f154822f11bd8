#!/usr/bin/env python3
"""Split an RLdata file (R RecordLinkage's RLdata500 / RLdata10000) into two files the way the
vabl-jasa case study does (code/rldata10000.R in github.com/briankundinger/vabl-jasa): the
records of duplicated entities sorted by entity (stable), numbered from 1, even numbers to the
first file and odd to the second, so each duplicate pair has one record on each side; the other
records in file order, numbered from 1, even to the first file and odd to the second. The first
file holds the duplicated records first, as R's rbind(duplicated_1, non_duplicated_1).

usage: split_rldata.py IN.csv OUT_A.csv OUT_B.csv   (standard library only)
"""
import csv
import sys
from collections import Counter


def main(src, out_a, out_b):
    with open(src, newline="") as f:
        rows = list(csv.DictReader(f))
        fields = list(rows[0].keys())
    counts = Counter(r["entity_id"] for r in rows)
    dup = sorted((r for r in rows if counts[r["entity_id"]] > 1), key=lambda r: int(r["entity_id"]))
    non = [r for r in rows if counts[r["entity_id"]] == 1]
    a = [r for n, r in enumerate(dup, 1) if n % 2 == 0] + [r for n, r in enumerate(non, 1) if n % 2 == 0]
    b = [r for n, r in enumerate(dup, 1) if n % 2 == 1] + [r for n, r in enumerate(non, 1) if n % 2 == 1]
    for path, part in ((out_a, a), (out_b, b)):
        with open(path, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=fields, lineterminator="\n")
            w.writeheader()
            w.writerows(part)
    print(f"{out_a}: {len(a)} records, {out_b}: {len(b)} records")


if __name__ == "__main__":
    main(*sys.argv[1:4])
