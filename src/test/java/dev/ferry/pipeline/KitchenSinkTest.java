package dev.ferry.pipeline;

import java.sql.Connection;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import dev.ferry.state.TransferRun;
import dev.ferry.testing.Dumps;
import dev.ferry.testing.FerryHarness;
import dev.ferry.testing.TestDb;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Every type Ferry promises to carry exactly, with edge values and NULLs, moved by a full refresh and by an incremental
 * transfer, then compared at the destination column by column against a reference copy made there from the same
 * SQL: {@code IS NOT DISTINCT FROM} on each value where the type has an equality, and on each value's text form always.
 */
@Tag("versions")
class KitchenSinkTest {

    /** Column name, type, and whether {@code IS NOT DISTINCT FROM} on the values themselves is meaningful. */
    record Col(String name, String type, boolean valueEquality) {
    }

    static List<Col> columns(int serverVersion) {
        List<Col> c = new ArrayList<>(List.of(
                new Col("c_int2", "smallint", true), new Col("c_int4", "integer", true), new Col("c_int8", "bigint", true),
                new Col("c_num", "numeric", true), new Col("c_num_ps", "numeric(12,2)", true), new Col("c_num_big", "numeric(40,20)", true),
                new Col("c_real", "real", true), new Col("c_double", "double precision", true),
                // values that print exactly only with enough digits (extra_float_digits): extremes, 0.1 + 0.2
                new Col("c_real_digits", "real", true), new Col("c_double_digits", "double precision", true),
                new Col("c_real_arr", "real[]", true), new Col("c_double_arr", "double precision[]", true),
                new Col("c_text", "text", true), new Col("c_varchar", "varchar(10)", true), new Col("c_char", "char(5)", true),
                new Col("c_bool", "boolean", true), new Col("c_bytea", "bytea", true),
                new Col("c_date", "date", true), new Col("c_time", "time", true), new Col("c_timetz", "timetz", true),
                new Col("c_ts", "timestamp", true), new Col("c_tstz", "timestamptz", true), new Col("c_tstz3", "timestamptz(3)", true),
                new Col("c_interval", "interval", true), new Col("c_uuid", "uuid", true),
                new Col("c_json", "json", false), new Col("c_jsonb", "jsonb", true), new Col("c_xml", "xml", false),
                new Col("c_inet", "inet", true), new Col("c_cidr", "cidr", true), new Col("c_macaddr", "macaddr", true),
                new Col("c_macaddr8", "macaddr8", true), new Col("c_money", "money", true),
                new Col("c_bit", "bit(8)", true), new Col("c_varbit", "varbit(16)", true),
                new Col("c_int4range", "int4range", true), new Col("c_numrange", "numrange", true),
                new Col("c_tstzrange", "tstzrange", true), new Col("c_daterange", "daterange", true),
                new Col("c_tsvector", "tsvector", true), new Col("c_tsquery", "tsquery", true),
                new Col("c_point", "point", false), new Col("c_line", "line", false), new Col("c_lseg", "lseg", false),
                new Col("c_box", "box", false), new Col("c_path", "path", false), new Col("c_polygon", "polygon", false),
                new Col("c_circle", "circle", false), new Col("c_oid", "oid", true), new Col("c_pg_lsn", "pg_lsn", true),
                new Col("c_int_arr", "int[]", true), new Col("c_int_2d", "int[][]", true), new Col("c_text_arr", "text[]", true),
                new Col("c_num_arr", "numeric(6,2)[]", true), new Col("c_tstz_arr", "timestamptz[]", true),
                new Col("c_jsonb_arr", "jsonb[]", true), new Col("c_bool_arr", "boolean[]", true), new Col("c_bytea_arr", "bytea[]", true),
                new Col("c_uuid_arr", "uuid[]", true), new Col("c_point_arr", "point[]", false),
                new Col("c_mood", "SCHEMA.mood", false), new Col("c_mood_arr", "SCHEMA.mood[]", false),
                new Col("c_posint", "SCHEMA.posint", true), new Col("c_address", "SCHEMA.address", false),
                new Col("c_address_arr", "SCHEMA.address[]", false)));
        if (serverVersion >= 140000) {
            c.add(new Col("c_int4multirange", "int4multirange", true));
        }
        return c;
    }

