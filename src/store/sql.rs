//! The one interface the store's SQL is written against, whichever engine runs it.
//!
//! Every query of `store` is written once, in the SQL that SQLite and PostgreSQL share
//! (`?N` parameters, `ON CONFLICT ... DO UPDATE`, `RETURNING`, `IS DISTINCT FROM`, explicit
//! `CAST`s where PostgreSQL cannot infer a type), and runs through [`Db`]. Each engine
//! (`sqlite`, `postgres`) implements [`Db`] and [`Connection`] and owns its migrations; the
//! rest of the store never names an engine. So the figures of a report are computed by the
//! same code from the same rows on both, and the contract tests run one suite on each.

use super::{Error, Result};

/// Which engine a connection talks to, for the few statements that differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

/// A value bound to a parameter or read from a column. Integers are `i64` on both engines
/// (PostgreSQL columns are all `BIGINT`), so times in milliseconds are exact everywhere.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

/// Turns a Rust value into a parameter; see [`args!`].
pub trait ToValue {
    fn to_value(&self) -> Value;
}

macro_rules! int_to_value {
    ($($t:ty),*) => {$(
        impl ToValue for $t {
            fn to_value(&self) -> Value {
                Value::Int(i64::from(*self))
            }
        }
    )*};
}
int_to_value!(i64, i32, u32, u16, u8, bool);

impl ToValue for usize {
    fn to_value(&self) -> Value {
        Value::Int(i64::try_from(*self).unwrap_or(i64::MAX))
    }
}

impl ToValue for u64 {
    fn to_value(&self) -> Value {
        Value::Int(i64::try_from(*self).unwrap_or(i64::MAX))
    }
}

impl ToValue for f64 {
    fn to_value(&self) -> Value {
        Value::Real(*self)
    }
}

impl ToValue for str {
    fn to_value(&self) -> Value {
        Value::Text(self.to_owned())
    }
}

impl ToValue for String {
    fn to_value(&self) -> Value {
        Value::Text(self.clone())
    }
}

impl ToValue for [u8] {
    fn to_value(&self) -> Value {
        Value::Blob(self.to_vec())
    }
}

impl ToValue for Vec<u8> {
    fn to_value(&self) -> Value {
        Value::Blob(self.clone())
    }
}

impl ToValue for Value {
    fn to_value(&self) -> Value {
        self.clone()
    }
}

impl<T: ToValue + ?Sized> ToValue for &T {
    fn to_value(&self) -> Value {
        (**self).to_value()
    }
}

impl<T: ToValue> ToValue for Option<T> {
    fn to_value(&self) -> Value {
        self.as_ref().map_or(Value::Null, ToValue::to_value)
    }
}

/// The parameters of one statement: `args![a, b]` is `&[Value]` for `?1`, `?2`.
macro_rules! args {
    () => { &[] as &[$crate::store::sql::Value] };
    ($($arg:expr),+ $(,)?) => {
        &[$($crate::store::sql::ToValue::to_value(&$arg)),+] as &[$crate::store::sql::Value]
    };
}
pub(crate) use args;

/// Reads a column into a Rust value; `None` when the column holds another type.
pub trait FromValue: Sized {
    fn from_value(value: &Value) -> Option<Self>;
    /// What [`Row::get`] says it expected.
    const EXPECTED: &'static str;
}

macro_rules! int_from_value {
    ($($t:ty),*) => {$(
        impl FromValue for $t {
            const EXPECTED: &'static str = stringify!($t);
            fn from_value(value: &Value) -> Option<Self> {
                match value {
                    Value::Int(i) => <$t>::try_from(*i).ok(),
                    _ => None,
                }
            }
        }
    )*};
}
int_from_value!(i64, i32, u32, u16, u8, u64, usize);

impl FromValue for bool {
    const EXPECTED: &'static str = "an integer flag";
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Int(i) => Some(*i != 0),
            _ => None,
        }
    }
}

impl FromValue for f64 {
    const EXPECTED: &'static str = "a number";
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Real(r) => Some(*r),
            Value::Int(i) => Some(*i as f64),
            _ => None,
        }
    }
}

impl FromValue for String {
    const EXPECTED: &'static str = "text";
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Text(t) => Some(t.clone()),
            _ => None,
        }
    }
}

impl FromValue for Vec<u8> {
    const EXPECTED: &'static str = "bytes";
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Blob(b) => Some(b.clone()),
            _ => None,
        }
    }
}

impl FromValue for Value {
    const EXPECTED: &'static str = "any value";
    fn from_value(value: &Value) -> Option<Self> {
        Some(value.clone())
    }
}

impl<T: FromValue> FromValue for Option<T> {
    const EXPECTED: &'static str = T::EXPECTED;
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Null => Some(None),
            other => T::from_value(other).map(Some),
        }
    }
}

/// One result row, read out of the engine's cursor.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    values: Vec<Value>,
}

