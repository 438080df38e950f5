//! The audit log: what it records, that the databases keep it append-only, and that the
//! chain exposes a forged or altered entry.

use http::{Method, StatusCode};
use serde_json::json;

use crate::both;
use crate::harness::{unique_email, Backend};

both!(audit_records_old_and_new_values_with_actor_and_request, |h| {
    let o = h.tenant("Aud").await;
    let old_email = unique_email("old");
    let new_email = unique_email("new");
    let c = h.customer(&o, json!({"name": "Fay", "email": old_email})).await;
    let id = c.id();
    let p = h
        .call_with(
            Method::PATCH,
            &format!("/api/v1/customers/{id}"),
            Some(&o.token),
            Some(json!({"email": new_email})),
            &[("user-agent", "crm-test/1"), ("x-request-id", "req-42")],
        )
        .await;
    assert_eq!(p.status, StatusCode::OK);
    assert_eq!(p.header("x-request-id"), "req-42");
    let a = h.get(&o, &format!("/api/v1/customers/{id}/audit")).await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    let entries = a.body["data"].as_array().unwrap();
    assert_eq!(entries.len(), 2);
    let upd = &entries[0];
    assert_eq!(upd["action"], "update");
    assert_eq!(upd["old_values"], json!({"email": old_email}));
    assert_eq!(upd["new_values"], json!({"email": new_email}));
    assert_eq!(upd["actor_type"], "user");
    assert_eq!(upd["actor_id"], o.user_id.to_string());
    assert_eq!(upd["user_agent"], "crm-test/1");
    assert_eq!(upd["request_id"], "req-42");
    assert_eq!(entries[1]["action"], "insert");
    assert_eq!(entries[1]["new_values"]["name"], "Fay");
    assert_eq!(upd["prev_hash"], entries[1]["hash"]);

    h.delete(&o, &format!("/api/v1/customers/{id}")).await;
    h.post(&o, &format!("/api/v1/customers/{id}/restore"), json!({})).await;
    let all = h.get(&o, "/api/v1/audit?table=customers&limit=200").await;
    let actions: Vec<&str> =
        all.body["data"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["restore", "delete", "update", "insert"]);
    let users = h.get(&o, "/api/v1/audit?table=users").await;
    assert_eq!(users.body["data"][0]["action"], "insert");
    assert!(users.body["data"][0]["new_values"].get("password_hash").is_none());

    let v = h.get(&o, "/api/v1/audit/verify").await;
    assert_eq!(v.body["ok"], true, "{:?}", v.body);
    assert_eq!(v.body["entries"], 5);

    let viewer = h.user(&o, "viewer").await;
    assert_eq!(h.get(&viewer, "/api/v1/audit").await.status, StatusCode::FORBIDDEN);
});

both!(audit_log_is_append_only_and_tampering_is_detected, |h| {
    let o = h.tenant("Tamper").await;
    for i in 0..4 {
        h.customer(&o, json!({"name": format!("T{i}"), "email": unique_email("t")})).await;
    }
    // The database itself refuses changes to the log, even from its owner.
    let upd = h.raw("UPDATE audit_log SET action = 'forged'").await;
    assert!(upd.is_err_and(|e| e.contains("append-only")), "UPDATE must be rejected");
    let del = h.raw("DELETE FROM audit_log").await;
    assert!(del.is_err_and(|e| e.contains("append-only")), "DELETE must be rejected");

    // Someone with the power to drop the guard alters an entry's values...
    let (off, on) = match h.backend {
        Backend::Sqlite => ("DROP TRIGGER audit_log_no_update", "SELECT 1"),
        Backend::Postgres => (
            "ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only",
            "ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only",
        ),
    };
    h.raw(off).await.expect("disable guard");
    let json_set = match h.backend {
        Backend::Sqlite => "UPDATE audit_log SET new_values = json_set(new_values, '$.name', 'Mallory') WHERE seq = 3",
        Backend::Postgres => {
            "UPDATE audit_log SET new_values = jsonb_set(new_values, '{name}', '\"Mallory\"') WHERE seq = 3"
        }
    };
    assert_eq!(h.raw(json_set).await.expect("alter"), 1);
    h.raw(on).await.expect("enable guard");
    let v = h.get(&o, "/api/v1/audit/verify").await;
    assert_eq!(v.body["ok"], false);
    assert_eq!(v.body["first_broken_seq"], 3, "{:?}", v.body);

    // ...and the CLI reports the same break.
    let mut out = Vec::new();
    let cli = <rapport::cli::Cli as clap::Parser>::try_parse_from([
        "rapport",
        "audit",
        "verify",
        "--database-url",
        &h.url,
        "--data-dir",
        "/tmp/rapport-test-unused",
        "--tenant",
        &o.tenant_id.to_string(),
    ])
    .unwrap();
    let code = rapport::cli::execute(cli, &mut out).await.expect("runs");
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains("BROKEN at entry 3"), "{text}");
    assert_eq!(code, std::process::ExitCode::FAILURE);
});

both!(a_forged_entry_appended_with_raw_sql_breaks_the_chain, |h| {
    let o = h.tenant("Forge").await;
    h.customer(&o, json!({"name": "Real", "email": unique_email("r")})).await;
    let tid = o.tenant_id.simple().to_string();
    let (id_expr, json_empty, at) = match h.backend {
        Backend::Sqlite => (format!("X'{tid}'"), "'{}'", "0"),
        Backend::Postgres => (format!("'{tid}'::uuid"), "'{}'::jsonb", "now()"),
    };
    let sql = format!(
        "INSERT INTO audit_log (tenant_id, seq, table_name, record_id, action, old_values, new_values, values_digest, actor_type, at, prev_hash, hash) \
         VALUES ({id_expr}, 3, 'customers', {id_expr}, 'delete', {json_empty}, {json_empty}, 'x', 'user', {at}, 'y', 'z')"
    );
    h.raw(&sql).await.expect("insert forged row");
    let v = h.get(&o, "/api/v1/audit/verify").await;
    assert_eq!(v.body["ok"], false);
    assert_eq!(v.body["first_broken_seq"], 3);
});
