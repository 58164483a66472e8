//! Every connector's page, `docs/connectors/<identifier>.md`, has an options table under its
//! `## Options` heading, and that table must say what the code does: the options the connector
//! declares (`SourceFactory::options`), with the same default, type and meaning. The declared list
//! is what the code goes by: literal defaults are read from it, and reading an undeclared key
//! fails source creation (`Options::ensure_reads_declared`). Rows for `connector` and
//! `scan.parallelism` may appear and are not compared.
//!
//! The options every connector has (`FRAMEWORK_KEYS`: the rate limits rust-core enforces, and
//! those Java applies) are documented once, on `docs/common-options.md`, whose table must match
//! `rust_core::rate_limit::OPTIONS` in the same way. Connector pages link there instead of
//! repeating them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rust_core::options::{OptionDefault, OptionSpec, FRAMEWORK_KEYS};

const HEADER: &str = "| option | default | type | meaning |";
const COMMON_PAGE: &str = "common-options.md";

fn docs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/connectors")
}

/// Problems of a connector page with the common options: repeated instead of linked.
fn common_option_problems(page: &str) -> Vec<String> {
    let mut problems = Vec::new();
    if let Ok(rows) = documented_options(page) {
        for spec in rust_core::rate_limit::OPTIONS {
            if rows.contains_key(spec.key) {
                problems.push(format!(
                    "'{}' is a common option: document it only in docs/{COMMON_PAGE}",
                    spec.key
                ));
            }
        }
    }
    if !page.contains(&format!("../{COMMON_PAGE}")) {
        problems.push(format!(
            "no link to the common options (../{COMMON_PAGE}) that every connector has"
        ));
    }
    problems
}

#[test]
fn the_common_options_page_documents_exactly_the_options_every_connector_has() {
    let path = docs_dir().join("..").join(COMMON_PAGE);
    let page = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("docs/{COMMON_PAGE}: {e}"));
    let mut problems = differences(&page, rust_core::rate_limit::OPTIONS);
    let documented = documented_options(&page).unwrap_or_default();
    for key in FRAMEWORK_KEYS {
        if !documented.contains_key(*key) {
            problems.push(format!(
                "'{key}' applies to every connector but is not documented"
            ));
        }
    }
    let table: Vec<String> = rust_core::rate_limit::OPTIONS.iter().map(render).collect();
    assert!(
        problems.is_empty(),
        "docs/{COMMON_PAGE} disagrees with rust_core::rate_limit::OPTIONS:\n  - {}\nThe rows the code declares:\n{}",
        problems.join("\n  - "),
        table.join("\n")
    );
}

/// The table row the page should have for an option.
fn render(option: &OptionSpec) -> String {
    let default = match option.default {
        OptionDefault::Value(v) => format!("`{v}`"),
        OptionDefault::Text(t) => t.to_string(),
    };
    format!(
        "| `{}` | {default} | {} | {} |",
        option.key, option.type_name, option.description
    )
}

/// The cells of one table row, trimmed.
fn cells(row: &str) -> Vec<String> {
    let inner = row.trim().trim_start_matches('|').trim_end_matches('|');
    inner.split('|').map(|c| c.trim().to_string()).collect()
}

/// The rows of the first table after `## Options`, by option name (backticks stripped).
fn documented_options(page: &str) -> Result<BTreeMap<String, Vec<String>>, String> {
    let mut lines = page
        .lines()
        .skip_while(|l| l.trim() != "## Options")
        .skip(1);
    let header = lines
        .find(|l| l.trim_start().starts_with('|'))
        .ok_or("no table under '## Options'")?;
    if cells(header) != cells(HEADER) {
        return Err(format!(
            "the options table's header is '{header}', expected '{HEADER}'"
        ));
    }
    let mut rows = BTreeMap::new();
    for line in lines
        .skip(1)
        .take_while(|l| l.trim_start().starts_with('|'))
    {
        let row = cells(line);
        if row.len() != 4 {
            return Err(format!("row '{line}' has {} cells, expected 4", row.len()));
        }
        let key = row[0].trim_matches('`').to_string();
        if rows.insert(key.clone(), row).is_some() {
            return Err(format!("option '{key}' is documented twice"));
        }
    }
    Ok(rows)
}

