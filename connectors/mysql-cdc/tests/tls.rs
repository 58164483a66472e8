//! TLS to the server, on loopback only: a private MariaDB of this test process with a throwaway
//! CA and server certificate made at test time (openssl CLI), users created `REQUIRE SSL` and
//! `REQUIRE X509`, and the shared server (no TLS) for REQUIRED against a server without TLS.
//!
//! The server certificate names only `localhost` (no IP address), so `hostname` = `127.0.0.1`
//! is a name mismatch: refused by VERIFY_IDENTITY, accepted by VERIFY_CA.
//!
//! A snapshot and binlog run as the `REQUIRE SSL` user proves every connection of the connector
//! (preflight, enumerator, snapshot readers, binlog) was encrypted: the server refuses that user
//! any other.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use mysql_async::prelude::Queryable;

use rust_core::api::RowKind;
use rust_core::runtime::DynSource;
use rust_core::testing::{Emitted, Harness};

use support::{block, server, PrivateServer};

const TIMEOUT: Duration = Duration::from_secs(60);
const TLS_USER: &str = "tls_only";
const X509_USER: &str = "x509_only";
/// Every error is checked not to contain it.
const PASSWORD: &str = "Tls-Secret-pw-4711";

/// A throwaway PKI in a directory of this test process, removed when dropped.
struct Pki {
    dir: PathBuf,
}

