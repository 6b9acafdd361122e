package dev.ferry.source;

import dev.ferry.failure.PermanentFailure;

/** A source table that is missing, unreadable, or not shaped as the transfer needs; the message says what to fix. */
public class SourceTableException extends PermanentFailure {

    /** What kind of problem: a configuration mistake ({@code MISSING}, {@code SHAPE}) or a missing grant. */
    public enum Kind { MISSING, PRIVILEGE, SHAPE }

    private final Kind kind;
    private final String parameter;
    private final String problem;
    private final String fix;

    public SourceTableException(String message) {
        this(Kind.SHAPE, message, null);
    }

    public SourceTableException(Kind kind, String message) {
        this(kind, message, null);
    }

    /** @param parameter the transfer parameter at fault, if one is */
    public SourceTableException(Kind kind, String message, String parameter) {
        this(kind, message, null, parameter);
    }

    private SourceTableException(Kind kind, String problem, String fix, String parameter) {
        super(fix == null ? problem : problem + "; " + fix);
        this.kind = kind;
        this.parameter = parameter;
        this.problem = problem;
        this.fix = fix;
    }

    /** A grant the source user lacks: the message is the problem, then the statement that fixes it. */
    public static SourceTableException missingGrant(String problem, String fix) {
        return new SourceTableException(Kind.PRIVILEGE, problem, fix, null);
    }

    /** The message without its fix. */
    public String problem() {
        return problem;
    }

    /** What fixes it ("run on the source: GRANT ..."), or null when the message says all there is. */
    public String fix() {
        return fix;
    }

    /** The transfer parameter at fault, or null. */
    public String parameter() {
        return parameter;
    }

    public Kind kind() {
        return kind;
    }
}
