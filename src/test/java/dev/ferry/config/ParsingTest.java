package dev.ferry.config;

import java.time.Duration;
import java.util.List;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** How table lists and durations written in routes are read. */
class ParsingTest {

    @Test
    void tableListsFollowSqlNamingRules() {
        assertThat(TableRef.parseList("shop.orders, Shop.Items ,\"Sales Data\".\"Order \"\"Lines\"\"\",public.\"a,b.c\""))
                .containsExactly(new TableRef("shop", "orders"), new TableRef("shop", "items"),
                        new TableRef("Sales Data", "Order \"Lines\""), new TableRef("public", "a,b.c"));
    }

    @Test
    void badTableListsSayWhatIsWrong() {
        assertThatThrownBy(() -> TableRef.parseList("orders")).hasMessageContaining("'orders' is not schema-qualified");
        assertThatThrownBy(() -> TableRef.parseList("a.b c.d")).hasMessageContaining("expected ','");
        assertThatThrownBy(() -> TableRef.parseList("a.\"b")).hasMessageContaining("unclosed double quote");
        assertThatThrownBy(() -> TableRef.parseList(" ")).hasMessageContaining("no table named");
        assertThatThrownBy(() -> TableRef.parseList("a.\"\"")).hasMessageContaining("empty quoted name");
    }

    @Test
    void quotedDisplayOnlyWhereSqlNeedsIt() {
        assertThat(new TableRef("shop", "orders").display()).isEqualTo("shop.orders");
        assertThat(new TableRef("Shop", "order lines").display()).isEqualTo("\"Shop\".\"order lines\"");
        assertThat(new TableRef("s", "a\"b").quoted()).isEqualTo("\"s\".\"a\"\"b\"");
    }

    @Test
    void durationsAsPeopleWriteThem() {
        assertThat(Durations.parse("30s")).isEqualTo(Duration.ofSeconds(30));
        assertThat(Durations.parse("1h30m")).isEqualTo(Duration.ofMinutes(90));
        assertThat(Durations.parse("250ms")).isEqualTo(Duration.ofMillis(250));
        assertThat(Durations.parse("PT5M")).isEqualTo(Duration.ofMinutes(5));
        assertThat(Durations.format(Duration.ofSeconds(5430))).isEqualTo("1h30m30s");
        for (String bad : List.of("5 minutes", "5", "m5", "", "1h-2m")) {
            assertThatThrownBy(() -> Durations.parse(bad)).isInstanceOf(IllegalArgumentException.class);
        }
    }
}
