# shellcheck shell=bash disable=SC2034,SC2154  # variables are shared with bench/run and the other jobs
# bench/run's contenders job: timing, the result rows, each contender's run and check (the limits, pgcopydb,
# pgloader, Ferry full refresh and incremental), and one dataset's run of them all. Sourced by bench/run.

# ---------------------------------------------------------------------------------------------------------------
# timing
# ---------------------------------------------------------------------------------------------------------------
# run_timed LOG cmd...: sets T_WALL (seconds) and T_RSS (KiB, peak resident set of the command's largest process);
# dies when the command fails. run_timed_status: the same, and sets T_RC (its exit status) instead of dying.
run_timed() {
  local log=$1
  run_timed_status "$@"
  if [ "$T_RC" -ne 0 ]; then
    echo "---- last lines of $log ----" >&2
    tail -25 "$log" >&2
    shift
    die "command failed (exit $T_RC): $* (log: $log)"
  fi
}
run_timed_status() {
  local log=$1; shift
  local tf=$WORK/time.out t0 t1 rc
  rm -f "$tf"
  t0=$(date +%s%N)
  set +e
  if [ "$HAVE_TIME" = 1 ]; then
    /usr/bin/time -f '%M' -o "$tf" "$@" >"$log" 2>&1
  else
    "$@" >"$log" 2>&1
  fi
  rc=$?
  set -e
  t1=$(date +%s%N)
  T_WALL=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
  T_RSS=""
  [ "$HAVE_TIME" = 1 ] && [ -f "$tf" ] && T_RSS=$(tail -1 "$tf")
  T_RC=$rc
}

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ a[NR] = $1 } END { if (NR == 0) print ""; else if (NR % 2) print a[(NR + 1) / 2]; else printf "%.3f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
maxof() { tr ' ' '\n' | grep -v '^$' | sort -g | tail -1; }

# result row: ds_id ds_label kind contender status wall own_s own_rows rss_kb rows bytes note
record() {
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$TSV"
}

# ---------------------------------------------------------------------------------------------------------------
# contenders (each runs in a subshell under set -e: a failure is recorded, and the run goes on)
# ---------------------------------------------------------------------------------------------------------------
TRY_RC=0
try() { set +e; ( set -e; "$@" ); TRY_RC=$?; set -e; }

# (1) the practical limit: psql COPY TO STDOUT (binary) | psql COPY FROM STDIN (binary) into an empty table with the PK
# (the table the incremental's merge limit merges into later)
c_limit() {
  local walls="" rss="" r
  for ((r = 1; r <= REPEAT; r++)); do
    dpsql -c "DROP TABLE IF EXISTS lim.$DS_BARE" -c "$(ds_ddl "lim.$DS_BARE")"
    checkpoint; prewarm "$DS_TABLE"
    pipe_script "$WORK/limit.sh" "COPY $DS_TABLE TO STDOUT (FORMAT binary)" -c "COPY lim.$DS_BARE FROM STDIN (FORMAT binary)"
    run_timed "$LOGS/$DS_ID_SAFE-limit-$r.log" bash "$WORK/limit.sh"
    verify "lim.$DS_BARE" "$CS_FULL"
    walls+=" $T_WALL"; rss+=" $T_RSS"
    say "  limit (psql | psql): ${T_WALL}s, $VERIFIED"
  done
  record "$DS_ID" "$DS_LABEL" full limit ok "$(echo "$walls" | median)" "" "" "$(echo "$rss" | maxof)" "$DS_ROWS" "$DS_BYTES" "$VERIFIED"
}

# (1b) the limit with Ferry's way and end state: the same pipe into a bare table (same columns, no primary key), then
# ALTER TABLE ... ADD PRIMARY KEY, timed as one. Its table is dropped afterwards: the merge limit uses lim.<table>.
c_limit_pk() {
  local walls="" rss="" r t=lim.${DS_BARE}_pk_after pk
  pk=$(ds_pk_def)
  [ -n "$pk" ] || die "$DS_TABLE has no primary key"
  for ((r = 1; r <= REPEAT; r++)); do
    dpsql -c "DROP TABLE IF EXISTS $t" -c "$(ds_ddl "$t" bare)"
    checkpoint; prewarm "$DS_TABLE"
    pipe_script "$WORK/limit-pk.sh" "COPY $DS_TABLE TO STDOUT (FORMAT binary)" -c "COPY $t FROM STDIN (FORMAT binary)" \
      -c "ALTER TABLE $t ADD $pk"
    run_timed "$LOGS/$DS_ID_SAFE-limit-pk-$r.log" bash "$WORK/limit-pk.sh"
    verify "$t" "$CS_FULL"
    [ "$(dval "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = '$t'::regclass AND contype = 'p'")" = "$pk" ] \
      || die "$t did not get its primary key"
    walls+=" $T_WALL"; rss+=" $T_RSS"
    say "  limit with PK after (psql | psql into a bare table, then ADD PRIMARY KEY): ${T_WALL}s, $VERIFIED"
  done
  dpsql -c "DROP TABLE IF EXISTS $t"
  record "$DS_ID" "$DS_LABEL" full limit_pk ok "$(echo "$walls" | median)" "" "" "$(echo "$rss" | maxof)" "$DS_ROWS" "$DS_BYTES" "$VERIFIED"
}

c_pgcopydb() {
  local walls="" rss="" r filters=$WORK/pgcopydb-filters.ini
  printf '[include-only-table]\n%s\n' "$DS_TABLE" >"$filters"
  for ((r = 1; r <= REPEAT; r++)); do
    dpsql -c "DROP TABLE IF EXISTS $DS_TABLE" -c "$(ds_ddl "$DS_TABLE")"
    rm -rf "$WORK/pgcopydb"
    checkpoint; prewarm "$DS_TABLE"
    run_timed "$LOGS/$DS_ID_SAFE-pgcopydb-$r.log" pgcopydb copy table-data \
      --source "$SRC_URI" --target "$DST_URI" --dir "$WORK/pgcopydb" --filters "$filters"
    verify "$DS_TABLE" "$CS_FULL"
    walls+=" $T_WALL"; rss+=" $T_RSS"
    say "  pgcopydb: ${T_WALL}s, $VERIFIED"
  done
  dpsql -c "DROP TABLE IF EXISTS $DS_TABLE"
  record "$DS_ID" "$DS_LABEL" full pgcopydb ok "$(echo "$walls" | median)" "" "" "$(echo "$rss" | maxof)" "$DS_ROWS" "$DS_BYTES" "$VERIFIED"
}

# pgloader: "data only" issues just the COPY into the existing table (no DROP, CREATE, TRUNCATE or index changes).
# "prefetch rows = 10000" (default 100000) keeps it inside the 1 GiB heap of Debian's SBCL build on the wide table,
# where the default exhausts the heap ("Heap exhausted, game over"); it costs nothing on pgbench_accounts.
c_pgloader() {
  local walls="" rss="" r load=$WORK/pgloader.load
  cat >"$load" <<EOF
LOAD DATABASE
     FROM $SRC_URI
     INTO $DST_URI
 WITH ${PGLOADER_WITH:-data only, prefetch rows = 10000}
 INCLUDING ONLY TABLE NAMES MATCHING '$DS_BARE' IN SCHEMA 'public';
EOF
  for ((r = 1; r <= REPEAT; r++)); do
    dpsql -c "DROP TABLE IF EXISTS $DS_TABLE" -c "$(ds_ddl "$DS_TABLE")"
    rm -rf "$WORK/pgloader"
    checkpoint; prewarm "$DS_TABLE"
    run_timed "$LOGS/$DS_ID_SAFE-pgloader-$r.log" pgloader --root-dir "$WORK/pgloader" "$load"
    # pgloader exits 0 even when rows are rejected: the checksum is what tells
    verify "$DS_TABLE" "$CS_FULL"
    walls+=" $T_WALL"; rss+=" $T_RSS"
    say "  pgloader: ${T_WALL}s, $VERIFIED"
  done
  dpsql -c "DROP TABLE IF EXISTS $DS_TABLE"
  record "$DS_ID" "$DS_LABEL" full pgloader ok "$(echo "$walls" | median)" "" "" "$(echo "$rss" | maxof)" "$DS_ROWS" "$DS_BYTES" "$VERIFIED"
}

# Ferry's config dir: application.properties and routes/ (the bench's transfers; the template and pipeline ship in
# the jar, except in jars built from commits before they did (--ref): then the commit's own copies go in the folder)
ferry_setup() {
  FERRY_DIR=$WORK/ferry/$DS_NAME
  rm -rf "$FERRY_DIR"
  mkdir -p "$FERRY_DIR/routes"
  grep -q '<targetPath>ferry/routes</targetPath>' "$ROUTES_DIR/../pom.xml" 2>/dev/null \
    || cp "$ROUTES_DIR/ferry-transfer.yaml" "$ROUTES_DIR/ferry-pipeline.yaml" "$FERRY_DIR/routes/"
  conn() { # key host port db user password [schema]
    printf 'ferry.%s.hostname = %s\nferry.%s.port = %s\nferry.%s.database = %s\nferry.%s.user = %s\nferry.%s.password = %s\n' \
      "$1" "$2" "$1" "$3" "$1" "$4" "$1" "$5" "$1" "$6"
    [ -z "${7:-}" ] || printf 'ferry.%s.schema = %s\n' "$1" "$7"
  }
  {
    conn source.src "$SRC_HOST" "$SRC_PORT" "$SRC_DB" "$SRC_USER" "$SRC_PASS"
    conn destination.dst "$DST_HOST" "$DST_PORT" "$DST_DB" "$DST_USER" "$DST_PASS" ferry_full
    conn destination.dst_inc "$DST_HOST" "$DST_PORT" "$DST_DB" "$DST_USER" "$DST_PASS" ferry_inc
    conn destination.dst_hash "$DST_HOST" "$DST_PORT" "$DST_DB" "$DST_USER" "$DST_PASS" ferry_hash
  } >"$FERRY_DIR/application.properties"
  chmod 600 "$FERRY_DIR/application.properties"
  cat >"$FERRY_DIR/routes/bench.yaml" <<EOF
- templatedRoute:
    routeTemplateRef: ferry-transfer
    parameters:
      - { name: name, value: $DS_TRANSFER-full }
      - { name: source, value: src }
      - { name: destination, value: dst }
      - { name: tables, value: $DS_TABLE }
      - { name: mode, value: full_refresh }
      - { name: every, value: 1h }
- templatedRoute:
    routeTemplateRef: ferry-transfer
    parameters:
      - { name: name, value: $DS_TRANSFER-inc }
      - { name: source, value: src }
      - { name: destination, value: dst_inc }
      - { name: tables, value: $DS_TABLE }
      - { name: mode, value: incremental }
      - { name: cursor, value: updated_at }
      - { name: lookback, value: "0" }
      - { name: every, value: 1h }
EOF
  if [ "$HASH_COLUMNS" -gt 0 ] && [ "$DS_NAME" = wide ]; then
    cat >>"$FERRY_DIR/routes/bench.yaml" <<EOF
- templatedRoute:
    routeTemplateRef: ferry-transfer
    parameters:
      - { name: name, value: $DS_TRANSFER-hash }
      - { name: source, value: src }
      - { name: destination, value: dst_hash }
      - { name: tables, value: $DS_TABLE }
      - { name: mode, value: full_refresh }
      - { name: hash, value: "$(hash_columns)" }
      - { name: hashKey, value: bench-hash-key }
      - { name: every, value: 1h }
EOF
  fi
}

# the wide table's columns that --hash-columns hashes, comma-separated
hash_columns() {
  echo "title, body, status, attrs" | cut -d, -f"1-$HASH_COLUMNS"
}

# the newest record in a destination schema's run history, <schema>._ferry_runs (0 when it has none yet)
ferry_last_record() { # schema
  if [ "$(dval "SELECT to_regclass('$1._ferry_runs') IS NOT NULL")" = t ]; then
    dval "SELECT coalesce(max(id), 0) FROM $1._ferry_runs"
  else
    echo 0
  fi
}

# runs one Ferry sync, timed; sets T_WALL T_RSS, and F_SECS F_ROWS F_CHANGED F_LOG_SECS:
# - F_SECS and F_ROWS, Ferry's own time and rows, come from the run's record in the destination's run history
#   (<schema>._ferry_runs, the record of this transfer and table newer than any before the run, which must say
#   'succeeded'): finished_at - started_at, from the table's start (its record, written first: describing the source
#   table, provisioning) through the read, the write and, for a full refresh, the swap that builds the primary key, up
#   to the table's last step; the JVM's start, the config check and the run's setup come before it;
# - F_CHANGED, the rows an incremental run inserted or updated, and F_LOG_SECS, the time Ferry logs for the table
#   (only shown, for comparison), come from Ferry's per-table log line, which is the only place that says them.
ferry_sync() { # transfer schema log
  local transfer=$1 schema=$2 log=$3 before rec status line
  before=$(ferry_last_record "$schema")
  (cd "$FERRY_DIR"
    run_timed "$log" java -Xmx256m ${FERRY_JAVA_OPTS:-} -jar "$FERRY_JAR" --config "$FERRY_DIR/application.properties" \
      --routes "$FERRY_DIR/routes" sync "$transfer"
    printf '%s %s\n' "$T_WALL" "$T_RSS" >"$WORK/ferry.timing")
  read -r T_WALL T_RSS <"$WORK/ferry.timing"
  rec=$(dval "SELECT status, rows, round(extract(epoch FROM finished_at - started_at)::numeric, 3)
                FROM $schema._ferry_runs
               WHERE transfer = '$transfer' AND source_table = '$DS_TABLE' AND id > $before
               ORDER BY id DESC LIMIT 1") || die "cannot read Ferry's run history $schema._ferry_runs"
  [ -n "$rec" ] || die "Ferry's run history $schema._ferry_runs has no record of this run of $transfer ($DS_TABLE)"
  IFS='|' read -r status F_ROWS F_SECS <<<"$rec"
  [ "$status" = succeeded ] || die "Ferry's run history $schema._ferry_runs records this run of $transfer as '$status'"
  [ -n "$F_SECS" ] || die "Ferry's run history $schema._ferry_runs has no finished_at for this run of $transfer"
  # "transfer NAME: SRC -> DST: N rows in S.SSs (R rows/s), B batch(es), ..."
  line=$(grep -E "transfer $transfer: [^ ]+ -> [^ ]+: [0-9]+ rows in [0-9.,]+s .*batch" "$log" | tail -1 || true)
  F_LOG_SECS=$(sed -nE 's/.*: [0-9]+ rows in ([0-9.,]+)s.*/\1/p' <<<"$line" | tr , .)
  F_CHANGED=$(sed -nE 's/.* ([0-9]+) inserted or updated.*/\1/p' <<<"$line")
}

c_ferry_full() {
  local walls="" rss="" secs="" r
  for ((r = 1; r <= REPEAT; r++)); do
    dpsql -c "DROP SCHEMA IF EXISTS ferry_full CASCADE"
    checkpoint; prewarm "$DS_TABLE"
    ferry_sync "$DS_TRANSFER-full" ferry_full "$LOGS/$DS_ID_SAFE-ferry-full-$r.log"
    [ "$F_ROWS" = "$DS_ROWS" ] || die "Ferry recorded $F_ROWS rows, the source has $DS_ROWS"
    verify "ferry_full.$DS_BARE" "$CS_FULL"
    walls+=" $T_WALL"; rss+=" $T_RSS"; secs+=" $F_SECS"
    say "  Ferry full refresh: ${T_WALL}s wall, ${F_SECS}s copy (_ferry_runs; ${F_LOG_SECS:-?}s in Ferry's log), peak RSS ${T_RSS:-?} KiB, $VERIFIED"
  done
  dpsql -c "DROP SCHEMA IF EXISTS ferry_full CASCADE"
  record "$DS_ID" "$DS_LABEL" full ferry ok "$(echo "$walls" | median)" "$(echo "$secs" | median)" "$F_ROWS" "$(echo "$rss" | maxof)" "$DS_ROWS" "$DS_BYTES" "$VERIFIED"
}

# (3b) Ferry full refresh with --hash-columns columns hashed (wide table only): timed like (3); checked by its row
# count, its untouched key, and every value of the first hashed column being 64 hex digits (title is NOT NULL)
c_ferry_hash() {
  local walls="" rss="" secs="" r first bad
  first=$(hash_columns | cut -d, -f1)
  for ((r = 1; r <= REPEAT; r++)); do
    dpsql -c "DROP SCHEMA IF EXISTS ferry_hash CASCADE"
    checkpoint; prewarm "$DS_TABLE"
    ferry_sync "$DS_TRANSFER-hash" ferry_hash "$LOGS/$DS_ID_SAFE-ferry-hash-$r.log"
    [ "$F_ROWS" = "$DS_ROWS" ] || die "Ferry recorded $F_ROWS rows, the source has $DS_ROWS"
    bad=$(dval "SELECT count(*) FROM ferry_hash.$DS_BARE WHERE $first IS NULL OR $first !~ '^[0-9a-f]{64}\$'")
    [ "$bad" = 0 ] || die "ferry_hash.$DS_BARE: $bad values of $first are not hex HMAC-SHA256"
    [ "$(dval "SELECT count(DISTINCT $DS_PK) FROM ferry_hash.$DS_BARE")" = "$DS_ROWS" ] || die "ferry_hash.$DS_BARE lacks rows"
    VERIFIED="$DS_ROWS rows, hashes hex"
    walls+=" $T_WALL"; rss+=" $T_RSS"; secs+=" $F_SECS"
    say "  Ferry full refresh, $HASH_COLUMNS hashed column(s): ${T_WALL}s wall, ${F_SECS}s copy (_ferry_runs), peak RSS ${T_RSS:-?} KiB, $VERIFIED"
  done
  dpsql -c "DROP SCHEMA IF EXISTS ferry_hash CASCADE"
  record "$DS_ID" "$DS_LABEL" full "ferry_hash$HASH_COLUMNS" ok "$(echo "$walls" | median)" "$(echo "$secs" | median)" "$F_ROWS" "$(echo "$rss" | maxof)" "$DS_ROWS" "$DS_BYTES" "$VERIFIED"
}

# (4) incremental: backfill (first run, reported but not the headline), then per round: change P% of the rows,
# Ferry merges them (timed), and the limit merges them (psql COPY into a temp table + INSERT ... ON CONFLICT DO UPDATE)
c_incremental() {
  local r ts changed cs walls_f="" rss_f="" secs_f="" walls_l="" rss_l="" sets col
  dpsql -c "DROP SCHEMA IF EXISTS ferry_inc CASCADE"
  checkpoint; prewarm "$DS_TABLE"
  ferry_sync "$DS_TRANSFER-inc" ferry_inc "$LOGS/$DS_ID_SAFE-ferry-inc-backfill.log"
  verify "ferry_inc.$DS_BARE" "$CS_FULL"
  say "  Ferry incremental, first run (backfill): ${T_WALL}s wall, ${F_SECS}s copy (_ferry_runs; ${F_LOG_SECS:-?}s in Ferry's log), $VERIFIED"
  record "$DS_ID" "$DS_LABEL" backfill ferry ok "$T_WALL" "$F_SECS" "$F_ROWS" "$T_RSS" "$DS_ROWS" "$DS_BYTES" "$VERIFIED"

  # the limit merges into lim.<table>, which the limit's full copy left identical to the source before the change
  [ "$(dst_checksum "lim.$DS_BARE")" = "$CS_FULL" ] || die "lim.$DS_BARE is not the source's copy (did the limit's full copy fail?)"
  sets=""
  for col in ${DS_COLS//,/ }; do
    [ "$col" = "$DS_PK" ] || sets+="${sets:+, }$col = EXCLUDED.$col"
  done

  spsql -c "COMMENT ON TABLE $DS_TABLE IS NULL" # no longer as loaded (--reuse reloads it)
  for ((r = 1; r <= REPEAT; r++)); do
    ts=$(sval "SELECT clock_timestamp()")
    changed=$(sval "WITH u AS (UPDATE $DS_TABLE SET $DS_SET WHERE ($DS_PK + ($r - 1) * $CHANGE_PCT) % 100 < $CHANGE_PCT RETURNING 1) SELECT count(*) FROM u")
    spsql -c "VACUUM (ANALYZE) $DS_TABLE"
    cs=$(src_checksum)
    checkpoint; prewarm "$DS_TABLE"
    say "  changed $changed rows ($CHANGE_PCT%) at the source, round $r"

    ferry_sync "$DS_TRANSFER-inc" ferry_inc "$LOGS/$DS_ID_SAFE-ferry-inc-$r.log"
    verify "ferry_inc.$DS_BARE" "$cs"
    [ -n "$F_CHANGED" ] && [ "$F_CHANGED" -ge "$changed" ] || die "Ferry merged '${F_CHANGED}' rows, $changed changed"
    walls_f+=" $T_WALL"; rss_f+=" $T_RSS"; secs_f+=" $F_SECS"
    say "  Ferry incremental: ${T_WALL}s wall, ${F_SECS}s merge (_ferry_runs; ${F_LOG_SECS:-?}s in Ferry's log), $F_ROWS rows read, $VERIFIED"

    checkpoint; prewarm "$DS_TABLE"
    pipe_script "$WORK/limit-inc.sh" "COPY (SELECT * FROM $DS_TABLE WHERE updated_at >= '$ts') TO STDOUT (FORMAT binary)" \
      --single-transaction \
      -c "CREATE TEMP TABLE bench_changes (LIKE lim.$DS_BARE) ON COMMIT DROP" \
      -c "COPY bench_changes FROM STDIN (FORMAT binary)" \
      -c "INSERT INTO lim.$DS_BARE SELECT * FROM bench_changes ON CONFLICT ($DS_PK) DO UPDATE SET $sets"
    run_timed "$LOGS/$DS_ID_SAFE-limit-inc-$r.log" bash "$WORK/limit-inc.sh"
    verify "lim.$DS_BARE" "$cs"
    walls_l+=" $T_WALL"; rss_l+=" $T_RSS"
    say "  limit merge (psql | psql, temp table + INSERT ON CONFLICT): ${T_WALL}s, $VERIFIED"
  done
  local bytes
  bytes=$(awk -v b="$DS_BYTES" -v c="$changed" -v n="$DS_ROWS" 'BEGIN { printf "%.0f", b * c / n }')
  record "$DS_ID" "$DS_LABEL" inc ferry ok "$(echo "$walls_f" | median)" "$(echo "$secs_f" | median)" "$changed" "$(echo "$rss_f" | maxof)" "$changed" "$bytes" "$VERIFIED"
  record "$DS_ID" "$DS_LABEL" inc limit ok "$(echo "$walls_l" | median)" "" "" "$(echo "$rss_l" | maxof)" "$changed" "$bytes" "$VERIFIED"
}

FAILED=0
contender() { # kind name function: runs it, records a failure
  try "$3"
  if [ "$TRY_RC" -ne 0 ]; then
    FAILED=$((FAILED + 1))
    say "  $2 FAILED (logs under $LOGS)"
    record "$DS_ID" "$DS_LABEL" "$1" "$2" FAILED "" "" "" "" "$DS_ROWS" "$DS_BYTES" "see $LOGS/$DS_ID_SAFE-*"
  fi
}

run_dataset() { # id
  DS_ID=$1; DS_ID_SAFE=${1/:/-}
  ds_describe "$1"
  say "== $DS_LABEL"
  load_dataset "$1"
  DS_COLS=$(ds_columns)
  DS_ROWS=$(sval "SELECT count(*) FROM $DS_TABLE")
  DS_BYTES=$(sval "SELECT pg_table_size('$DS_TABLE')")
  CS_FULL=$(src_checksum)
  say "$DS_ROWS rows, $(awk -v b="$DS_BYTES" 'BEGIN { printf "%.1f", b / 1e6 }') MB (pg_table_size)"
  # the destination starts empty for this dataset
  dpsql -c "DROP SCHEMA IF EXISTS lim, ferry_full, ferry_inc, ferry_hash CASCADE" -c "DROP TABLE IF EXISTS $DS_TABLE" -c "CREATE SCHEMA lim"
  ferry_setup

  contender full limit c_limit
  contender full limit_pk c_limit_pk
  if skipped pgcopydb; then :
  elif [ "$HAVE_PGCOPYDB" = 1 ]; then contender full pgcopydb c_pgcopydb
  else record "$DS_ID" "$DS_LABEL" full pgcopydb skipped "" "" "" "" "$DS_ROWS" "$DS_BYTES" "not installed"; fi
  if skipped pgloader; then :
  elif [ "$HAVE_PGLOADER" = 1 ]; then contender full pgloader c_pgloader
  else record "$DS_ID" "$DS_LABEL" full pgloader skipped "" "" "" "" "$DS_ROWS" "$DS_BYTES" "not installed"; fi
  contender full ferry c_ferry_full
  if [ "$HASH_COLUMNS" -gt 0 ] && [ "$DS_NAME" = wide ]; then contender full "ferry_hash$HASH_COLUMNS" c_ferry_hash; fi
  if ! skipped incremental; then contender inc ferry c_incremental; fi
  # leave the destination small for the next dataset
  dpsql -c "DROP SCHEMA IF EXISTS lim, ferry_full, ferry_inc CASCADE" >/dev/null
}