impl Pki {
    fn new() -> Pki {
        let dir = std::env::temp_dir().join(format!("flink-rust-tls-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let pki = Pki { dir };
        for ca in ["ca", "other-ca"] {
            pki.openssl(&[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "2",
                "-keyout",
                &format!("{ca}.key"),
                "-out",
                &format!("{ca}.pem"),
                "-subj",
                &format!("/CN=flink-rust test {ca}"),
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign,cRLSign",
            ]);
        }
        pki.issue(
            "server",
            "localhost",
            "subjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth\n",
        );
        pki.issue("client", X509_USER, "extendedKeyUsage=clientAuth\n");
        // The driver reads PKCS#1 RSA keys only; openssl 3 writes PKCS#8.
        pki.openssl(&[
            "rsa",
            "-in",
            "client.key",
            "-traditional",
            "-out",
            "client-rsa.key",
        ]);
        pki
    }

    /// A key and a certificate signed by `ca` for `cn` with `extensions`.
    fn issue(&self, name: &str, cn: &str, extensions: &str) {
        std::fs::write(
            self.dir.join(format!("{name}.ext")),
            format!("basicConstraints=critical,CA:FALSE\n{extensions}"),
        )
        .unwrap();
        self.openssl(&[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.csr"),
            "-subj",
            &format!("/CN={cn}"),
        ]);
        self.openssl(&[
            "x509",
            "-req",
            "-in",
            &format!("{name}.csr"),
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-set_serial",
            "2",
            "-days",
            "2",
            "-out",
            &format!("{name}.pem"),
            "-extfile",
            &format!("{name}.ext"),
        ]);
    }

    fn openssl(&self, args: &[&str]) {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(&self.dir)
            .output()
            .expect("run openssl");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn path(&self, file: &str) -> String {
        self.dir.join(file).to_string_lossy().into_owned()
    }
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A source reading `shop.t` (id, v) as `user` on `host:port` with extra options.
fn source(
    host: &str,
    port: u16,
    user: &str,
    password: &str,
    extra: &[(&str, &str)],
) -> Box<dyn DynSource> {
    let port = port.to_string();
    let mut options = vec![
        ("hostname", host),
        ("port", port.as_str()),
        ("username", user),
        ("password", password),
        ("database-name", "shop"),
        ("table-name", "t"),
        ("server-id", "7300-7301"),
        ("connect.max-retries", "1"),
        ("scan.incremental.snapshot.chunk.size", "25"),
        ("scan.incremental.snapshot.handover", "immediate"),
    ];
    options.extend_from_slice(extra);
    support::id_v_source(&options).unwrap()
}

/// Preflight: the error, which must be a validation error without the password.
fn preflight(
    host: &str,
    port: u16,
    user: &str,
    password: &str,
    extra: &[(&str, &str)],
) -> Result<(), String> {
    source(host, port, user, password, extra)
        .preflight()
        .map_err(|e| {
            let e = support::validation_message(e);
            assert!(
                !e.contains(password),
                "the password leaked into an error: {e}"
            );
            e
        })
}

fn ids(emitted: &[Emitted], kind: RowKind) -> Vec<i64> {
    let mut ids: Vec<i64> = emitted
        .iter()
        .flat_map(|e| {
            let column = e
                .rows
                .column(0)
                .as_primitive::<Int64Type>()
                .values()
                .to_vec();
            column
                .into_iter()
                .zip(e.kinds.clone())
                .filter(|(_, k)| *k == kind)
                .map(|(id, _)| id)
        })
        .collect();
    ids.sort();
    ids
}

async fn root_exec(private: &PrivateServer, statements: &[String]) {
    let mut root = private.root_conn().await;
    for s in statements {
        root.query_drop(s)
            .await
            .unwrap_or_else(|e| panic!("{s}: {e}"));
    }
    root.disconnect().await.unwrap();
}

async fn global_status(private: &PrivateServer, name: &str) -> u64 {
    let mut root = private.root_conn().await;
    let row: Option<(String, String)> = root
        .query_first(format!("SHOW GLOBAL STATUS LIKE '{name}'"))
        .await
        .unwrap();
    root.disconnect().await.unwrap();
    row.expect(name).1.parse().unwrap()
}

#[test]
fn tls_snapshot_and_binlog_and_every_verification_failure_at_submission() {
    let pki = Pki::new();
    let cnf = format!(
        "ssl_cert={}\nssl_key={}\nssl_ca={}",
        pki.path("server.pem"),
        pki.path("server.key"),
        pki.path("ca.pem")
    );
    let private = PrivateServer::start("tls", &cnf);
    let port = private.port;
    let grants = "SELECT, RELOAD, SHOW DATABASES, REPLICATION SLAVE, REPLICATION CLIENT ON *.*";
    block(root_exec(
        &private,
        &[
            "CREATE DATABASE shop".into(),
            "CREATE TABLE shop.t (id BIGINT PRIMARY KEY, v VARCHAR(10))".into(),
            "INSERT INTO shop.t SELECT seq, CONCAT('v', seq) FROM shop.seq_1_to_100".into(),
            format!("CREATE USER '{TLS_USER}'@'127.0.0.1' IDENTIFIED BY '{PASSWORD}' REQUIRE SSL"),
            format!("GRANT {grants} TO '{TLS_USER}'@'127.0.0.1'"),
            format!(
                "CREATE USER '{X509_USER}'@'127.0.0.1' IDENTIFIED BY '{PASSWORD}' REQUIRE X509"
            ),
            format!("GRANT {grants} TO '{X509_USER}'@'127.0.0.1'"),
        ],
    ));
    let ca = pki.path("ca.pem");
    let verify_identity = [
        ("jdbc.properties.sslMode", "VERIFY_IDENTITY"),
        ("ssl.ca-cert", ca.as_str()),
    ];

    // Snapshot (4 chunks, 2 readers) and binlog, verifying CA and name, as a REQUIRE SSL user.
    let accepted_before = block(global_status(&private, "Ssl_finished_accepts"));
    let source = source("localhost", port, TLS_USER, PASSWORD, &verify_identity);
    source.preflight().unwrap();
    let mut h = Harness::new(source.as_ref(), 2, 64).unwrap();
    let snapshot = h
        .run_until(TIMEOUT, |e| ids(e, RowKind::Insert).len() >= 100)
        .unwrap();
    assert_eq!(
        ids(&snapshot, RowKind::Insert),
        (1..=100).collect::<Vec<_>>()
    );
    let from_readers: std::collections::BTreeSet<u32> =
        snapshot.iter().map(|e| e.subtask).collect();
    assert_eq!(from_readers.len(), 2, "both readers read chunks");
    block(root_exec(
        &private,
        &[
            "INSERT INTO shop.t VALUES (101, 'new')".into(),
            "DELETE FROM shop.t WHERE id = 7".into(),
        ],
    ));
    let changes = h
        .run_until(TIMEOUT, |e| {
            !ids(e, RowKind::Insert).is_empty() && !ids(e, RowKind::Delete).is_empty()
        })
        .unwrap();
    assert_eq!(
        (
            ids(&changes, RowKind::Insert),
            ids(&changes, RowKind::Delete)
        ),
        (vec![101], vec![7])
    );
    // The binlog connection is the REQUIRE SSL user's (so encrypted), and the server counted
    // a TLS handshake for each connection: preflight, enumerator, two readers, binlog.
    let dumps: Vec<String> = block(async {
        let mut root = private.root_conn().await;
        let users = root
            .query("SELECT USER FROM information_schema.PROCESSLIST WHERE COMMAND = 'Binlog Dump'")
            .await
            .unwrap();
        root.disconnect().await.unwrap();
        users
    });
    assert_eq!(dumps, [TLS_USER]);
    let accepted = block(global_status(&private, "Ssl_finished_accepts")) - accepted_before;
    assert!(accepted >= 5, "TLS handshakes during the run: {accepted}");
    h.close().unwrap();

    // The default (PREFERRED) encrypts when the server offers TLS: the REQUIRE SSL user gets in.
    assert_eq!(
        preflight("127.0.0.1", port, TLS_USER, PASSWORD, &[]),
        Ok(())
    );
    // A REQUIRE SSL user without TLS: refused, and the error names the TLS options.
    let e = preflight(
        "127.0.0.1",
        port,
        TLS_USER,
        PASSWORD,
        &[("jdbc.properties.sslMode", "DISABLED")],
    )
    .unwrap_err();
    assert!(
        e.contains(&format!("Access denied for user '{TLS_USER}'"))
            && e.contains("the connection was not encrypted (sslMode DISABLED ('jdbc.properties.sslMode' = 'DISABLED'))")
            && e.contains("REQUIRE SSL")
            && e.contains("set 'jdbc.properties.sslMode' = 'REQUIRED'"),
        "{e}"
    );
    let e = preflight(
        "127.0.0.1",
        port,
        TLS_USER,
        PASSWORD,
        &[("jdbc.properties.useSSL", "false")],
    )
    .unwrap_err();
    assert!(
        e.contains("'jdbc.properties.useSSL' = 'false'") && e.contains("REQUIRE SSL"),
        "{e}"
    );

    // A CA that did not sign the server certificate.
    let other_ca = pki.path("other-ca.pem");
    let e = preflight(
        "localhost",
        port,
        TLS_USER,
        PASSWORD,
        &[("ssl.ca-cert", other_ca.as_str())],
    )
    .unwrap_err();
    assert!(
        e.contains(&format!(
            "the TLS certificate of the server at localhost:{port} is not trusted"
        )) && e.contains(&format!(
            "not signed by the CA in 'ssl.ca-cert' ({other_ca})"
        )) && e.contains(
            "Set 'ssl.ca-cert' to the PEM file of the CA that signed the server's certificate"
        ),
        "{e}"
    );
    // No CA given: the built-in public CAs do not know a private CA either.
    let e = preflight(
        "localhost",
        port,
        TLS_USER,
        PASSWORD,
        &[("jdbc.properties.sslMode", "VERIFY_CA")],
    )
    .unwrap_err();
    assert!(
        e.contains("not signed by a public CA (no 'ssl.ca-cert' is set)"),
        "{e}"
    );

    // The certificate names localhost, not 127.0.0.1: VERIFY_IDENTITY refuses, VERIFY_CA accepts.
    let e = preflight("127.0.0.1", port, TLS_USER, PASSWORD, &verify_identity).unwrap_err();
    assert!(
        e.contains("is not issued for 'hostname' = '127.0.0.1'")
            && e.contains("localhost")
            && e.contains("set 'jdbc.properties.sslMode' = 'VERIFY_CA'"),
        "{e}"
    );
    let verify_ca = [
        ("jdbc.properties.sslMode", "VERIFY_CA"),
        ("ssl.ca-cert", ca.as_str()),
    ];
    assert_eq!(
        preflight("127.0.0.1", port, TLS_USER, PASSWORD, &verify_ca),
        Ok(())
    );
    // The legacy switch means VERIFY_CA too.
    let legacy = [
        ("jdbc.properties.verifyServerCertificate", "true"),
        ("ssl.ca-cert", ca.as_str()),
    ];
    assert_eq!(
        preflight("127.0.0.1", port, TLS_USER, PASSWORD, &legacy),
        Ok(())
    );

    // Unreadable CA file: at submission, naming the option and the path.
    let missing = pki.path("missing-ca.pem");
    let e = preflight(
        "localhost",
        port,
        TLS_USER,
        PASSWORD,
        &[("ssl.ca-cert", missing.as_str())],
    )
    .unwrap_err();
    assert!(
        e.contains(&format!("cannot read 'ssl.ca-cert' ({missing})")),
        "{e}"
    );

    // REQUIRE X509: a client certificate signed by the server's CA gets in; without one the
    // error names the client certificate options.
    let client = [
        ("jdbc.properties.sslMode", "VERIFY_IDENTITY"),
        ("ssl.ca-cert", ca.as_str()),
        ("ssl.client-cert", &pki.path("client.pem")),
        ("ssl.client-key", &pki.path("client-rsa.key")),
    ];
    assert_eq!(
        preflight("localhost", port, X509_USER, PASSWORD, &client),
        Ok(())
    );
    let e = preflight("localhost", port, X509_USER, PASSWORD, &verify_identity).unwrap_err();
    assert!(
        e.contains("REQUIRE X509") && e.contains("set 'ssl.client-cert' and 'ssl.client-key'"),
        "{e}"
    );
    let pkcs8 = pki.path("client.key");
    let e = preflight(
        "localhost",
        port,
        X509_USER,
        PASSWORD,
        &[client[0], client[1], client[2], ("ssl.client-key", &pkcs8)],
    )
    .unwrap_err();
    assert!(
        e.contains("is a PKCS#8 key") && e.contains("openssl rsa -in"),
        "{e}"
    );
    assert_key_never_shown(&e, Path::new(&pkcs8));
}

fn assert_key_never_shown(error: &str, key: &Path) {
    let pem = std::fs::read_to_string(key).unwrap();
    for line in pem.lines().filter(|l| !l.starts_with("-----")) {
        assert!(!error.contains(line), "key material in an error: {error}");
    }
}

#[test]
fn required_against_a_server_without_tls_fails_naming_the_fix() {
    let s = server(); // the shared server: no TLS configured (have_ssl = DISABLED)
    for extra in [
        [("jdbc.properties.sslMode", "REQUIRED")],
        [("jdbc.properties.requireSSL", "true")],
        [("debezium.database.ssl.mode", "required")],
    ] {
        let e = preflight(&s.host, s.port, &s.user, &s.password, &extra).unwrap_err();
        assert!(
            e.contains(&format!(
                "the server at {}:{} does not support TLS",
                s.host, s.port
            )) && e.contains("sslMode is REQUIRED")
                && e.contains("Enable TLS on the server (ssl_cert, ssl_key and ssl_ca")
                && e.contains("'PREFERRED'"),
            "{e}"
        );
    }
    // PREFERRED (the default) and DISABLED connect unencrypted. The shared server has no `shop.t`
    // (unless a run left one): "no table matches" means the connection was made.
    for extra in [vec![], vec![("jdbc.properties.sslMode", "DISABLED")]] {
        if let Err(e) = preflight(&s.host, s.port, &s.user, &s.password, &extra) {
            assert!(e.contains("no table matches"), "{e}");
        }
    }
}
