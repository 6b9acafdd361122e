package dev.ferry.destination;

import java.util.List;

import dev.ferry.config.ChangePolicy;

/**
 * A table stopped before writing by its transfer's {@code onSchemaChange} (fail, or freeze and a type the destination
 * cannot take): carries the differences found, so that they can be reported as the {@code schema_change} event.
 */
public final class SchemaChangeStop extends DestinationException {

    private final transient List<SchemaEvolution.Change> changes;
    private final ChangePolicy.SchemaChange policy;

    public SchemaChangeStop(String message, List<SchemaEvolution.Change> changes, ChangePolicy.SchemaChange policy) {
        super(message);
        this.changes = List.copyOf(changes);
        this.policy = policy;
    }

    public List<SchemaEvolution.Change> changes() {
        return changes;
    }

    public ChangePolicy.SchemaChange policy() {
        return policy;
    }
}
