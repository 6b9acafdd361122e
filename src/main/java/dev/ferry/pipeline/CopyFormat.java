package dev.ferry.pipeline;

import java.sql.Connection;
import java.sql.SQLException;

import dev.ferry.connect.Connections;

/**
 * Which COPY format a table's bulk batches use: PostgreSQL's binary format when every column has a built-in type and
 * both servers share an encoding (binary COPY carries text in the server's encoding, unconverted), its text format
 * otherwise. Decided once per table.
 */
final class CopyFormat {

    private CopyFormat() {
    }

    static boolean binary(Connections connections, TableLoad load) throws SQLException {
        Boolean decided = load.binaryCopy();
        if (decided == null) {
            decided = load.sourceTable().binarySafe();
            if (decided) {
                try (Connection source = connections.dataSource(load.run().source()).getConnection()) {
                    decided = serverEncoding(source).equals(serverEncoding(load.connection()));
                }
            }
            load.binaryCopy(decided);
        }
        return decided;
    }

    static String path(boolean binary) {
        return binary ? "copy binary" : "copy text";
    }

    /** The server's encoding, as the server reported it when the session started (no round trip). */
    private static String serverEncoding(Connection con) throws SQLException {
        return con.unwrap(org.postgresql.PGConnection.class).getParameterStatus("server_encoding");
    }
}
