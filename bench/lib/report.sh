# shellcheck shell=bash disable=SC2034,SC2154  # variables are shared with bench/run and the other jobs
# bench/run's report job: the machine's facts, the servers' settings and the results as Markdown tables, written to
# RESULTS.md (or --results) and printed. Sourced by bench/run.

machine_facts() {
  local cpu ram disk dev os
  cpu=$(lscpu 2>/dev/null | sed -nE 's/^Model name:[[:space:]]+//p' | head -1)
  [ -n "$cpu" ] || cpu=$(sed -nE 's/^model name[[:space:]]*:[[:space:]]*//p' /proc/cpuinfo | head -1)
  ram=$(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
  dev=$(df -P "$WORK" | awk 'NR == 2 { print $1 }')
  disk="$(df -PhT "$WORK" | awk 'NR == 2 { print $1 " (" $2 "), " $3 " total, " $5 " free" }')"
  local base rota
  base=$(basename "$dev")
  base=$(lsblk -no PKNAME "$dev" 2>/dev/null | head -1 || true); [ -n "$base" ] || base=$(basename "$dev")
  rota=$(cat "/sys/block/$base/queue/rotational" 2>/dev/null || echo "")
  case "$rota" in 0) disk+=", kernel reports it non-rotational" ;; 1) disk+=", kernel reports it rotational" ;; esac
  os="$(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME"), kernel $(uname -r)"
  echo "| CPU | ${cpu:-unknown}$(grep -q hypervisor /proc/cpuinfo 2>/dev/null && echo " (virtual machine)") |"
  echo "| cores | $(nproc) |"
  echo "| RAM | $ram |"
  echo "| disk (work dir) | $disk |"
  echo "| OS | $os |"
  echo "| PostgreSQL | source $(sval "SHOW server_version"), destination $(dval "SHOW server_version") |"
  echo "| Java | $(java -version 2>&1 | head -1) |"
  echo "| pgcopydb | $(if [ "$HAVE_PGCOPYDB" = 1 ]; then pgcopydb --version 2>/dev/null | head -1; else echo "not run"; fi) |"
  echo "| pgloader | $(if [ "$HAVE_PGLOADER" = 1 ]; then pgloader --version 2>/dev/null | head -1; else echo "not run"; fi) |"
  echo "| Ferry | $FERRY_VERSION, run with java -Xmx256m${FERRY_JAVA_OPTS:+ $FERRY_JAVA_OPTS} |"
  echo "| date | $(date -u '+%Y-%m-%d %H:%M UTC') |"
  echo "| load average at start (1, 5, 15 min) | $LOAD_AT_START (other work on the machine competes for its $(nproc) cores) |"
  if [ "${SPLIT_CPUS:-0}" = 1 ]; then
    echo "| CPUs (--split-cpus) | the source's server on CPU 0; the destination's server, Ferry and the tools on CPUs $OTHER_CPUS |"
  fi
}

settings_table() {
  local name
  echo "| setting | source | destination |"
  echo "|---|---|---|"
  for name in $SHOWN_SETTINGS; do
    echo "| $name | $(sval "SHOW $name" 2>/dev/null || echo "?") | $(dval "SHOW $name" 2>/dev/null || echo "?") |"
  done
}

# Markdown tables from the TSV, one per dataset
results_tables() {
  awk -F'\t' '
    function commas(x,   s, r) { s = sprintf("%.0f", x); r = ""; while (length(s) > 3) { r = "," substr(s, length(s) - 2) r; s = substr(s, 1, length(s) - 3) } return s r }
    function name(kind, c) {
      if (kind == "full" && c == "limit") return "limit: psql COPY out → psql COPY in (binary)"
      if (kind == "full" && c == "limit_pk") return "limit with PK after: psql COPY → bare table, then ADD PRIMARY KEY"
      if (kind == "full" && c == "pgcopydb") return "pgcopydb copy table-data"
      if (kind == "full" && c == "pgloader") return "pgloader"
      if (kind == "full" && c == "ferry") return "**Ferry full refresh**"
      if (kind == "full" && c ~ /^ferry_hash/) return "**Ferry full refresh, " substr(c, 11) " hashed column(s)** (--hash-columns)"
      if (kind == "backfill") return "Ferry incremental, first run (backfill)"
      if (kind == "inc" && c == "limit") return "limit: psql COPY changed rows → temp table + INSERT ON CONFLICT"
      if (kind == "inc" && c == "ferry") return "**Ferry incremental merge**"
      return c
    }
    { n++; for (i = 1; i <= 12; i++) f[n, i] = $i
      if ($5 == "ok" && $4 == "limit") lim[$1, $3] = $6
      if ($5 == "ok" && $4 == "limit_pk") limpk[$1] = $6
      if (!($1 in seen)) { seen[$1] = 1; order[++nd] = $1; label[$1] = $2; rows[$1] = $10; bytes[$1] = $11 } }
    END {
      for (d = 1; d <= nd; d++) {
        id = order[d]
        printf "\n### %s: %s rows, %.1f MB\n\n", label[id], commas(rows[id]), bytes[id] / 1e6
        print "| contender | rows | wall s | rows/s | MB/s | time ÷ limit | Ferry'"'"'s own s | own rows/s | own ÷ limit | own ÷ limit with PK | peak RSS MiB | check |"
        print "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
        for (i = 1; i <= n; i++) {
          if (f[i, 1] != id) continue
          kind = f[i, 3]; c = f[i, 4]; st = f[i, 5]; w = f[i, 6]; own = f[i, 7]; ownr = f[i, 8]; rss = f[i, 9]; r = f[i, 10]; b = f[i, 11]
          if (st != "ok") { printf "| %s | %s | %s | | | | | | | | | %s |\n", name(kind, c), commas(r), st, f[i, 12]; continue }
          lk = (kind == "inc") ? "inc" : "full"
          ratio = ((id SUBSEP lk) in lim && lim[id, lk] > 0) ? sprintf("%.2f×", w / lim[id, lk]) : ""
          if (kind == "full" && c == "limit") ratio = "1.00×"
          if (kind == "inc" && c == "limit") ratio = "1.00×"
          owns = (own != "") ? sprintf("%.2f", own) : ""
          ownrs = (own != "" && own > 0) ? commas(ownr / own) : ""
          ownratio = (own != "" && (id SUBSEP lk) in lim && lim[id, lk] > 0) ? sprintf("%.2f×", own / lim[id, lk]) : ""
          # the limit with the primary key built after the load: for the full copies (full refresh and backfill)
          ownpk = (own != "" && lk == "full" && (id in limpk) && limpk[id] > 0) ? sprintf("%.2f×", own / limpk[id]) : ""
          rssm = (rss != "") ? sprintf("%.0f", rss / 1024) : ""
          printf "| %s | %s | %.2f | %s | %.1f | %s | %s | %s | %s | %s | %s | %s |\n", name(kind, c), commas(r), w, commas(r / w), b / 1e6 / w, ratio, owns, ownrs, ownratio, ownpk, rssm, f[i, 12]
        }
      }
    }' "$TSV"
}

