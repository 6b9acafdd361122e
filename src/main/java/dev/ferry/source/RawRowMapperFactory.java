package dev.ferry.source;

import java.sql.ResultSet;
import java.sql.SQLException;

import org.apache.camel.component.sql.RowMapperFactory;
import org.springframework.jdbc.core.RowMapper;

/**
 * camel-sql row mapping for bulk reads: each row becomes the values' bytes as the server sent them, one array per
 * row, without maps, boxing or parsing. Connections are opened with binary transfer off, so every value is in
 * PostgreSQL's text form, which the destination's COPY reads back exactly (the batch query reads {@code bytea} as
 * text, so pgjdbc has nothing to decode).
 */
public final class RawRowMapperFactory implements RowMapperFactory {

    @Override
    public RowMapper<byte[][]> newColumnRowMapper() {
        return new RowMapper<>() {
            private int columns = -1;

            @Override
            public byte[][] mapRow(ResultSet rs, int rowNum) throws SQLException {
                if (columns < 0) {
                    columns = rs.getMetaData().getColumnCount();
                }
                byte[][] row = new byte[columns][];
                for (int i = 0; i < columns; i++) {
                    row[i] = rs.getBytes(i + 1);
                }
                return row;
            }
        };
    }

    @Override
    public RowMapper<?> newBeanRowMapper(Class<?> mappedClass) {
        throw new UnsupportedOperationException("Ferry's raw row mapper maps rows to byte arrays, not to " + mappedClass);
    }
}
