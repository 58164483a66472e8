//! The options of `rust-datagen`, read and validated against the table's row type.
//!
//! Option names, defaults and the per-type rules follow Flink 1.20's `datagen` connector
//! (`DataGenTableSourceFactory`, `RandomGeneratorVisitor`, `SequenceGeneratorVisitor`). Where
//! Flink accepts a value and then fails at runtime or silently misbehaves (min > max, a sequence
//! that runs backwards, a null rate outside [0, 1], a TINYINT bound of 300), this connector fails
//! at submission with a message naming the field and the option.

use std::collections::BTreeSet;
use std::time::Duration;

use rust_core::options::{one_of, OptionDefault, OptionSpec, Options};
use rust_core::types::{FlinkType, RowType, MAX_LENGTH};
use rust_core::{BridgeError, Result};

/// Every option of `rust-datagen`, as `docs/connectors/rust-datagen.md` lists them. Names,
/// defaults and types are Flink's; literal defaults are read from here.
pub const OPTIONS: &[OptionSpec] = &[
    ROWS_PER_SECOND,
    NUMBER_OF_ROWS,
    KIND,
    MIN,
    MAX,
    MAX_PAST,
    LENGTH,
    VAR_LEN,
    START,
    END,
    NULL_RATE,
];

/// Flink's `DataGenConnectorOptionsUtil.ROWS_PER_SECOND_DEFAULT_VALUE` is 10000.
pub const ROWS_PER_SECOND: OptionSpec = OptionSpec {
    key: "rows-per-second",
    type_name: "Long",
    default: OptionDefault::Value("10000"),
    description: "rows per second for the whole source; each of `p` readers emits its `1/p` share",
};
pub const NUMBER_OF_ROWS: OptionSpec = OptionSpec {
    key: "number-of-rows",
    type_name: "Long",
    default: OptionDefault::Text("unbounded"),
    description: "total rows; makes the source bounded",
};
/// Flink's `RANDOM_STRING_LENGTH_DEFAULT` / `RANDOM_BYTES_LENGTH_DEFAULT`, used for STRING/BYTES.
pub const DEFAULT_LENGTH: u32 = 100;

pub const KIND: OptionSpec = OptionSpec {
    key: "fields.#.kind",
    type_name: "String",
    default: OptionDefault::Value(RANDOM),
    description: "`random` or `sequence`",
};
pub const MIN: OptionSpec = OptionSpec {
    key: "fields.#.min",
    type_name: "type of the field",
    default: OptionDefault::Text(
        "the type's minimum (FLOAT/DOUBLE/DECIMAL: smallest positive value)",
    ),
    description: "lower bound of a random numeric field",
};
pub const MAX: OptionSpec = OptionSpec {
    key: "fields.#.max",
    type_name: "type of the field",
    default: OptionDefault::Text("the type's maximum"),
    description: "upper bound of a random numeric field",
};
pub const MAX_PAST: OptionSpec = OptionSpec {
    key: "fields.#.max-past",
    type_name: "Duration",
    default: OptionDefault::Value("0"),
    description: "random TIMESTAMP / TIMESTAMP_LTZ: now minus up to this much",
};
pub const LENGTH: OptionSpec = OptionSpec {
    key: "fields.#.length",
    type_name: "Integer",
    default: OptionDefault::Text("the declared length (STRING/BYTES: 100)"),
    description: "length of a random VARCHAR / VARBINARY",
};
pub const VAR_LEN: OptionSpec = OptionSpec {
    key: "fields.#.var-len",
    type_name: "Boolean",
    default: OptionDefault::Value("false"),
    description: "random VARCHAR / VARBINARY lengths uniform in 1..=length",
};
pub const START: OptionSpec = OptionSpec {
    key: "fields.#.start",
    type_name: "type of the field",
    default: OptionDefault::Text("(required for sequences)"),
    description: "first value of a sequence",
};
pub const END: OptionSpec = OptionSpec {
    key: "fields.#.end",
    type_name: "type of the field",
    default: OptionDefault::Text("(required for sequences)"),
    description: "last value of a sequence",
};
pub const NULL_RATE: OptionSpec = OptionSpec {
    key: "fields.#.null-rate",
    type_name: "Float",
    default: OptionDefault::Value("0"),
    description: "fraction of NULLs in a random field (0 to 1)",
};

