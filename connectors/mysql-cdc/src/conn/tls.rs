//! TLS to the server: the options that ask for it, what each mode means, the driver's TLS settings
//! for one connection, and what a failed TLS connection means for the user.
//!
//! The options are those Flink CDC users already write, plus PEM files:
//! - `jdbc.properties.sslMode`: Connector/J's mode, which is MySQL's `--ssl-mode` (DISABLED,
//!   PREFERRED, REQUIRED, VERIFY_CA, VERIFY_IDENTITY). Connector/J's older switches `useSSL`,
//!   `requireSSL` and `verifyServerCertificate` map onto it as Connector/J 8 maps them, and
//!   Debezium's `database.ssl.mode` (`debezium.database.ssl.mode` in Flink CDC) names the same
//!   modes. Several may be set; they must agree, so no spelling silently wins over another.
//! - `ssl.ca-cert`, `ssl.client-cert`, `ssl.client-key`: PEM files. Connector/J's Java key stores
//!   (`trustCertificateKeyStoreUrl`, ...) are refused with the command that converts them.
//!
//! The default is PREFERRED, as in Connector/J 8 (Flink CDC's snapshot connections), Debezium
//! (Flink CDC's binlog connection) and the mysql client: a server that offers TLS gets an
//! encrypted connection, one that does not gets a plaintext one and a warning in the log.
//! mysql_async alone would never encrypt unless asked. PREFERRED does not verify the certificate
//! (as everywhere else), so it protects against eavesdropping, not against an active attacker:
//! that takes VERIFY_CA or VERIFY_IDENTITY. `ssl.ca-cert` without a mode means VERIFY_CA, as
//! `--ssl-ca` does for the mysql client; a CA with a mode that would not use it is refused.
//!
//! Other `jdbc.properties.*` keys are Connector/J settings with no meaning here (no JDBC driver
//! runs): they are accepted, so a Flink CDC table definition still works, and each is named in a
//! warning. Keys that look like TLS settings (`ssl`, `tls`, `cert`, `trust`, `keystore`, `cipher`,
//! `verify` in the name) are refused instead: a misspelt `jdbc.properties.sslMod` must not leave
//! the connection unencrypted without a word.
//!
//! Paths may appear in logs and errors; file contents, passwords and key material never do.

use std::path::{Path, PathBuf};

use mysql_async::{ClientIdentity, DriverError, IoError, SslOpts};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::CertificateError;

use rust_core::error::BridgeError;
use rust_core::options::Options;
use rust_core::Result;

pub const SSL_MODE: &str = "jdbc.properties.sslMode";
pub const USE_SSL: &str = "jdbc.properties.useSSL";
pub const REQUIRE_SSL: &str = "jdbc.properties.requireSSL";
pub const VERIFY_SERVER_CERTIFICATE: &str = "jdbc.properties.verifyServerCertificate";
pub const DEBEZIUM_SSL_MODE: &str = "debezium.database.ssl.mode";
pub const CA_CERT: &str = "ssl.ca-cert";
pub const CLIENT_CERT: &str = "ssl.client-cert";
pub const CLIENT_KEY: &str = "ssl.client-key";
const JDBC_PREFIX: &str = "jdbc.properties.";
const TLS_WORDS: &[&str] = &[
    "ssl", "tls", "cert", "trust", "keystore", "cipher", "verify",
];

/// MySQL's `--ssl-mode`, weakest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum SslMode {
    /// Plaintext.
    Disabled,
    /// TLS when the server offers it, else plaintext; the certificate is not verified.
    Preferred,
    /// TLS or no connection; the certificate is not verified.
    Required,
    /// TLS with a certificate signed by a trusted CA, issued for any name.
    VerifyCa,
    /// TLS with a certificate signed by a trusted CA and issued for `hostname`.
    VerifyIdentity,
}

impl SslMode {
    const NAMES: [&'static str; 5] = [
        "DISABLED",
        "PREFERRED",
        "REQUIRED",
        "VERIFY_CA",
        "VERIFY_IDENTITY",
    ];