    /** One row per entry: id, then values in column order, SQL literals; every row but the first is full of edge values. */
    static List<String> rows(int serverVersion) {
        List<String> rows = new ArrayList<>();
        String allNull = String.join(", ", java.util.Collections.nCopies(columns(serverVersion).size(), "NULL"));
        rows.add("1, now(), " + allNull);
        String multirange = serverVersion >= 140000 ? ", '{[1,3), [5,7)}'" : "";
        String multirangeEmpty = serverVersion >= 140000 ? ", '{}'" : "";
        String numInf = serverVersion >= 140000 ? "'Infinity'" : "'NaN'";
        rows.add("2, now(), -32768, -2147483648, -9223372036854775808, 'NaN', -9999999999.99, -12345678901234567890.12345678901234567890,"
                + " 'NaN', 'NaN', 3.4028235e+38, 1.7976931348623157e308, '{3.4028235e+38,NULL,-1.1754944e-38}',"
                + " '{1.7976931348623157e308,NULL,0.30000000000000004}', '', '', '', false, '\\x', '-infinity', '00:00:00', '00:00:00+1559', '-infinity', '-infinity',"
                + " '-infinity', '-178000000 years', '00000000-0000-0000-0000-000000000000', '{\"b\": 1,  \"a\": [1, 2,  3], \"a\": 2}',"
                + " '{}', '<a b=\"1\">text &amp; more</a>', '0.0.0.0/0', '0.0.0.0/0', '00:00:00:00:00:00', '00:00:00:00:00:00:00:00',"
                + " '-92233720368547758.08', B'00000000', B'', 'empty', 'empty', 'empty', 'empty', '', 'a', '(0,0)', '{1,-1,0}',"
                + " '[(0,0),(0,0)]', '(0,0),(0,0)', '[(0,0)]', '((0,0))', '<(0,0),0>', 0, '0/0', '{}', '{}', '{}', '{}', '{}', '{}', '{}',"
                + " '{}', '{}', '{}', 'sad', '{}', 1, ROW(NULL, NULL, NULL), '{}'" + multirangeEmpty);
        rows.add("3, now(), 32767, 2147483647, 9223372036854775807, " + numInf + ", 9999999999.99, 12345678901234567890.12345678901234567890,"
                + " 'Infinity', 'Infinity', 1.1754944e-38, 0.30000000000000004, '{}', '{4.9e-324,-2.2250738585072014e-308}',"
                + " E'tab\\there\\nnew line\\r\\\\back\\\\slash \"quote\" ''single''', 'abcdefghij', 'ab', true,"
                + " '\\x00ff00', 'infinity', '24:00:00', '23:59:59.999999-1559', 'infinity', 'infinity', 'infinity', '178000000 years',"
                + " 'ffffffff-ffff-ffff-ffff-ffffffffffff', '[\"\\u0000 escaped\", null, 1e400]', '{\"a\": {\"b\": [1, 2.50, \"x\", null, true]}}',"
                + " '<?xml version=\"1.0\"?><root><c/></root>', '2001:db8::ff00:42:8329/64', '2001:db8::/32', 'ff:ff:ff:ff:ff:ff',"
                + " 'ff:ff:ff:ff:ff:ff:ff:ff', '92233720368547758.07', B'11111111', B'1010101010101010', '(,)', '(1.5,2.5]',"
                + " '[2024-01-01 00:00:00+00,infinity)', '[2024-01-01,)', 'a fat cat:1,3A sat:2 on:4', 'fat & (rat | !cat) <-> mouse',"
                + " '(1e308,-1e-308)', '{1,2,3}', '[(0,0),(1.5,1.5)]', '(1,1),(0,0)', '[(0,0),(1,1),(2,0)]', '((0,0),(1,0),(0,1))',"
                + " '<(1.5,-2.25),5e-324>', 4294967295, 'FFFFFFFF/FFFFFFFF', '{1,NULL,3}', '{{1,2},{NULL,4}}',"
                + " '{\"a,b\",\"c\\\"d\",NULL,\"NULL\",\"\",\" spaced \"}', '{1.50,NULL,-0.01}', '{\"2024-01-01 00:00:00+00\",infinity,NULL}',"
                + " ARRAY['{\"a\":1}'::jsonb, NULL, '[]'], '{t,f,NULL}', '{\"\\\\x00ff\",NULL}', '{00000000-0000-0000-0000-000000000001}',"
                + " '{\"(1,2)\",NULL}', 'happy', '{sad,happy,NULL}', 2147483647, ROW('Main St, \"2\"', '12345', 'ok'),"
                + " ARRAY[ROW('a', NULL, 'sad'), NULL]::SCHEMA.address[]" + multirange);
        rows.add("4, now(), 0, 0, 0, 0.000000000000000000000000000001, 0.01, 0.00000000000000000001,"
                + " '-0', '-0', 1.0000001, 2.718281828459045, '{1.0000001,NaN,-Infinity}', '{0.1,-0,NaN,Infinity}',"
                + " repeat('long ', 2000), 'ünï山', 'ü', NULL, '\\x0a0d09', '4713-01-01 BC', '23:59:59.999999', '00:00:00-1559',"
                + " '4713-01-01 00:00:00 BC', '294276-12-31 23:59:59.999999+00', '10000-01-01 00:00:00+00', '1 mon -1 day 00:00:00.000001',"
                + " '12345678-9abc-def0-1234-56789abcdef0', 'null', '\"string\"', 'plain text &amp; <b>mixed</b> content', '::1', '10.0.0.0/8',"
                + " '08:00:2b:01:02:03', '08:00:2b:01:02:03:04:05', '0', B'10101010', B'1', '[1,10)', '[-1e-20,1e20)',"
                + " '(\"2000-01-01 00:00:00.000001+05:45\",)', '(,2024-02-29]', '''quoted'':1 \"x\"', '''a b'' & c:*',"
                + " '(1.17549435e-38,3.4028235e+38)', '{0,1,-1}', '[(1,2),(3,4)]', '(3,4),(1,2)', '((0,0),(1,1))',"
                + " '((0,0),(2,0),(2,2),(0,2))', '<(0,0),1.5>', 1, '16/B374D848', '[0:1]={7,8}', '[1:1][-1:0]={{5,6}}', '{}',"
                + " '{0.00}', '{\"4713-01-01 00:00:00+00 BC\"}', ARRAY[NULL::jsonb], '{NULL}', '{\"\\\\x\"}', '{}', '{}',"
                + " 'ok', '{ok}', 1, ROW(NULL, NULL, NULL), '{NULL}'" + multirangeEmpty);
        return rows;
    }