/// Every per-field option but `kind`, in the order they are listed in messages.
const FIELD_OPTIONS: &[OptionSpec] = &[MIN, MAX, MAX_PAST, LENGTH, VAR_LEN, START, END, NULL_RATE];

const RANDOM: &str = "random";
const SEQUENCE: &str = "sequence";

/// How one column is generated.
#[derive(Clone, Debug, PartialEq)]
pub enum FieldGen {
    Random {
        spec: RandomSpec,
        null_rate: f64,
    },
    /// Row `i` (counted over the whole source) gets `start + i`; every value exactly once.
    Sequence {
        start: i64,
        end: i64,
    },
}

/// A random generator's parameters, already checked against the column type.
#[derive(Clone, Debug, PartialEq)]
pub enum RandomSpec {
    Boolean,
    /// TINYINT, SMALLINT, INT, BIGINT: uniform in `min..=max` (bounds fit the column type).
    Int {
        min: i64,
        max: i64,
    },
    /// FLOAT, DOUBLE: uniform in `[min, max)` (computed in double precision, as Flink does).
    Float {
        min: f64,
        max: f64,
    },
    /// DECIMAL: uniform in `[min, max)`, already clipped to what the precision can hold.
    Decimal {
        min: f64,
        max: f64,
    },
    /// CHAR, VARCHAR: lowercase hex digits (Flink's `nextHexString`).
    Hex {
        length: u32,
        var_len: bool,
    },
    /// BINARY, VARBINARY: random bytes.
    Bytes {
        length: u32,
        var_len: bool,
    },
    /// DATE: today (UTC).
    Date,
    /// TIME: the time of day now (UTC), truncated to the column's precision.
    Time,
    /// TIMESTAMP, TIMESTAMP_LTZ: now minus a uniform random duration in `0..=max_past`.
    Timestamp {
        max_past: Duration,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub struct FieldConfig {
    pub name: String,
    pub ty: FlinkType,
    pub nullable: bool,
    pub gen: FieldGen,
}

/// The validated configuration of one `rust-datagen` table.
#[derive(Clone, Debug, PartialEq)]
pub struct DatagenConfig {
    /// For the whole source; each of `p` readers emits `rows_per_second / p`.
    pub rows_per_second: u64,
    pub number_of_rows: Option<u64>,
    pub fields: Vec<FieldConfig>,
}

impl DatagenConfig {
    /// Reads and validates every option; the last step rejects keys nobody read, listing the
    /// supported ones (with this table's column names filled in).
    pub fn parse(options: &Options, row_type: &RowType) -> Result<DatagenConfig> {
        let present: BTreeSet<String> = options.keys().map(str::to_string).collect();
        let mut supported = vec![
            ROWS_PER_SECOND.key.to_string(),
            NUMBER_OF_ROWS.key.to_string(),
        ];
        let mut fields = Vec::with_capacity(row_type.arity());
        for column in &row_type.columns {
            let field = FieldReader {
                options,
                present: &present,
                name: &column.name,
                ty: column.ty,
            };
            let (gen, applicable) = field.read()?;
            if let FieldGen::Random { null_rate, .. } = gen {
                if null_rate > 0.0 && !column.nullable {
                    return Err(BridgeError::validation(format!(
                        "Option '{}' is {null_rate} but column '{}' is declared NOT NULL; \
                         remove the option or make the column nullable.",
                        field.key(NULL_RATE),
                        column.name
                    )));
                }
            }
            supported.push(field.key(KIND));
            supported.extend(applicable.iter().map(|o| field.key(*o)));
            fields.push(FieldConfig {
                name: column.name.clone(),
                ty: column.ty,
                nullable: column.nullable,
                gen,
            });
        }

        let rows_per_second = options.get_or_default::<i64>(&ROWS_PER_SECOND)?;
        let rows_per_second = u64::try_from(rows_per_second).ok().filter(|v| *v > 0).ok_or_else(|| {
            BridgeError::validation(format!(
                "Invalid value for option '{}': {rows_per_second}; it must be a positive number of rows.",
                ROWS_PER_SECOND.key
            ))
        })?;
        let number_of_rows = options
            .get::<i64>(NUMBER_OF_ROWS.key)?
            .map(|v| {
                u64::try_from(v).map_err(|_| {
                    BridgeError::validation(format!(
                        "Invalid value for option '{}': {v}; it must not be negative.",
                        NUMBER_OF_ROWS.key
                    ))
                })
            })
            .transpose()?;

        options.ensure_all_consumed(&supported)?;
        Ok(DatagenConfig {
            rows_per_second,
            number_of_rows,
            fields,
        })
    }

    /// The number of rows the source emits, or `None` when it is unbounded: the smaller of
    /// `number-of-rows` and the length of the shortest sequence (as Flink, the table ends with
    /// the first sequence that completes).
    pub fn total_rows(&self) -> Option<u64> {
        let shortest_sequence = self
            .fields
            .iter()
            .filter_map(|f| match f.gen {
                // end - start + 1 can be 2^64 (the whole BIGINT range); row indexes are u64, so
                // such a sequence is capped at 2^64 - 1 rows.
                FieldGen::Sequence { start, end } => {
                    Some(u64::try_from(end as i128 - start as i128 + 1).unwrap_or(u64::MAX))
                }
                FieldGen::Random { .. } => None,
            })
            .min();
        match (self.number_of_rows, shortest_sequence) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Random,
    Sequence,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Random => RANDOM,
            Kind::Sequence => SEQUENCE,
        }
    }
}

/// Reads the options of one field.
struct FieldReader<'a> {
    options: &'a Options,
    present: &'a BTreeSet<String>,
    name: &'a str,
    ty: FlinkType,
}

