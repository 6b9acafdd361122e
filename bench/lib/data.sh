# shellcheck shell=bash disable=SC2034,SC2154  # variables are shared with bench/run and the other jobs
# bench/run's data job: the datasets (pgbench_accounts at a scale, the wide mixed-type table), their DDL, columns
# and checksums, and the verification of a destination table against the source. Sourced by bench/run.

# sets DS_TABLE DS_PK DS_NAME DS_LABEL DS_SET (the incremental change) for a dataset id accounts:S | wide:N
ds_describe() {
  local kind=${1%%:*} n=${1#*:}
  case "$kind" in
    accounts)
      DS_TABLE=public.pgbench_accounts; DS_PK=aid; DS_NAME=accounts; DS_TRANSFER=accounts
      DS_LABEL="pgbench_accounts, scale $n"
      DS_SET="abalance = abalance + 1, updated_at = now()" ;;
    wide)
      DS_TABLE=public.bench_wide; DS_PK=id; DS_NAME=wide; DS_TRANSFER=wide
      DS_LABEL="bench_wide (mixed types)"
      DS_SET="amount = amount + 1, attrs = attrs || jsonb_build_object('rev', 1 + coalesce((attrs->>'rev')::int, 0)), tags = tags || 'changed'::text, updated_at = now()" ;;
  esac
  DS_BARE=${DS_TABLE#public.}
}

load_accounts() { # scale
  local scale=$1
  say "loading pgbench_accounts at scale $scale ($((scale * 100000)) rows): pgbench -i -s $scale"
  # pgbench -i in two steps, to give pgbench_accounts its updated_at column before the rows go in:
  # d,t = drop and create the tables; G = generate server-side; v = vacuum; p = primary keys
  pgbench -h "$SRC_HOST" -p "$SRC_PORT" -U "$SRC_USER" -i -I dt -s "$scale" "$SRC_DB" >"$LOGS/pgbench-$scale.log" 2>&1 \
    || { cat "$LOGS/pgbench-$scale.log" >&2; die "pgbench -i failed"; }
  spsql -c "ALTER TABLE public.pgbench_accounts ADD COLUMN updated_at timestamptz NOT NULL DEFAULT clock_timestamp()"
  pgbench -h "$SRC_HOST" -p "$SRC_PORT" -U "$SRC_USER" -i -I Gvp -s "$scale" "$SRC_DB" >>"$LOGS/pgbench-$scale.log" 2>&1 \
    || { cat "$LOGS/pgbench-$scale.log" >&2; die "pgbench -i failed"; }
  spsql <<'SQL'
ALTER TABLE public.pgbench_accounts ALTER COLUMN updated_at SET DEFAULT now();
CREATE INDEX pgbench_accounts_updated_at ON public.pgbench_accounts (updated_at, aid);
VACUUM (ANALYZE) public.pgbench_accounts;
SQL
}

