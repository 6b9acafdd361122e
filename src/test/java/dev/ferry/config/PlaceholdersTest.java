package dev.ferry.config;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.apache.camel.CamelContext;
import org.apache.camel.impl.DefaultCamelContext;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Placeholders in Ferry's settings are resolved once: configured text is parsed (following references to other keys),
 * what a variable or function yields is not; problems never quote a secret. And webhook URLs are shown by host and
 * path only.
 */
class PlaceholdersTest {

    @Test
    void configuredTextIsParsedOnceAndValuesAreNot() throws Exception {
        System.setProperty("ferry.test.placeholder.value", "p{{a}}b}}");
        try (CamelContext camel = new DefaultCamelContext()) {
            var pc = camel.getPropertiesComponent();
            pc.addInitialProperty("t.ref", "{{t.sys}}-x");
            pc.addInitialProperty("t.sys", "{{sys:ferry.test.placeholder.value}}");
            pc.addInitialProperty("t.escaped", "p\\{{a}}b}} and }} alone");
            pc.addInitialProperty("t.defaults", "[{{t.missing:dflt}}][{{?t.missing}}][{{env:FERRY_TEST_SURELY_UNSET_TOKEN:5432}}]");
            pc.addInitialProperty("t.loop", "a{{t.loop}}");
            pc.addInitialProperty("t.unescaped", "x{{hidden}}y");
            pc.addInitialProperty("t.unclosed", "ab{{cd");
            pc.addInitialProperty("t.env", "{{env:FERRY_TEST_SURELY_UNSET_TOKEN}}");

            assertThat(Placeholders.value(camel, "t.ref", false)).isEqualTo("p{{a}}b}}-x");
            assertThat(Placeholders.value(camel, "t.escaped", false)).isEqualTo("p{{a}}b}} and }} alone");
            assertThat(Placeholders.value(camel, "t.defaults", false)).isEqualTo("[dflt][][5432]");
            assertThat(Placeholders.value(camel, "t.absent", false)).isNull();
            assertThatThrownBy(() -> Placeholders.value(camel, "t.loop", false)).hasMessageContaining("refers back to itself");
            assertThatThrownBy(() -> Placeholders.value(camel, "t.unescaped", false)).hasMessage("property hidden is not set");
            assertThatThrownBy(() -> Placeholders.value(camel, "t.unescaped", true))
                    .isInstanceOf(Placeholders.Unresolved.class).hasMessageNotContaining("hidden")
                    .hasMessageContaining("escape it as \\\\{{");
            assertThatThrownBy(() -> Placeholders.value(camel, "t.unclosed", true))
                    .hasMessageContaining("without a closing '}}'").hasMessageNotContaining("ab").hasMessageNotContaining("cd");
            assertThatThrownBy(() -> Placeholders.value(camel, "t.env", true))
                    .hasMessage("environment variable FERRY_TEST_SURELY_UNSET_TOKEN is not set");
        } finally {
            System.clearProperty("ferry.test.placeholder.value");
        }
    }

    @Test
    void webhookUrlsShowHostAndPathOnly() {
        String url = "https://user:SECRET1@hooks.example.com:8443/a/b?token=SECRET2#SECRET3";
        assertThat(WebhookUrl.display(url)).isEqualTo("https://hooks.example.com:8443/a/...");
        // chat services put the token in the path
        assertThat(WebhookUrl.display("https://hooks.slack.com/services/T000/B000/SECRETPATH")).isEqualTo("https://hooks.slack.com/services/...");
        assertThat(WebhookUrl.redact("POST https://hooks.slack.com/services/T000/B000/SECRETPATH failed, /T000/B000/SECRETPATH",
                "https://hooks.slack.com/services/T000/B000/SECRETPATH")).doesNotContain("SECRETPATH");
        assertThat(WebhookUrl.display("http://127.0.0.1:9/hook")).isEqualTo("http://127.0.0.1:9/hook");
        assertThat(WebhookUrl.redact("failed: " + url + " and again SECRET2, user:SECRET1", url))
                .isEqualTo("failed: https://hooks.example.com:8443/a/... and again ***, ***");
        assertThat(WebhookUrl.problem(url)).isNull();
        assertThat(WebhookUrl.problem("ftp://h/x?SECRET")).isEqualTo("must be an http:// or https:// URL");
        assertThat(WebhookUrl.problem("http://bad_host/x?SECRET")).doesNotContain("SECRET");
        assertThat(WebhookUrl.tokenProblem("abc.DEF-123_~+/=")).isNull();
        assertThat(WebhookUrl.tokenProblem("ab\ncd")).doesNotContain("ab").contains("character 3");

        List<String> problems = new ArrayList<>();
        TransferSpec spec = TransferSpec.parse(Map.of("name", "t", "source", "s", "destination", "d", "tables", "a.b",
                "every", "1h", "webhook", url), p -> "routes", problems);
        assertThat(problems).isEmpty();
        assertThat(spec.toString()).contains("webhook https://hooks.example.com:8443/a/...").doesNotContain("SECRET");
    }
}