    /// Connector/J spells the modes in capitals, Debezium in lower case: both are accepted.
    fn parse(raw: &str) -> std::result::Result<Self, String> {
        match raw.trim().to_ascii_uppercase().as_str() {
            "DISABLED" => Ok(SslMode::Disabled),
            "PREFERRED" => Ok(SslMode::Preferred),
            "REQUIRED" => Ok(SslMode::Required),
            "VERIFY_CA" => Ok(SslMode::VerifyCa),
            "VERIFY_IDENTITY" => Ok(SslMode::VerifyIdentity),
            _ => Err(format!(
                "'{raw}' is not one of {}",
                rust_core::options::one_of(&Self::NAMES)
            )),
        }
    }

    pub fn name(self) -> &'static str {
        Self::NAMES[self as usize]
    }

    fn verifies_ca(self) -> bool {
        self >= SslMode::VerifyCa
    }
}

/// The TLS settings of one source.
#[derive(Clone, Debug, PartialEq)]
pub struct TlsConfig {
    pub mode: SslMode,
    /// Where the mode came from, for messages: "'jdbc.properties.sslMode' = 'REQUIRED'".
    pub mode_source: String,
    pub ca_cert: Option<PathBuf>,
    pub client_cert: Option<PathBuf>,
    pub client_key: Option<PathBuf>,
    /// `jdbc.properties.*` keys accepted and ignored (names only).
    pub ignored_jdbc_properties: Vec<String>,
}

impl TlsConfig {
    /// Reads the TLS options (and consumes every `jdbc.properties.*` key).
    pub fn parse(options: &Options, invalid: &dyn Fn(&str, String) -> BridgeError) -> Result<Self> {
        let mut stated: Vec<(String, SslMode)> = Vec::new();
        for key in [SSL_MODE, DEBEZIUM_SSL_MODE] {
            if let Some(raw) = options.get_str(key) {
                let mode = SslMode::parse(raw).map_err(|e| invalid(key, format!("{e}.")))?;
                stated.push((format!("'{key}' = '{}'", raw.trim()), mode));
            }
        }
        let use_ssl: Option<bool> = options.get(USE_SSL)?;
        let require_ssl: Option<bool> = options.get(REQUIRE_SSL)?;
        let verify: Option<bool> = options.get(VERIFY_SERVER_CERTIFICATE)?;
        if use_ssl.is_some() || require_ssl.is_some() || verify.is_some() {
            stated.push(legacy_mode(use_ssl, require_ssl, verify, invalid)?);
        }
        if let Some((first, mode)) = stated.first() {
            if let Some((other, other_mode)) = stated.iter().find(|(_, m)| m != mode) {
                return Err(invalid(
                    SSL_MODE,
                    format!(
                        "the TLS options disagree: {first} means {}, {other} means {}; set one of them \
                         (preferably '{SSL_MODE}') or make them agree.",
                        mode.name(),
                        other_mode.name()
                    ),
                ));
            }
        }

        let path = |key: &str| -> Result<Option<PathBuf>> {
            match options.get_str(key).map(str::trim) {
                None => Ok(None),
                Some("") => Err(invalid(
                    key,
                    "is empty: give the path of a PEM file, or remove the option.".into(),
                )),
                Some(p) => Ok(Some(PathBuf::from(p))),
            }
        };
        let ca_cert = path(CA_CERT)?;
        let client_cert = path(CLIENT_CERT)?;
        let client_key = path(CLIENT_KEY)?;

        let (mode_source, mode) = match stated.into_iter().next() {
            Some(stated) => stated,
            None if ca_cert.is_some() => (
                format!("'{CA_CERT}' without a mode (as the mysql client's --ssl-ca)"),
                SslMode::VerifyCa,
            ),
            None => ("the default".to_string(), SslMode::Preferred),
        };
        if ca_cert.is_some() && !mode.verifies_ca() {
            return Err(invalid(
                CA_CERT,
                format!(
                    "is set, but {mode_source} means {}, which does not verify the server certificate, so the CA \
                     would not be used: set '{SSL_MODE}' to 'VERIFY_CA' or 'VERIFY_IDENTITY', or remove '{CA_CERT}'.",
                    mode.name()
                ),
            ));
        }
        match (&client_cert, &client_key) {
            (Some(_), None) => return Err(invalid(CLIENT_CERT, format!("needs '{CLIENT_KEY}' too (the certificate's private key)."))),
            (None, Some(_)) => return Err(invalid(CLIENT_KEY, format!("needs '{CLIENT_CERT}' too (the certificate of the key)."))),
            (Some(_), Some(_)) if mode == SslMode::Disabled => {
                return Err(invalid(
                    CLIENT_CERT,
                    format!("is set, but {mode_source} disables TLS: remove the client certificate or enable TLS."),
                ))
            }
            _ => {}
        }

        let ignored_jdbc_properties = other_jdbc_properties(options, invalid)?;
        if !ignored_jdbc_properties.is_empty() {
            tracing::warn!(
                "ignoring {}: rust-mysql-cdc does not use Connector/J, only its TLS options ({SSL_MODE}, {USE_SSL}, \
                 {REQUIRE_SSL}, {VERIFY_SERVER_CERTIFICATE}) have a meaning here",
                ignored_jdbc_properties.join(", ")
            );
        }
        Ok(TlsConfig {
            mode,
            mode_source,
            ca_cert,
            client_cert,
            client_key,
            ignored_jdbc_properties,
        })
    }