/// What differs between the page and the declared options; empty when they agree.
fn differences(page: &str, declared: &[OptionSpec]) -> Vec<String> {
    let documented = match documented_options(page) {
        Ok(rows) => rows,
        Err(e) => return vec![e],
    };
    let mut problems = Vec::new();
    for option in declared {
        let expected = cells(&render(option));
        match documented.get(option.key) {
            None => problems.push(format!(
                "'{}' is accepted by the connector but not documented",
                option.key
            )),
            Some(row) => {
                for (i, what) in [(1, "default"), (2, "type"), (3, "meaning")] {
                    if row[i] != expected[i] {
                        problems.push(format!(
                            "'{}': the documented {what} is '{}', the code's is '{}'",
                            option.key, row[i], expected[i]
                        ));
                    }
                }
            }
        }
    }
    for key in documented.keys() {
        if !FRAMEWORK_KEYS.contains(&key.as_str()) && !declared.iter().any(|o| o.key == key) {
            problems.push(format!(
                "'{key}' is documented but the connector does not accept it"
            ));
        }
    }
    problems
}

#[test]
fn every_connector_page_documents_exactly_the_declared_options() {
    let factories = crate::factories();
    let mut failures = Vec::new();
    for factory in &factories {
        let page_name = format!("docs/connectors/{}.md", factory.identifier());
        let path = docs_dir().join(format!("{}.md", factory.identifier()));
        let page = match std::fs::read_to_string(&path) {
            Ok(page) => page,
            Err(e) => {
                failures.push(format!(
                    "{page_name}: {e}; every connector needs a page with an options table"
                ));
                continue;
            }
        };
        for option in factory.options() {
            assert_eq!(
                render(option).matches('|').count(),
                5,
                "'{}': a '|' inside a cell",
                option.key
            );
        }
        let mut problems = differences(&page, factory.options());
        problems.extend(common_option_problems(&page));
        if !problems.is_empty() {
            let table: Vec<String> = factory.options().iter().map(render).collect();
            failures.push(format!(
                "{page_name} disagrees with {}::options():\n  - {}\nThe rows the code declares:\n{HEADER}\n|---|---|---|---|\n{}",
                factory.identifier(),
                problems.join("\n  - "),
                table.join("\n")
            ));
        }
    }
    // And no page for a connector the library does not serve.
    for entry in std::fs::read_dir(docs_dir()).expect("docs/connectors") {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if let Some(id) = name.strip_suffix(".md") {
            if !factories.iter().any(|f| f.identifier() == id) {
                failures.push(format!(
                    "docs/connectors/{name} documents '{id}', which the library does not serve"
                ));
            }
        }
    }
    assert!(failures.is_empty(), "\n{}\n", failures.join("\n\n"));
}

/// The check itself: each kind of disagreement is reported.
#[test]
fn disagreements_are_reported() {
    const A: OptionSpec = OptionSpec {
        key: "a",
        type_name: "Long",
        default: OptionDefault::Value("1"),
        description: "the a",
    };
    const B: OptionSpec = OptionSpec {
        key: "fields.#.b",
        type_name: "String",
        default: OptionDefault::Text("(required)"),
        description: "the b",
    };
    let page = |rows: &str| {
        format!("# x\n\n## Options\n\n{HEADER}\n|---|---|---|---|\n{rows}\n\n## Next\n")
    };
    let good = format!(
        "| `connector` | (required) | String | `x` |\n{}\n{}",
        render(&A),
        render(&B)
    );
    assert_eq!(differences(&page(&good), &[A, B]), Vec::<String>::new());

    let missing = differences(&page(&render(&A)), &[A, B]);
    assert_eq!(
        missing,
        vec!["'fields.#.b' is accepted by the connector but not documented"]
    );
    let extra = differences(
        &page(&format!("{good}\n| `c` | `2` | Long | the c |")),
        &[A, B],
    );
    assert_eq!(
        extra,
        vec!["'c' is documented but the connector does not accept it"]
    );
    let other_default = differences(
        &page(&format!("| `a` | `2` | Long | the a |\n{}", render(&B))),
        &[A, B],
    );
    assert_eq!(
        other_default,
        vec!["'a': the documented default is '`2`', the code's is '`1`'"]
    );
    assert_eq!(
        differences("# x\n", &[A]),
        vec!["no table under '## Options'"]
    );

    let repeated = format!("{good}\n| `scan.rate-limit.rows-per-second` | unlimited | Long | x |");
    let problems = common_option_problems(&page(&repeated));
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(
        problems[0].contains("'scan.rate-limit.rows-per-second' is a common option"),
        "{problems:?}"
    );
    assert!(problems[1].contains("no link"), "{problems:?}");
    assert!(common_option_problems(&page(&format!(
        "{good}\n\nSee [common options](../{COMMON_PAGE}).\n"
    )))
    .is_empty());
}
