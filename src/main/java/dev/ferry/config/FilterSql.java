package dev.ferry.config;

import java.util.ArrayList;
import java.util.List;

/**
 * A transfer's row filter: a SQL condition written in the route, with {@code :name} placeholders for its values,
 * e.g. {@code customer_id = :customer AND region = ANY(:regions)}. Placeholders become {@code ?} and the values
 * are bound as parameters, so no value is ever spliced into SQL. Quoted strings, quoted identifiers and
 * {@code ::} casts are left alone.
 *
 * @param sql        the condition with {@code ?} in place of each placeholder
 * @param parameters the placeholder names, in the order of the {@code ?}s
 */
public record FilterSql(String sql, List<String> parameters) {

    public FilterSql {
        parameters = List.copyOf(parameters);
    }

    public static FilterSql parse(String condition) {
        StringBuilder out = new StringBuilder();
        List<String> names = new ArrayList<>();
        int i = 0;
        int n = condition.length();
        while (i < n) {
            char c = condition.charAt(i);
            if (c == '\'' || c == '"') {
                int end = i + 1;
                while (end < n) {
                    if (condition.charAt(end) == c) {
                        if (end + 1 < n && condition.charAt(end + 1) == c) {
                            end += 2;
                            continue;
                        }
                        break;
                    }
                    end++;
                }
                if (end >= n) {
                    throw new IllegalArgumentException("unclosed " + (c == '\'' ? "string" : "quoted name") + " in filter");
                }
                out.append(condition, i, end + 1);
                i = end + 1;
            } else if (c == ':' && i + 1 < n && condition.charAt(i + 1) == ':') {
                out.append("::");
                i += 2;
            } else if (c == ':' && i + 1 < n && (Character.isLetter(condition.charAt(i + 1)) || condition.charAt(i + 1) == '_')) {
                int end = i + 1;
                while (end < n && (Character.isLetterOrDigit(condition.charAt(end)) || condition.charAt(end) == '_')) {
                    end++;
                }
                names.add(condition.substring(i + 1, end));
                out.append('?');
                i = end;
            } else if (c == '?') {
                throw new IllegalArgumentException("write values as :name placeholders, not '?'");
            } else if (c == ';') {
                throw new IllegalArgumentException("a filter is one condition; it may not contain ';' outside quotes");
            } else {
                out.append(c);
                i++;
            }
        }
        return new FilterSql(out.toString(), names);
    }
}
