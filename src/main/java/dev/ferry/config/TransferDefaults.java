package dev.ferry.config;

import java.io.IOException;
import java.io.InputStream;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.apache.camel.model.RouteTemplateDefinition;
import org.apache.camel.model.RouteTemplateParameterDefinition;
import org.snakeyaml.engine.v2.api.Load;
import org.snakeyaml.engine.v2.api.LoadSettings;

/**
 * The defaults of a transfer's parameters. Their one home is the {@code ferry-transfer} template
 * (routes/ferry-transfer.yaml, each parameter's {@code defaultValue}): users read them there, Camel applies them when
 * it builds a transfer's route, and Ferry's Java reads them from the template rather than repeating them.
 *
 * <p>The template Camel loaded comes first (a user's copy in the routes folder replaces the shipped one); for a
 * parameter it gives no default, the template shipped in the jar gives it, so that a copy from an older Ferry keeps
 * working when a later one adds a parameter.
 */
public final class TransferDefaults {

    /** Where the pom puts the shipped template (see {@link RouteFiles#SHIPPED}). */
    static final String SHIPPED = RouteFiles.SHIPPED + TransferCatalog.TEMPLATE_ID + ".yaml";

    private static volatile Map<String, String> shipped;

    private TransferDefaults() {
    }

    /** The defaults the shipped template declares, by parameter name; empty when it is not on the classpath. */
    public static Map<String, String> shipped() {
        Map<String, String> s = shipped;
        if (s == null) {
            s = Collections.unmodifiableMap(read());
            shipped = s;
        }
        return s;
    }

    /** A loaded template's defaults, then the shipped template's for the parameters it gives none. */
    static Map<String, String> of(RouteTemplateDefinition template) {
        Map<String, String> all = new LinkedHashMap<>(shipped());
        if (template != null && template.getTemplateParameters() != null) {
            for (RouteTemplateParameterDefinition p : template.getTemplateParameters()) {
                if (p.getName() != null && p.getDefaultValue() != null) {
                    all.put(p.getName(), p.getDefaultValue());
                }
            }
        }
        return Collections.unmodifiableMap(all);
    }

    private static Map<String, String> read() {
        Map<String, String> defaults = new LinkedHashMap<>();
        try (InputStream in = TransferDefaults.class.getClassLoader().getResourceAsStream(SHIPPED)) {
            if (in == null) {
                return defaults;
            }
            Object doc = new Load(LoadSettings.builder().setLabel(SHIPPED).build()).loadFromInputStream(in);
            for (Object item : doc instanceof List<?> l ? l : List.of()) {
                Object template = item instanceof Map<?, ?> m ? m.get("routeTemplate") : null;
                if (template instanceof Map<?, ?> t && TransferCatalog.TEMPLATE_ID.equals(t.get("id"))
                        && t.get("parameters") instanceof List<?> parameters) {
                    for (Object p : parameters) {
                        if (p instanceof Map<?, ?> param && param.get("name") != null && param.get("defaultValue") != null) {
                            defaults.put(param.get("name").toString(), param.get("defaultValue").toString());
                        }
                    }
                }
            }
        } catch (IOException | RuntimeException e) {
            // the jar is built with it; without it, the loaded template's defaults are all there is
            org.slf4j.LoggerFactory.getLogger("dev.ferry").debug("cannot read the defaults of {}: {}", SHIPPED, e.toString());
        }
        return defaults;
    }
}
