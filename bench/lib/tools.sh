# shellcheck shell=bash disable=SC2034,SC2154  # variables are shared with bench/run and the other jobs
# bench/run's tools job: the PostgreSQL binaries, pgbench, pgcopydb, pgloader, GNU time and Java (installed with
# apt-get when missing and allowed), and the Ferry jar to benchmark. Sourced by bench/run; see bench/README.md.

find_pg_bin() {
  if [ -n "${PG_BIN:-}" ]; then echo "$PG_BIN"; return; fi
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
  if [ -n "$d" ] && [ -x "$d/psql" ]; then echo "$d"; return; fi
  d=$(command -v psql 2>/dev/null || true)
  [ -n "$d" ] && dirname "$d" || echo ""
}

APT_UPDATED=0
apt_install() { # package...: 0 when installed
  [ "$INSTALL" = 1 ] || return 1
  command -v apt-get >/dev/null 2>&1 || return 1
  [ "$(id -u)" = 0 ] || { say "not root: cannot apt-get install $*"; return 1; }
  if [ "$APT_UPDATED" = 0 ]; then
    say "apt-get update"
    apt-get update -qq >"$WORK/apt-update.log" 2>&1 || say "apt-get update failed (see $WORK/apt-update.log)"
    APT_UPDATED=1
  fi
  say "apt-get install $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >>"$WORK/apt-install.log" 2>&1
}

ensure_tools() {
  mkdir -p "$WORK"
  local want=() p
  PG_BIN=$(find_pg_bin)
  if [ "$MANAGED" = 1 ] && { [ -z "$PG_BIN" ] || [ ! -x "$PG_BIN/postgres" ] || [ ! -x "$PG_BIN/pgbench" ]; }; then
    want+=(postgresql postgresql-contrib)
  elif [ -z "$PG_BIN" ] || [ ! -x "$PG_BIN/pgbench" ]; then
    want+=(postgresql)           # Debian ships pgbench with the server package
  fi
  [ -n "$PG_BIN" ] && [ -x "$PG_BIN/psql" ] || want+=(postgresql-client)
  [ -x /usr/bin/time ] || want+=(time)
  command -v java >/dev/null 2>&1 || want+=(openjdk-17-jre-headless)
  if ! skipped pgcopydb && ! command -v pgcopydb >/dev/null 2>&1; then want+=(pgcopydb); fi
  if ! skipped pgloader && ! command -v pgloader >/dev/null 2>&1; then want+=(pgloader); fi
  if [ ${#want[@]} -gt 0 ]; then
    apt_install "${want[@]}" || for p in "${want[@]}"; do apt_install "$p" || say "could not install $p"; done
  fi
  PG_BIN=$(find_pg_bin)
  [ -n "$PG_BIN" ] && [ -x "$PG_BIN/psql" ] || die "psql is missing: apt-get install postgresql-client (or set PG_BIN)"
  [ -x "$PG_BIN/pgbench" ] || [ "$SCENARIO" != copy ] || die "pgbench is missing: apt-get install postgresql (Debian ships pgbench with the server)"
  if [ "$MANAGED" = 1 ]; then
    [ -x "$PG_BIN/initdb" ] && [ -x "$PG_BIN/pg_ctl" ] && [ -x "$PG_BIN/postgres" ] \
      || die "the PostgreSQL server is missing from $PG_BIN: apt-get install postgresql (or give --source/--dest)"
  fi
  command -v java >/dev/null 2>&1 || die "java is missing: apt-get install openjdk-17-jre-headless"
  HAVE_TIME=0; [ -x /usr/bin/time ] && HAVE_TIME=1
  [ "$HAVE_TIME" = 1 ] || say "GNU time (/usr/bin/time) is missing: peak memory is not measured (apt-get install time)"
  HAVE_PGCOPYDB=0; command -v pgcopydb >/dev/null 2>&1 && HAVE_PGCOPYDB=1
  HAVE_PGLOADER=0; command -v pgloader >/dev/null 2>&1 && HAVE_PGLOADER=1
  if ! skipped pgcopydb && [ "$HAVE_PGCOPYDB" = 0 ]; then say "pgcopydb is missing (apt-get install pgcopydb): skipping it"; fi
  if ! skipped pgloader && [ "$HAVE_PGLOADER" = 0 ]; then say "pgloader is missing (apt-get install pgloader): skipping it"; fi
  export PATH="$PG_BIN:$PATH"
}

need_mvn() {
  command -v mvn >/dev/null 2>&1 || apt_install maven openjdk-17-jdk-headless || true
  command -v mvn >/dev/null 2>&1 || die "Maven is missing (apt-get install maven) and Ferry has to be built"
}

ensure_jar() {
  ROUTES_DIR=$REPO/routes
  FERRY_VERSION="commit $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo "?")"
  if [ -n "$REF" ]; then
    local b=$WORK/build
    git -C "$REPO" rev-parse --verify -q "$REF^{commit}" >/dev/null || die "no such git ref: $REF"
    rm -rf "$b"; mkdir -p "$b"
    git -C "$REPO" archive "$REF" | tar -x -C "$b"
    need_mvn
    say "building Ferry at $REF in $b: mvn -B -q package -DskipTests"
    (cd "$b" && mvn -B -q package -DskipTests) >"$LOGS/build.log" 2>&1 || { tail -30 "$LOGS/build.log" >&2; die "the Ferry build failed (log: $LOGS/build.log)"; }
    JAR=$b/target/ferry.jar
    ROUTES_DIR=$b/routes
    FERRY_VERSION="commit $(git -C "$REPO" rev-parse --short "$REF^{commit}") ($REF)"
  elif [ -z "$JAR" ]; then
    JAR=$REPO/target/ferry.jar
    if [ "$BUILD" = 1 ] || [ ! -f "$JAR" ]; then
      need_mvn
      say "building Ferry: mvn -B -q package -DskipTests"
      (cd "$REPO" && mvn -B -q package -DskipTests) >"$LOGS/build.log" 2>&1 || { tail -30 "$LOGS/build.log" >&2; die "the Ferry build failed (log: $LOGS/build.log)"; }
    elif [ -n "$(find "$REPO/src/main" "$REPO/routes" "$REPO/pom.xml" -newer "$JAR" -type f 2>/dev/null | head -1)" ]; then
      say "WARNING: target/ferry.jar is older than the sources or routes/ (pass --build to rebuild, or --ref HEAD)"
    fi
    git -C "$REPO" diff --quiet HEAD -- src/main pom.xml routes 2>/dev/null || FERRY_VERSION+=" with uncommitted changes"
  fi
  [ -f "$JAR" ] || die "no Ferry jar at $JAR"
  # run a private copy, so a rebuild during the run does not change what is measured
  cp "$JAR" "$WORK/ferry.jar"
  FERRY_JAR=$WORK/ferry.jar
  for f in ferry-transfer.yaml ferry-pipeline.yaml; do
    [ -f "$ROUTES_DIR/$f" ] || die "missing $ROUTES_DIR/$f"
  done
}
