# Sourced by every reproduce script (scripts/reproduce_*.sh) before its first command:
#   --help / -h  prints the script's header comment and exits 0;
#   BGAN         the command each run goes through (default bgan-run); BGAN='bgan-run --dry-run' validates
#                every run the script would start and prints its out_dir, running and writing nothing (the
#                slow tier's smoke test, tests/test_scripts.py).
case "${1:-}" in
  -h | --help) sed -n '2,/^[^#]/s/^# \{0,1\}//p' "$0"; exit 0 ;;
esac
BGAN=${BGAN:-bgan-run}
# run_jobs RUNS_DIR [OVERRIDE ...] < "NAME OVERRIDES..." lines: the lines whose NAME matches $ONLY (a regex,
# default all) and whose RUNS_DIR/NAME has no metrics.json yet, JOBS (default 1) at a time, each as
# $BGAN OVERRIDES... OVERRIDE... out_dir=RUNS_DIR/NAME, its output in RUNS_DIR/.logs/NAME.log (printed instead
# under --dry-run). Paths and overrides travel as arguments, never as shell text. Exit code 1 if a run failed.
run_jobs() {
  export RJ_RUNS=$1 RJ_BGAN=$BGAN RJ_EXTRA
  shift
  RJ_EXTRA=""
  [ $# -gt 0 ] && RJ_EXTRA=$(printf '%q ' "$@")
  mkdir -p "$RJ_RUNS/.logs"
  grep -E -e "${ONLY:-.}" | while read -r name args; do
    [ -f "$RJ_RUNS/$name/metrics.json" ] || echo "$name${args:+ $args}"
  done | xargs -r -P "${JOBS:-1}" -L 1 bash -c '
    name=$0; eval "extra=($RJ_EXTRA)"; read -ra bgan <<< "$RJ_BGAN"
    command=("${bgan[@]}" "$@" "${extra[@]}" "out_dir=$RJ_RUNS/$name" progress=false)
    case " $RJ_BGAN " in *" --dry-run "*) "${command[@]}" ;; *) "${command[@]}" > "$RJ_RUNS/.logs/$name.log" 2>&1 ;; esac \
      || { echo "failed: $name (see $RJ_RUNS/.logs/$name.log)" >&2; exit 1; }'
}
