package dev.ferry.app;

import java.util.List;

import dev.ferry.config.DestinationNames;
import dev.ferry.config.TableRef;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static dev.ferry.app.ConfigErrorsTest.folder;
import static dev.ferry.app.ConfigErrorsTest.refused;
import static dev.ferry.testing.FerryHarness.transfer;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Destination names that cannot work are refused at startup, each with the file and line of the parameter to fix:
 * two tables landing on one name, a name past PostgreSQL's 63 bytes, a template with an unknown placeholder or without
 * {table} for several tables, a rename of a table the transfer does not copy. None of these reach a database.
 */
class DestinationNamesConfigTest {

    // in FerryHarness.transfer's YAML, a transfer's 'tables' is on its line 10, its n-th extra parameter on 12 + 2n, and
    // it takes 13 + 2 * (extra parameters) lines

    @Test
    @Timeout(60)
    void twoTablesOnOneNameAreRefusedNamingBoth() throws Exception {
        String err = refused(folder(transfer("same", "a.items, b.\"Items\", b.items", "rename.b.\"Items\"", "a_items")
                + transfer("renamed", "a.orders, b.orders", "rename.b.orders", "orders")));
        assertThat(err).contains("routes/transfers.yaml:10: transfer 'same': parameter 'tables': a.items and b.items would both be"
                + " written to the destination table items; give one of them another name, e.g. { name: rename.b.items, value:"
                + " b_items }, or put the source schema in every name: { name: destinationTable, value: \"{schema}_{table}\" }");
        // a rename that lands on another table's name is reported at the rename
        assertThat(err).contains("routes/transfers.yaml:27: transfer 'renamed': parameter 'rename.b.orders': a.orders and b.orders"
                + " would both be written to the destination table orders");
        assertThat(err).doesNotContain("\"Items\" would").contains("2 configuration problems");
    }

    @Test
    @Timeout(60)
    void namesPastSixtyThreeBytesAreRefused() throws Exception {
        String table = "t".repeat(60); // 63 bytes after "ra_", 64 after "raw_"
        String err = refused(folder(transfer("fits", "app." + table, "destinationTable", "ra_{table}")
                + transfer("long", "app." + table, "destinationTable", "raw_{table}")
                + transfer("renamed", "app.x", "rename.app.x", "é".repeat(32))));
        assertThat(err).doesNotContain("'fits'");
        assertThat(err).contains("routes/transfers.yaml:27: transfer 'long': parameter 'destinationTable': app." + table + " would be"
                + " written to a destination table named raw_" + table + ", which is 64 bytes long, more than PostgreSQL's 63-byte"
                + " limit for names (it would cut it); give it a shorter name: { name: rename.app." + table + ", value: ... }, or"
                + " shorten destinationTable");
        assertThat(err).contains("routes/transfers.yaml:42: transfer 'renamed': parameter 'rename.app.x': app.x would be written to a"
                + " destination table named \"" + "é".repeat(32) + "\", which is 64 bytes long");
        assertThat(err).contains("2 configuration problems");
    }

    @Test
    @Timeout(60)
    void templatesAndRenamesThatCannotWorkAreRefused() throws Exception {
        String err = refused(folder(transfer("typo", "a.x", "destinationTable", "{schema}_{tabel}")
                + transfer("fixed", "a.x, a.y", "destinationTable", "everything")
                + transfer("stray", "a.x, a.y", "rename.a.z", "zed", "rename.\"A\".y", "why")
                + transfer("qualified", "a.x", "rename.a.x", "other.x", "destinationSchema", "pg_temp")
                + transfer("mine", "a.x, a.y", "rename.a.x", "_ferry_x", "destinationTable", "_ferry_{table}")
                + transfer("one", "a.x", "destinationTable", "everything")
                + transfer("dashed", "a.\"order-lines\", a.\"orderLines\"", "rename.a.\"order-lines\"", "a.b", "rename.a.\"orderLines\"", "c.d")));
        assertThat(err).contains("routes/transfers.yaml:12: transfer 'typo': parameter 'destinationTable': unknown placeholder"
                + " '{tabel}' in '{schema}_{tabel}'; the placeholders are {schema} and {table} (the source table's schema and name),"
                + " e.g. \"{schema}_{table}\" or \"raw_{table}\"");
        assertThat(err).contains("routes/transfers.yaml:27: transfer 'fixed': parameter 'destinationTable': 'everything' has no"
                + " {table}, so the transfer's 2 tables would all be written to one table; add {table}, e.g. \"everything_{table}\"");
        assertThat(err).contains("routes/transfers.yaml:42: transfer 'stray': parameter 'rename.a.z': the transfer copies no table a.z"
                + " (its tables: a.x, a.y); remove the rename, or correct it");
        assertThat(err).contains("routes/transfers.yaml:44: transfer 'stray': parameter 'rename.\"A\".y': the transfer copies no"
                + " table \"A\".y");
        assertThat(err).contains("routes/transfers.yaml:59: transfer 'qualified': parameter 'rename.a.x': a destination table name"
                + " holds no schema (no '.'); the schema is the destination's, or destinationSchema");
        assertThat(err).contains("routes/transfers.yaml:61: transfer 'qualified': parameter 'destinationSchema': 'pg_temp' is reserved"
                + " by PostgreSQL");
        assertThat(err).contains("routes/transfers.yaml:76: transfer 'mine': parameter 'rename.a.x': a.x would be written to a"
                + " destination table named _ferry_x, but names starting with _ferry_ are Ferry's own tables");
        assertThat(err).contains("routes/transfers.yaml:78: transfer 'mine': parameter 'destinationTable': a.y would be written to a"
                + " destination table named _ferry_y");
        // a dash in a renamed name (Camel adds a kebab-case twin of each parameter: neither may be mistaken for the other)
        assertThat(err).contains("routes/transfers.yaml:108: transfer 'dashed': parameter 'rename.a.\"order-lines\"': a destination"
                + " table name holds no schema");
        assertThat(err).contains("routes/transfers.yaml:110: transfer 'dashed': parameter 'rename.a.\"orderLines\"': a destination"
                + " table name holds no schema");
        assertThat(err).doesNotContain("'one'").contains("10 configuration problems");
    }

    /** For tables known only when a run starts (patterns): the same checks, without a file and line. */
    @Test
    @Timeout(10)
    void theChecksTakeAnyListOfTables() {
        DestinationNames names = new DestinationNames(null, "{table}", java.util.Map.of(new TableRef("b", "x"), "y"));
        assertThat(names.problems(TableRef.parseList("a.x, b.x, c.y"))).containsExactly("b.x and c.y would both be written to the"
                + " destination table y; give one of them another name, e.g. { name: rename.c.y, value: c_y }, or put the source"
                + " schema in every name: { name: destinationTable, value: \"{schema}_{table}\" }");
        assertThat(names.problems(List.of(new TableRef("a", "x"), new TableRef("b", "x")))).isEmpty();
        assertThat(new DestinationNames(null, "{schema}_{table}", null).nameOf(new TableRef("{table}", "Ü x"))).isEqualTo("{table}_Ü x");
    }
}
