package dev.ferry.app;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * The demo's shop database: customers, products, orders, order lines and refund requests, about 480,000 rows
 * over varied types (numeric, text with tabs and newlines, arrays, jsonb, uuid, bytea, enums, timestamps), and a
 * table whose names need quoting. Generated in the server with fixed seeds, so every demo holds the same data.
 */
public final class DemoData {

    public static final int CUSTOMERS = 20_000;
    public static final int PRODUCTS = 2_000;
    public static final int ORDERS = 150_000;
    public static final int REFUNDS = 5_000;

    private DemoData() {
    }

    public static void create(Connection con) throws SQLException {
        try (Statement st = con.createStatement()) {
            st.execute("SELECT setseed(0.42)");
            st.execute("CREATE SCHEMA shop");
            st.execute("CREATE TYPE shop.order_status AS ENUM ('pending', 'paid', 'shipped', 'delivered', 'cancelled', 'refunded')");
            st.execute(sized("""
                    CREATE TABLE shop.customers (
                      id bigint PRIMARY KEY,
                      email text NOT NULL UNIQUE,
                      full_name varchar(120) NOT NULL,
                      country char(2) NOT NULL,
                      marketing_opt_in boolean NOT NULL DEFAULT false,
                      tags text[],
                      profile jsonb,
                      lifetime_value numeric(12,2) NOT NULL DEFAULT 0,
                      created_at timestamptz NOT NULL,
                      updated_at timestamptz NOT NULL)"""));
            st.execute(sized("""
                    INSERT INTO shop.customers
                    SELECT g,
                           'customer' || g || '@example.com',
                           (ARRAY['Ana', 'Zoë', 'Łukasz', '山田', 'O''Brien', 'Jean-Luc', 'Ngozi', 'Søren'])[1 + g % 8] || ' '
                             || (ARRAY['Silva', 'Müller', 'Nakamura', 'Smith', 'Dubois', 'Okafor'])[1 + g % 6],
                           (ARRAY['US', 'DE', 'FR', 'GB', 'JP', 'BR', 'IN', 'CA'])[1 + g % 8],
                           g % 3 = 0,
                           CASE WHEN g % 5 = 0 THEN ARRAY['vip', 'newsletter'] WHEN g % 7 = 0 THEN ARRAY[]::text[]
                                WHEN g % 11 = 0 THEN ARRAY['has,comma', 'has "quote"', NULL] END,
                           CASE WHEN g % 13 <> 0 THEN jsonb_build_object('theme', (ARRAY['dark', 'light'])[1 + g % 2],
                                'visits', g % 97, 'last_cart', jsonb_build_array(g % 17, g % 19)) END,
                           round((random() * 5000)::numeric, 2),
                           timestamptz '2023-01-01 00:00:00+00' + g * interval '23 minutes 17.123456 seconds',
                           timestamptz '2024-01-01 00:00:00+00' + g * interval '11 minutes'
                    FROM generate_series(1, {CUSTOMERS}) g"""));
            st.execute(sized("""
                    CREATE TABLE shop.products (
                      sku text PRIMARY KEY,
                      name varchar(200) NOT NULL,
                      description text,
                      price numeric(10,2) NOT NULL,
                      weight_kg real,
                      attributes jsonb,
                      released_on date,
                      active boolean NOT NULL,
                      thumbnail bytea)"""));
            st.execute(sized("""
                    INSERT INTO shop.products
                    SELECT 'SKU-' || lpad(g::text, 5, '0'),
                           (ARRAY['Kettle', 'Desk lamp', 'Backpack', 'Trail shoe', 'Coffee grinder'])[1 + g % 5] || ' #' || g,
                           CASE WHEN g % 4 = 0 THEN E'Line one\\nline two\\twith a tab and a backslash \\\\ here'
                                WHEN g % 4 = 1 THEN 'Plain description ' || g END,
                           round((5 + random() * 495)::numeric, 2),
                           CASE WHEN g % 9 = 0 THEN 'NaN'::real ELSE (random() * 20)::real END,
                           jsonb_build_object('color', (ARRAY['red', 'blue', 'black'])[1 + g % 3], 'sizes', jsonb_build_array('S', 'M', 'L')),
                           date '2020-01-01' + g,
                           g % 10 <> 0,
                           CASE WHEN g % 3 = 0 THEN decode(md5(g::text) || '00ff00', 'hex') END
                    FROM generate_series(1, {PRODUCTS}) g"""));
            st.execute(sized("""
                    CREATE TABLE shop.orders (
                      id bigint PRIMARY KEY,
                      customer_id bigint NOT NULL REFERENCES shop.customers,
                      status shop.order_status NOT NULL,
                      placed_at timestamptz NOT NULL,
                      total numeric(12,2) NOT NULL,
                      currency char(3) NOT NULL,
                      shipping_address jsonb,
                      coupon text,
                      updated_at timestamptz NOT NULL)"""));
            st.execute(sized("""
                    INSERT INTO shop.orders
                    SELECT g,
                           1 + (g * 7919) % {CUSTOMERS},
                           (enum_range(NULL::shop.order_status))[1 + g % 6],
                           timestamptz '2024-01-01 00:00:00+00' + g * interval '3 minutes 1.5 seconds',
                           0,
                           (ARRAY['USD', 'EUR', 'GBP', 'JPY'])[1 + g % 4],
                           jsonb_build_object('city', (ARRAY['Lisbon', 'Zürich', 'Osaka', 'São Paulo'])[1 + g % 4], 'zip', lpad((g % 99999)::text, 5, '0')),
                           CASE WHEN g % 10 = 0 THEN 'SAVE10' END,
                           timestamptz '2024-01-01 00:00:00+00' + g * interval '3 minutes 1.5 seconds'
                    FROM generate_series(1, {ORDERS}) g"""));
            st.execute(sized("""
                    CREATE TABLE shop.order_items (
                      order_id bigint NOT NULL REFERENCES shop.orders,
                      line_no int NOT NULL,
                      sku text NOT NULL REFERENCES shop.products,
                      quantity int NOT NULL,
                      unit_price numeric(10,2) NOT NULL,
                      discount numeric(5,4) NOT NULL DEFAULT 0,
                      PRIMARY KEY (order_id, line_no))"""));
            st.execute(sized("""
                    INSERT INTO shop.order_items
                    SELECT o.id, l, 'SKU-' || lpad((1 + (o.id * 31 + l) % {PRODUCTS})::text, 5, '0'), 1 + (o.id + l) % 4,
                           round((5 + random() * 195)::numeric, 2), CASE WHEN o.coupon IS NOT NULL THEN 0.1 ELSE 0 END
                    FROM shop.orders o, generate_series(1, 1 + o.id::int % 3) l"""));
            st.execute(sized("""
                    UPDATE shop.orders o SET total = s.total
                    FROM (SELECT order_id, sum(quantity * unit_price * (1 - discount))::numeric(12,2) AS total
                          FROM shop.order_items GROUP BY order_id) s
                    WHERE s.order_id = o.id"""));
            st.execute(sized("""
                    CREATE TABLE shop."Refund Requests" (
                      "Request ID" uuid PRIMARY KEY,
                      "Order ID" bigint NOT NULL,
                      "Reason Code" text NOT NULL,
                      "Amount" numeric(12,2),
                      "Requested At" timestamp NOT NULL,
                      "Notes \"\"internal\"\"" text)"""));
            st.execute(sized("""
                    INSERT INTO shop."Refund Requests"
                    SELECT md5('refund' || g)::uuid, 1 + (g * 104729) % {ORDERS},
                           (ARRAY['DAMAGED', 'LATE', 'WRONG_ITEM', 'OTHER'])[1 + g % 4],
                           round((random() * 300)::numeric, 2),
                           timestamp '2024-06-01 12:00:00' + g * interval '17 minutes',
                           CASE WHEN g % 6 = 0 THEN E'customer says: "box was wet"\\r\\nphoto attached' END
                    FROM generate_series(1, {REFUNDS}) g"""));
            st.execute("ANALYZE");
        }
    }

