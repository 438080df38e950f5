//! Tenant isolation and row scope: another tenant's record, or one outside a sales user's
//! scope, answers 404 on every endpoint; PostgreSQL enforces isolation by itself too.

use http::{Method, StatusCode};
use serde_json::json;

use crate::both;
use crate::harness::{unique_email, Harness};

both!(another_tenants_customer_is_not_found_anywhere, |h| {
    let a = h.tenant("Alpha").await;
    let b = h.tenant("Beta").await;
    let c = h.customer(&a, json!({"name": "Secret", "email": unique_email("s")})).await;
    let id = c.id();
    let p = format!("/api/v1/customers/{id}");
    for (m, path, body) in [
        (Method::GET, p.clone(), None),
        (Method::PATCH, p.clone(), Some(json!({"name": "x"}))),
        (Method::PUT, p.clone(), Some(json!({"name": "x"}))),
        (Method::DELETE, p.clone(), None),
        (Method::POST, format!("{p}/restore"), Some(json!({}))),
        (Method::GET, format!("{p}/timeline"), None),
        (Method::GET, format!("{p}/audit"), None),
        (Method::GET, format!("{p}?include_deleted=true"), None),
    ] {
        let r = h.call(m.clone(), &path, Some(&b.token), body).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{m} {path}: {:?}", r.body);
    }
    let list = h.get(&b, "/api/v1/customers?include_deleted=true").await;
    assert_eq!(list.body["data"], json!([]));
    let audit = h.get(&b, "/api/v1/audit?limit=200").await;
    assert!(audit.body["data"].as_array().unwrap().iter().all(|e| e["record_id"] != id.to_string()));
    let users = h.get(&b, &format!("/api/v1/users/{}", a.user_id)).await;
    assert_eq!(users.status, StatusCode::NOT_FOUND);
    assert_eq!(
        h.patch(&b, &format!("/api/v1/users/{}", a.user_id), json!({"name": "x"})).await.status,
        StatusCode::NOT_FOUND
    );
    // API keys, conversations, metrics, merges and the review queue are per tenant too.
    let key = h.post(&a, "/api/v1/api-keys", json!({"name": "a-key"})).await;
    assert_eq!(h.delete(&b, &format!("/api/v1/api-keys/{}", key.id())).await.status, StatusCode::NOT_FOUND);
    assert!(h.get(&b, "/api/v1/api-keys").await.body["data"].as_array().unwrap().is_empty());
    let ak = crate::harness::Client {
        token: key.body["secret"].as_str().unwrap().to_string(),
        user_id: key.id(),
        tenant_id: a.tenant_id,
    };
    let conv = h
        .call(Method::PUT, "/api/v1/conversations/iso-1", Some(&ak.token), Some(json!({"contact": {"name": "Iso"}})))
        .await;
    assert_eq!(conv.status, StatusCode::OK);
    assert_eq!(h.get(&b, "/api/v1/conversations/iso-1").await.status, StatusCode::NOT_FOUND);
    assert_eq!(h.delete(&b, "/api/v1/conversations/iso-1").await.status, StatusCode::NOT_FOUND);
    assert_eq!(h.get(&b, &format!("{p}/metrics")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(h.get(&b, &format!("{p}/conversations")).await.status, StatusCode::NOT_FOUND);
    let other = h.customer(&a, json!({"name": "Other A", "email": unique_email("oa")})).await;
    let m = h
        .post(
            &a,
            &format!("/api/v1/customers/{}/merge", other.id()),
            json!({"source_ids": [conv.body["customer_id"]], "reason": "t"}),
        )
        .await;
    assert_eq!(m.status, StatusCode::CREATED);
    assert_eq!(h.get(&b, &format!("/api/v1/merges/{}", m.id())).await.status, StatusCode::NOT_FOUND);
    assert_eq!(h.post(&b, &format!("/api/v1/merges/{}/undo", m.id()), json!({})).await.status, StatusCode::NOT_FOUND);
    assert!(h.get(&b, "/api/v1/merges").await.body["data"].as_array().unwrap().is_empty());
    assert!(h.get(&b, "/api/v1/duplicates").await.body["data"].as_array().unwrap().is_empty());
    let mb = h
        .post(&b, &format!("/api/v1/customers/{}/merge", other.id()), json!({"source_ids": [id], "reason": "t"}))
        .await;
    assert_eq!(mb.status, StatusCode::NOT_FOUND);
    // The same email may exist in each tenant: duplicates are per tenant.
    let email = c.body["email"].as_str().unwrap();
    h.customer(&b, json!({"name": "Other", "email": email})).await;
});

both!(roles_hold_exactly_their_permissions, |h| {
    let o = h.tenant("Roles").await;
    let viewer = h.user(&o, "viewer").await;
    let support = h.user(&o, "support").await;
    let manager = h.user(&o, "manager").await;
    let admin = h.user(&o, "admin").await;
    let c = h.customer(&o, json!({"name": "Gus", "email": unique_email("g")})).await;
    let p = format!("/api/v1/customers/{}", c.id());
    for who in [&viewer, &support] {
        assert_eq!(h.get(who, &p).await.status, StatusCode::OK);
        assert_eq!(
            h.post(who, "/api/v1/customers", json!({"name": "N", "email": unique_email("n")})).await.status,
            StatusCode::FORBIDDEN
        );
        assert_eq!(h.patch(who, &p, json!({"name": "N"})).await.status, StatusCode::FORBIDDEN);
        assert_eq!(h.delete(who, &p).await.status, StatusCode::FORBIDDEN);
        assert_eq!(h.get(who, "/api/v1/customers?include_deleted=true").await.status, StatusCode::FORBIDDEN);
        assert_eq!(
            h.post(who, "/api/v1/users", json!({"email": unique_email("u"), "role": "viewer"})).await.status,
            StatusCode::FORBIDDEN
        );
    }
    assert_eq!(h.patch(&manager, &p, json!({"name": "Gus B"})).await.status, StatusCode::OK);
    assert_eq!(h.get(&manager, "/api/v1/audit").await.status, StatusCode::OK);
    assert_eq!(h.post(&manager, "/api/v1/api-keys", json!({"name": "k"})).await.status, StatusCode::FORBIDDEN);
    assert_eq!(
        h.post(&manager, "/api/v1/users", json!({"email": unique_email("u"), "role": "viewer"})).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(h.delete(&manager, &p).await.status, StatusCode::NO_CONTENT);
    // An admin manages users but cannot make or unmake an owner.
    let r = h
        .post(
            &admin,
            "/api/v1/users",
            json!({"email": unique_email("u"), "role": "owner", "password": "long enough pw"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = h.patch(&admin, &format!("/api/v1/users/{}", o.user_id), json!({"active": false})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // The last owner cannot step down.
    let r = h.patch(&o, &format!("/api/v1/users/{}", o.user_id), json!({"role": "admin"})).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.code(), "last_owner");
});

both!(sales_see_their_own_and_open_leads_only, |h| {
    let o = h.tenant("Sales").await;
    let rep = h.user(&o, "sales").await;
    let other = h.user(&o, "sales").await;
    let mine = h.customer(&o, json!({"name": "Mine", "email": unique_email("m"), "lifecycle_stage": "customer", "assigned_to": rep.user_id})).await;
    let theirs =
        h.customer(&o, json!({"name": "Theirs", "email": unique_email("t"), "assigned_to": other.user_id})).await;
    let open_lead =
        h.customer(&o, json!({"name": "Open", "email": unique_email("o"), "lifecycle_stage": "lead"})).await;
    let open_customer =
        h.customer(&o, json!({"name": "Closed", "email": unique_email("c"), "lifecycle_stage": "customer"})).await;
    let list = h.get(&rep, "/api/v1/customers?limit=200").await;
    let mut names: Vec<&str> =
        list.body["data"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    names.sort();
    assert_eq!(names, ["Mine", "Open"]);
    assert_eq!(h.get(&rep, &format!("/api/v1/customers/{}", theirs.id())).await.status, StatusCode::NOT_FOUND);
    assert_eq!(h.get(&rep, &format!("/api/v1/customers/{}", open_customer.id())).await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        h.patch(&rep, &format!("/api/v1/customers/{}", theirs.id()), json!({"name": "x"})).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        h.patch(&rep, &format!("/api/v1/customers/{}", mine.id()), json!({"notes": "called"})).await.status,
        StatusCode::OK
    );
    assert_eq!(h.get(&rep, &format!("/api/v1/customers/{}", open_lead.id())).await.status, StatusCode::OK);
    // A sales user's new customer is theirs; they cannot hand one to a colleague.
    let new = h.customer(&rep, json!({"name": "New", "email": unique_email("n")})).await;
    assert_eq!(new.body["assigned_to"], rep.user_id.to_string());
    let r = h.patch(&rep, &format!("/api/v1/customers/{}", new.id()), json!({"assigned_to": other.user_id})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let mine_filter = h.get(&rep, "/api/v1/customers?assigned_to=me").await;
    assert_eq!(mine_filter.body["data"].as_array().unwrap().len(), 2);
});

both!(portal_user_reaches_only_their_own_record, |h| {
    let o = h.tenant("Portal").await;
    let portal = h.user(&o, "portal").await;
    let own =
        h.customer(&o, json!({"name": "Pat", "email": unique_email("pat"), "portal_user_id": portal.user_id})).await;
    let other = h.customer(&o, json!({"name": "Other", "email": unique_email("x")})).await;
    let me = h.get(&portal, "/api/v1/me").await;
    assert_eq!(me.status, StatusCode::OK, "{:?}", me.body);
    assert_eq!(me.body["id"], own.body["id"]);
    assert_eq!(h.get(&portal, &format!("/api/v1/customers/{}", other.id())).await.status, StatusCode::NOT_FOUND);
    assert_eq!(h.get(&portal, &format!("/api/v1/customers/{}", own.id())).await.status, StatusCode::NOT_FOUND);
    assert_eq!(h.get(&portal, "/api/v1/customers").await.status, StatusCode::FORBIDDEN);
    let up = h.patch(&portal, "/api/v1/me", json!({"phone": "+44 20 7946 0958"})).await;
    assert_eq!(up.status, StatusCode::OK, "{:?}", up.body);
    assert_eq!(up.body["phone_e164"], "+442079460958");
    let no = h.patch(&portal, "/api/v1/me", json!({"lifecycle_stage": "customer"})).await;
    assert_eq!(no.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(h.get(&o, "/api/v1/me").await.status, StatusCode::NOT_FOUND);
    assert_eq!(h.delete(&portal, "/api/v1/me").await.status, StatusCode::NO_CONTENT);
    assert_eq!(h.get(&portal, "/api/v1/me").await.status, StatusCode::NOT_FOUND);
});

/// On PostgreSQL the database isolates tenants by itself: a query without any tenant filter,
/// run as the application's role, sees only the tenant set for its transaction.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_row_level_security_isolates_tenants_without_a_filter() {
    let Some(h) = Harness::new(crate::harness::Backend::Postgres).await else { return };
    let a = h.tenant("RlsA").await;
    let b = h.tenant("RlsB").await;
    h.customer(&a, json!({"name": "A1", "email": unique_email("a")})).await;
    h.customer(&b, json!({"name": "B1", "email": unique_email("b")})).await;
    let pool = sqlx::PgPool::connect(&h.url).await.unwrap();
    let count = |tenant: Option<uuid::Uuid>| {
        let pool = pool.clone();
        async move {
            let mut tx = pool.begin().await.unwrap();
            sqlx::query("SELECT set_config('role', 'rapport_app', true), set_config('rapport.tenant_id', $1, true)")
                .bind(tenant.map(|t| t.to_string()).unwrap_or_default())
                .execute(&mut *tx)
                .await
                .unwrap();
            let names: Vec<String> =
                sqlx::query_scalar("SELECT name FROM customers ORDER BY name").fetch_all(&mut *tx).await.unwrap();
            let users: i64 = sqlx::query_scalar("SELECT count(*) FROM users").fetch_one(&mut *tx).await.unwrap();
            let audit: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_log").fetch_one(&mut *tx).await.unwrap();
            (names, users, audit)
        }
    };
    let (names, users, audit) = count(Some(a.tenant_id)).await;
    assert_eq!(names, ["A1"]);
    assert_eq!(users, 1);
    assert_eq!(audit, 2);
    assert_eq!(count(Some(b.tenant_id)).await.0, ["B1"]);
    assert_eq!(count(None).await, (vec![], 0, 0), "no tenant set: nothing visible");
    // Writing into another tenant is refused by the policy's check.
    let mut tx = pool.begin().await.unwrap();
    sqlx::query("SELECT set_config('role', 'rapport_app', true), set_config('rapport.tenant_id', $1, true)")
        .bind(a.tenant_id.to_string())
        .execute(&mut *tx)
        .await
        .unwrap();
    let err = sqlx::query("UPDATE customers SET name = 'hijack' WHERE name = 'B1'").execute(&mut *tx).await.unwrap();
    assert_eq!(err.rows_affected(), 0, "another tenant's rows cannot be reached");
    let ins = sqlx::query("INSERT INTO audit_heads (tenant_id, seq, hash) VALUES ($1, 0, 'x')")
        .bind(b.tenant_id)
        .execute(&mut *tx)
        .await;
    assert!(ins.is_err(), "rows of another tenant cannot be written");
    drop(tx);
    // The role cannot bypass row-level security.
    let bypass: bool =
        sqlx::query_scalar("SELECT rolbypassrls OR rolsuper FROM pg_roles WHERE rolname = 'rapport_app'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(!bypass);
    pool.close().await;
}
