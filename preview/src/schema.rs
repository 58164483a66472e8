//! `--schema`: the columns to read, written as in `CREATE TABLE`
//! (`id BIGINT NOT NULL, price DECIMAL(10, 2), op_ts TIMESTAMP_LTZ(3) METADATA FROM 'op_ts'`).
//!
//! Each column becomes what the Java side sends rust-core for a table: its name and its type as
//! text, parsed by the same [`RowType::parse`] (`LogicalType#asSerializableString()` form).
//! Metadata columns are sent as Java sends them: after the physical columns, named
//! `__metadata.<key>` ([`METADATA_PREFIX`]); the preview shows them under their declared names.

use rust_core::types::{RowType, METADATA_PREFIX};
use rust_core::{BridgeError, Result};

/// The parsed `--schema`: the row type the connector is created with, and the name each of its
/// columns is shown under.
#[derive(Debug)]
pub struct Schema {
    pub row_type: RowType,
    pub display_names: Vec<String>,
}

/// Parses a `--schema` value; errors are validation errors (exit code 2).
pub fn parse(text: &str) -> Result<Schema> {
    let mut physical: Vec<(String, String, String)> = Vec::new();
    let mut metadata: Vec<(String, String, String)> = Vec::new();
    for part in split_top_level(text)? {
        let part = part.trim();
        if part.is_empty() {
            return Err(BridgeError::validation(format!(
                "--schema '{text}': an empty column (two commas in a row?)"
            )));
        }
        let (name, rest) = column_name(part)?;
        let (ty, metadata_key) = metadata_clause(rest, &name)?;
        if ty.is_empty() {
            return Err(BridgeError::validation(format!(
                "--schema: column '{name}' has no type"
            )));
        }
        if name.starts_with(METADATA_PREFIX) {
            return Err(BridgeError::validation(format!(
                "Column name '{name}' is reserved: names starting with '{METADATA_PREFIX}' denote metadata columns; rename the column."
            )));
        }
        if physical.iter().chain(&metadata).any(|(n, _, _)| *n == name) {
            return Err(BridgeError::validation(format!(
                "--schema: column '{name}' is declared twice"
            )));
        }
        match metadata_key {
            None => physical.push((name.clone(), name, ty)),
            Some(key) => {
                if metadata
                    .iter()
                    .any(|(_, field, _)| *field == format!("{METADATA_PREFIX}{key}"))
                {
                    return Err(BridgeError::validation(format!(
                        "--schema: metadata key '{key}' is read twice"
                    )));
                }
                metadata.push((name, format!("{METADATA_PREFIX}{key}"), ty))
            }
        }
    }
    if physical.is_empty() && metadata.is_empty() {
        return Err(BridgeError::validation("--schema names no columns"));
    }
    let columns: Vec<_> = physical.into_iter().chain(metadata).collect();
    let fields: Vec<&str> = columns.iter().map(|(_, field, _)| field.as_str()).collect();
    let types: Vec<&str> = columns.iter().map(|(_, _, ty)| ty.as_str()).collect();
    let row_type = RowType::parse(&fields, &types)?;
    Ok(Schema {
        row_type,
        display_names: columns.into_iter().map(|(name, _, _)| name).collect(),
    })
}

/// Splits at commas outside parentheses and quotes (`DECIMAL(10, 2)` stays whole).
fn split_top_level(text: &str) -> Result<Vec<&str>> {
    let mut parts = Vec::new();
    let (mut depth, mut quote, mut start) = (0i32, None::<char>, 0);
    for (i, c) in text.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '`' | '"') => quote = Some(c),
            (None, '(') => depth += 1,
            (None, ')') => depth -= 1,
            (None, ',') if depth == 0 => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
        if depth < 0 {
            return Err(BridgeError::validation(format!(
                "--schema '{text}': unbalanced ')'"
            )));
        }
    }
    if depth != 0 || quote.is_some() {
        return Err(BridgeError::validation(format!(
            "--schema '{text}': unbalanced parenthesis or quote"
        )));
    }
    parts.push(&text[start..]);
    Ok(parts)
}

