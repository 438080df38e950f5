//! The OpenAPI document describes the API as it really answers: real responses of every
//! documented operation are checked against the document's schemas.

use http::{Method, StatusCode};
use serde_json::{json, Value};

use crate::both;
use crate::harness::{unique_email, Harness, Reply};

/// Resolves `$ref` against the document's components.
fn resolve<'a>(doc: &'a Value, s: &'a Value) -> &'a Value {
    match s.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let name = r.trim_start_matches("#/components/schemas/");
            resolve(doc, &doc["components"]["schemas"][name])
        }
        None => s,
    }
}

fn type_matches(t: &str, v: &Value) -> bool {
    match t {
        "null" => v.is_null(),
        "string" => v.is_string(),
        "integer" => v.is_i64() || v.is_u64(),
        "number" => v.is_number(),
        "boolean" => v.is_boolean(),
        "array" => v.is_array(),
        "object" => v.is_object(),
        _ => false,
    }
}

/// Checks `v` against `schema`, collecting every mismatch with its JSON path.
fn check(doc: &Value, schema: &Value, v: &Value, path: &str, errs: &mut Vec<String>) {
    let s = resolve(doc, schema);
    for key in ["oneOf", "anyOf"] {
        if let Some(alts) = s.get(key).and_then(Value::as_array) {
            let ok = alts.iter().any(|a| {
                let mut e = Vec::new();
                check(doc, a, v, path, &mut e);
                e.is_empty()
            });
            if !ok {
                errs.push(format!("{path}: matches no alternative of {key}"));
            }
            return;
        }
    }
    if let Some(all) = s.get("allOf").and_then(Value::as_array) {
        for a in all {
            check(doc, a, v, path, errs);
        }
        return;
    }
    match s.get("type") {
        Some(Value::String(t)) if !type_matches(t, v) => {
            errs.push(format!("{path}: expected {t}, got {v}"));
            return;
        }
        Some(Value::Array(ts)) if !ts.iter().any(|t| t.as_str().is_some_and(|t| type_matches(t, v))) => {
            errs.push(format!("{path}: expected one of {ts:?}, got {v}"));
            return;
        }
        _ => {}
    }
    if let (Some(props), Value::Object(obj)) = (s.get("properties").and_then(Value::as_object), v) {
        for req in s.get("required").and_then(Value::as_array).into_iter().flatten() {
            let k = req.as_str().unwrap_or_default();
            if !obj.contains_key(k) {
                errs.push(format!("{path}.{k}: required but missing"));
            }
        }
        for (k, val) in obj {
            match props.get(k) {
                Some(ps) => check(doc, ps, val, &format!("{path}.{k}"), errs),
                None => errs.push(format!("{path}.{k}: answered but not documented")),
            }
        }
    }
    if let (Some(items), Value::Array(arr)) = (s.get("items"), v) {
        for (i, x) in arr.iter().enumerate() {
            check(doc, items, x, &format!("{path}[{i}]"), errs);
        }
    }
}

/// Asserts that `r`, the answer to `method path_template`, is what the document says.
fn conforms(doc: &Value, method: &str, template: &str, r: &Reply) {
    let op = &doc["paths"][template][method];
    assert!(op.is_object(), "{method} {template} is not documented");
    let resp = &op["responses"][r.status.as_str()];
    assert!(resp.is_object(), "{method} {template} answered {} which is not documented", r.status);
    if r.body.is_null() {
        assert!(resp.get("content").is_none(), "{method} {template} {}: documented a body, answered none", r.status);
        return;
    }
    let ct = r.header("content-type");
    let media = resp["content"]
        .get(&ct)
        .unwrap_or_else(|| panic!("{method} {template} {}: content type {ct} not documented", r.status));
    let mut errs = Vec::new();
    check(doc, &media["schema"], &r.body, "$", &mut errs);
    assert!(errs.is_empty(), "{method} {template} {}: {errs:#?}", r.status);
}

async fn document(h: &Harness) -> Value {
    let r = h.call(Method::GET, "/api/v1/openapi.json", None, None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body["openapi"].as_str().unwrap().starts_with("3.1"));
    r.body
}