    /** Fills in the table sizes named in braces. */
    private static String sized(String sql) {
        return sql.replace("{CUSTOMERS}", String.valueOf(CUSTOMERS)).replace("{PRODUCTS}", String.valueOf(PRODUCTS))
                .replace("{ORDERS}", String.valueOf(ORDERS)).replace("{REFUNDS}", String.valueOf(REFUNDS));
    }

    /** A little shop activity between demo runs: new orders, and some orders moving on. */
    public static void simulateActivity(Connection con, int round) throws SQLException {
        try (Statement st = con.createStatement()) {
            st.execute(sized("""
                    INSERT INTO shop.orders (id, customer_id, status, placed_at, total, currency, updated_at)
                    SELECT m + g, 1 + ((m + g) * 7919) % {CUSTOMERS}, 'pending', now(), round((random() * 200)::numeric, 2), 'EUR', now()
                    FROM (SELECT max(id) AS m FROM shop.orders) x, generate_series(1, 25) g"""));
            st.execute(sized("""
                    UPDATE shop.orders SET status = 'shipped', updated_at = now()
                    WHERE id IN (SELECT id FROM shop.orders WHERE status = 'paid' ORDER BY id LIMIT 40 OFFSET {OFFSET})""").replace("{OFFSET}", String.valueOf(round * 40 % 10_000)));
        }
    }
}