/// The column name (plain or in backticks) and the text after it.
fn column_name(part: &str) -> Result<(String, &str)> {
    if let Some(rest) = part.strip_prefix('`') {
        let end = rest.find('`').ok_or_else(|| {
            BridgeError::validation(format!("--schema: unclosed '`' in '{part}'"))
        })?;
        return Ok((rest[..end].to_string(), rest[end + 1..].trim()));
    }
    let end = part.find(char::is_whitespace).unwrap_or(part.len());
    Ok((part[..end].to_string(), part[end..].trim()))
}

/// Splits `TYPE [METADATA [FROM 'key'] [VIRTUAL]]` into the type and the metadata key.
fn metadata_clause(rest: &str, name: &str) -> Result<(String, Option<String>)> {
    let words: Vec<&str> = rest.split_whitespace().collect();
    let Some(at) = words
        .iter()
        .position(|w| w.eq_ignore_ascii_case("METADATA"))
    else {
        return Ok((rest.to_string(), None));
    };
    let ty = words[..at].join(" ");
    let mut tail = &words[at + 1..];
    if tail
        .last()
        .is_some_and(|w| w.eq_ignore_ascii_case("VIRTUAL"))
    {
        tail = &tail[..tail.len() - 1];
    }
    let key = match tail {
        [] => name.to_string(),
        [from, key] if from.eq_ignore_ascii_case("FROM") => key.trim_matches('\'').to_string(),
        _ => {
            return Err(BridgeError::validation(format!(
                "--schema: column '{name}': expected TYPE METADATA [FROM 'key'] [VIRTUAL], got '{rest}'"
            )))
        }
    };
    Ok((ty, Some(key)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_core::types::FlinkType;

    #[test]
    fn columns_parse_as_the_java_side_sends_them() {
        let s = parse("id BIGINT NOT NULL, price DECIMAL(10, 2), `the name` STRING, ts TIMESTAMP(3) WITH LOCAL TIME ZONE")
            .unwrap();
        let expected = RowType::parse(
            &["id", "price", "the name", "ts"],
            &[
                "BIGINT NOT NULL",
                "DECIMAL(10, 2)",
                "STRING",
                "TIMESTAMP(3) WITH LOCAL TIME ZONE",
            ],
        )
        .unwrap();
        assert_eq!(s.row_type, expected);
        assert_eq!(s.display_names, ["id", "price", "the name", "ts"]);
    }

    #[test]
    fn metadata_columns_go_last_under_their_key() {
        let s = parse("kind STRING NOT NULL METADATA FROM 'row_kind' VIRTUAL, id BIGINT, op_ts TIMESTAMP_LTZ(3) METADATA")
            .unwrap();
        let fields: Vec<&str> = s.row_type.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(fields, ["id", "__metadata.row_kind", "__metadata.op_ts"]);
        assert_eq!(s.display_names, ["id", "kind", "op_ts"]);
        assert_eq!(
            s.row_type.columns[1].ty,
            FlinkType::VarChar {
                length: rust_core::types::MAX_LENGTH
            }
        );
        assert!(!s.row_type.columns[1].nullable);
    }

    #[test]
    fn mistakes_are_validation_errors_naming_the_column() {
        for (schema, expected) in [
            ("id", "column 'id' has no type"),
            ("id BIGINT,, v INT", "an empty column"),
            ("id DECIMAL(10, 2", "unbalanced"),
            (
                "id ARRAY<INT>",
                "column 'id': unsupported column type 'ARRAY<INT>'",
            ),
            ("id INT, id BIGINT", "declared twice"),
            ("k STRING METADATA FROM", "expected TYPE METADATA"),
        ] {
            let e = parse(schema).unwrap_err();
            assert!(e.is_validation(), "{schema}: {e}");
            assert!(e.to_string().contains(expected), "{schema}: {e}");
        }
    }
}
