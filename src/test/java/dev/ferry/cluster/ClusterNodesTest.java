package dev.ferry.cluster;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.assertj.core.api.Assertions.assertThat;

/** The text a transfer's digest is made of is the same whatever order its nested maps iterate in (on every node). */
class ClusterNodesTest {

    record Names(String template, Map<String, String> renames) {
    }

    record Settings(String name, Names names, List<Map<String, String>> more) {
    }

    @Test
    @Timeout(10)
    void nestedMapsAreWrittenInKeyOrder() throws Exception {
        Map<String, String> one = new LinkedHashMap<>();
        one.put("shop.orders", "orders_v2");
        one.put("shop.items", "items_v2");
        one.put("shop.customers", "people");
        Map<String, String> other = new LinkedHashMap<>();
        other.put("shop.customers", "people");
        other.put("shop.orders", "orders_v2");
        other.put("shop.items", "items_v2");
        Settings a = new Settings("t", new Names("{table}", one), List.of(one));
        Settings b = new Settings("t", new Names("{table}", other), List.of(other));
        assertThat(String.valueOf(a)).as("the records' own text follows the maps' order").isNotEqualTo(String.valueOf(b));
        assertThat(ClusterNodes.canonical(a)).isEqualTo(ClusterNodes.canonical(b)).contains("people");
        assertThat(ClusterNodes.canonical(new Settings("t", new Names("{table}", Map.of("x", "y")), List.of())))
                .isNotEqualTo(ClusterNodes.canonical(a));
    }
}