both!(real_responses_match_the_openapi_document, |h| {
    let doc = document(&h).await;
    let o = h.tenant("Docs").await;
    let login = h.login(&format!("nobody-{}@example.com", uuid::Uuid::now_v7().simple()), "wrong password").await;
    conforms(&doc, "post", "/api/v1/auth/login", &login);

    let c = h
        .post(
            &o,
            "/api/v1/customers",
            json!({"name": "Doc", "email": unique_email("d"), "tags": ["a"], "address": "1 Main St"}),
        )
        .await;
    conforms(&doc, "post", "/api/v1/customers", &c);
    let id = c.id();
    let dup = h.post(&o, "/api/v1/customers", json!({"name": "Doc", "email": c.body["email"]})).await;
    assert_eq!(dup.status, StatusCode::CONFLICT);
    let bad = h.post(&o, "/api/v1/customers", json!({"name": ""})).await;
    conforms(&doc, "post", "/api/v1/customers", &bad);
    let one = format!("/api/v1/customers/{id}");
    conforms(&doc, "get", "/api/v1/customers/{id}", &h.get(&o, &one).await);
    conforms(&doc, "patch", "/api/v1/customers/{id}", &h.patch(&o, &one, json!({"lifecycle_stage": "lead"})).await);
    let put = h.call(Method::PUT, &one, Some(&o.token), Some(json!({"notes": "n"}))).await;
    conforms(&doc, "put", "/api/v1/customers/{id}", &put);
    let stale =
        h.call_with(Method::PATCH, &one, Some(&o.token), Some(json!({"notes": "m"})), &[("if-match", "\"1\"")]).await;
    conforms(&doc, "patch", "/api/v1/customers/{id}", &stale);
    conforms(&doc, "get", "/api/v1/customers", &h.get(&o, "/api/v1/customers?limit=1").await);
    conforms(&doc, "get", "/api/v1/customers", &h.get(&o, "/api/v1/customers?q=doc&limit=1").await);
    conforms(&doc, "get", "/api/v1/customers", &h.get(&o, "/api/v1/customers?q=d").await);
    conforms(&doc, "get", "/api/v1/customers/stats", &h.get(&o, "/api/v1/customers/stats").await);
    conforms(&doc, "get", "/api/v1/customers/{id}/timeline", &h.get(&o, &format!("{one}/timeline")).await);
    conforms(&doc, "get", "/api/v1/customers/{id}/audit", &h.get(&o, &format!("{one}/audit")).await);
    conforms(&doc, "delete", "/api/v1/customers/{id}", &h.delete(&o, &one).await);
    conforms(&doc, "get", "/api/v1/customers/{id}", &h.get(&o, &one).await);
    conforms(&doc, "post", "/api/v1/customers/{id}/restore", &h.post(&o, &format!("{one}/restore"), json!({})).await);
    conforms(
        &doc,
        "post",
        "/api/v1/customers/match",
        &h.post(&o, "/api/v1/customers/match", json!({"name": "Doc"})).await,
    );
    conforms(&doc, "post", "/api/v1/customers/match", &h.post(&o, "/api/v1/customers/match", json!({})).await);
    conforms(&doc, "post", "/api/v1/duplicates/scan", &h.post(&o, "/api/v1/duplicates/scan", json!({})).await);
    conforms(
        &doc,
        "post",
        "/api/v1/duplicates/scan",
        &h.post(&o, "/api/v1/duplicates/scan", json!({"threshold": 3})).await,
    );
    let csv = |query: &str, body: &str| {
        http::Request::builder()
            .method(Method::POST)
            .uri(format!("/api/v1/imports{query}"))
            .header(http::header::AUTHORIZATION, format!("Bearer {}", o.token))
            .header(http::header::CONTENT_TYPE, "text/csv")
            .body(axum::body::Body::from(body.to_string()))
            .unwrap()
    };
    let file = format!("name,email\nImported Doc,{}\nBad,nope\n", unique_email("imp"));
    conforms(&doc, "post", "/api/v1/imports", &h.send(csv("?dry_run=true", &file)).await);
    let imported = h.send(csv("", &file)).await;
    conforms(&doc, "post", "/api/v1/imports", &imported);
    conforms(&doc, "post", "/api/v1/imports", &h.send(csv("", "email\n")).await);
    let import_id = imported.body["import"]["id"].as_str().unwrap().to_string();
    conforms(&doc, "get", "/api/v1/imports", &h.get(&o, "/api/v1/imports").await);
    conforms(&doc, "get", "/api/v1/imports/{id}", &h.get(&o, &format!("/api/v1/imports/{import_id}")).await);
    let revert = format!("/api/v1/imports/{import_id}/revert");
    conforms(&doc, "post", "/api/v1/imports/{id}/revert", &h.post(&o, &revert, json!({})).await);
    conforms(&doc, "post", "/api/v1/imports/{id}/revert", &h.post(&o, &revert, json!({})).await);
    conforms(&doc, "get", "/api/v1/audit", &h.get(&o, "/api/v1/audit").await);
    conforms(&doc, "get", "/api/v1/audit/verify", &h.get(&o, "/api/v1/audit/verify").await);

    let u = h.post(&o, "/api/v1/users", json!({"email": unique_email("u"), "role": "portal"})).await;
    conforms(&doc, "post", "/api/v1/users", &u);
    conforms(&doc, "get", "/api/v1/users", &h.get(&o, "/api/v1/users").await);
    conforms(&doc, "get", "/api/v1/users/{id}", &h.get(&o, &format!("/api/v1/users/{}", u.id())).await);
    conforms(
        &doc,
        "patch",
        "/api/v1/users/{id}",
        &h.patch(&o, &format!("/api/v1/users/{}", u.id()), json!({"name": "Pat"})).await,
    );

    let k = h.post(&o, "/api/v1/api-keys", json!({"name": "widget"})).await;
    conforms(&doc, "post", "/api/v1/api-keys", &k);
    conforms(&doc, "get", "/api/v1/api-keys", &h.get(&o, "/api/v1/api-keys").await);
    conforms(&doc, "delete", "/api/v1/api-keys/{id}", &h.delete(&o, &format!("/api/v1/api-keys/{}", k.id())).await);

    let pw = u.body["initial_password"].as_str().unwrap();
    let l = h.login(u.body["email"].as_str().unwrap(), pw).await;
    conforms(&doc, "post", "/api/v1/auth/login", &l);
    let rt = l.body["refresh_token"].as_str().unwrap();
    let r = h.call(Method::POST, "/api/v1/auth/refresh", None, Some(json!({"refresh_token": rt}))).await;
    conforms(&doc, "post", "/api/v1/auth/refresh", &r);
    let portal = crate::harness::Client {
        token: l.body["access_token"].as_str().unwrap().to_string(),
        user_id: u.id(),
        tenant_id: o.tenant_id,
    };
    conforms(&doc, "get", "/api/v1/me", &h.get(&portal, "/api/v1/me").await);
    h.patch(&o, &one, json!({"portal_user_id": u.id()})).await;
    conforms(&doc, "get", "/api/v1/me", &h.get(&portal, "/api/v1/me").await);
    conforms(&doc, "patch", "/api/v1/me", &h.patch(&portal, "/api/v1/me", json!({"language": "fr-CA"})).await);
    conforms(&doc, "delete", "/api/v1/me", &h.delete(&portal, "/api/v1/me").await);
});

