# bench/common.sh -- sourced by the benchmark scripts: RUNS, and median
# wall seconds of RUNS runs of a command (its output discarded).
RUNS=${RUNS:-3}
median() {
    for _ in $(seq 1 "$RUNS"); do
        s=$(date +%s.%N)
        "$@" >/dev/null 2>&1
        e=$(date +%s.%N)
        echo "$e - $s" | bc -l
    done | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}
