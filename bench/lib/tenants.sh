# shellcheck shell=bash disable=SC2034,SC2153,SC2154  # variables are shared with bench/run and the other jobs
# bench/run's many-tenants scenarios (issue 14): one source table holding N tenants' rows, exported by N transfers
# (a filter per tenant) to N schemas on one destination server. --scenario tenants: `sync --all` against a psql COPY
# pipe per tenant in sequence; --scenario schedule: `run` with every transfer `every: 1m` for M minutes. Both sample
# the sessions Ferry holds on each server. Sourced by bench/run; see bench/README.md.

TN_TABLE=public.bench_tenants
TN_BARE=bench_tenants
TN_PK="PRIMARY KEY (tenant_id, id)"

tn_width() { local w=${#TENANTS}; [ "$w" -ge 3 ] || w=3; echo "$w"; }
tn_schema() { printf '%s_%0*d' "$1" "$(tn_width)" "$2"; } # prefix i: tenant_007, lim_007

# the source table: TENANTS x TENANT_ROWS rows of mixed types, primary key (tenant_id, id); reloaded unless --reuse
# finds it as loaded
load_tenants() {
  local want="ferry-bench tenants $TENANTS x $TENANT_ROWS pristine"
  if [ "$REUSE" = 1 ] && [ "$(sval "SELECT coalesce(obj_description(to_regclass('$TN_TABLE'), 'pg_class'), '')")" = "$want" ]; then
    say "reusing the loaded $TN_TABLE (--reuse)"
    return
  fi
  say "loading $TN_TABLE: $TENANTS tenants x $TENANT_ROWS rows"
  spsql -o /dev/null <<SQL
DROP TABLE IF EXISTS $TN_TABLE;
CREATE TABLE $TN_TABLE (
  tenant_id   integer NOT NULL,
  id          bigint NOT NULL,
  name        text NOT NULL,
  amount      numeric(12,2) NOT NULL,
  quantity    integer,
  active      boolean NOT NULL,
  created_at  timestamptz NOT NULL,
  attrs       jsonb,
  updated_at  timestamptz NOT NULL DEFAULT now()
);
SELECT setseed(0.14);
INSERT INTO $TN_TABLE
SELECT t, g,
       'item ' || g || ' of tenant ' || t || ' ' || md5((t * 100003 + g)::text),
       round((random() * 10000)::numeric, 2),
       CASE WHEN g % 9 = 0 THEN NULL ELSE (g * 7 + t) % 1000 END,
       (g + t) % 3 <> 0,
       timestamptz '2024-01-01 00:00:00+00' + (t * 1000 + g) * interval '17 seconds',
       CASE WHEN g % 5 = 0 THEN NULL ELSE jsonb_build_object('tenant', t, 'n', g, 'tag', 'k' || g % 13) END,
       timestamptz '2025-01-01 00:00:00+00' + g * interval '1 millisecond'
  FROM generate_series(1, $TENANTS) AS t, generate_series(1, $TENANT_ROWS) AS g;
ALTER TABLE $TN_TABLE ADD $TN_PK;
VACUUM (ANALYZE) $TN_TABLE;
COMMENT ON TABLE $TN_TABLE IS '$want';
SQL
  checkpoint
}

# drops the destination's schemas named <prefix>_<digits> (one statement each: a single transaction dropping hundreds
# of schemas would run out of lock slots)
drop_schemas() { # prefix
  dval "SELECT format('DROP SCHEMA %I CASCADE;', nspname) FROM pg_namespace WHERE nspname ~ '^$1_[0-9]+\$'" >"$WORK/drop.sql"
  [ -s "$WORK/drop.sql" ] && dpsql -f "$WORK/drop.sql" >/dev/null
  return 0
}

# the destination schemas <prefix>_NNN holding <table>, one per line
schemas_with() { # prefix table
  dval "SELECT nspname FROM pg_namespace WHERE nspname ~ '^$1_[0-9]+\$' AND to_regclass(format('%I.%I', nspname, '$2')) IS NOT NULL ORDER BY 1"
}

# per-tenant "tenant_id count checksum" lines, sorted: the source's, and those of the destination schemas <prefix>_NNN
tn_src_checksums() {
  sval "SELECT tenant_id || ' ' || count(*) || ' ' || coalesce(sum(('x' || left(md5(ROW($DS_COLS)::text), 15))::bit(60)::bigint), 0)
          FROM $TN_TABLE GROUP BY tenant_id ORDER BY tenant_id" >"$1"
}
tn_dst_checksums() { # prefix out
  local s first=1
  {
    for s in $(schemas_with "$1" "$TN_BARE"); do
      [ "$first" = 1 ] || echo "UNION ALL"
      first=0
      echo "SELECT ${s##*_}::int || ' ' || count(*) || ' ' || coalesce(sum(('x' || left(md5(ROW($DS_COLS)::text), 15))::bit(60)::bigint), 0) FROM $s.$TN_BARE"
    done
    [ "$first" = 0 ] || echo "SELECT NULL WHERE false"
  } >"$WORK/checksums.sql"
  dpsql -At -f "$WORK/checksums.sql" | sort -n >"$2"
}

# compares the destination schemas <prefix>_NNN with the source, tenant by tenant; sets TN_EQUAL (tenants whose rows
# are equal) and TN_BAD (the first few that are not, with why)
tn_verify() { # prefix
  tn_dst_checksums "$1" "$WORK/checksums-$1.txt"
  read -r TN_EQUAL TN_BAD < <(awk -v prefix="$1" '
    NR == FNR { src[$1] = $2 " " $3; next }
    { dst[$1] = $2 " " $3 }
    END {
      for (t in src) {
        if (!(t in dst)) { why = "missing" } else if (dst[t] != src[t]) { split(dst[t], d, " "); split(src[t], s, " "); why = (d[1] != s[1]) ? d[1] " rows of " s[1] : "checksum differs" } else { ok++; continue }
        if (nbad++ < 5) bad = bad (bad == "" ? "" : ",") prefix "_" t ":" why
      }
      printf "%d %s\n", ok, (nbad ? nbad " not equal (" bad (nbad > 5 ? ",..." : "") ")" : "-")
    }' "$WORK/checksums-src.txt" "$WORK/checksums-$1.txt")
  TN_BAD=${TN_BAD//:/: }; TN_BAD=${TN_BAD//,/, }
  [ "$TN_BAD" != "-" ] || TN_BAD=""
}

# Ferry's config dir for N transfers, tenant-NNN: source src, destination tNNN (schema tenant_NNN on the one
# destination server, database and user), filter tenant_id = :tenant with filter.tenant = i
tn_ferry_setup() { # every
  FERRY_DIR=$WORK/ferry/tenants
  rm -rf "$FERRY_DIR"
  mkdir -p "$FERRY_DIR/routes"
  grep -q '<targetPath>ferry/routes</targetPath>' "$ROUTES_DIR/../pom.xml" 2>/dev/null \
    || cp "$ROUTES_DIR/ferry-transfer.yaml" "$ROUTES_DIR/ferry-pipeline.yaml" "$FERRY_DIR/routes/"
  local i t
  {
    printf 'ferry.source.src.%s = %s\n' hostname "$SRC_HOST" port "$SRC_PORT" database "$SRC_DB" user "$SRC_USER" password "$SRC_PASS"
    for ((i = 1; i <= TENANTS; i++)); do
      t=$(printf 't%0*d' "$(tn_width)" "$i")
      printf "ferry.destination.$t.%s = %s\n" hostname "$DST_HOST" port "$DST_PORT" database "$DST_DB" user "$DST_USER" \
        password "$DST_PASS" schema "$(tn_schema tenant "$i")"
    done
  } >"$FERRY_DIR/application.properties"
  chmod 600 "$FERRY_DIR/application.properties"
  {
    for ((i = 1; i <= TENANTS; i++)); do
      t=$(printf '%0*d' "$(tn_width)" "$i")
      cat <<EOF
- templatedRoute:
    routeTemplateRef: ferry-transfer
    parameters:
      - { name: name, value: tenant-$t }
      - { name: source, value: src }
      - { name: destination, value: t$t }
      - { name: tables, value: $TN_TABLE }
      - { name: mode, value: $TENANT_MODE }
      - { name: every, value: $1 }
      - { name: filter, value: "tenant_id = :tenant" }
      - { name: filter.tenant, value: "$i" }
EOF
      [ "$TENANT_MODE" = full_refresh ] || echo "      - { name: cursor, value: updated_at }"
    done
  } >"$FERRY_DIR/routes/tenants.yaml"
}

# ---------------------------------------------------------------------------------------------------------------
# sessions: one psql per server re-runs a count of pg_stat_activity every 100 ms (\watch) in a single session, so
# sampling adds no connection churn; each line is "epoch count"
# ---------------------------------------------------------------------------------------------------------------
SAMPLERS=()
FERRY_PID=""
stop_ferry() { # at exit: what the scenario started and left running (Ferry's run, the samplers)
  local p
  [ -z "$FERRY_PID" ] || kill -TERM "$FERRY_PID" 2>/dev/null || true
  for p in "${SAMPLERS[@]}"; do kill "$p" 2>/dev/null || true; done
}
sessions_start() {
  local side host port user db
  for side in src dst; do
    if [ "$side" = src ]; then host=$SRC_HOST port=$SRC_PORT user=$SRC_USER db=$SRC_DB; else host=$DST_HOST port=$DST_PORT user=$DST_USER db=$DST_DB; fi
    psql -X -q -At -F ' ' -h "$host" -p "$port" -U "$user" -d "$db" \
      >"$WORK/sessions-$side.txt" 2>"$LOGS/sessions-$side.log" <<'SQL' &
SELECT round(extract(epoch FROM clock_timestamp())::numeric, 2), count(*) FROM pg_stat_activity WHERE application_name = 'ferry' \watch 0.1
SQL
    SAMPLERS+=("$!")
  done
}
sessions_stop() { # sets SESS_SRC SESS_DST (the most Ferry sessions seen on each server) and SESS_SAMPLES
  local p
  for p in "${SAMPLERS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  SAMPLERS=()
  SESS_SRC=$(awk 'NF == 2 && $2 > m { m = $2 } END { print m + 0 }' "$WORK/sessions-src.txt")
  SESS_DST=$(awk 'NF == 2 && $2 > m { m = $2 } END { print m + 0 }' "$WORK/sessions-dst.txt")
  SESS_SAMPLES=$(awk 'NF == 2' "$WORK/sessions-dst.txt" | wc -l)
  [ "$SESS_SAMPLES" -gt 0 ] || say "WARNING: the session sampler recorded nothing (see $LOGS/sessions-dst.log)"
}

# Ferry's outcome per tenant from the run histories tenant_NNN._ferry_runs: sets TN_STATUS ("450 succeeded,
# 50 failed" over the newest record of each transfer; transfers without any record count as "no record") and
# TN_ERRORS (the most frequent errors, with counts)
tn_ferry_outcome() {
  local s first=1
  {
    echo "WITH r AS ("
    for s in $(schemas_with tenant _ferry_runs); do
      [ "$first" = 1 ] || echo "UNION ALL"
      first=0
      echo "(SELECT transfer, status, error FROM $s._ferry_runs ORDER BY id DESC LIMIT 1)"
    done
    [ "$first" = 0 ] || echo "SELECT NULL::text, NULL::text, NULL::text WHERE false"
    echo ") SELECT 's', status, count(*)::text FROM r GROUP BY status"
    echo "UNION ALL SELECT 'e', left(regexp_replace(error, '\\s+', ' ', 'g'), 200), count(*)::text FROM r WHERE error IS NOT NULL GROUP BY 2"
  } >"$WORK/outcome.sql"
  dpsql -At -F $'\t' -f "$WORK/outcome.sql" >"$WORK/outcome.txt" || { TN_STATUS="cannot read the run histories"; TN_ERRORS=""; return; }
  TN_STATUS=$(awk -F'\t' -v n="$TENANTS" '$1 == "s" { out = out (out == "" ? "" : ", ") $3 " " $2; seen += $3 }
    END { if (n - seen > 0) out = out (out == "" ? "" : ", ") (n - seen) " no record"; print out }' "$WORK/outcome.txt")
  TN_ERRORS=$(awk -F'\t' '$1 == "e"' "$WORK/outcome.txt" | sort -t$'\t' -k3,3nr | head -3 | awk -F'\t' '{ printf "%s× %s\n", $3, $2 }')
}

# what Ferry's log says of retries and failures (runs that never reached a run history, e.g. for want of a
# connection, are only there): sets TN_LOG, a line of counts, and TN_LOG_ERRORS, the most frequent failures
tn_log_summary() { # log
  local retries failed s53300
  retries=$(grep -c 'retrying (attempt' "$1" || true)
  failed=$(grep -cE ' ERROR .*transfer [^ ]+: run [0-9a-f-]+ failed' "$1" || true)
  s53300=$(grep -c 'SQLSTATE 53300' "$1" || true)
  TN_LOG="$retries retries, $failed failed runs, $s53300 lines with SQLSTATE 53300 (too many clients)"
  TN_LOG_ERRORS=$(grep -E ' ERROR .*transfer [^ ]+: run [0-9a-f-]+ failed: ' "$1" | sed -E 's/^.*transfer [^ ]+: run [0-9a-f-]+ failed: //' | cut -c1-200 \
    | sort | uniq -c | sort -rn | head -3 | awk '{ n = $1; sub(/^ *[0-9]+ /, ""); printf "%s× %s\n", n, $0 }' || true)
}

# ---------------------------------------------------------------------------------------------------------------
# --scenario tenants
# ---------------------------------------------------------------------------------------------------------------
TN_ROWS=()
tn_row() { TN_ROWS+=("| $1 | $2 |"); }

# the limit: a psql COPY pipe per tenant, in sequence, each into an empty table of the source's columns created
# beforehand (lim_NNN.bench_tenants, untimed) and given its primary key after the load, in the same destination psql,
# as Ferry's full refresh builds its key after the load
tn_limit() {
  local i s ddl script=$WORK/limit-tenants.sh one=$WORK/limit-one.sh
  drop_schemas lim
  ddl=$(ds_ddl "lim_0.$TN_BARE" bare) # once, for every schema
  for ((i = 1; i <= TENANTS; i++)); do
    s=$(tn_schema lim "$i")
    echo "CREATE SCHEMA $s;"
    echo "${ddl/lim_0./$s.};"
  done >"$WORK/limit-ddl.sql"
  dpsql -f "$WORK/limit-ddl.sql" >/dev/null
  echo "set -euo pipefail" >"$script"
  for ((i = 1; i <= TENANTS; i++)); do
    s=$(tn_schema lim "$i")
    pipe_script "$one" "COPY (SELECT * FROM $TN_TABLE WHERE tenant_id = $i) TO STDOUT (FORMAT binary)" \
      -c "COPY $s.$TN_BARE FROM STDIN (FORMAT binary)" -c "ALTER TABLE $s.$TN_BARE ADD $TN_PK"
    tail -n +2 "$one" >>"$script"
  done
  checkpoint; prewarm "$TN_TABLE"
  say "  limit: $TENANTS psql COPY pipes in sequence"
  run_timed "$LOGS/tenants-limit.log" bash "$script"
  LIM_WALL=$T_WALL; LIM_RSS=$T_RSS
  tn_verify lim
  say "  limit: ${LIM_WALL}s, $TN_EQUAL of $TENANTS tenants equal to the source${TN_BAD:+; $TN_BAD}"
  LIM_EQUAL=$TN_EQUAL
  # the destination as Ferry finds it: none of the limit's schemas, and a catalog vacuumed of them (autovacuum is off)
  drop_schemas lim
  dpsql -c VACUUM >/dev/null
}

tn_ferry() {
  drop_schemas tenant
  tn_ferry_setup 1h
  checkpoint; prewarm "$TN_TABLE"
  say "  Ferry: sync --all ($TENANTS transfers; stopped after ${TENANT_TIMEOUT}s)"
  local jopts=()
  read -ra jopts <<<"${FERRY_JAVA_OPTS:-}"
  sessions_start
  (cd "$FERRY_DIR"
    date +%s.%N >"$WORK/ferry.launched"
    run_timed_status "$LOGS/tenants-ferry.log" timeout -s TERM -k 30 "$TENANT_TIMEOUT" \
      java -Xmx256m "${jopts[@]}" -jar "$FERRY_JAR" --config "$FERRY_DIR/application.properties" \
      --routes "$FERRY_DIR/routes" sync --all
    printf '%s %s %s %s\n' "$T_WALL" "${T_RSS:-?}" "$T_RC" "$(date +%s.%N)" >"$WORK/ferry.timing")
  sessions_stop
  read -r F_WALL F_RSS F_RC F_ENDED <"$WORK/ferry.timing"
  [ "$F_RSS" != "?" ] || F_RSS=""
  case "$F_RC" in
    0) F_EXIT="0 (every transfer succeeded)" ;;
    1) F_EXIT="1 (a transfer failed)" ;;
    124|137) F_EXIT="$F_RC: stopped after ${TENANT_TIMEOUT}s (--tenant-timeout)" ;;
    *) F_EXIT="$F_RC" ;;
  esac
  # the whole process in three: before the first table started (JVM, Camel, config check, connections), the tables
  # (first start to last end, over every run history), after the last table (shutdown)
  read -r F_FIRST F_LAST < <(tn_ferry_span) || true
  F_OWN=""; F_BEFORE=""; F_AFTER=""
  if [ -n "${F_FIRST:-}" ]; then
    read -r F_BEFORE F_OWN F_AFTER < <(awk -v l="$(cat "$WORK/ferry.launched")" -v f="$F_FIRST" -v z="$F_LAST" -v e="$F_ENDED" \
      'BEGIN { printf "%.2f %.2f %.2f\n", f - l, z - f, e - z }')
  fi
  tn_ferry_outcome
  tn_verify tenant
  tn_log_summary "$LOGS/tenants-ferry.log"
  tn_ferry_again "${jopts[@]}"
  say "  Ferry: ${F_WALL}s, exit $F_EXIT, runs: $TN_STATUS; $TN_EQUAL of $TENANTS tenants equal to the source${TN_BAD:+; $TN_BAD}"
  say "  Ferry: peak RSS ${F_RSS:-?} KiB; most sessions held: source $SESS_SRC, destination $SESS_DST ($SESS_SAMPLES samples)"
  say "  Ferry's log: $TN_LOG"
  [ -z "$TN_ERRORS" ] || { say "  Ferry's most frequent errors in the run histories:"; printf '    %s\n' "${TN_ERRORS//$'\n'/$'\n'    }" >&2; }
  [ -z "$TN_LOG_ERRORS" ] || { say "  Ferry's most frequent failures in its log:"; printf '    %s\n' "${TN_LOG_ERRORS//$'\n'/$'\n'    }" >&2; }
}

# the recurring export: `sync --all` again, the schemas, Ferry's tables and the tenants' tables now in place (what a
# scheduled export does every time after its first); sets A_WALL A_RC
tn_ferry_again() {
  say "  Ferry: sync --all again (the recurring export)"
  (cd "$FERRY_DIR"
    run_timed_status "$LOGS/tenants-ferry-again.log" timeout -s TERM -k 30 "$TENANT_TIMEOUT" \
      java -Xmx256m "$@" -jar "$FERRY_JAR" --config "$FERRY_DIR/application.properties" \
      --routes "$FERRY_DIR/routes" sync --all
    printf '%s %s\n' "$T_WALL" "$T_RC" >"$WORK/ferry-again.timing")
  read -r A_WALL A_RC <"$WORK/ferry-again.timing"
  say "  Ferry again: ${A_WALL}s, exit $A_RC"
}

# the first table's start and the last one's end over every tenant's run history, as epoch seconds
tn_ferry_span() {
  local s first=1
  {
    echo "WITH r AS ("
    for s in $(schemas_with tenant _ferry_runs); do
      [ "$first" = 1 ] || echo "UNION ALL"
      first=0
      echo "SELECT started_at, finished_at FROM $s._ferry_runs"
    done
    [ "$first" = 0 ] || echo "SELECT NULL::timestamptz, NULL::timestamptz WHERE false"
    echo ") SELECT extract(epoch FROM min(started_at)), extract(epoch FROM max(finished_at)) FROM r WHERE finished_at IS NOT NULL"
  } >"$WORK/span.sql"
  dpsql -At -F ' ' -f "$WORK/span.sql" || echo ""
}

run_tenants() {
  DS_TABLE=$TN_TABLE
  say "== $TENANTS tenants x $TENANT_ROWS rows, $TENANT_MODE"
  load_tenants
  DS_COLS=$(ds_columns)
  DS_ROWS=$(sval "SELECT count(*) FROM $TN_TABLE")
  DS_BYTES=$(sval "SELECT pg_table_size('$TN_TABLE')")
  tn_src_checksums "$WORK/checksums-src.txt"
  [ "$(wc -l <"$WORK/checksums-src.txt")" = "$TENANTS" ] || die "$TN_TABLE does not hold $TENANTS tenants"
  say "$DS_ROWS rows, $(awk -v b="$DS_BYTES" 'BEGIN { printf "%.1f", b / 1e6 }') MB (pg_table_size)"
  LIM_WALL=""; LIM_RSS=""; LIM_EQUAL=""
  try tn_limit_saved
  [ "$TRY_RC" = 0 ] || { FAILED=$((FAILED + 1)); say "  limit FAILED (logs under $LOGS)"; }
  # shellcheck source=/dev/null
  [ ! -f "$WORK/limit.vars" ] || . "$WORK/limit.vars"
  tn_ferry
  tn_report_rows
}
# the limit runs in a subshell (try): its figures come back through a file
tn_limit_saved() {
  rm -f "$WORK/limit.vars"
  tn_limit
  printf 'LIM_WALL=%q LIM_RSS=%q LIM_EQUAL=%q\n' "$LIM_WALL" "$LIM_RSS" "$LIM_EQUAL" >"$WORK/limit.vars"
}

verdict() { if [ "$1" = 1 ]; then echo "met"; else echo "**not met**"; fi; }

tn_report_rows() {
  local ratio="" ok_ratio=0 ok_rows=0
  if [ -n "$LIM_WALL" ]; then
    ratio=$(awk -v f="$F_WALL" -v l="$LIM_WALL" 'BEGIN { printf "%.2f", f / l }')
    awk -v r="$ratio" 'BEGIN { exit !(r <= 1.2) }' && ok_ratio=1
  fi
  [ "$TN_EQUAL" = "$TENANTS" ] && [ "$F_RC" = 0 ] && ok_rows=1
  [ "$ok_rows" = 1 ] || FAILED=$((FAILED + 1))
  tn_row "tenants × rows" "$TENANTS × $TENANT_ROWS = $DS_ROWS rows, $(awk -v b="$DS_BYTES" 'BEGIN { printf "%.1f", b / 1e6 }') MB (pg_table_size)"
  tn_row "limit: a psql COPY pipe per tenant, in sequence" "${LIM_WALL:-FAILED} s; ${LIM_EQUAL:-?} of $TENANTS tenants equal to the source"
  tn_row "**Ferry \`sync --all\`**, whole process" "$F_WALL s, exit $F_EXIT"
  tn_row "Ferry ÷ limit (target ≤ 1.2×)" "${ratio:+${ratio}×: }$(if [ -n "$ratio" ]; then verdict "$ok_ratio"; else echo "no limit to compare"; fi)"
  tn_row "Ferry \`sync --all\` again (the recurring export: schemas and tables in place), whole process" "${A_WALL:-?} s, exit ${A_RC:-?}${A_WALL:+, $(awk -v f="$A_WALL" -v l="${LIM_WALL:-0}" 'BEGIN { if (l > 0) printf "%.2f× the limit", f / l }')}"
  tn_row "Ferry, first table's start to last table's end (\`_ferry_runs\`)" "${F_OWN:-?} s"
  tn_row "Ferry, launch to first table's start (JVM, Camel, config check) / last table's end to exit (shutdown)" "${F_BEFORE:-?} s / ${F_AFTER:-?} s"
  tn_row "Ferry's peak RSS" "$(if [ -n "$F_RSS" ]; then awk -v k="$F_RSS" 'BEGIN { printf "%.0f MiB", k / 1024 }'; else echo "not measured"; fi)"
  tn_row "most sessions Ferry held, source server" "$SESS_SRC (budget $SESSION_BUDGET: $(verdict "$([ "$SESS_SRC" -le "$SESSION_BUDGET" ] && echo 1)"))"
  tn_row "most sessions Ferry held, destination server" "$SESS_DST (budget $SESSION_BUDGET: $(verdict "$([ "$SESS_DST" -le "$SESSION_BUDGET" ] && echo 1)"); $SESS_SAMPLES samples)"
  tn_row "Ferry's run records (newest per transfer)" "$TN_STATUS"
  tn_row "tenants whose destination equals the source" "$TN_EQUAL of $TENANTS${TN_BAD:+ ($TN_BAD)}"
  local errors
  if [ -n "$TN_ERRORS" ]; then
    errors=${TN_ERRORS//|/\\|}
    tn_row "most frequent errors in the run histories" "${errors//$'\n'/<br>}"
  fi
  tn_row "Ferry's log" "$TN_LOG"
  if [ -n "$TN_LOG_ERRORS" ]; then
    errors=${TN_LOG_ERRORS//|/\\|}
    tn_row "most frequent failures in Ferry's log" "${errors//$'\n'/<br>}"
  fi
}

# ---------------------------------------------------------------------------------------------------------------
# --scenario schedule: `run` with every transfer `every: 1m`, for MINUTES minutes
# ---------------------------------------------------------------------------------------------------------------
SCHED_SAMPLES=()
run_schedule() {
  DS_TABLE=$TN_TABLE
  say "== $TENANTS transfers every minute for $MINUTES minutes ($TENANT_ROWS rows each, $TENANT_MODE)"
  load_tenants
  DS_COLS=$(ds_columns)
  DS_ROWS=$(sval "SELECT count(*) FROM $TN_TABLE")
  DS_BYTES=$(sval "SELECT pg_table_size('$TN_TABLE')")
  drop_schemas tenant
  tn_ferry_setup 1m
  checkpoint
  local pid t0 now stop_at rss nlwp i jopts=()
  read -ra jopts <<<"${FERRY_JAVA_OPTS:-}"
  sessions_start
  (cd "$FERRY_DIR" && exec java -Xmx256m "${jopts[@]}" -jar "$FERRY_JAR" --config "$FERRY_DIR/application.properties" \
    --routes "$FERRY_DIR/routes" run) >"$LOGS/schedule-ferry.log" 2>&1 &
  pid=$!
  FERRY_PID=$pid
  t0=$(date +%s)
  # the window: minutes 0 .. M-1 from the first firing (a few seconds after the start); the process is stopped 45 s
  # into the last minute, before the next firing, so that every run counted had its minute and time to finish
  stop_at=$((t0 + MINUTES * 60 - 15))
  say "  Ferry: run (pid $pid), stopped at $(date -u -d "@$stop_at" +%H:%M:%S) UTC; RSS and threads every 10 s"
  while now=$(date +%s); [ "$now" -lt "$stop_at" ]; do
    kill -0 "$pid" 2>/dev/null || break
    read -r rss nlwp < <(ps -o rss=,nlwp= -p "$pid" 2>/dev/null || echo "")
    [ -z "${rss:-}" ] || SCHED_SAMPLES+=("$((now - t0)) $rss $nlwp")
    i=$((10 - (now - t0) % 10))
    [ $((now + i)) -le "$stop_at" ] || i=$((stop_at - now))
    sleep "$i"
  done
  SCHED_HWM=$(awk '/^VmHWM/ { print $2 }' "/proc/$pid/status" 2>/dev/null || echo "")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    SCHED_ALIVE=1
  else
    SCHED_ALIVE=0
  fi
  set +e; wait "$pid"; SCHED_RC=$?; set -e
  FERRY_PID=""
  sessions_stop
  printf '%s\n' "${SCHED_SAMPLES[@]}" >"$WORK/schedule-samples.txt"
  sched_analyse
}

# per transfer: its runs (one record each, or a skipped one) in start order; run k (from 0) belongs to minute k. Its
# lateness is its start minus k minutes, minus the least such value over all runs: the most punctual run of any
# transfer and minute sets minute 0 (the first runs' starts would not: each first run also creates its schema and
# tables before its record, so later runs would look early)
sched_analyse() {
  local s first=1
  {
    echo "WITH r AS ("
    for s in $(schemas_with tenant _ferry_runs); do
      [ "$first" = 1 ] || echo "UNION ALL"
      first=0
      echo "SELECT transfer, run_id, min(started_at) AS started_at, min(status) AS status FROM $s._ferry_runs GROUP BY transfer, run_id"
    done
    [ "$first" = 0 ] || echo "SELECT NULL::text, NULL::uuid, NULL::timestamptz, NULL::text WHERE false"
    echo "), k AS (SELECT *, row_number() OVER (PARTITION BY transfer ORDER BY started_at) - 1 AS k FROM r),"
    echo "p AS (SELECT *, started_at - k * interval '1 minute' AS phase FROM k)"
    echo "SELECT transfer, k, status, round(extract(epoch FROM phase - min(phase) OVER ())::numeric, 3) FROM p ORDER BY transfer, k"
  } >"$WORK/schedule.sql"
  dpsql -At -F ' ' -f "$WORK/schedule.sql" >"$WORK/schedule-runs.txt" || die "cannot read the run histories"
}

sched_report_rows() {
  local counts late rss threads
  counts=$(awk -v n="$TENANTS" -v m="$MINUTES" '
    { runs[$1]++; st[$3]++ }
    END {
      for (t in runs) { if (runs[t] == m) ok++; else if (runs[t] < m) few++; else many++ }
      s = ""; for (x in st) s = s (s == "" ? "" : ", ") st[x] " " x
      printf "%d of %d transfers ran %d times, %d fewer, %d more (%d without any run); records: %s\n", ok, n, m, few, many, n - length(runs), (s == "" ? "none" : s)
    }' "$WORK/schedule-runs.txt")
  late=$(awk '{ print $4 }' "$WORK/schedule-runs.txt" | sort -g | awk '
    { a[NR] = $1 } END { if (NR == 0) { print "no runs"; exit }
      printf "median %.2f s, 95th percentile %.2f s, max %.2f s", a[int((NR + 1) / 2)], a[int(NR * 0.95 + 0.999)], a[NR] }')
  tn_row "transfers × minutes" "$TENANTS × $MINUTES (every transfer \`every: 1m\`; $TENANT_ROWS rows each, $TENANT_MODE)"
  tn_row "runs per transfer against the schedule" "$counts"
  tn_row "lateness of each run's start (its table's \`started_at\`) after its minute (the most punctual run's is 0)" "$late"
  tn_row "most lateness in each minute, s" "$(awk '{ if (!($2 in m) || $4 > m[$2]) m[$2] = $4; if ($2 > k) k = $2 } END { for (i = 0; i <= k; i++) printf "%s%s", (i ? ", " : ""), (i in m ? sprintf("%.2f", m[i]) : "-") }' "$WORK/schedule-runs.txt")"
  tn_row "runs starting more than 5 s after their minute" "$(awk '$4 > 5' "$WORK/schedule-runs.txt" | wc -l) of $(wc -l <"$WORK/schedule-runs.txt")"
  rss=$(awk '{ printf "%s%.0f", (NR > 1 ? ", " : ""), $2 / 1024 }' "$WORK/schedule-samples.txt")
  threads=$(awk '{ printf "%s%d", (NR > 1 ? ", " : ""), $3 }' "$WORK/schedule-samples.txt")
  tn_row "Ferry's RSS every 10 s, MiB" "${rss:-none}"
  tn_row "RSS: first full minute against the last (flat?)" "$(awk '$1 >= 60 && f == "" { f = $2 } { l = $2 } END { if (f == "") print "too short to say"; else printf "%.0f MiB → %.0f MiB (%+.0f%%)", f / 1024, l / 1024, (l - f) * 100 / f }' "$WORK/schedule-samples.txt")"
  tn_row "Ferry's peak RSS (VmHWM)" "$(if [ -n "$SCHED_HWM" ]; then awk -v k="$SCHED_HWM" 'BEGIN { printf "%.0f MiB", k / 1024 }'; else echo "not measured"; fi)"
  tn_row "JVM threads every 10 s" "${threads:-none}"
  tn_row "most sessions Ferry held, source server" "$SESS_SRC (budget $SESSION_BUDGET: $(verdict "$([ "$SESS_SRC" -le "$SESSION_BUDGET" ] && echo 1)"))"
  tn_row "most sessions Ferry held, destination server" "$SESS_DST (budget $SESSION_BUDGET: $(verdict "$([ "$SESS_DST" -le "$SESSION_BUDGET" ] && echo 1)"); $SESS_SAMPLES samples)"
  tn_row "Ferry's exit" "$(if [ "$SCHED_ALIVE" = 1 ]; then echo "stopped with SIGTERM at the window's end, exit $SCHED_RC"; else echo "**ended by itself before the window's end, exit $SCHED_RC** (log: $LOGS/schedule-ferry.log)"; fi)"
  say "  $counts"
  say "  lateness: $late"
  [ "$SCHED_ALIVE" = 1 ] || FAILED=$((FAILED + 1))
  awk -v m="$MINUTES" '{ runs[$1]++ } END { for (t in runs) if (runs[t] != m) bad++; exit bad > 0 }' "$WORK/schedule-runs.txt" \
    && [ "$(awk '{ print $1 }' "$WORK/schedule-runs.txt" | sort -u | wc -l)" = "$TENANTS" ] || FAILED=$((FAILED + 1))
}

# the scenario's report: the machine, the settings and its table, to RESULTS (and printed)
write_tenants_report() { # title what
  local out=$RESULTS table
  table=$(printf '| | |\n|---|---|\n'; printf '%s\n' "${TN_ROWS[@]}")
  mkdir -p "$(dirname "$out")"
  {
    echo "# Ferry benchmark: $1"
    echo
    echo "Produced by \`bench/run${ARGS_GIVEN:+ $ARGS_GIVEN}\` (see [README.md](README.md#many-tenants-issue-14) for what it does)."
    echo "$2"
    [ "$FAILED" -eq 0 ] || echo -e "\n**The run did not fully succeed: see the table and $LOGS.**"
    echo
    echo "## Results"
    echo
    echo "$table"
    echo
    echo "## Machine"
    echo
    echo "| | |"
    echo "|---|---|"
    machine_facts
    echo
    echo "## PostgreSQL settings"
    echo
    if [ "$MANAGED" = 1 ]; then
      echo "Both servers were started by bench/run (loopback TCP, ports $SRC_PORT and $DST_PORT), with these lines in postgresql.conf:"
      echo
      echo '```'
      printf '%s\n' "${PG_SETTINGS[@]}"
      echo '```'
    else
      echo "Given servers (--source/--dest); their settings as found:"
    fi
    echo
    settings_table
    echo "| max_connections | $(sval "SHOW max_connections") | $(dval "SHOW max_connections") |"
  } >"$out"
  echo
  echo "$table"
  echo
  say "report written to $out"
}
