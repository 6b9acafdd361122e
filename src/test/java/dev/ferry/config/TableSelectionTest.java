package dev.ferry.config;

import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The {@code tables} / {@code excludeTables} syntax: names, patterns, folding, quoting, and what they match. */
@Timeout(10)
class TableSelectionTest {

    static TableRef t(String schema, String name) {
        return new TableRef(schema, name);
    }

    @Test
    void bareNamesFoldQuotedOnesAreExactAndWildcardsOnlyWorkUnquoted() {
        TableSelection s = TableSelection.of("Shop.Order_*, \"Sales Data\".*, public.\"a*b\", x.\"Q\"?z, app.orders");
        assertThat(s.hasPatterns()).isTrue();
        assertThat(s.explicit()).containsExactly(t("public", "a*b"), t("app", "orders"));
        assertThat(s.patterns()).containsExactly("Shop.Order_*", "\"Sales Data\".*", "x.\"Q\"?z");

        assertThat(s.selects(t("shop", "order_items"))).isTrue();
        assertThat(s.selects(t("shop", "order_"))).isTrue();
        assertThat(s.selects(t("shop", "orderXitems"))).as("_ is no wildcard").isFalse();
        assertThat(s.selects(t("Shop", "order_items"))).as("bare parts fold to lower case").isFalse();
        assertThat(s.selects(t("Sales Data", "Anything At All"))).isTrue();
        assertThat(s.selects(t("sales data", "x"))).as("quoted parts are exact").isFalse();
        assertThat(s.selects(t("public", "a*b"))).isTrue();
        assertThat(s.selects(t("public", "axb"))).as("a * inside quotes is literal").isFalse();
        assertThat(s.selects(t("x", "Qaz"))).isTrue();
        assertThat(s.selects(t("x", "qaz"))).isFalse();
        assertThat(s.selects(t("x", "Qz"))).as("? is exactly one character").isFalse();
        assertThat(s.selects(t("app", "orders"))).isTrue();
        assertThat(s.selects(t("app", "orders2"))).isFalse();

        // PostgreSQL folds only ASCII letters of a bare name (its downcasing leaves multibyte characters alone)
        assertThat(TableSelection.of("Ventes.ÉTé_*").selects(t("ventes", "Été_2024"))).isTrue();
        assertThat(TableSelection.of("Ventes.ÉTé_*").selects(t("ventes", "été_2024"))).isFalse();
        assertThat(TableRef.parseList("Ventes.Été")).containsExactly(t("ventes", "Été"));
    }

    @Test
    void likePatternsEscapeWhatLikeWouldTakeForAWildcard() {
        TableSelection.Entry e = TableSelection.of("a%b.x_\\y*").include().get(0);
        assertThat(e.schemaLike()).isEqualTo("a\\%b");
        assertThat(e.nameLike()).isEqualTo("x\\_\\\\y%");
        assertThat(e.matches(t("a%b", "x_\\y-anything"))).isTrue();
        assertThat(e.matches(t("aXb", "x_\\y"))).isFalse();
        assertThat(e.matches(t("a%b", "xZ\\y"))).isFalse();
    }

    @Test
    void namesAtTheLimitParseAndLongerOnesAreRefused() {
        String n63 = "a".repeat(63);
        assertThat(TableSelection.of("s." + n63).explicit()).containsExactly(t("s", n63));
        assertThatThrownBy(() -> TableSelection.of("s." + n63 + "b")).hasMessageContaining("63-byte limit");
        assertThatThrownBy(() -> TableSelection.of("orders")).hasMessage("'orders' is not schema-qualified; write it as schema.table");
        assertThatThrownBy(() -> TableSelection.of("a.b.c")).hasMessageContaining("has more than two parts");
        assertThatThrownBy(() -> TableSelection.of("\"a.b")).hasMessageContaining("unclosed double quote");
        assertThatThrownBy(() -> TableSelection.of("a.\"\"")).hasMessageContaining("empty quoted name");
    }

    @Test
    void syntaxErrorsAreReportedWithFileAndLine() {
        List<String> problems = new java.util.ArrayList<>();
        java.util.function.Function<String, String> where = p -> "routes/t.yaml:" + (p == null ? 1 : p.equals("tables") ? 7 : 8);
        TransferSpec.parse(java.util.Map.of("name", "x", "source", "s", "destination", "d", "every", "1h",
                "tables", "shop.*, \"Sales", "excludeTables", "shop"), where, problems);
        assertThat(problems).containsExactly(
                "routes/t.yaml:7: transfer 'x': parameter 'tables': unclosed double quote at position 9 of 'shop.*, \"Sales'",
                "routes/t.yaml:8: transfer 'x': parameter 'excludeTables': 'shop' is not schema-qualified; write it as schema.table");

        problems.clear();
        TransferSpec.parse(java.util.Map.of("name", "x", "source", "s", "destination", "d", "every", "1h",
                "tables", "shop.orders, shop.o*", "excludeTables", "shop.orders"), where, problems);
        assertThat(problems).containsExactly("routes/t.yaml:8: transfer 'x': shop.orders is named in 'tables' and excluded by"
                + " 'excludeTables'; remove it from one of them");

        problems.clear();
        TransferSpec spec = TransferSpec.parse(java.util.Map.of("name", "x", "source", "s", "destination", "d", "every", "1h",
                "tables", "shop.orders, shop.o*, shop._ferry_x"), where, problems);
        assertThat(problems).hasSize(1).allMatch(p -> p.startsWith("routes/t.yaml:7: transfer 'x': parameter 'tables': shop._ferry_x"));
        assertThat(spec).isNull();
    }
}
