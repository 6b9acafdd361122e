package dev.ferry.pipeline;

import dev.ferry.destination.CopyTextEncoder;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** COPY text encoding of values as they come from the source, including across buffer boundaries. */
class CopyTextEncoderTest {

    @Test
    void escapesTheFourSpecialBytesAndWritesNulls() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        CopyTextEncoder enc = new CopyTextEncoder(out, 7); // tiny buffer: every path crosses a flush
        byte[][] row = {
            "a\tb\nc\rd\\e".getBytes(StandardCharsets.UTF_8),
            null,
            "ünï 山".getBytes(StandardCharsets.UTF_8),
            "\\x00ff0a".getBytes(StandardCharsets.UTF_8),
            new byte[0],
            "a value longer than the whole buffer".getBytes(StandardCharsets.UTF_8),
        };
        enc.writeRow(row, "\tX".getBytes(StandardCharsets.UTF_8));
        enc.flush();

        assertThat(out.toString(StandardCharsets.UTF_8))
                .isEqualTo("a\\tb\\nc\\rd\\\\e\t\\N\tünï 山\t\\\\x00ff0a\t\ta value longer than the whole buffer\tX\n");
    }
}
