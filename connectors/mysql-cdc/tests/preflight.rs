//! The checks a source runs at submission (`preflight`) against real servers: binlog settings
//! on a private MariaDB of this test process (the shared one must keep its ROW binlog for the
//! tests running beside), missing privileges on the shared one with users made for the test.
//! Each error must name the cause and the fix.

mod support;

use mysql_async::prelude::Queryable;

use support::{block, server, PrivateServer};

/// Preflight of a source reading `db`.`t` (columns id, v) at `port` as `user`: the error, if any.
fn preflight(port: u16, user: &str, password: &str, db: &str, mode: &str) -> Result<(), String> {
    let port = port.to_string();
    let options = [
        ("hostname", "127.0.0.1"),
        ("port", port.as_str()),
        ("username", user),
        ("password", password),
        ("database-name", db),
        ("table-name", "t"),
        ("server-id", "6990-6991"),
        ("scan.startup.mode", mode),
        ("connect.max-retries", "1"),
    ];
    let source = support::id_v_source(&options).map_err(|e| e.to_string())?;
    source.preflight().map_err(support::validation_message)
}

const SCHEMA: &[&str] = &[
    "CREATE DATABASE shop",
    "CREATE TABLE shop.t (id BIGINT PRIMARY KEY, v VARCHAR(10))",
];

#[test]
fn binlog_disabled_statement_format_and_minimal_images_fail_preflight_with_the_fix() {
    // log_bin needs a restart: the first start has none, the second (same data) has the usual ROW binlog.
    let private = PrivateServer::start("preflight", "skip-log-bin");
    let (user, password) = ("flinkcdc", "flinkcdc-pw"); // made by scripts/mariadb.sh
    block(async {
        let mut root = private.root_conn().await;
        for statement in SCHEMA {
            root.query_drop(*statement).await.unwrap();
        }
        root.disconnect().await.unwrap();
    });
    // Bounded snapshots too: their chunks are read between binlog watermarks.
    for mode in ["initial", "snapshot", "latest-offset"] {
        let e = preflight(private.port, user, password, "shop", mode).unwrap_err();
        assert!(
            e.contains("binary log is disabled (log_bin=OFF)")
                && e.contains("set log_bin, binlog_format=ROW and binlog_row_image=FULL in the server configuration"),
            "{mode}: {e}"
        );
    }

    private.restart("");
    assert_eq!(
        preflight(private.port, user, password, "shop", "initial"),
        Ok(()),
        "a ROW binlog with full images"
    );
    // Both are dynamic globals: new sessions (the preflight's) see them at once.
    let set_global = |statement: &str| {
        block(async {
            let mut root = private.root_conn().await;
            root.query_drop(statement).await.unwrap();
            root.disconnect().await.unwrap();
        })
    };
    for format in ["STATEMENT", "MIXED"] {
        set_global(&format!("SET GLOBAL binlog_format = '{format}'"));
        let e = preflight(private.port, user, password, "shop", "initial").unwrap_err();
        assert!(
            e.contains(&format!("binlog_format is {format}, not ROW"))
                && e.contains("binlog_format=ROW"),
            "{e}"
        );
    }
    set_global("SET GLOBAL binlog_format = 'ROW'");
    for image in ["MINIMAL", "NOBLOB"] {
        set_global(&format!("SET GLOBAL binlog_row_image = '{image}'"));
        let e = preflight(private.port, user, password, "shop", "snapshot").unwrap_err();
        assert!(
            e.contains(&format!("binlog_row_image is {image}, not FULL"))
                && e.contains("binlog_row_image=FULL"),
            "{e}"
        );
    }
    set_global("SET GLOBAL binlog_row_image = 'FULL'");
    assert_eq!(
        preflight(private.port, user, password, "shop", "initial"),
        Ok(()),
        "settings restored"
    );
}

/// Users of one test on the shared server, dropped (with the test's database) at the end.
struct Users {
    db: String,
    names: Vec<String>,
}

impl Users {
    fn root(&self, statements: &[String]) {
        let socket = server().root_socket.clone();
        block(async {
            let opts = mysql_async::OptsBuilder::default()
                .socket(Some(socket))
                .user(Some("root"));
            let mut root = mysql_async::Conn::new(opts).await.unwrap();
            for s in statements {
                root.query_drop(s)
                    .await
                    .unwrap_or_else(|e| panic!("{s}: {e}"));
            }
            root.disconnect().await.unwrap();
        })
    }

    /// A user `<prefix>_<pid>` with `grants` (each "PRIVILEGES ON object").
    fn create(&mut self, prefix: &str, grants: &[&str]) -> String {
        let name = format!("{prefix}_{}", std::process::id());
        let mut statements = vec![
            format!("DROP USER IF EXISTS '{name}'@'127.0.0.1'"),
            format!("CREATE USER '{name}'@'127.0.0.1' IDENTIFIED BY 'pw'"),
        ];
        statements.extend(
            grants
                .iter()
                .map(|g| format!("GRANT {g} TO '{name}'@'127.0.0.1'")),
        );
        self.root(&statements);
        self.names.push(name.clone());
        name
    }
}

impl Drop for Users {
    fn drop(&mut self) {
        let mut statements: Vec<String> = self
            .names
            .iter()
            .map(|n| format!("DROP USER IF EXISTS '{n}'@'127.0.0.1'"))
            .collect();
        statements.push(format!("DROP DATABASE IF EXISTS `{}`", self.db));
        self.root(&statements);
    }
}

