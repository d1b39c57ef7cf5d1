#!/bin/bash
# whole-process time, median of 5: qa search / qa ask on an index; $1 index, $2 label
for backend in auto torch; do
 for cmd in search ask; do
  ts=()
  for i in 1 2 3 4 5; do
    s=$(date +%s.%N); QA_READER_BACKEND=$backend /work/main/.venv/bin/qa $cmd "What has Egypt co-produced with Türkiye?" --index $1 >/dev/null 2>&1; e=$(date +%s.%N)
    ts+=($(echo "$e - $s" | bc))
  done
  echo "$2 $backend qa $cmd: $(printf '%s\n' "${ts[@]}" | sort -n | sed -n 3p) s (median of 5)"
 done
done
