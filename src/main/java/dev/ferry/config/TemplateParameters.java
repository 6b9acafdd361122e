package dev.ferry.config;

import java.io.IOException;
import java.io.InputStream;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.apache.camel.model.RouteTemplateDefinition;
import org.apache.camel.model.RouteTemplateParameterDefinition;
import org.snakeyaml.engine.v2.api.Load;
import org.snakeyaml.engine.v2.api.LoadSettings;

/**
 * The parameters a transfer may set, and their defaults. Their one home is the {@code ferry-transfer} template
 * (routes/ferry-transfer.yaml: each parameter, with its {@code defaultValue}): users read them there, Camel applies the
 * defaults when it builds a transfer's route, and Ferry's Java reads both from the template rather than repeating them.
 *
 * <p>The template Camel loaded comes first (a user's copy in the routes folder replaces the shipped one); the template
 * shipped in the jar adds what it lacks, so that a copy from an older Ferry keeps working when a later one adds a
 * parameter.
 *
 * @param names every parameter the template declares
 * @param defaults each parameter's default, by name, for those that have one
 */
public record TemplateParameters(Set<String> names, Map<String, String> defaults) {

    /** Where the pom puts the shipped template (see {@link RouteFiles#SHIPPED}). */
    static final String SHIPPED = RouteFiles.SHIPPED + TransferCatalog.TEMPLATE_ID + ".yaml";

    private static volatile TemplateParameters shipped;

    /**
     * Parameter families: a parameter named {@code <family>.<suffix>} gives one value of a family, keyed by its suffix
     * ({@code filter.tenant}: the filter's {@code :tenant}; {@code mask.email}: how column email is masked...). Their
     * members are not declared one by one in the template.
     */
    public static final List<String> FAMILIES = List.of("filter", "mask", "cast", "rename");

    /** Whether {@code key} names a member of a parameter family, e.g. {@code filter.tenant}. */
    public static boolean inFamily(String key) {
        int dot = key.indexOf('.');
        return dot > 0 && dot < key.length() - 1 && FAMILIES.contains(key.substring(0, dot));
    }

    /** The members of one family among a transfer's parameters, by suffix, in name order. */
    public static Map<String, String> family(Map<String, String> params, String family) {
        Map<String, String> members = new java.util.TreeMap<>();
        params.forEach((k, v) -> {
            if (k.startsWith(family + ".") && k.length() > family.length() + 1) {
                members.put(k.substring(family.length() + 1), v == null ? "" : v);
            }
        });
        return members;
    }

    public TemplateParameters {
        names = Collections.unmodifiableSet(new LinkedHashSet<>(names));
        defaults = Collections.unmodifiableMap(new LinkedHashMap<>(defaults));
    }

    /** The shipped template's parameters; none when it is not on the classpath. */
    public static TemplateParameters shipped() {
        TemplateParameters s = shipped;
        if (s == null) {
            s = read();
            shipped = s;
        }
        return s;
    }

    /** A loaded template's parameters, with the shipped template's for what it lacks. */
    static TemplateParameters of(RouteTemplateDefinition template) {
        Set<String> names = new LinkedHashSet<>(shipped().names());
        Map<String, String> defaults = new LinkedHashMap<>(shipped().defaults());
        if (template != null && template.getTemplateParameters() != null) {
            for (RouteTemplateParameterDefinition p : template.getTemplateParameters()) {
                if (p.getName() != null) {
                    names.add(p.getName());
                    if (p.getDefaultValue() != null) {
                        defaults.put(p.getName(), p.getDefaultValue());
                    }
                }
            }
        }
        return new TemplateParameters(names, defaults);
    }

    private static TemplateParameters read() {
        Set<String> names = new LinkedHashSet<>();
        Map<String, String> defaults = new LinkedHashMap<>();
        try (InputStream in = TemplateParameters.class.getClassLoader().getResourceAsStream(SHIPPED)) {
            if (in != null) {
                Object doc = new Load(LoadSettings.builder().setLabel(SHIPPED).build()).loadFromInputStream(in);
                for (Object item : doc instanceof List<?> l ? l : List.of()) {
                    Object template = item instanceof Map<?, ?> m ? m.get("routeTemplate") : null;
                    if (template instanceof Map<?, ?> t && TransferCatalog.TEMPLATE_ID.equals(t.get("id"))
                            && t.get("parameters") instanceof List<?> parameters) {
                        for (Object p : parameters) {
                            if (p instanceof Map<?, ?> param && param.get("name") != null) {
                                names.add(param.get("name").toString());
                                if (param.get("defaultValue") != null) {
                                    defaults.put(param.get("name").toString(), param.get("defaultValue").toString());
                                }
                            }
                        }
                    }
                }
            }
        } catch (IOException | RuntimeException e) {
            // the jar is built with it; without it, the loaded template's parameters are all there are
            org.slf4j.LoggerFactory.getLogger("dev.ferry").debug("cannot read the parameters of {}: {}", SHIPPED, e.toString());
        }
        return new TemplateParameters(names, defaults);
    }
}