load_wide() { # rows
  local n=$1
  say "loading bench_wide: $n rows of mixed types (jsonb, text, numeric, timestamptz, arrays, uuid, bigint key)"
  spsql -o /dev/null <<SQL
DROP TABLE IF EXISTS public.bench_wide;
CREATE TABLE public.bench_wide (
  id          bigint NOT NULL,
  account_id  integer NOT NULL,
  status      text NOT NULL,
  title       varchar(200) NOT NULL,
  body        text,
  amount      numeric(14,2) NOT NULL,
  rate        numeric,
  score       double precision,
  active      boolean NOT NULL,
  created_at  timestamptz NOT NULL,
  due_on      date,
  ref         uuid NOT NULL,
  tags        text[] NOT NULL,
  readings    integer[],
  attrs       jsonb NOT NULL,
  updated_at  timestamptz NOT NULL DEFAULT now()
);
SELECT setseed(0.42);
INSERT INTO public.bench_wide
SELECT g,
       (random() * 100000)::int,
       (ARRAY['new', 'paid', 'shipped', 'cancelled', 'refunded'])[1 + g % 5],
       'Order ' || g || ' for ' || md5(g::text),
       CASE WHEN g % 7 = 0 THEN NULL ELSE repeat(md5((g * 31)::text) || ' ', 1 + g % 8) END,
       round((random() * 10000)::numeric, 2),
       CASE WHEN g % 13 = 0 THEN NULL ELSE (random() * 1000)::numeric / 7 END,
       random() * 1e6,
       g % 3 <> 0,
       timestamptz '2020-01-01 00:00:00+00' + g * interval '37 seconds',
       CASE WHEN g % 5 = 0 THEN NULL ELSE date '2020-01-01' + (g % 1500)::int END,
       md5('ref' || g)::uuid,
       ARRAY['t' || g % 10, 'group ' || g % 17, 'tag-' || g % 101],
       CASE WHEN g % 11 = 0 THEN NULL ELSE ARRAY[(g % 1000)::int, (g * 7 % 1000)::int, (g * 13 % 1000)::int, (g * 17 % 1000)::int] END,
       jsonb_build_object('id', g, 'source', 'bench', 'flags', jsonb_build_array(g % 2 = 0, g % 3 = 0),
                          'price', round((random() * 500)::numeric, 2),
                          'meta', jsonb_build_object('region', 'r' || g % 20, 'note', md5((g + 1)::text))),
       timestamptz '2024-01-01 00:00:00+00' + g * interval '1 millisecond'
  FROM generate_series(1, $n) AS g;
ALTER TABLE public.bench_wide ADD PRIMARY KEY (id);
CREATE INDEX bench_wide_updated_at ON public.bench_wide (updated_at, id);
VACUUM (ANALYZE) public.bench_wide;
SQL
}

load_dataset() { # id
  local kind=${1%%:*} n=${1#*:} want
  want="ferry-bench $1 pristine"
  if [ "$REUSE" = 1 ] && [ "$(sval "SELECT coalesce(obj_description(to_regclass('$DS_TABLE'), 'pg_class'), '')")" = "$want" ]; then
    say "reusing the loaded $DS_LABEL (--reuse)"
    return
  fi
  case "$kind" in accounts) load_accounts "$n" ;; wide) load_wide "$n" ;; esac
  spsql -c "COMMENT ON TABLE $DS_TABLE IS '$want'"
  checkpoint
}

# columns in order, for checksums and the merge
ds_columns() { sval "SELECT string_agg(quote_ident(attname), ',' ORDER BY attnum) FROM pg_attribute WHERE attrelid = '$DS_TABLE'::regclass AND attnum > 0 AND NOT attisdropped"; }

# CREATE TABLE for an empty copy of the source table with the same columns, types and primary key (no other index);
# with "bare", without the primary key
ds_ddl() { # target qualified name, [bare]
  sval "SELECT format('CREATE TABLE %s (%s%s)', '$1',
           string_agg(quote_ident(attname) || ' ' || format_type(atttypid, atttypmod) || CASE WHEN attnotnull THEN ' NOT NULL' ELSE '' END, ', ' ORDER BY attnum),
           CASE WHEN '${2:-}' = 'bare' THEN ''
                ELSE ', ' || (SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = '$DS_TABLE'::regclass AND contype = 'p') END)
          FROM pg_attribute WHERE attrelid = '$DS_TABLE'::regclass AND attnum > 0 AND NOT attisdropped"
}

# the source table's primary key, as in ALTER TABLE ... ADD <it>: PRIMARY KEY (aid)
ds_pk_def() { sval "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = '$DS_TABLE'::regclass AND contype = 'p'"; }

# count and an order-independent sum of per-row md5s over the source's columns
checksum_sql() { # table
  echo "SELECT count(*) || ' ' || coalesce(sum(('x' || left(md5(ROW($DS_COLS)::text), 15))::bit(60)::bigint), 0) FROM $1"
}
src_checksum() { sval "$(checksum_sql "$DS_TABLE")"; }
dst_checksum() { dval "$(checksum_sql "$1")"; }

verify() { # dest table, expected "count sum": dies on a mismatch
  local got
  got=$(dst_checksum "$1")
  if [ "$got" != "$2" ]; then
    die "verification failed for $1: destination has (count checksum) '$got', source has '$2'"
  fi
  VERIFIED="$(echo "$2" | cut -d' ' -f1) rows, checksum ok"
}
