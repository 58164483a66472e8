//! A canonical value that borrows its bytes from where they were decoded.
//!
//! The snapshot reads millions of rows whose strings and DECIMALs arrive as mysql_async
//! `Value::Bytes`. Normalizing them by reference (a CHAR's trailing spaces are a shorter slice, a
//! canonical DECIMAL is the received text) lets the batch builder append them without building a
//! row of owned canonical [`Value`]s first. Only values that normalization must rewrite (a
//! BINARY(n) to pad, a non-canonical DECIMAL, BIT) own their bytes.

use std::borrow::Cow;

use mysql_async::Value;

/// A value in the canonical form of the module documentation of [`super`], as
/// [`Value`] has it, with `Bytes` borrowed when they need no change.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum ValueRef<'a> {
    Null,
    Int(i64),
    UInt(u64),
    Float(f32),
    Double(f64),
    Bytes(Cow<'a, [u8]>),
    Date(u16, u8, u8, u8, u8, u8, u32),
    Time(bool, u32, u8, u8, u8, u32),
}

impl<'a> From<&'a Value> for ValueRef<'a> {
    fn from(value: &'a Value) -> Self {
        match *value {
            Value::NULL => ValueRef::Null,
            Value::Int(v) => ValueRef::Int(v),
            Value::UInt(v) => ValueRef::UInt(v),
            Value::Float(v) => ValueRef::Float(v),
            Value::Double(v) => ValueRef::Double(v),
            Value::Bytes(ref b) => ValueRef::Bytes(Cow::Borrowed(b)),
            Value::Date(y, m, d, h, mi, s, us) => ValueRef::Date(y, m, d, h, mi, s, us),
            Value::Time(neg, days, h, m, s, us) => ValueRef::Time(neg, days, h, m, s, us),
        }
    }
}

impl From<Value> for ValueRef<'static> {
    fn from(value: Value) -> Self {
        match value {
            Value::Bytes(b) => ValueRef::Bytes(Cow::Owned(b)),
            Value::NULL => ValueRef::Null,
            Value::Int(v) => ValueRef::Int(v),
            Value::UInt(v) => ValueRef::UInt(v),
            Value::Float(v) => ValueRef::Float(v),
            Value::Double(v) => ValueRef::Double(v),
            Value::Date(y, m, d, h, mi, s, us) => ValueRef::Date(y, m, d, h, mi, s, us),
            Value::Time(neg, days, h, m, s, us) => ValueRef::Time(neg, days, h, m, s, us),
        }
    }
}

impl ValueRef<'_> {
    /// The same value owning its bytes.
    pub(super) fn into_value(self) -> Value {
        match self {
            ValueRef::Null => Value::NULL,
            ValueRef::Int(v) => Value::Int(v),
            ValueRef::UInt(v) => Value::UInt(v),
            ValueRef::Float(v) => Value::Float(v),
            ValueRef::Double(v) => Value::Double(v),
            ValueRef::Bytes(b) => Value::Bytes(b.into_owned()),
            ValueRef::Date(y, m, d, h, mi, s, us) => Value::Date(y, m, d, h, mi, s, us),
            ValueRef::Time(neg, days, h, m, s, us) => Value::Time(neg, days, h, m, s, us),
        }
    }
}