impl FieldReader<'_> {
    /// This field's key of a per-field option (`fields.#.min` -> `fields.price.min`).
    fn key(&self, option: OptionSpec) -> String {
        option.key_for(self.name)
    }

    /// The typed value of a per-field option with a literal default, or that default.
    fn get_or_default<T: rust_core::options::OptionValue>(&self, option: OptionSpec) -> Result<T> {
        self.options.get_or_spec_default(&self.key(option), &option)
    }

    /// The generator and the options (besides `kind`) that apply to this field.
    fn read(&self) -> Result<(FieldGen, &'static [OptionSpec])> {
        if matches!(self.ty, FlinkType::Array(_)) {
            // Flink's datagen generates arrays; this one does not (yet).
            return Err(BridgeError::validation(format!(
                "Field '{}' of type {} cannot be generated: rust-datagen does not generate ARRAY \
                 columns. Leave the column out, or use Flink's 'datagen' connector for it.",
                self.name, self.ty
            )));
        }
        let kind_key = self.key(KIND);
        let kind = match self.get_or_default::<String>(KIND)? {
            k if k.eq_ignore_ascii_case(RANDOM) => Kind::Random,
            k if k.eq_ignore_ascii_case(SEQUENCE) => Kind::Sequence,
            k => {
                return Err(BridgeError::validation(format!(
                    "Unsupported generator kind '{k}' for option '{kind_key}'; expected {}.",
                    one_of(&[RANDOM, SEQUENCE])
                )))
            }
        };
        let applicable = applicable_options(self.ty, kind).ok_or_else(|| {
            BridgeError::validation(format!(
                "Field '{}' of type {} cannot be generated with '{kind_key}' = 'sequence': sequences \
                 are supported for TINYINT, SMALLINT, INT, BIGINT, FLOAT, DOUBLE, DECIMAL, CHAR, \
                 VARCHAR/STRING, BINARY and VARBINARY/BYTES. Use 'random' (the default) instead.",
                self.name, self.ty
            ))
        })?;
        self.reject_inapplicable(kind, applicable)?;
        let gen = match kind {
            Kind::Random => {
                let null_rate = self.null_rate()?;
                FieldGen::Random {
                    spec: self.random_spec()?,
                    null_rate,
                }
            }
            Kind::Sequence => self.sequence()?,
        };
        Ok((gen, applicable))
    }

    /// An option that exists but does not apply to this field's type and kind fails with a
    /// message naming both (Flink reports these only as "Unsupported options found").
    fn reject_inapplicable(&self, kind: Kind, applicable: &[OptionSpec]) -> Result<()> {
        for option in FIELD_OPTIONS {
            let key = self.key(*option);
            if applicable.contains(option) || !self.present.contains(&key) {
                continue;
            }
            let fixed = matches!(self.ty, FlinkType::Char { .. } | FlinkType::Binary { .. });
            if kind == Kind::Random && *option == VAR_LEN {
                // Flink's own message (DataGenTableSourceFactory#validateFieldOptions).
                return Err(BridgeError::validation(format!(
                    "Only supports specifying 'fields.#.var-len' option for variable-length types \
                     (VARCHAR/STRING/VARBINARY/BYTES). The type of field '{}' is not within this range.",
                    self.name
                )));
            }
            if kind == Kind::Random && *option == LENGTH && fixed {
                return Err(BridgeError::validation(format!(
                    "Custom length for fixed-length type (CHAR/BINARY) field '{}' is not supported.",
                    self.name
                )));
            }
            let mut valid = vec![self.key(KIND)];
            valid.extend(applicable.iter().map(|o| self.key(*o)));
            return Err(BridgeError::validation(format!(
                "Option '{key}' does not apply to field '{}' of type {} generated by '{}'. Options \
                 for this field: {}.",
                self.name,
                self.ty,
                kind.name(),
                valid.iter().map(|k| format!("'{k}'")).collect::<Vec<_>>().join(", ")
            )));
        }
        Ok(())
    }

    fn null_rate(&self) -> Result<f64> {
        let key = self.key(NULL_RATE);
        let rate = self.get_or_default::<f64>(NULL_RATE)?;
        if !(0.0..=1.0).contains(&rate) {
            return Err(BridgeError::validation(format!(
                "Invalid value for option '{key}': {rate}; a null rate is a fraction in [0, 1]."
            )));
        }
        Ok(rate)
    }

    fn random_spec(&self) -> Result<RandomSpec> {
        Ok(match self.ty {
            FlinkType::Boolean => RandomSpec::Boolean,
            FlinkType::TinyInt => self.int_range::<i8>()?,
            FlinkType::SmallInt => self.int_range::<i16>()?,
            FlinkType::Int => self.int_range::<i32>()?,
            FlinkType::BigInt => self.int_range::<i64>()?,
            // Flink's defaults are Float.MIN_VALUE / Double.MIN_VALUE (the smallest *positive*
            // value) to MAX_VALUE, so by default these types and DECIMAL are positive.
            FlinkType::Float => {
                let (min, max) = self.float_range::<f32>(f32::from_bits(1), f32::MAX)?;
                RandomSpec::Float {
                    min: min.into(),
                    max: max.into(),
                }
            }
            FlinkType::Double => {
                let (min, max) = self.float_range::<f64>(f64::from_bits(1), f64::MAX)?;
                RandomSpec::Float { min, max }
            }
            FlinkType::Decimal { precision, scale } => {
                let (min, max) = self.float_range::<f64>(f64::from_bits(1), f64::MAX)?;
                // Flink clips the range to the largest value the type holds: 10^(p-s) - 10^-s.
                let largest = 10f64.powi(i32::from(precision) - i32::from(scale))
                    - 10f64.powi(-i32::from(scale));
                let (lo, hi) = (min.max(-largest), max.min(largest));
                if lo > hi {
                    return Err(BridgeError::validation(format!(
                        "The range ['{}' = {min}, '{}' = {max}] of field '{}' lies outside what {} can hold.",
                        self.key(MIN),
                        self.key(MAX),
                        self.name,
                        self.ty
                    )));
                }
                RandomSpec::Decimal { min: lo, max: hi }
            }
            FlinkType::Char { length } => RandomSpec::Hex {
                length,
                var_len: false,
            },
            FlinkType::VarChar { length } => {
                let (length, var_len) = self.variable_length(length)?;
                RandomSpec::Hex { length, var_len }
            }
            FlinkType::Binary { length } => RandomSpec::Bytes {
                length,
                var_len: false,
            },
            FlinkType::VarBinary { length } => {
                let (length, var_len) = self.variable_length(length)?;
                RandomSpec::Bytes { length, var_len }
            }
            FlinkType::Date => RandomSpec::Date,
            FlinkType::Time { .. } => RandomSpec::Time,
            FlinkType::Timestamp { .. } | FlinkType::TimestampLtz { .. } => RandomSpec::Timestamp {
                max_past: self.get_or_default::<Duration>(MAX_PAST)?,
            },
            FlinkType::Array(_) => unreachable!("refused in FieldReader::read"),
        })
    }

    fn int_range<T>(&self) -> Result<RandomSpec>
    where
        T: rust_core::options::OptionValue + Bounded + Into<i64> + Copy,
    {
        let min: i64 = self
            .options
            .get::<T>(&self.key(MIN))?
            .unwrap_or(T::MIN_VALUE)
            .into();
        let max: i64 = self
            .options
            .get::<T>(&self.key(MAX))?
            .unwrap_or(T::MAX_VALUE)
            .into();
        self.check_order(MIN, MAX, min as f64, max as f64, &min, &max)?;
        Ok(RandomSpec::Int { min, max })
    }

    fn float_range<T>(&self, default_min: T, default_max: T) -> Result<(T, T)>
    where
        T: rust_core::options::OptionValue + Copy + Into<f64> + std::fmt::Display,
    {
        let bound = |option: OptionSpec, default: T| -> Result<T> {
            let key = self.key(option);
            let v = self.options.get::<T>(&key)?.unwrap_or(default);
            if !v.into().is_finite() {
                return Err(BridgeError::validation(format!(
                    "Invalid value for option '{key}': {v}; it must be a finite number."
                )));
            }
            Ok(v)
        };
        let min = bound(MIN, default_min)?;
        let max = bound(MAX, default_max)?;
        self.check_order(MIN, MAX, min.into(), max.into(), &min, &max)?;
        Ok((min, max))
    }

    fn check_order(
        &self,
        low_option: OptionSpec,
        high_option: OptionSpec,
        low: f64,
        high: f64,
        low_shown: &dyn std::fmt::Display,
        high_shown: &dyn std::fmt::Display,
    ) -> Result<()> {
        if low > high {
            return Err(BridgeError::validation(format!(
                "Invalid options for field '{}': '{}' ({low_shown}) is greater than '{}' ({high_shown}).",
                self.name,
                self.key(low_option),
                self.key(high_option)
            )));
        }
        Ok(())
    }

    /// `length` and `var-len` of VARCHAR / VARBINARY (Flink's rules and messages).
    fn variable_length(&self, declared: u32) -> Result<(u32, bool)> {
        let key = self.key(LENGTH);
        let length = match self.options.get::<u32>(&key)? {
            None if declared == MAX_LENGTH => DEFAULT_LENGTH,
            None => declared,
            Some(l) if l > declared => {
                return Err(BridgeError::validation(format!(
                    "Custom length '{l}' for variable-length type (VARCHAR/STRING/VARBINARY/BYTES) \
                     field '{}' should be shorter than '{declared}' defined in the schema.",
                    self.name
                )))
            }
            Some(l) => l,
        };
        let var_len = self.get_or_default::<bool>(VAR_LEN)?;
        Ok((length, var_len))
    }

    fn sequence(&self) -> Result<FieldGen> {
        let bound = |option: OptionSpec| -> Result<i64> {
            let key = self.key(option);
            let value = match self.ty {
                FlinkType::TinyInt => self.options.get::<i8>(&key)?.map(i64::from),
                FlinkType::SmallInt => self.options.get::<i16>(&key)?.map(i64::from),
                FlinkType::Int => self.options.get::<i32>(&key)?.map(i64::from),
                _ => self.options.get::<i64>(&key)?,
            };
            value.ok_or_else(|| {
                // Flink's message (SequenceGeneratorVisitor).
                BridgeError::validation(format!(
                    "Could not find required property '{key}' for sequence generator."
                ))
            })
        };
        let start = bound(START)?;
        let end = bound(END)?;
        self.check_order(START, END, start as f64, end as f64, &start, &end)?;
        if let FlinkType::Decimal { precision, scale } = self.ty {
            let digits = u32::from(precision - scale);
            let limit = 10i128.pow(digits);
            for (option, v) in [(START, start), (END, end)] {
                if i128::from(v).abs() >= limit {
                    return Err(BridgeError::validation(format!(
                        "Invalid value for option '{}': {v} does not fit {} (at most {digits} \
                         digits before the decimal point).",
                        self.key(option),
                        self.ty
                    )));
                }
            }
        }
        Ok(FieldGen::Sequence { start, end })
    }
}