write_report() {
  local out=$RESULTS tables
  tables=$(results_tables)
  mkdir -p "$(dirname "$out")"
  {
    echo "# Ferry benchmark results"
    echo
    echo "Produced by \`bench/run${ARGS_GIVEN:+ $ARGS_GIVEN}\` (see [README.md](README.md) for what each step does)."
    echo "Datasets: $(for d in "${DATASETS[@]}"; do case "$d" in accounts:*) printf 'pgbench_accounts at scale %s; ' "${d#*:}" ;; wide:*) printf 'bench_wide with %s rows; ' "${d#*:}" ;; esac; done | sed 's/; $//')."
    if [ "$REPEAT" -gt 1 ]; then echo "Each time is the median of $REPEAT runs."; else echo "Each time is from a single run."; fi
    if awk -v l="${LOAD_AT_START%% *}" -v n="$(nproc)" 'BEGIN { exit !(l > n / 2) }'; then
      echo "The machine was busy when the run started (load average ${LOAD_AT_START%% *} on $(nproc) cores): expect noisier figures than on an idle machine."
    fi
    [ "$FAILED" -eq 0 ] || echo -e "\n**$FAILED contender(s) FAILED in this run; their rows say so.**"
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
      echo "Both servers were started by bench/run on this machine (loopback TCP, ports $SRC_PORT and $DST_PORT), with"
      echo "\`initdb -E UTF8 --no-locale\` and these lines added to postgresql.conf, identical for both and for every contender:"
      echo
      echo '```'
      printf '%s\n' "${PG_SETTINGS[@]}"
      echo '```'
    else
      echo "Given servers (--source/--dest); their settings as found:"
    fi
    echo
    settings_table
    echo
    echo "## Results"
    echo
    echo "- **wall s**: the whole process, start to exit (Ferry: JVM start, config check, connections and the copy)."
    echo "- **rows/s**, **MB/s**: rows, and the source table's size (\`pg_table_size\`, MB = 10^6 bytes), over wall time;"
    echo "  for the incremental rows, the changed rows and their share of the table's size."
    echo "- **limit**: \`psql\` COPY out piped into \`psql\` COPY in (binary), into an empty table that already has its primary key,"
    echo "  as pgcopydb and pgloader load here. **limit with PK after**: the same pipe into a bare table (no primary key), then"
    echo "  \`ALTER TABLE ... ADD PRIMARY KEY\`, timed as one, which is how Ferry's full refresh loads. Both end with the same table and key."
    echo "- **time ÷ limit**: wall time over the (first) limit's wall time for the same dataset (incremental: over the merge limit);"
    echo "  1.50× means 50% slower than the limit."
    echo "- **Ferry's own s**: the table's time as Ferry records it in the destination's \`_ferry_runs\` (\`finished_at - started_at\`:"
    echo "  describing the source, provisioning, read, write, primary-key build and swap; no JVM start, config check or run"
    echo "  setup); **own ÷ limit** compares it with the limit's wall time, **own ÷ limit with PK** with that"
    echo "  of the limit with PK after (full copies: full refresh and backfill)."
    echo "- **peak RSS**: the largest resident set of the timed process (GNU time \`%M\`; for the psql pipelines, the larger psql)."
    echo "- **check**: every contender's destination table is compared with the source (row count and a sum of per-row md5s)."
    echo "$tables"
  } >"$out"
  echo
  echo "$tables"
  echo
  say "report written to $out"
}
