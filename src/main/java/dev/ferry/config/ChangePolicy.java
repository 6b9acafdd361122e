package dev.ferry.config;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * What a transfer does with changes at the source that are not new rows: rows gone from it ({@code hardDeletes}) and a
 * changed shape ({@code onSchemaChange}).
 *
 * @param deletes        what becomes of destination rows whose key is gone from the source
 * @param onSchemaChange what becomes of the destination table when the source's columns differ from its own
 */
public record ChangePolicy(Deletes deletes, SchemaChange onSchemaChange) {

    /** The policy of a transfer that sets neither parameter (the template's defaults). */
    public static final ChangePolicy DEFAULT = new ChangePolicy(Deletes.KEEP, SchemaChange.EVOLVE);

    /** {@code hardDeletes}: not set or false (kept), true (deleted), soft (kept, marked with {@link ReservedNames#DELETED_AT}). */
    public enum Deletes { KEEP, HARD, SOFT }

    /** {@code onSchemaChange}: how the destination table follows a change of the source's columns. */
    public enum SchemaChange {
        /** Add new columns, widen widened ones (Ferry's behaviour before the parameter existed). */
        EVOLVE,
        /** Keep the destination's columns: new source columns are not copied; a type it cannot take fails the table. */
        FREEZE,
        /** Stop before writing on any difference. */
        FAIL;

        /** As written in the route file. */
        public String key() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** Whether rows gone from the source are kept and marked rather than deleted. */
    public boolean softDeletes() {
        return deletes == Deletes.SOFT;
    }

    /**
     * Reads {@code hardDeletes} and {@code onSchemaChange} ({@code p} holds the template's defaults already), adding one
     * message per problem, with where it is written, to {@code problems}.
     *
     * @param mode the transfer's mode, null when it is itself in error
     */
    static ChangePolicy parse(Map<String, String> p, Mode mode, String label, Function<String, String> where, List<String> problems) {
        Deletes deletes = Deletes.KEEP;
        String d = TransferSpec.blankToNull(p.get("hardDeletes"));
        if (d != null) {
            switch (d.trim().toLowerCase(Locale.ROOT)) {
                case "false" -> deletes = Deletes.KEEP;
                case "true" -> deletes = Deletes.HARD;
                case "soft" -> deletes = Deletes.SOFT;
                default -> problems.add(where.apply("hardDeletes") + ": " + label + ": parameter 'hardDeletes': '" + d
                        + "' is not true, false or soft");
            }
        }
        if (deletes == Deletes.SOFT && mode == Mode.APPEND) {
            // append never updates a row, so a row that comes back could never have its mark cleared
            problems.add(where.apply("hardDeletes") + ": " + label + ": hardDeletes: soft needs a mode that updates rows"
                    + " (a row that comes back clears its " + ReservedNames.DELETED_AT + "), and append never does; use mode"
                    + " incremental, or hardDeletes: true");
        }
        SchemaChange change = SchemaChange.EVOLVE;
        String s = TransferSpec.defaulted(p, "onSchemaChange", label, where, problems);
        if (s != null) {
            try {
                change = SchemaChange.valueOf(s.trim().toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                problems.add(where.apply("onSchemaChange") + ": " + label + ": parameter 'onSchemaChange': '" + s + "' is not one of "
                        + Arrays.stream(SchemaChange.values()).map(SchemaChange::key).collect(Collectors.joining(", ")));
            }
        }
        return new ChangePolicy(deletes, change);
    }
}