/// The per-field options (besides `kind`) that apply to a type and kind; `None` when the type
/// cannot be generated with that kind.
///
/// Flink 1.20 takes `null-rate` for random BOOLEAN, numeric, CHAR/VARCHAR and timestamp fields;
/// this connector also takes it for BINARY, VARBINARY, DATE and TIME (a superset: every table
/// Flink accepts is accepted here).
fn applicable_options(ty: FlinkType, kind: Kind) -> Option<&'static [OptionSpec]> {
    use FlinkType::*;
    Some(match (kind, ty) {
        (Kind::Random, Boolean | Char { .. } | Binary { .. } | Date | Time { .. }) => &[NULL_RATE],
        (Kind::Random, TinyInt | SmallInt | Int | BigInt | Float | Double | Decimal { .. }) => {
            &[MIN, MAX, NULL_RATE]
        }
        (Kind::Random, VarChar { .. } | VarBinary { .. }) => &[LENGTH, VAR_LEN, NULL_RATE],
        (Kind::Random, Timestamp { .. } | TimestampLtz { .. }) => &[MAX_PAST, NULL_RATE],
        (
            Kind::Sequence,
            TinyInt
            | SmallInt
            | Int
            | BigInt
            | Float
            | Double
            | Decimal { .. }
            | Char { .. }
            | VarChar { .. }
            | Binary { .. }
            | VarBinary { .. },
        ) => &[START, END],
        (Kind::Sequence, Boolean | Date | Time { .. } | Timestamp { .. } | TimestampLtz { .. }) => {
            return None
        }
        // Refused before options are read (`FieldReader::read`).
        (_, Array(_)) => return None,
    })
}

/// The value range of an integer type, for default bounds.
pub trait Bounded {
    const MIN_VALUE: Self;
    const MAX_VALUE: Self;
}

macro_rules! bounded {
    ($($t:ty),*) => {$(
        impl Bounded for $t {
            const MIN_VALUE: Self = <$t>::MIN;
            const MAX_VALUE: Self = <$t>::MAX;
        }
    )*};
}
bounded!(i8, i16, i32, i64);
