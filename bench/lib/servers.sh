# shellcheck shell=bash disable=SC2034,SC2154  # variables are shared with bench/run and the other jobs
# bench/run's servers job: connections to the source and destination, the bench's own psql helpers, and the two
# clusters it starts when none are given (initdb, settings, start, stop). Sourced by bench/run; see bench/README.md.

parse_url() { # prefix url: sets <prefix>_HOST/_PORT/_DB/_USER/_PASS
  local re='^postgres(ql)?://([^:@/]+)(:([^@]*))?@([^:/?]+)(:([0-9]+))?/([^?]+)$'
  [[ "$2" =~ $re ]] || die "cannot read '$2': expected postgresql://user:password@host:port/database"
  printf -v "$1_USER" '%s' "${BASH_REMATCH[2]}"
  printf -v "$1_PASS" '%b' "${BASH_REMATCH[4]//%/\\x}"
  printf -v "$1_HOST" '%s' "${BASH_REMATCH[5]}"
  printf -v "$1_PORT" '%s' "${BASH_REMATCH[7]:-5432}"
  printf -v "$1_DB" '%s' "${BASH_REMATCH[8]}"
}

urlenc() { # percent-encode for a connection URI
  local s=$1 out="" c i
  for ((i = 0; i < ${#s}; i++)); do
    c=${s:i:1}
    case "$c" in [a-zA-Z0-9._~-]) out+=$c ;; *) out+=$(printf '%%%02X' "'$c") ;; esac
  done
  printf '%s' "$out"
}

# sets SRC_*/DST_* (host, port, database, user, password) and SRC_URI/DST_URI, and writes the password file: every
# contender connects over TCP with a password: psql, pgbench and pgcopydb find it in the password file, pgloader in
# its URIs, Ferry in its application.properties
setup_connections() {
  if [ "$MANAGED" = 1 ]; then
    SRC_HOST=127.0.0.1; SRC_PORT=${PORTS%,*}; SRC_DB=bench; SRC_USER=bench; SRC_PASS=bench
    DST_HOST=127.0.0.1; DST_PORT=${PORTS#*,}; DST_DB=bench; DST_USER=bench; DST_PASS=bench
  else
    parse_url SRC "$SOURCE_URL"
    parse_url DST "$DEST_URL"
  fi
  SRC_URI="postgresql://$(urlenc "$SRC_USER"):$(urlenc "$SRC_PASS")@$SRC_HOST:$SRC_PORT/$(urlenc "$SRC_DB")"
  DST_URI="postgresql://$(urlenc "$DST_USER"):$(urlenc "$DST_PASS")@$DST_HOST:$DST_PORT/$(urlenc "$DST_DB")"
  export PGPASSFILE=$WORK/pgpass
  {
    echo "$(pgpass_field "$SRC_HOST"):$SRC_PORT:$(pgpass_field "$SRC_DB"):$(pgpass_field "$SRC_USER"):$(pgpass_field "$SRC_PASS")"
    echo "$(pgpass_field "$DST_HOST"):$DST_PORT:$(pgpass_field "$DST_DB"):$(pgpass_field "$DST_USER"):$(pgpass_field "$DST_PASS")"
    echo "127.0.0.1:*:*:bench:bench"
  } >"$PGPASSFILE"
  chmod 600 "$PGPASSFILE"
}
pgpass_field() { local v=${1//\\/\\\\}; printf '%s' "${v//:/\\:}"; }

# helpers for the bench's own queries (not timed): UTC, so that checksums of timestamptz texts agree
spsql() { PGTZ=UTC PGOPTIONS="-c client_min_messages=warning" psql -X -q -v ON_ERROR_STOP=1 -h "$SRC_HOST" -p "$SRC_PORT" -U "$SRC_USER" -d "$SRC_DB" "$@"; }
dpsql() { PGTZ=UTC PGOPTIONS="-c client_min_messages=warning" psql -X -q -v ON_ERROR_STOP=1 -h "$DST_HOST" -p "$DST_PORT" -U "$DST_USER" -d "$DST_DB" "$@"; }

# pipe_script FILE SOURCE_SQL DEST_PSQL_ARGS...: writes a script running psql -c SOURCE_SQL | psql DEST_PSQL_ARGS
sq() { printf "'%s'" "${1//\'/\'\\\'\'}"; }
pipe_script() {
  local f=$1 sql=$2 a; shift 2
  {
    echo "set -euo pipefail"
    echo "psql -X -q -v ON_ERROR_STOP=1 -h $(sq "$SRC_HOST") -p $SRC_PORT -U $(sq "$SRC_USER") -d $(sq "$SRC_DB") \\"
    echo "    -c $(sq "$sql") \\"
    printf '  | psql -X -q -v ON_ERROR_STOP=1 -h %s -p %s -U %s -d %s' "$(sq "$DST_HOST")" "$DST_PORT" "$(sq "$DST_USER")" "$(sq "$DST_DB")"
    for a in "$@"; do
      case "$a" in -*) printf ' \\\n    %s' "$a" ;; *) printf ' %s' "$(sq "$a")" ;; esac
    done
    echo
  } >"$f"
}
sval() { spsql -At -c "$1"; }
dval() { dpsql -At -c "$1"; }

# ---------------------------------------------------------------------------------------------------------------
# servers (when not given): two clusters on loopback, identical settings
# ---------------------------------------------------------------------------------------------------------------
PG_SETTINGS=(
  "shared_buffers = 1GB"
  "work_mem = 64MB"
  "maintenance_work_mem = 512MB"
  "wal_level = replica"
  "max_wal_size = 16GB"
  "min_wal_size = 1GB"
  "checkpoint_timeout = 30min"
  "checkpoint_completion_target = 0.9"
  "synchronous_commit = off"
  "fsync = on"
  "full_page_writes = on"
  "autovacuum = off"
  "jit = off"
  "max_connections = 50"
)
SHOWN_SETTINGS="server_version shared_buffers work_mem maintenance_work_mem wal_level max_wal_size checkpoint_timeout synchronous_commit fsync full_page_writes wal_compression autovacuum jit effective_io_concurrency max_parallel_workers_per_gather"

STARTED=()
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

stop_servers() {
  local d
  for d in "${STARTED[@]}"; do
    if [ "$KEEP" = 1 ]; then
      say "leaving the server in $d running (--keep): stop it with: $(if [ "$(id -u)" = 0 ]; then echo "runuser -u postgres -- "; fi)$PG_BIN/pg_ctl -D $d stop"
    else
      as_pg "$PG_BIN/pg_ctl" -D "$d" -m fast -w stop >/dev/null 2>&1 || say "could not stop the server in $d"
    fi
  done
  STARTED=()
}

init_cluster() { # name port
  local name=$1 port=$2 dir=$WORK/pg/$1
  if [ -f "$dir/postmaster.pid" ]; then # ours, from an earlier run that did not stop it
    say "stopping the $name server left running by an earlier run"
    as_pg "$PG_BIN/pg_ctl" -D "$dir" -m fast -w stop >/dev/null 2>&1 || true
  fi
  if [ "$REUSE" = 0 ] || [ ! -f "$dir/PG_VERSION" ]; then
    rm -rf "$dir"
    mkdir -p "$dir"
    printf 'bench\n' >"$WORK/pg/pwfile"
    chmod 700 "$dir"
    if [ "$(id -u)" = 0 ]; then chown postgres: "$dir" "$WORK/pg/pwfile" "$WORK/pg/run"; fi
    as_pg "$PG_BIN/initdb" -D "$dir" -U bench --pwfile="$WORK/pg/pwfile" -A scram-sha-256 -E UTF8 --no-locale \
      >"$LOGS/initdb-$name.log" 2>&1 || { cat "$LOGS/initdb-$name.log" >&2; die "initdb failed for $name"; }
    {
      echo "# ferry bench"
      echo "listen_addresses = '127.0.0.1'"
      echo "unix_socket_directories = '$WORK/pg/run'"
      printf '%s\n' "${PG_SETTINGS[@]}"
    } >>"$dir/postgresql.conf"
  fi
  # the port must be free: another server there would be benchmarked instead
  if "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$port" >/dev/null 2>&1 || [ $? -eq 1 ]; then
    die "something already listens on 127.0.0.1:$port; pick other ports with --ports SRC,DST"
  fi
  local pin=()
  if [ "${SPLIT_CPUS:-0}" = 1 ]; then # --split-cpus: the source alone on CPU 0 (its backends inherit it)
    if [ "$name" = src ]; then pin=(taskset -c 0); else pin=(taskset -c "$OTHER_CPUS"); fi
  fi
  as_pg "${pin[@]}" "$PG_BIN/pg_ctl" -D "$dir" -o "-p $port" -l "$WORK/pg/postgres-$name.log" -w -t 120 start >/dev/null \
    || { tail -20 "$WORK/pg/postgres-$name.log" >&2; die "the $name server did not start (log: $WORK/pg/postgres-$name.log)"; }
  STARTED+=("$dir")
}

start_servers() {
  mkdir -p "$WORK/pg/run"
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || die "there is no 'postgres' OS user to run the servers as (apt-get install postgresql creates it)"
    runuser -u postgres -- test -x "$WORK" || die "the postgres OS user cannot reach $WORK: use --workdir with a directory it can enter"
    chown postgres: "$WORK/pg" "$WORK/pg/run"
  fi
  say "starting the source (port $SRC_PORT) and destination (port $DST_PORT) servers under $WORK/pg"
  init_cluster src "$SRC_PORT"
  init_cluster dst "$DST_PORT"
  local port
  for port in "$SRC_PORT" "$DST_PORT"; do
    if [ "$(psql -X -q -h 127.0.0.1 -p "$port" -U bench -d postgres -At -c "SELECT count(*) FROM pg_database WHERE datname = 'bench'")" = 0 ]; then
      psql -X -q -h 127.0.0.1 -p "$port" -U bench -d postgres -c "CREATE DATABASE bench" >/dev/null
    fi
  done
}

checkpoint() { # quietly: not every given server lets us
  spsql -c CHECKPOINT >/dev/null 2>&1 || true
  dpsql -c CHECKPOINT >/dev/null 2>&1 || true
}

PREWARM=0
prewarm() { # table: the source table in cache before each contender reads it
  [ "$PREWARM" = 1 ] && spsql -At -c "SELECT pg_prewarm('$1')" >/dev/null 2>&1 || true
}

# ---------------------------------------------------------------------------------------------------------------
