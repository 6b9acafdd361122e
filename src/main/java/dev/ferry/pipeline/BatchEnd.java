package dev.ferry.pipeline;

import java.util.List;

import dev.ferry.source.TableRead;

/**
 * Where a batch ended: the phase it was read in and its last row's cursor and key (text form; null when the batch was
 * empty). The batch's commit writes it as the watermark.
 */
record BatchEnd(TableRead.Phase phase, String cursor, List<String> key) {
}