    static String[] setup(String schema, int serverVersion) {
        StringBuilder table = new StringBuilder("CREATE TABLE " + schema + ".kitchen (id int PRIMARY KEY, updated_at timestamptz NOT NULL");
        for (Col c : columns(serverVersion)) {
            table.append(", ").append(c.name()).append(' ').append(c.type().replace("SCHEMA", schema));
        }
        table.append(')');
        List<String> sql = new ArrayList<>(List.of(
                "CREATE SCHEMA " + schema,
                "CREATE TYPE " + schema + ".mood AS ENUM ('sad', 'ok', 'happy')",
                "CREATE DOMAIN " + schema + ".posint AS integer CHECK (VALUE > 0)",
                "CREATE TYPE " + schema + ".address AS (street text, zip varchar(10), mood " + schema + ".mood)",
                table.toString()));
        for (String row : rows(serverVersion)) {
            sql.add("INSERT INTO " + schema + ".kitchen VALUES (" + row.replace("SCHEMA", schema) + ")");
        }
        return sql.toArray(String[]::new);
    }

    static int version(TestDb db) throws Exception {
        try (Connection c = db.admin()) {
            return Integer.parseInt(Dumps.scalar(c, "SHOW server_version_num"));
        }
    }

    @Test
    void everyTypeRoundTripsExactlyInFullRefreshAndIncrementalModes() throws Exception {
        roundTrip(false, "copy text");
    }

    /** Without user-defined types, the bulk path copies in binary form: the same values must arrive. */
    @Test
    void builtInTypesRoundTripExactlyInBinaryCopies() throws Exception {
        roundTrip(true, "copy binary");
    }