#[test]
fn users_without_replication_slave_or_select_fail_preflight_naming_the_privilege() {
    let port = server().port;
    let db = format!("cdct_privs_{}", std::process::id());
    let mut users = Users {
        db: db.clone(),
        names: Vec::new(),
    };
    users.root(&[
        format!("DROP DATABASE IF EXISTS `{db}`"),
        format!("CREATE DATABASE `{db}`"),
        format!("CREATE TABLE `{db}`.t (id BIGINT PRIMARY KEY, v VARCHAR(10))"),
    ]);

    // Everything but REPLICATION SLAVE; REPLICATION SLAVE ADMIN (managing replicas, a different
    // privilege on MariaDB) must not pass for it.
    let no_replication = users.create(
        "cdct_norepl",
        &["SELECT, RELOAD, SHOW DATABASES, REPLICATION CLIENT, REPLICATION SLAVE ADMIN ON *.*"],
    );
    let e = preflight(port, &no_replication, "pw", &db, "initial").unwrap_err();
    assert!(
        e.contains("lacks the REPLICATION SLAVE privilege")
            && e.contains("GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO the user"),
        "{e}"
    );

    // The binlog privileges, and on the table only INSERT: it is visible, not readable.
    let no_select = users.create(
        "cdct_nosel",
        &[
            "RELOAD, REPLICATION SLAVE, REPLICATION CLIENT ON *.*",
            &format!("INSERT ON `{db}`.t"),
        ],
    );
    let e = preflight(port, &no_select, "pw", &db, "initial").unwrap_err();
    assert!(
        e.contains(&format!("may not run SELECT on {db}.t")) && e.contains("grant it SELECT"),
        "{e}"
    );

    // No privilege on the table at all: the server hides it, so no table matches.
    let nothing = users.create(
        "cdct_notbl",
        &["RELOAD, REPLICATION SLAVE, REPLICATION CLIENT ON *.*"],
    );
    let e = preflight(port, &nothing, "pw", &db, "initial").unwrap_err();
    assert!(
        e.contains("no table matches") && e.contains("the user needs SELECT on the tables"),
        "{e}"
    );

    // The control: the same user with SELECT passes.
    users.root(&[format!(
        "GRANT SELECT ON `{db}`.t TO '{no_select}'@'127.0.0.1'"
    )]);
    assert_eq!(preflight(port, &no_select, "pw", &db, "initial"), Ok(()));
}

/// The privileges the connector page tells users to grant, and no more: `SELECT` on the captured
/// database and `REPLICATION SLAVE, REPLICATION CLIENT` on `*.*` (no RELOAD, no SHOW DATABASES)
/// pass the checks, read the snapshot and then the binlog.
#[test]
fn a_user_with_only_the_documented_privileges_reads_the_snapshot_and_then_the_binlog() {
    use std::collections::BTreeMap;
    use support::changelog::Materialized;
    let port = server().port;
    let db = format!("cdct_minprivs_{}", std::process::id());
    let mut users = Users {
        db: db.clone(),
        names: Vec::new(),
    };
    users.root(&[
        format!("DROP DATABASE IF EXISTS `{db}`"),
        format!("CREATE DATABASE `{db}`"),
        format!("CREATE TABLE `{db}`.t (id BIGINT PRIMARY KEY, v VARCHAR(10))"),
        format!("INSERT INTO `{db}`.t VALUES (1, 'a'), (2, 'b'), (3, 'c')"),
    ]);
    let user = users.create(
        "cdct_min",
        &[
            "REPLICATION SLAVE, REPLICATION CLIENT ON *.*",
            &format!("SELECT ON `{db}`.*"),
        ],
    );
    assert_eq!(preflight(port, &user, "pw", &db, "initial"), Ok(()));

    let port_text = port.to_string();
    let source = support::id_v_source(&[
        ("hostname", "127.0.0.1"),
        ("port", &port_text),
        ("username", &user),
        ("password", "pw"),
        ("database-name", &db),
        ("table-name", "t"),
        ("server-id", "6992-6993"),
        ("scan.incremental.snapshot.handover", "immediate"),
    ])
    .unwrap();
    let mut h = rust_core::testing::Harness::new(source.as_ref(), 2, 64).unwrap();
    let mut view = Materialized::default();
    let timeout = std::time::Duration::from_secs(60);
    let expected = |rows: &[(i64, &str)]| {
        rows.iter()
            .map(|(k, v)| (*k, v.to_string()))
            .collect::<BTreeMap<_, _>>()
    };
    view.catch_up(
        &mut h,
        &expected(&[(1, "a"), (2, "b"), (3, "c")]),
        timeout,
        "the snapshot",
    );
    users.root(&[
        format!("UPDATE `{db}`.t SET v = 'changed' WHERE id = 2"),
        format!("DELETE FROM `{db}`.t WHERE id = 3"),
        format!("INSERT INTO `{db}`.t VALUES (4, 'd')"),
    ]);
    view.catch_up(
        &mut h,
        &expected(&[(1, "a"), (2, "changed"), (4, "d")]),
        timeout,
        "the binlog",
    );
    h.close().unwrap();
}
