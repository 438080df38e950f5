//! What SQLite does its own way: times as integer microseconds, and no identity locks
//! (the single writer connection already serializes every write transaction).

use rapport_store::{StoreError, StoreResult};
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::sqlite::{SqliteArgumentValue, SqliteTypeInfo, SqliteValueRef};
use sqlx::{Decode, Encode, Type};
use time::OffsetDateTime;

use crate::sql::Ts;

pub type Db = sqlx::Sqlite;

fn micros(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1000) as i64
}

impl Type<Db> for Ts {
    fn type_info() -> SqliteTypeInfo {
        <i64 as Type<Db>>::type_info()
    }
    fn compatible(ty: &SqliteTypeInfo) -> bool {
        <i64 as Type<Db>>::compatible(ty)
    }
}

impl<'q> Encode<'q, Db> for Ts {
    fn encode_by_ref(&self, buf: &mut Vec<SqliteArgumentValue<'q>>) -> Result<IsNull, BoxDynError> {
        <i64 as Encode<'q, Db>>::encode(micros(self.0), buf)
    }
}

impl<'r> Decode<'r, Db> for Ts {
    fn decode(v: SqliteValueRef<'r>) -> Result<Self, BoxDynError> {
        let m = <i64 as Decode<'r, Db>>::decode(v)?;
        Ok(Ts(OffsetDateTime::from_unix_timestamp_nanos(i128::from(m) * 1000)?))
    }
}

pub async fn lock_identity(_tx: &mut sqlx::Transaction<'static, Db>, _keys: &[String]) -> StoreResult<()> {
    Ok::<(), StoreError>(())
}
