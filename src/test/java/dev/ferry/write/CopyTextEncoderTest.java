package dev.ferry.write;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** COPY text encoding of values as they come from the source, including across buffer boundaries. */
class CopyTextEncoderTest {

    @Test
    void escapesTheFourSpecialBytesAndWritesNullsAndBytea() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        CopyTextEncoder enc = new CopyTextEncoder(out, 7); // tiny buffer: every path crosses a flush
        byte[][] row = {
            "a\tb\nc\rd\\e".getBytes(StandardCharsets.UTF_8),
            null,
            "ünï 山".getBytes(StandardCharsets.UTF_8),
            new byte[] {0, (byte) 0xff, 10},
            new byte[0],
        };
        enc.writeRow(row, new boolean[] {false, false, false, true, false}, "\tX".getBytes(StandardCharsets.UTF_8));
        enc.flush();

        assertThat(out.toString(StandardCharsets.UTF_8)).isEqualTo("a\\tb\\nc\\rd\\\\e\t\\N\tünï 山\t\\\\x00ff0a\t\tX\n");
    }
}