    /// The mode and where it came from: "REQUIRED ('jdbc.properties.sslMode' = 'required')".
    pub fn describe_mode(&self) -> String {
        format!("{} ({})", self.mode.name(), self.mode_source)
    }

    /// The driver's TLS settings for one connection (`None`: plaintext). Reads and checks the PEM
    /// files each time, so a file replaced on disk is picked up and a missing one is reported as
    /// such (not as a network error). The error names the option, the path and the fix.
    pub fn ssl_opts(&self) -> std::result::Result<Option<SslOpts>, String> {
        let verify = match self.mode {
            SslMode::Disabled => return Ok(None),
            SslMode::Preferred | SslMode::Required => false,
            SslMode::VerifyCa | SslMode::VerifyIdentity => true,
        };
        let mut opts = SslOpts::default();
        if !verify {
            opts = opts.with_danger_accept_invalid_certs(true);
        } else if let Some(path) = &self.ca_cert {
            // Only the given CA: a certificate a public CA issued for the name is not the server's.
            opts = opts
                .with_root_certs(vec![read_ca(path)?.into()])
                .with_disable_built_in_roots(true);
        }
        if self.mode == SslMode::VerifyCa {
            // The chain is verified; the name is not (mysql_async is patched so this works with
            // rustls 0.23: vendor/mysql_async/PATCHED.md).
            opts = opts.with_danger_skip_domain_validation(true);
        }
        if let (Some(cert), Some(key)) = (&self.client_cert, &self.client_key) {
            // Contents, not paths: the driver uses exactly what was checked here.
            let identity =
                ClientIdentity::new(read_client_cert(cert)?.into(), read_client_key(key)?.into());
            opts = opts.with_client_identity(Some(identity));
        }
        Ok(Some(opts))
    }

    /// What a failed connection means when TLS is the cause: the message (never retried), or
    /// `None` for other errors.
    pub fn describe_error(
        &self,
        e: &mysql_async::Error,
        address: &str,
        hostname: &str,
    ) -> Option<String> {
        match e {
            mysql_async::Error::Driver(DriverError::NoClientSslFlagFromServer) => Some(format!(
                "the server at {address} does not support TLS, but the connection must be encrypted: sslMode is {}. \
                 Enable TLS on the server (ssl_cert, ssl_key and ssl_ca in its configuration), or set '{SSL_MODE}' = \
                 'PREFERRED' to connect unencrypted to a server without TLS",
                self.describe_mode()
            )),
            mysql_async::Error::Driver(DriverError::NoKeyFound) => Some(format!(
                "no RSA private key in '{CLIENT_KEY}' ({}): give a PKCS#1 PEM key ('BEGIN RSA PRIVATE KEY')",
                self.client_key.as_deref().map(|p| p.display().to_string()).unwrap_or_default()
            )),
            mysql_async::Error::Io(IoError::Io(io)) => {
                let tls = io.get_ref()?.downcast_ref::<rustls::Error>()?;
                Some(self.handshake_error(tls, address, hostname))
            }
            mysql_async::Error::Io(IoError::Tls(tls)) => Some(format!(
                "TLS to {address} could not be set up ({tls}): check '{CA_CERT}', '{CLIENT_CERT}' and '{CLIENT_KEY}'"
            )),
            _ => None,
        }
    }