impl Row {
    pub fn new(values: Vec<Value>) -> Row {
        Row { values }
    }

    /// Column `index` (from 0) as `T`; a missing column, a NULL into a non-`Option` or another
    /// type is an error naming the column, never a panic.
    pub fn get<T: FromValue>(&self, index: usize) -> Result<T> {
        let value = self.values.get(index).ok_or(Error::Column {
            index,
            expected: T::EXPECTED,
            found: "no such column".into(),
        })?;
        T::from_value(value).ok_or_else(|| Error::Column {
            index,
            expected: T::EXPECTED,
            found: format!("{value:?}"),
        })
    }
}

/// A connection or an open transaction of either engine.
pub trait Db {
    /// Runs one statement; returns the rows it changed.
    fn execute(&self, sql: &str, args: &[Value]) -> Result<usize>;
    /// Runs one query and reads all its rows.
    fn query(&self, sql: &str, args: &[Value]) -> Result<Vec<Row>>;
    fn engine(&self) -> Engine;
}

impl dyn Db + '_ {
    /// The first row, or `None`.
    pub fn query_opt(&self, sql: &str, args: &[Value]) -> Result<Option<Row>> {
        Ok(self.query(sql, args)?.into_iter().next())
    }

    /// The first row; [`Error::NotFound`] without one.
    pub fn query_one(&self, sql: &str, args: &[Value]) -> Result<Row> {
        self.query_opt(sql, args)?.ok_or(Error::NotFound)
    }

    /// Every row through `read`.
    pub fn query_map<T>(
        &self,
        sql: &str,
        args: &[Value],
        read: impl FnMut(&Row) -> Result<T>,
    ) -> Result<Vec<T>> {
        self.query(sql, args)?.iter().map(read).collect()
    }

    /// True when the query returns a row.
    pub fn exists(&self, sql: &str, args: &[Value]) -> Result<bool> {
        Ok(self.query_opt(sql, args)?.is_some())
    }

    /// Runs an `INSERT ... RETURNING id` and gives the id.
    pub fn insert_id(&self, sql: &str, args: &[Value]) -> Result<i64> {
        self.query_one(sql, args)?.get(0)
    }
}

/// The writer's own connection: it runs every write transaction.
pub trait Connection: Send {
    /// Runs `work` in one write transaction, committed when it returns `Ok`, rolled back
    /// otherwise.
    fn in_transaction(&mut self, work: &mut dyn FnMut(&dyn Db) -> Result<()>) -> Result<()>;
    /// Called once when the writer stops (SQLite folds its WAL into the main file).
    fn at_rest(&mut self) -> Result<()>;
}

/// [`Connection::in_transaction`] for a closure that returns a value.
pub fn transaction<T>(
    conn: &mut dyn Connection,
    work: impl FnOnce(&dyn Db) -> Result<T>,
) -> Result<T> {
    let mut work = Some(work);
    let mut value = None;
    conn.in_transaction(&mut |db| {
        let work = work
            .take()
            .ok_or(Error::Task("transaction ran twice".into()))?;
        value = Some(work(db)?);
        Ok(())
    })?;
    value.ok_or(Error::Task("transaction did not run".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_reads_each_type_and_names_a_mismatch() {
        let row = Row::new(vec![
            Value::Int(7),
            Value::Null,
            Value::Text("x".into()),
            Value::Real(1.5),
            Value::Int(0),
        ]);
        assert_eq!(row.get::<i64>(0).expect("int"), 7);
        assert_eq!(row.get::<Option<i64>>(1).expect("null"), None);
        assert_eq!(
            row.get::<Option<String>>(2).expect("text"),
            Some("x".into())
        );
        assert_eq!(row.get::<f64>(3).expect("real"), 1.5);
        assert_eq!(row.get::<f64>(0).expect("int as real"), 7.0);
        assert!(!row.get::<bool>(4).expect("flag"));
        let mismatch = row.get::<i64>(2).expect_err("text is not an int");
        assert!(mismatch.to_string().contains("column 2"), "{mismatch}");
        assert!(row.get::<i64>(1).is_err(), "NULL into i64");
        assert!(row.get::<i64>(9).is_err(), "no such column");
        assert!(row.get::<u8>(0).is_ok() && Row::new(vec![Value::Int(-1)]).get::<u8>(0).is_err());
    }

    #[test]
    fn args_convert_every_kind_of_parameter() {
        let name = String::from("a");
        let missing: Option<i64> = None;
        let values = args![1_i64, "t", name, missing, Some(2_u32), true, 2.5_f64];
        assert_eq!(
            values,
            &[
                Value::Int(1),
                Value::Text("t".into()),
                Value::Text("a".into()),
                Value::Null,
                Value::Int(2),
                Value::Int(1),
                Value::Real(2.5),
            ]
        );
        assert!(args![].is_empty());
    }
}
