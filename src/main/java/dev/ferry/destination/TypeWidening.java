package dev.ferry.destination;

/**
 * Whether one column type holds every value of another: the rule for widening a destination column when its source
 * column widens. Covers the integer family, numeric precision and scale, float4 to float8, string lengths (and
 * strings to text), bit-string lengths, time precisions, and arrays of all of them.
 */
final class TypeWidening {

    static final int INT2 = 21;
    static final int INT4 = 23;
    static final int INT8 = 20;
    static final int NUMERIC = 1700;
    static final int FLOAT4 = 700;
    static final int FLOAT8 = 701;
    static final int TEXT = 25;
    static final int VARCHAR = 1043;
    static final int BPCHAR = 1042;
    static final int VARBIT = 1562;
    static final int TIME = 1083;
    static final int TIMETZ = 1266;
    static final int TIMESTAMP = 1114;
    static final int TIMESTAMPTZ = 1184;

    private TypeWidening() {
    }

    /** Whether a column of type {@code wide} can hold every value of type {@code narrow}. */
    static boolean canHold(SchemaEvolution.Column wide, SchemaEvolution.Column narrow) {
        boolean wideArray = wide.elemOid() != 0 && wide.display().endsWith("[]");
        boolean narrowArray = narrow.elemOid() != 0 && narrow.display().endsWith("[]");
        if (wideArray != narrowArray) {
            return false;
        }
        if (wideArray) {
            return holds(wide.elemOid(), wide.typmod(), narrow.elemOid(), narrow.typmod());
        }
        return holds(wide.typeOid(), wide.typmod(), narrow.typeOid(), narrow.typmod());
    }

    static boolean holds(int wide, int wideMod, int narrow, int narrowMod) {
        if (wide == narrow) {
            return switch (wide) {
                case VARCHAR, BPCHAR, VARBIT -> wide == BPCHAR ? wideMod == narrowMod || wideMod == -1
                        : wideMod == -1 || (narrowMod != -1 && wideMod >= narrowMod);
                case NUMERIC -> numericHolds(wideMod, narrowMod);
                case TIME, TIMETZ, TIMESTAMP, TIMESTAMPTZ -> wideMod == -1 || (narrowMod != -1 && wideMod >= narrowMod);
                default -> wideMod == narrowMod || wideMod == -1;
            };
        }
        return switch (narrow) {
            case INT2 -> wide == INT4 || wide == INT8 || (wide == NUMERIC && integerDigits(wideMod) >= 5);
            case INT4 -> wide == INT8 || (wide == NUMERIC && integerDigits(wideMod) >= 10);
            case INT8 -> wide == NUMERIC && integerDigits(wideMod) >= 19;
            case FLOAT4 -> wide == FLOAT8;
            case VARCHAR, BPCHAR -> wide == TEXT || (narrow == BPCHAR && wide == VARCHAR && (wideMod == -1 || wideMod >= narrowMod));
            default -> false;
        };
    }

    /** numeric(p, s) typmods are ((p << 16) | s) + 4; -1 is unconstrained. */
    private static boolean numericHolds(int wideMod, int narrowMod) {
        if (wideMod == -1) {
            return true;
        }
        if (narrowMod == -1) {
            return false;
        }
        return scale(wideMod) >= scale(narrowMod) && integerDigits(wideMod) >= integerDigits(narrowMod);
    }

    private static int integerDigits(int mod) {
        return mod == -1 ? Integer.MAX_VALUE : precision(mod) - scale(mod);
    }

    private static int precision(int mod) {
        return ((mod - 4) >> 16) & 0xffff;
    }

    private static int scale(int mod) {
        return (mod - 4) & 0xffff;
    }
}
