package dev.ferry.config;

import java.io.StringWriter;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.sql.Connection;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Date;
import java.util.HashMap;
import java.util.Map;

import dev.ferry.app.EmbeddedServer;
import dev.ferry.state.TransferRun;
import dev.ferry.testing.Dumps;
import dev.ferry.testing.FerryHarness;
import dev.ferry.testing.PgServer;
import dev.ferry.testing.TestDb;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static dev.ferry.testing.FerryHarness.transfer;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * TLS with certificate verification: a PostgreSQL started with {@code ssl=on} and a certificate signed by a
 * certificate authority made in the test. verify-full succeeds with the right CA and host name, and fails clearly,
 * without retrying, with another CA or another name.
 */
class TlsTest {

    static EmbeddedServer tlsServer;
    static Path dir;

    @BeforeAll
    static void start() throws Exception {
        dir = Files.createTempDirectory("ferry-tls");
        KeyPair ca = rsa();
        X509CertificateHolder caCert = certificate("CN=Ferry Test CA", ca, "CN=Ferry Test CA", ca, true, null);
        KeyPair server = rsa();
        X509CertificateHolder serverCert = certificate("CN=Ferry Test CA", ca, "CN=localhost", server, false, "localhost");
        KeyPair otherCa = rsa();
        X509CertificateHolder otherCaCert = certificate("CN=Another CA", otherCa, "CN=Another CA", otherCa, true, null);
        write(dir.resolve("ca.crt"), caCert);
        write(dir.resolve("other-ca.crt"), otherCaCert);
        write(dir.resolve("server.crt"), serverCert);
        try (JcaPEMWriter w = new JcaPEMWriter(Files.newBufferedWriter(dir.resolve("server.key")))) {
            w.writeObject(new JcaPKCS8Generator(server.getPrivate(), null));
        }
        Files.setPosixFilePermissions(dir.resolve("server.key"), PosixFilePermissions.fromString("rw-------"));
        tlsServer = EmbeddedServer.start(Map.of("ssl", "on", "ssl_cert_file", dir.resolve("server.crt").toString(),
                "ssl_key_file", dir.resolve("server.key").toString()));
    }

    @AfterAll
    static void stop() throws Exception {
        tlsServer.close();
    }

    static KeyPair rsa() throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
        g.initialize(2048);
        return g.generateKeyPair();
    }

    static X509CertificateHolder certificate(String issuer, KeyPair issuerKey, String subject, KeyPair subjectKey, boolean ca,
                                             String dnsName) throws Exception {
        Instant now = Instant.now();
        JcaX509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(new X500Name(issuer), BigInteger.valueOf(now.toEpochMilli()),
                Date.from(now.minus(1, ChronoUnit.DAYS)), Date.from(now.plus(30, ChronoUnit.DAYS)), new X500Name(subject),
                subjectKey.getPublic());
        b.addExtension(Extension.basicConstraints, true, new BasicConstraints(ca));
        if (ca) {
            b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
        } else {
            b.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(new GeneralName(GeneralName.dNSName, dnsName)));
        }
        return b.build(new JcaContentSignerBuilder("SHA256withRSA").build(issuerKey.getPrivate()));
    }

    static void write(Path file, Object pem) throws Exception {
        StringWriter s = new StringWriter();
        try (JcaPEMWriter w = new JcaPEMWriter(s)) {
            w.writeObject(pem);
        }
        Files.writeString(file, s.toString());
    }

    static PgServer server() {
        return new PgServer() {
            @Override
            public String host() {
                return "localhost";
            }

            @Override
            public int port() {
                return tlsServer.port();
            }

            @Override
            public Connection admin(String database) throws java.sql.SQLException {
                return tlsServer.connect(database);
            }
        };
    }

    static TestDb[] databases(String prefix) throws Exception {
        TestDb src = TestDb.on(server(), prefix, "reader");
        TestDb dst = TestDb.on(server(), prefix + "_d", "writer");
        dst.execute("GRANT CREATE, TEMPORARY ON DATABASE \"" + dst.database() + "\" TO \"" + dst.user() + "\"");
        src.execute("CREATE SCHEMA app", "CREATE TABLE app.t (id int PRIMARY KEY, v text)",
                "INSERT INTO app.t SELECT g, 'v' || g FROM generate_series(1, 200) g");
        src.grantRead("app");
        return new TestDb[] {src, dst};
    }

    static Map<String, String> tls(String host, String rootCert) {
        Map<String, String> p = new HashMap<>();
        for (String prefix : new String[] {"ferry.source.src.", "ferry.destination.dst."}) {
            p.put(prefix + "hostname", host);
            p.put(prefix + "sslmode", "verify-full");
            p.put(prefix + "sslrootcert", dir.resolve(rootCert).toString());
            p.put(prefix + "connectTimeout", "3s");
        }
        return p;
    }

    @Test
    void verifyFullSucceedsWithTheRightCertificateAuthorityAndHost() throws Exception {
        TestDb[] db = databases("tls_ok");
        try (FerryHarness ferry = FerryHarness.start(db[0], db[1], "export", transfer("t", "app.t"), tls("localhost", "ca.crt"))) {
            assertThat(ferry.sync("t").status()).isEqualTo(TransferRun.Status.SUCCEEDED);
            try (Connection s = db[0].admin(); Connection d = db[1].admin()) {
                Dumps.assertSameRows(s, "app", "t", d, "export", "t", "id");
                assertThat(Dumps.scalar(d, "SELECT bool_and(ssl) FROM pg_stat_ssl JOIN pg_stat_activity USING (pid) WHERE usename = ?",
                        db[1].user())).as("Ferry's sessions use TLS").isEqualTo("t");
            }
        }
    }

    @Test
    void anotherCertificateAuthorityFailsClearlyWithoutRetrying() throws Exception {
        TestDb[] db = databases("tls_ca");
        try (FerryHarness ferry = FerryHarness.start(db[0], db[1], "export", transfer("t", "app.t"), tls("localhost", "other-ca.crt"))) {
            TransferRun run = ferry.sync("t");
            assertThat(run.status()).isEqualTo(TransferRun.Status.FAILED);
            assertThat(run.firstError()).contains("fix: TLS verification failed: check").contains("sslrootcert");
        }
    }

    @Test
    void anotherHostNameFailsClearly() throws Exception {
        TestDb[] db = databases("tls_host");
        try (FerryHarness ferry = FerryHarness.start(db[0], db[1], "export", transfer("t", "app.t"), tls("127.0.0.1", "ca.crt"))) {
            TransferRun run = ferry.sync("t");
            assertThat(run.status()).isEqualTo(TransferRun.Status.FAILED);
            assertThat(run.firstError()).contains("127.0.0.1").contains("fix: TLS verification failed");
        }
    }
}