/// Every route the router serves under /api/v1 is in the document, and nothing else.
#[tokio::test]
async fn the_document_lists_every_route() {
    let doc = serde_json::to_value(rapport_http::openapi::document()).unwrap();
    let mut paths: Vec<&str> = doc["paths"].as_object().unwrap().keys().map(String::as_str).collect();
    paths.sort();
    assert_eq!(
        paths,
        [
            "/api/v1/analytics/engagement",
            "/api/v1/analytics/topics",
            "/api/v1/api-keys",
            "/api/v1/api-keys/{id}",
            "/api/v1/audit",
            "/api/v1/audit/verify",
            "/api/v1/auth/login",
            "/api/v1/auth/refresh",
            "/api/v1/conversations",
            "/api/v1/conversations/{session_id}",
            "/api/v1/conversations/{session_id}/messages",
            "/api/v1/customers",
            "/api/v1/customers/match",
            "/api/v1/customers/stats",
            "/api/v1/customers/{id}",
            "/api/v1/customers/{id}/audit",
            "/api/v1/customers/{id}/conversations",
            "/api/v1/customers/{id}/merge",
            "/api/v1/customers/{id}/metrics",
            "/api/v1/customers/{id}/restore",
            "/api/v1/customers/{id}/timeline",
            "/api/v1/duplicates",
            "/api/v1/duplicates/scan",
            "/api/v1/duplicates/{a}/{b}/dismiss",
            "/api/v1/duplicates/{a}/{b}/merge",
            "/api/v1/imports",
            "/api/v1/imports/{id}",
            "/api/v1/imports/{id}/revert",
            "/api/v1/me",
            "/api/v1/merges",
            "/api/v1/merges/{id}",
            "/api/v1/merges/{id}/undo",
            "/api/v1/tenant",
            "/api/v1/users",
            "/api/v1/users/{id}",
        ]
    );
}
