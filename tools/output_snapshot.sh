#!/usr/bin/env bash
# Write the outputs a refactoring must not change into DIR, or compare two such folders.
#
#   tools/output_snapshot.sh write DIR      # run the demo and reports on shared data into DIR
#   tools/output_snapshot.sh compare A B    # byte-compare the CSV, GeoJSON and Markdown files
#
# Uses the Andorra and Chengdu extracts in ../shared/data (development data, not shipped).
set -euo pipefail
case "${1:-}" in
write)
  out=$(realpath -m "$2"); data=$(realpath "$(dirname "$0")/../../shared/data")
  mkdir -p "$out"; cd "$out"
  circle facilities from-osm "$data/andorra.osm.pbf" --out andorra_fac.geojson >/dev/null
  circle report --network "$data/andorra.osm.pbf" --facilities andorra_fac.geojson --out andorra >/dev/null
  circle report --network "$data/andorra.osm.pbf" --facilities andorra_fac.geojson --out andorra_zh \
    --lang zh --profile elderly --minutes clinic=10 >/dev/null
  circle facilities from-osm "$data/chengdu.osm.pbf" --out chengdu_fac.geojson >/dev/null
  circle report --network "$data/chengdu.osm.pbf" --facilities chengdu_fac.geojson --out chengdu \
    --lang zh --preset gb50180 >/dev/null
  circle demo >demo_stdout.txt 2>/dev/null
  ;;
compare)
  status=0
  while IFS= read -r f; do
    if cmp -s "$2/$f" "$3/$f"; then echo "same $f"; else echo "DIFFERENT $f"; status=1; fi
  done < <(cd "$2" && find . -type f \( -name "*.csv" -o -name "*.geojson" -o -name "*.md" \
    -o -name "*.txt" \) | sort)
  exit $status
  ;;
*) echo "usage: $0 write DIR | compare A B" >&2; exit 2 ;;
esac