    fn handshake_error(&self, e: &rustls::Error, address: &str, hostname: &str) -> String {
        let trusted = match &self.ca_cert {
            Some(path) => format!("the CA in '{CA_CERT}' ({})", path.display()),
            None => format!("a public CA (no '{CA_CERT}' is set)"),
        };
        match e {
            rustls::Error::InvalidCertificate(cert) => match cert {
                CertificateError::UnknownIssuer | CertificateError::BadSignature => format!(
                    "the TLS certificate of the server at {address} is not trusted: it is not signed by {trusted} \
                     (sslMode {}). Set '{CA_CERT}' to the PEM file of the CA that signed the server's certificate \
                     (the server's ssl_ca)",
                    self.describe_mode()
                ),
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                    let names = match cert {
                        CertificateError::NotValidForNameContext { presented, .. } if !presented.is_empty() => {
                            format!(" (it names {})", presented.join(", "))
                        }
                        _ => String::new(),
                    };
                    format!(
                        "the TLS certificate of the server at {address} is not issued for 'hostname' = '{hostname}'{names}, \
                         and sslMode {} checks the name. Connect with a name the certificate lists, or set '{SSL_MODE}' \
                         = 'VERIFY_CA' to verify only that a trusted CA signed it",
                        self.describe_mode()
                    )
                }
                CertificateError::Expired | CertificateError::ExpiredContext { .. } => format!(
                    "the TLS certificate of the server at {address} has expired ({e}): renew the server's certificate"
                ),
                CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => format!(
                    "the TLS certificate of the server at {address} is not valid yet ({e}): check the clocks of this \
                     machine and of the server, or the certificate's start date"
                ),
                _ => format!(
                    "the TLS certificate of the server at {address} was rejected ({e}; sslMode {}): check the server's \
                     certificate and '{CA_CERT}'",
                    self.describe_mode()
                ),
            },
            rustls::Error::AlertReceived(alert) => format!(
                "the server at {address} ended the TLS handshake ({alert:?}): if it requires a client certificate, \
                 set '{CLIENT_CERT}' and '{CLIENT_KEY}' to one signed by a CA the server trusts (its ssl_ca)"
            ),
            other => format!("the TLS handshake with the server at {address} failed ({other}; sslMode {})", self.describe_mode()),
        }
    }

    /// Added to "access denied": a user created `REQUIRE SSL` (or X509) is refused over a
    /// plaintext connection with the same error as a wrong password, so both causes are named.
    pub fn access_denied_hint(&self, encrypted: bool) -> String {
        if !encrypted {
            format!(
                "; the connection was not encrypted (sslMode {}): if the user must connect over TLS (REQUIRE SSL or \
                 X509), set '{SSL_MODE}' = 'REQUIRED', 'VERIFY_CA' or 'VERIFY_IDENTITY' (and TLS on the server)",
                self.describe_mode()
            )
        } else if self.client_cert.is_none() {
            format!(
                "; if the user must present a client certificate (REQUIRE X509, ISSUER or SUBJECT), set \
                 '{CLIENT_CERT}' and '{CLIENT_KEY}'"
            )
        } else {
            String::new()
        }
    }
}

