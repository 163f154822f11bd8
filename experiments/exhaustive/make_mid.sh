#!/usr/bin/env bash
# The mid-sized exhaustive shape of issue 15: two sources of about 24,600 and 24,800 records
# (about 6.1e8 cross pairs), many low-cardinality exact fields (sex, birth day, month, year), two
# Jaro–Winkler name fields and one Levenshtein <= 2 on a 7-character postcode.
# Made from `fellegi generate` output: day/month/year are cut from date_of_birth (corrupted
# digits included), sex is a per-entity attribute (entity_id parity, the same in every copy), and
# the 7-character postcode is the 4-digit postcode followed by the zero-padded street number.
# Usage: experiments/exhaustive/make_mid.sh OUT_DIR [FELLEGI_BIN]
set -euo pipefail
OUT=${1:?usage: make_mid.sh OUT_DIR [FELLEGI_BIN]}
BIN=${2:-target/release/fellegi}
mkdir -p "$OUT/gen"
"$BIN" generate --entities 30800 --sources 2 --overlap 0.6 --mean-duplicates 0 --seed 15 --out "$OUT/gen" -q >/dev/null
for s in a b; do
  awk -F, 'BEGIN { OFS = "," }
    NR == 1 { print "record_id,entity_id,sex,given_name,surname,birth_day,birth_month,birth_year,postcode"; next }
    {
      d = $10
      y = substr(d, 1, 4); m = substr(d, 5, 2); dd = substr(d, 7, 2)
      sex = ($2 % 2 == 0) ? "f" : "m"
      pc = ($8 == "" || $5 == "") ? "" : sprintf("%s%03d", $8, $5 % 1000)
      print $1, $2, sex, $3, $4, dd, m, y, pc
    }' "$OUT/gen/source_$s.csv" > "$OUT/$s.csv"
done
wc -l "$OUT/a.csv" "$OUT/b.csv"
