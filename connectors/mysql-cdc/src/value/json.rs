//! MySQL's binary JSON (in row events) written as the text MySQL returns for the same value.

use mysql_async::binlog::jsonb;

use super::decimal::normalize_decimal;

/// Writes MySQL's text form of a binary JSON value, as `SELECT json_col` returns it: `", "` and
/// `": "` separators, object keys in stored order (MySQL sorts them by length, then bytes),
/// strings with MySQL's escapes. Doubles use Rust's shortest round-trip form, which matches
/// MySQL for ordinary values (`1.5`, `1e20`) but may differ in exponent formatting of extreme ones.
/// MariaDB stores JSON as LONGTEXT, so this is only reached with MySQL. `compact`: `","` and `":"`
/// instead (Debezium's form, Flink CDC's `use.legacy.json.format` = true).
pub(super) fn write_jsonb(
    value: &jsonb::Value<'_>,
    out: &mut Vec<u8>,
    compact: bool,
) -> std::io::Result<()> {
    use jsonb::Value as J;
    match value {
        J::Null => out.extend_from_slice(b"null"),
        J::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        J::I16(v) => push_display(out, v),
        J::U16(v) => push_display(out, v),
        J::I32(v) => push_display(out, v),
        J::U32(v) => push_display(out, v),
        J::I64(v) => push_display(out, v),
        J::U64(v) => push_display(out, v),
        J::F64(v) => push_double(out, *v),
        J::String(s) => write_json_string(s.str_raw(), out),
        J::SmallArray(a) => write_array(a.iter(), out, compact)?,
        J::LargeArray(a) => write_array(a.iter(), out, compact)?,
        J::SmallObject(o) => write_object(o.iter(), out, compact)?,
        J::LargeObject(o) => write_object(o.iter(), out, compact)?,
        J::Opaque(_) => {
            use jsonb::{JsonDom, JsonNumber, JsonScalar};
            match value.clone().parse()? {
                JsonDom::Scalar(JsonScalar::Number(JsonNumber::Decimal(d))) => {
                    let text = normalize_json_decimal(d.to_string());
                    out.extend_from_slice(text.as_bytes())
                }
                // MySQL prints temporal JSON scalars with six fraction digits.
                JsonDom::Scalar(JsonScalar::DateTime(t)) => {
                    write_json_string(format!("{t:.6}").as_bytes(), out)
                }
                JsonDom::Scalar(JsonScalar::Opaque(o)) => {
                    write_json_string(o.to_string().as_bytes(), out)
                }
                other => {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        format!("unexpected opaque JSON value {other:?}"),
                    ))
                }
            }
        }
    }
    Ok(())
}

/// mysql_common's decimal text can carry leading zeros of whole 9-digit groups.
fn normalize_json_decimal(text: String) -> String {
    let scale = text.split_once('.').map_or(0, |(_, f)| f.len()) as u32;
    match normalize_decimal(text.clone().into_bytes(), scale) {
        Ok(b) => String::from_utf8(b).unwrap_or(text),
        Err(_) => text,
    }
}

fn write_array<'a>(
    items: impl Iterator<Item = std::io::Result<jsonb::Value<'a>>>,
    out: &mut Vec<u8>,
    compact: bool,
) -> std::io::Result<()> {
    out.push(b'[');
    for (i, item) in items.enumerate() {
        if i > 0 {
            out.extend_from_slice(if compact { b"," } else { b", " });
        }
        write_jsonb(&item?, out, compact)?;
    }
    out.push(b']');
    Ok(())
}

fn write_object<'a>(
    entries: impl Iterator<Item = std::io::Result<(jsonb::ObjectKey<'a>, jsonb::Value<'a>)>>,
    out: &mut Vec<u8>,
    compact: bool,
) -> std::io::Result<()> {
    out.push(b'{');
    for (i, entry) in entries.enumerate() {
        let (key, value) = entry?;
        if i > 0 {
            out.extend_from_slice(if compact { b"," } else { b", " });
        }
        write_json_string(key.value_raw(), out);
        out.extend_from_slice(if compact { b":" } else { b": " });
        write_jsonb(&value, out, compact)?;
    }
    out.push(b'}');
    Ok(())
}

fn write_json_string(s: &[u8], out: &mut Vec<u8>) {
    out.push(b'"');
    for &c in s {
        match c {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            c if c < 0x20 => {
                let _ = write_bytes(out, format_args!("\\u{:04x}", c));
            }
            c => out.push(c),
        }
    }
    out.push(b'"');
}

fn push_display(out: &mut Vec<u8>, v: impl std::fmt::Display) {
    let _ = write_bytes(out, format_args!("{v}"));
}

fn push_double(out: &mut Vec<u8>, v: f64) {
    // `{:?}` is the shortest round-trip form and keeps a `.0` on integral values, as MySQL does.
    let _ = write_bytes(out, format_args!("{v:?}"));
}

fn write_bytes(out: &mut Vec<u8>, args: std::fmt::Arguments<'_>) -> std::io::Result<()> {
    std::io::Write::write_fmt(out, args)
}

#[cfg(test)]
mod tests {
    use super::*;
    use mysql_common::io::ParseBuf;

    /// `use.legacy.json.format`: MySQL's binary JSON `{"a": 1, "b": [true, "x"]}` printed with
    /// MySQL's separators, or compactly as Debezium (Flink CDC's default) prints it.
    #[test]
    fn jsonb_objects_and_arrays_print_as_mysql_or_compact() {
        #[rustfmt::skip]
        let bytes: &[u8] = &[
            0x00, 2, 0, 32, 0,            // small object: 2 members, 32 bytes
            18, 0, 1, 0, 19, 0, 1, 0,     // keys at 18 and 19, one byte each
            0x05, 1, 0, 0x02, 20, 0,      // "a": int16 1 (inlined); "b": small array at 20
            b'a', b'b',
            2, 0, 12, 0,                  // the array: 2 items, 12 bytes
            0x04, 1, 0, 0x0c, 10, 0,      // true (inlined); a string at 10
            1, b'x',
        ];
        let print = |compact: bool| {
            let value: jsonb::Value<'_> = ParseBuf(bytes).parse(()).unwrap();
            let mut out = Vec::new();
            write_jsonb(&value, &mut out, compact).unwrap();
            String::from_utf8(out).unwrap()
        };
        assert_eq!(print(false), r#"{"a": 1, "b": [true, "x"]}"#);
        assert_eq!(print(true), r#"{"a":1,"b":[true,"x"]}"#);
    }

    #[test]
    fn jsonb_text_matches_mysql_formatting() {
        let mut out = Vec::new();
        write_json_string("a\"b\\c\n\u{1}é".as_bytes(), &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "\"a\\\"b\\\\c\\n\\u0001é\""
        );
        let mut out = Vec::new();
        push_double(&mut out, 1.0);
        out.push(b' ');
        push_double(&mut out, 1.5e300);
        assert_eq!(String::from_utf8(out).unwrap(), "1.0 1.5e300");
    }
}