/// Connector/J 8's mapping of its older switches onto sslMode; contradictions are refused, not
/// resolved by precedence.
fn legacy_mode(
    use_ssl: Option<bool>,
    require_ssl: Option<bool>,
    verify: Option<bool>,
    invalid: &dyn Fn(&str, String) -> BridgeError,
) -> Result<(String, SslMode)> {
    let shown: Vec<String> = [
        (USE_SSL, use_ssl),
        (REQUIRE_SSL, require_ssl),
        (VERIFY_SERVER_CERTIFICATE, verify),
    ]
    .iter()
    .filter_map(|(k, v)| v.map(|v| format!("'{k}' = '{v}'")))
    .collect();
    let mode = match (use_ssl, require_ssl, verify) {
        (Some(false), Some(true), _) | (Some(false), _, Some(true)) => {
            return Err(invalid(
                USE_SSL,
                format!("{} contradict each other: TLS cannot be both off and required; set '{SSL_MODE}' instead.", shown.join(" and ")),
            ))
        }
        (Some(false), _, _) => SslMode::Disabled,
        (_, _, Some(true)) => SslMode::VerifyCa,
        (_, Some(true), _) => SslMode::Required,
        _ => SslMode::Preferred,
    };
    Ok((shown.join(", "), mode))
}

/// The `jdbc.properties.*` keys besides the TLS ones: consumed and returned (to be ignored), or
/// refused when they look like a TLS setting this connector does not read.
fn other_jdbc_properties(
    options: &Options,
    invalid: &dyn Fn(&str, String) -> BridgeError,
) -> Result<Vec<String>> {
    const SUPPORTED: [&str; 4] = [SSL_MODE, USE_SSL, REQUIRE_SSL, VERIFY_SERVER_CERTIFICATE];
    let keys: Vec<String> = options
        .keys()
        .filter(|k| k.starts_with(JDBC_PREFIX) && !SUPPORTED.contains(k))
        .map(str::to_string)
        .collect();
    let mut ignored = Vec::new();
    for key in keys {
        options.get_str(&key); // consumed: known to the connector, whatever happens below
        let lower = key.to_ascii_lowercase();
        if let Some(known) = SUPPORTED.iter().find(|s| s.eq_ignore_ascii_case(&key)) {
            return Err(invalid(
                &key,
                format!("is not an option (names are case-sensitive): did you mean '{known}'?"),
            ));
        }
        if TLS_WORDS
            .iter()
            .any(|w| lower[JDBC_PREFIX.len()..].contains(w))
        {
            return Err(invalid(
                &key,
                format!(
                    "is a TLS setting this connector does not read, and ignoring it could weaken the connection. TLS \
                     is set by '{SSL_MODE}' (or '{USE_SSL}', '{REQUIRE_SSL}', '{VERIFY_SERVER_CERTIFICATE}') and the PEM \
                     files '{CA_CERT}', '{CLIENT_CERT}' and '{CLIENT_KEY}'. Java key stores are not read: export a \
                     trusted CA with 'keytool -exportcert -rfc -keystore STORE -alias ALIAS -file ca.pem', a client \
                     certificate and key with 'openssl pkcs12 -in STORE.p12 -clcerts -nokeys -out client.pem' and \
                     'openssl pkcs12 -in STORE.p12 -nocerts -nodes | openssl rsa -traditional -out client-key.pem'."
                ),
            ));
        }
        ignored.push(key);
    }
    Ok(ignored)
}

fn read(key: &str, path: &Path) -> std::result::Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| {
        format!(
            "cannot read '{key}' ({}): {e}; the file must exist and be readable where the job is submitted and on \
             every TaskManager",
            path.display()
        )
    })
}

/// The certificates of a PEM file: at least one, each a well-formed X.509 certificate.
fn read_certs(
    key: &str,
    path: &Path,
) -> std::result::Result<(Vec<u8>, Vec<CertificateDer<'static>>), String> {
    let bytes = read(key, path)?;
    let malformed = |why: String| {
        format!(
            "'{key}' ({}) is not a PEM certificate file: {why}",
            path.display()
        )
    };
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| malformed(format!("{e}")))?;
    if certs.is_empty() {
        return Err(malformed(
            "it has no '-----BEGIN CERTIFICATE-----' block".into(),
        ));
    }
    Ok((bytes, certs))
}