    private void roundTrip(boolean builtInOnly, String readPath) throws Exception {
        TestDb src = TestDb.source("sink");
        TestDb dst = TestDb.destination("sink");
        int srcVersion = version(src);
        int version = Math.min(srcVersion, version(dst));
        src.execute(setup("app", version));
        if (builtInOnly) {
            src.execute(dropUserDefined("app", version));
        }
        src.grantRead("app");
        String yaml = FerryHarness.transfer("full", "app.kitchen", "batchSize", "2")
                + FerryHarness.transfer("incremental", "app.kitchen", "destination", "inc", "mode", "incremental",
                        "cursor", "updated_at", "batchSize", "2");
        try (FerryHarness ferry = FerryHarness.start(src, dst, "export", yaml, FerryHarness.destination("inc", dst, "export_inc"))) {
            assertThat(ferry.sync("full").status()).isEqualTo(TransferRun.Status.SUCCEEDED);
            assertThat(ferry.sync("incremental").status()).isEqualTo(TransferRun.Status.SUCCEEDED);
            // the reference: the same rows, made at the destination by the same SQL
            dst.execute(setup("ref", version));
            if (builtInOnly) {
                dst.execute(dropUserDefined("ref", version));
            }
            assertEqualColumnByColumn(dst, "export", version, builtInOnly);
            assertEqualColumnByColumn(dst, "export_inc", version, builtInOnly);
            try (Connection d = dst.admin()) {
                assertThat(Dumps.scalar(d, "SELECT string_agg(DISTINCT read_path, '; ') FROM export._ferry_runs")).isEqualTo(readPath);
            }
            try (Connection s = src.admin(); Connection d = dst.admin()) {
                Dumps.assertSameRows(s, "app", "kitchen", d, "export", "kitchen", "id");
                Dumps.assertSameRows(s, "app", "kitchen", d, "export_inc", "kitchen", "id");
            }

            // incremental again after the edge values move around between rows
            String moved = builtInOnly ? "c_num, c_double, c_text, c_jsonb, c_int_2d" : "c_num, c_double, c_text, c_jsonb, c_int_2d, c_address";
            String from = moved.replaceAll("(c_\\w+)", "o.$1");
            for (String schema : List.of("app", "ref")) {
                (schema.equals("app") ? src : dst).execute("UPDATE " + schema + ".kitchen k SET (" + moved + ", updated_at) = (" + from
                        + ", now()) FROM " + schema + ".kitchen o WHERE o.id = CASE k.id WHEN 4 THEN 1 ELSE k.id + 1 END");
            }
            assertThat(ferry.sync("incremental").rows()).isEqualTo(4);
            assertEqualColumnByColumn(dst, "export_inc", version, builtInOnly);
        }
    }

    /** Drops the columns of user-defined types (enum, domain, composite), leaving only built-in ones. */
    static String[] dropUserDefined(String schema, int version) {
        return columns(version).stream().filter(c -> c.type().contains("SCHEMA."))
                .map(c -> "ALTER TABLE " + schema + ".kitchen DROP COLUMN " + c.name()).toArray(String[]::new);
    }

    static void assertEqualColumnByColumn(TestDb dst, String schema, int version) throws Exception {
        assertEqualColumnByColumn(dst, schema, version, false);
    }

    static void assertEqualColumnByColumn(TestDb dst, String schema, int version, boolean builtInOnly) throws Exception {
        List<String> mismatches = new ArrayList<>();
        try (Connection d = dst.admin()) {
            assertThat(Dumps.scalar(d, "SELECT count(*) FROM " + schema + ".kitchen")).isEqualTo("4");
            for (Col c : columns(version)) {
                if (builtInOnly && c.type().contains("SCHEMA.")) {
                    continue;
                }
                String text = "r." + c.name() + "::text IS NOT DISTINCT FROM d." + c.name() + "::text";
                String value = c.valueEquality() ? " AND r." + c.name() + " IS NOT DISTINCT FROM d." + c.name() : "";
                String bad = Dumps.scalar(d, "SELECT string_agg(id::text, ',') FROM ref.kitchen r FULL JOIN " + schema
                        + ".kitchen d USING (id) WHERE NOT (" + text + value + ")");
                if (bad != null) {
                    mismatches.add(c.name() + " (rows " + bad + ")");
                }
            }
        }
        assertThat(mismatches).as("columns whose values differ in %s.kitchen", schema).isEmpty();
    }
}
