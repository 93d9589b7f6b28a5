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
# $BGAN OVERRIDES... OVERRIDE... out_dir=RUNS_DIR/NAME, its output in RUNS_DIR/NAME.log.
run_jobs() {
  local runs=$1; shift
  mkdir -p "$runs"
  grep -E -e "${ONLY:-.}" | while read -r name args; do
    [ -f "$runs/$name/metrics.json" ] || echo "$name $args"
  done | xargs -r -P "${JOBS:-1}" -L 1 bash -c 'name=$0; '"$BGAN"' "$@" '"$*"' out_dir='"$runs"'/$name progress=false \
    > '"$runs"'/$name.log 2>&1 || echo "failed: $name (see '"$runs"'/$name.log)"'
}