fn read_ca(path: &Path) -> std::result::Result<Vec<u8>, String> {
    let (bytes, certs) = read_certs(CA_CERT, path)?;
    let mut store = rustls::RootCertStore::empty();
    for cert in certs {
        store.add(cert).map_err(|e| {
            format!(
                "'{CA_CERT}' ({}) holds a certificate that cannot be a trusted CA: {e}",
                path.display()
            )
        })?;
    }
    Ok(bytes)
}

fn read_client_cert(path: &Path) -> std::result::Result<Vec<u8>, String> {
    read_certs(CLIENT_CERT, path).map(|(bytes, _)| bytes)
}

/// The client key must be an unencrypted PKCS#1 RSA key: the only kind mysql_async reads. The
/// error names the kind found and the conversion; it never shows the key.
fn read_client_key(path: &Path) -> std::result::Result<Vec<u8>, String> {
    let bytes = read(CLIENT_KEY, path)?;
    let convert = format!(
        "convert it with 'openssl rsa -in {0} -traditional -out {0}.rsa' (prompts for the passphrase of an \
         encrypted key) and point '{CLIENT_KEY}' to the result",
        path.display()
    );
    match PrivateKeyDer::from_pem_slice(&bytes) {
        Ok(PrivateKeyDer::Pkcs1(_)) => Ok(bytes),
        Ok(PrivateKeyDer::Pkcs8(_)) => Err(format!(
            "'{CLIENT_KEY}' ({}) is a PKCS#8 key ('BEGIN PRIVATE KEY'); the MySQL driver reads PKCS#1 RSA keys \
             ('BEGIN RSA PRIVATE KEY') only: {convert}",
            path.display()
        )),
        Ok(_) => Err(format!(
            "'{CLIENT_KEY}' ({}) is not an RSA key; the MySQL driver reads PKCS#1 RSA keys ('BEGIN RSA PRIVATE KEY') \
             only: issue the client certificate for an RSA key",
            path.display()
        )),
        // The PEM parser's message could quote the file: only the kind of problem is named.
        Err(_) => Err(format!(
            "'{CLIENT_KEY}' ({}) holds no unencrypted private key in PEM form; encrypted keys are not supported: \
             {convert}",
            path.display()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(pairs: &[(&str, &str)]) -> std::result::Result<TlsConfig, String> {
        let options = Options::new(
            "rust-mysql-cdc",
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        );
        let invalid = |key: &str, msg: String| {
            BridgeError::validation(format!("Invalid value for option '{key}': {msg}"))
        };
        TlsConfig::parse(&options, &invalid).map_err(|e| e.to_string())
    }

    fn mode(pairs: &[(&str, &str)]) -> SslMode {
        parse(pairs).unwrap().mode
    }

    #[test]
    fn the_default_is_preferred_and_a_ca_alone_means_verify_ca() {
        let c = parse(&[]).unwrap();
        assert_eq!(
            (c.mode, c.mode_source.as_str()),
            (SslMode::Preferred, "the default")
        );
        assert_eq!(mode(&[(CA_CERT, "/etc/ca.pem")]), SslMode::VerifyCa);
        assert_eq!(
            mode(&[(CA_CERT, "/etc/ca.pem"), (SSL_MODE, "verify_identity")]),
            SslMode::VerifyIdentity
        );
        assert_eq!(mode(&[(DEBEZIUM_SSL_MODE, "required")]), SslMode::Required);
    }

    #[test]
    fn legacy_connector_j_switches_map_as_connector_j_maps_them() {
        assert_eq!(mode(&[(USE_SSL, "false")]), SslMode::Disabled);
        assert_eq!(mode(&[(USE_SSL, "true")]), SslMode::Preferred);
        assert_eq!(
            mode(&[(USE_SSL, "true"), (REQUIRE_SSL, "true")]),
            SslMode::Required
        );
        assert_eq!(mode(&[(REQUIRE_SSL, "true")]), SslMode::Required);
        assert_eq!(
            mode(&[(USE_SSL, "true"), (VERIFY_SERVER_CERTIFICATE, "true")]),
            SslMode::VerifyCa
        );
        assert_eq!(
            mode(&[
                (USE_SSL, "true"),
                (REQUIRE_SSL, "true"),
                (SSL_MODE, "REQUIRED")
            ]),
            SslMode::Required
        );
        let e = parse(&[(USE_SSL, "false"), (REQUIRE_SSL, "true")]).unwrap_err();
        assert!(e.contains("contradict") && e.contains(SSL_MODE), "{e}");
    }

    #[test]
    fn mode_options_that_disagree_are_refused() {
        let e = parse(&[(SSL_MODE, "VERIFY_IDENTITY"), (USE_SSL, "false")]).unwrap_err();
        assert!(
            e.contains("disagree") && e.contains("VERIFY_IDENTITY") && e.contains("DISABLED"),
            "{e}"
        );
        let e = parse(&[(SSL_MODE, "REQUIRED"), (DEBEZIUM_SSL_MODE, "preferred")]).unwrap_err();
        assert!(e.contains("disagree"), "{e}");
        let e = parse(&[(SSL_MODE, "ON")]).unwrap_err();
        assert!(
            e.contains("'ON' is not one of") && e.contains("'VERIFY_IDENTITY'"),
            "{e}"
        );
    }

    #[test]
    fn a_ca_or_client_certificate_that_would_not_be_used_is_refused() {
        for m in ["DISABLED", "PREFERRED", "REQUIRED"] {
            let e = parse(&[(SSL_MODE, m), (CA_CERT, "/ca.pem")]).unwrap_err();
            assert!(
                e.contains(&format!("means {m}")) && e.contains("'VERIFY_CA' or 'VERIFY_IDENTITY'"),
                "{e}"
            );
        }
        let e = parse(&[(CLIENT_CERT, "/c.pem")]).unwrap_err();
        assert!(e.contains(&format!("needs '{CLIENT_KEY}'")), "{e}");
        let e = parse(&[(CLIENT_KEY, "/k.pem")]).unwrap_err();
        assert!(e.contains(&format!("needs '{CLIENT_CERT}'")), "{e}");
        let e = parse(&[
            (SSL_MODE, "DISABLED"),
            (CLIENT_CERT, "/c.pem"),
            (CLIENT_KEY, "/k.pem"),
        ])
        .unwrap_err();
        assert!(e.contains("disables TLS"), "{e}");
        let e = parse(&[(CA_CERT, " ")]).unwrap_err();
        assert!(e.contains("is empty"), "{e}");
    }

    #[test]
    fn unknown_jdbc_properties_are_ignored_unless_they_look_like_tls_settings() {
        let c = parse(&[
            ("jdbc.properties.useUnicode", "true"),
            ("jdbc.properties.connectTimeout", "5000"),
        ])
        .unwrap();
        assert_eq!(
            c.ignored_jdbc_properties,
            [
                "jdbc.properties.connectTimeout",
                "jdbc.properties.useUnicode"
            ]
        );
        // A typo must not silently leave the connection unencrypted.
        let e = parse(&[("jdbc.properties.sslMod", "REQUIRED")]).unwrap_err();
        assert!(
            e.contains("'jdbc.properties.sslMod'")
                && e.contains("TLS setting")
                && e.contains(SSL_MODE),
            "{e}"
        );
        let e = parse(&[("jdbc.properties.sslmode", "REQUIRED")]).unwrap_err();
        assert!(e.contains("did you mean 'jdbc.properties.sslMode'"), "{e}");
        // Key stores: refused with the conversion, and the password value never shown.
        let e = parse(&[
            (
                "jdbc.properties.trustCertificateKeyStoreUrl",
                "file:/ts.jks",
            ),
            (
                "jdbc.properties.trustCertificateKeyStorePassword",
                "store-secret",
            ),
        ])
        .unwrap_err();
        assert!(
            e.contains("keytool -exportcert") && !e.contains("store-secret"),
            "{e}"
        );
        for key in [
            "jdbc.properties.enabledTLSProtocols",
            "jdbc.properties.clientCertificateKeyStoreUrl",
        ] {
            assert!(
                parse(&[(key, "x")]).unwrap_err().contains("TLS setting"),
                "{key}"
            );
        }
    }

    #[test]
    fn ssl_opts_follow_the_mode() {
        assert!(parse(&[(SSL_MODE, "DISABLED")])
            .unwrap()
            .ssl_opts()
            .unwrap()
            .is_none());
        for m in ["PREFERRED", "REQUIRED"] {
            let o = parse(&[(SSL_MODE, m)])
                .unwrap()
                .ssl_opts()
                .unwrap()
                .expect("TLS");
            assert!(o.accept_invalid_certs(), "{m} does not verify");
        }
        let o = parse(&[(SSL_MODE, "VERIFY_CA")])
            .unwrap()
            .ssl_opts()
            .unwrap()
            .expect("TLS");
        assert!(
            !o.accept_invalid_certs() && o.skip_domain_validation() && !o.disable_built_in_roots()
        );
        let o = parse(&[(SSL_MODE, "VERIFY_IDENTITY")])
            .unwrap()
            .ssl_opts()
            .unwrap()
            .expect("TLS");
        assert!(!o.accept_invalid_certs() && !o.skip_domain_validation());
    }

    #[test]
    fn unreadable_or_malformed_pem_files_name_the_option_and_path_but_not_the_content() {
        let dir = std::env::temp_dir().join(format!("cdc-tls-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = |name: &str, content: &str| {
            let p = dir.join(name);
            std::fs::write(&p, content).unwrap();
            p.to_string_lossy().into_owned()
        };
        let opts =
            |pairs: &[(&str, &str)]| parse(pairs).unwrap().ssl_opts().map(|_| ()).unwrap_err();

        let missing = dir.join("missing.pem").to_string_lossy().into_owned();
        let e = opts(&[(CA_CERT, &missing)]);
        assert!(
            e.contains(&format!("cannot read '{CA_CERT}' ({missing})"))
                && e.contains("TaskManager"),
            "{e}"
        );
        let e = opts(&[(CA_CERT, &file("garbage.pem", "not a certificate"))]);
        assert!(
            e.contains("is not a PEM certificate file")
                && e.contains("no '-----BEGIN CERTIFICATE-----'"),
            "{e}"
        );
        let broken = file(
            "broken.pem",
            "-----BEGIN CERTIFICATE-----\nAAAA!!\n-----END CERTIFICATE-----\n",
        );
        assert!(opts(&[(CA_CERT, &broken)]).contains("is not a PEM certificate file"));
        let bad_der = file(
            "bad-der.pem",
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        );
        let e = opts(&[(CA_CERT, &bad_der)]);
        assert!(e.contains("cannot be a trusted CA"), "{e}");

        // Key files: the kind and the conversion, never the key itself.
        let secret = "c2VjcmV0LWtleS1tYXRlcmlhbA";
        let pkcs8 = file(
            "k8.pem",
            &format!("-----BEGIN PRIVATE KEY-----\n{secret}\n-----END PRIVATE KEY-----\n"),
        );
        let cert = broken.clone();
        let key_error = |key: &str| {
            let c = parse(&[(CLIENT_CERT, &cert), (CLIENT_KEY, key)]).unwrap();
            read_client_key(c.client_key.as_deref().unwrap()).unwrap_err()
        };
        let e = key_error(&pkcs8);
        assert!(
            e.contains("PKCS#8") && e.contains("openssl rsa -in") && !e.contains(secret),
            "{e}"
        );
        let encrypted = file(
            "enc.pem",
            &format!("-----BEGIN ENCRYPTED PRIVATE KEY-----\n{secret}\n-----END ENCRYPTED PRIVATE KEY-----\n"),
        );
        let e = key_error(&encrypted);
        assert!(
            e.contains("encrypted keys are not supported") && !e.contains(secret),
            "{e}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
