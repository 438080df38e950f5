//! What PostgreSQL does its own way: native timestamps, and advisory locks that serialize
//! writers deciding on the same identity keys.

use rapport_store::StoreResult;
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::postgres::{PgArgumentBuffer, PgTypeInfo, PgValueRef};
use sqlx::{Decode, Encode, Type};
use time::OffsetDateTime;

use crate::sql::{map_err, Ts};

pub type Db = sqlx::Postgres;

impl Type<Db> for Ts {
    fn type_info() -> PgTypeInfo {
        <OffsetDateTime as Type<Db>>::type_info()
    }
    fn compatible(ty: &PgTypeInfo) -> bool {
        <OffsetDateTime as Type<Db>>::compatible(ty)
    }
}

impl Encode<'_, Db> for Ts {
    fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
        <OffsetDateTime as Encode<'_, Db>>::encode_by_ref(&self.0, buf)
    }
}

impl<'r> Decode<'r, Db> for Ts {
    fn decode(v: PgValueRef<'r>) -> Result<Self, BoxDynError> {
        Ok(Ts(<OffsetDateTime as Decode<'r, Db>>::decode(v)?))
    }
}

/// Takes a transaction-scoped advisory lock per key, in sorted order so that two writers
/// never wait on each other in a cycle.
pub async fn lock_identity(tx: &mut sqlx::Transaction<'static, Db>, keys: &[String]) -> StoreResult<()> {
    for k in keys {
        sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
            .bind(k)
            .execute(&mut **tx)
            .await
            .map_err(map_err)?;
    }
    Ok(())
}
