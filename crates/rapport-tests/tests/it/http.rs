//! The HTTP surface (SPEC section 10): problem+json for every bad input, request ids,
//! health, readiness and metrics, and no 5xx for anything a client can send.

use axum::body::Body;
use http::{header, Method, Request, StatusCode};
use serde_json::json;

use crate::both;
use crate::harness::{unique_email, Backend, Harness, Reply};

/// Sends `body` as is, with the content type given (or none).
async fn raw(
    h: &Harness,
    method: Method,
    path: &str,
    token: Option<&str>,
    content_type: Option<&str>,
    body: impl Into<Body>,
) -> Reply {
    let mut b = Request::builder().method(method).uri(path);
    if let Some(t) = token {
        b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    if let Some(ct) = content_type {
        b = b.header(header::CONTENT_TYPE, ct);
    }
    h.send(b.body(body.into()).expect("request")).await
}

/// Checks the RFC 9457 shape of an error answer and its code.
fn assert_problem(r: &Reply, status: StatusCode, code: &str) {
    assert_eq!(r.status, status, "{:?}", r.body);
    assert_eq!(r.header("content-type"), "application/problem+json", "{code}");
    let b = &r.body;
    assert_eq!(b["code"], code, "{b}");
    assert_eq!(b["status"], status.as_u16(), "{b}");
    assert!(b["type"].as_str().is_some_and(|t| t.ends_with(code)), "type: {b}");
    assert!(b["title"].as_str().is_some_and(|t| !t.is_empty()), "title: {b}");
    assert!(b["detail"].as_str().is_some_and(|t| !t.is_empty()), "detail: {b}");
    assert!(b["errors"].is_array(), "errors: {b}");
    let rid = b["request_id"].as_str().expect("request_id in the body");
    assert_eq!(rid, r.header("x-request-id"), "the body's request_id is the header's");
}

both!(bad_requests_answer_problem_json_with_stable_codes, |h| {
    let o = h.tenant("Http").await;
    let t = Some(o.token.as_str());
    let json = Some("application/json");

    let r = raw(&h, Method::POST, "/api/v1/customers", t, json, r#"{"name": "Ann", "#).await;
    assert_problem(&r, StatusCode::BAD_REQUEST, "malformed_json");
    let r = raw(&h, Method::POST, "/api/v1/auth/login", None, json, "not json").await;
    assert_problem(&r, StatusCode::BAD_REQUEST, "malformed_json");
    let r = raw(&h, Method::PATCH, "/api/v1/customers/0190a9a0-0000-7000-8000-000000000000", t, json, "").await;
    assert!(r.status == StatusCode::BAD_REQUEST || r.status == StatusCode::NOT_FOUND, "{:?}", r.body);

    let body = json!({"name": "Ann", "email": unique_email("ann")}).to_string();
    let r = raw(&h, Method::POST, "/api/v1/customers", t, None, body.clone()).await;
    assert_problem(&r, StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");
    let r = raw(&h, Method::POST, "/api/v1/customers", t, Some("text/plain"), body.clone()).await;
    assert_problem(&r, StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");
    // application/json with a charset is JSON.
    let r = raw(&h, Method::POST, "/api/v1/customers", t, Some("application/json; charset=utf-8"), body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);

    let big = format!(r#"{{"name": "Big", "notes": "{}"}}"#, "x".repeat(rapport_http::BODY_LIMIT));
    let r = raw(&h, Method::POST, "/api/v1/customers", t, json, big.clone()).await;
    assert_problem(&r, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
    let r = raw(&h, Method::POST, "/api/v1/auth/login", None, json, big).await;
    assert_problem(&r, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");

    let r = h.call(Method::GET, "/api/v1/no-such-thing", t, None).await;
    assert_problem(&r, StatusCode::NOT_FOUND, "route_not_found");
    let r = h.call(Method::GET, "/nowhere", None, None).await;
    assert_problem(&r, StatusCode::NOT_FOUND, "route_not_found");

    for path in ["/api/v1/customers/not-a-uuid", "/api/v1/customers/123/timeline", "/api/v1/users/x"] {
        let r = h.call(Method::GET, path, t, None).await;
        assert_problem(&r, StatusCode::NOT_FOUND, "not_found");
    }
    let r = h.patch(&o, "/api/v1/customers/not-a-uuid", json!({"name": "x"})).await;
    assert_problem(&r, StatusCode::NOT_FOUND, "not_found");
    let r = h.delete(&o, &format!("/api/v1/users/{}", o.user_id)).await;
    assert_problem(&r, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");

    let r = h.post(&o, "/api/v1/customers", json!([{"name": "Arr", "email": unique_email("arr")}])).await;
    assert_problem(&r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(r.body["errors"][0]["code"], "invalid_type");
    let r = h.call(Method::POST, "/api/v1/auth/login", None, Some(json!("a@example.com"))).await;
    assert_problem(&r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let r = h.call(Method::POST, "/api/v1/auth/login", None, Some(json!(["a@example.com"]))).await;
    assert_problem(&r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let r = h.call(Method::POST, "/api/v1/auth/login", None, Some(json!({"email": 1, "password": "x"}))).await;
    assert_problem(&r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");

    // The other errors have the same shape.
    let r = h.call(Method::GET, "/api/v1/customers", None, None).await;
    assert_problem(&r, StatusCode::UNAUTHORIZED, "unauthenticated");
    let viewer = h.user(&o, "viewer").await;
    let r = h.post(&viewer, "/api/v1/customers", json!({"name": "V", "email": unique_email("v")})).await;
    assert_problem(&r, StatusCode::FORBIDDEN, "forbidden");
    let r = h.get(&o, "/api/v1/customers?colour=red").await;
    assert_problem(&r, StatusCode::BAD_REQUEST, "invalid_query");
    let r = h.post(&o, "/api/v1/customers", json!({"name": ""})).await;
    assert_problem(&r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(r.body["errors"][0]["field"], "name");
    assert!(r.body["errors"][0]["message"].is_string());

    // Only the one good create above was written.
    let l = h.get(&o, "/api/v1/customers").await;
    assert_eq!(l.body["data"].as_array().unwrap().len(), 1);
});

both!(request_ids_are_answered_and_valid_incoming_ones_echoed, |h| {
    let r = h.call(Method::GET, "/healthz", None, None).await;
    let id = r.header("x-request-id");
    assert!(uuid::Uuid::parse_str(&id).is_ok(), "a fresh id is a UUID: {id:?}");
    let r2 = h.call(Method::GET, "/healthz", None, None).await;
    assert_ne!(r2.header("x-request-id"), id, "each request has its own id");

    let r = h.call_with(Method::GET, "/healthz", None, None, &[("x-request-id", "trace-abc.123:4_5")]).await;
    assert_eq!(r.header("x-request-id"), "trace-abc.123:4_5");
    let r = h.call_with(Method::GET, "/api/v1/customers", None, None, &[("x-request-id", "req-401")]).await;
    assert_problem(&r, StatusCode::UNAUTHORIZED, "unauthenticated");
    assert_eq!(r.body["request_id"], "req-401");
    let r = h.call_with(Method::GET, "/nope", None, None, &[("x-request-id", "req-404")]).await;
    assert_eq!(r.body["request_id"], "req-404");
    assert_eq!(r.header("x-request-id"), "req-404");

    // An id that is not safe to log or echo is replaced.
    let long = "a".repeat(129);
    for bad in ["has space", "semi;colon", "", long.as_str()] {
        let r = h.call_with(Method::GET, "/api/v1/customers", None, None, &[("x-request-id", bad)]).await;
        let got = r.header("x-request-id");
        assert_ne!(got, bad);
        assert!(uuid::Uuid::parse_str(&got).is_ok(), "{got:?}");
        assert_eq!(r.body["request_id"], got.as_str());
    }
});

both!(health_readiness_and_metrics, |h| {
    let r = h.call(Method::GET, "/healthz", None, None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["status"], "ok");
    let r = h.call(Method::GET, "/readyz", None, None).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["status"], "ready");
    let want = match h.backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    assert_eq!(r.body["database"], want);

    let o = h.tenant("Metrics").await;
    let c = h.customer(&o, json!({"name": "M", "email": unique_email("m")})).await;
    for _ in 0..3 {
        assert_eq!(h.get(&o, &format!("/api/v1/customers/{}", c.id())).await.status, StatusCode::OK);
    }
    h.call(Method::GET, "/nope", None, None).await;
    let m = h.call(Method::GET, "/metrics", None, None).await;
    assert_eq!(m.status, StatusCode::OK);
    assert!(m.header("content-type").starts_with("text/plain"), "{}", m.header("content-type"));
    let text = m.body.as_str().expect("metrics are text");
    assert!(text.contains("# TYPE rapport_http_requests_total counter"), "{text}");
    assert!(text.contains(r#"rapport_http_requests_total{method="GET",route="/healthz",status="200"} 1"#), "{text}");
    assert!(text.contains(r#"route="/readyz",status="200"} 1"#), "{text}");
    assert!(
        text.contains(r#"rapport_http_requests_total{method="POST",route="/api/v1/auth/login",status="200"} 1"#),
        "{text}"
    );
    // Records are counted by their route, not by their id: the series stay few.
    assert!(
        text.contains(r#"rapport_http_requests_total{method="GET",route="/api/v1/customers/{id}",status="200"} 3"#),
        "{text}"
    );
    assert!(!text.contains(&c.id().to_string()), "an id in a metric label: {text}");
});

both!(no_bad_input_makes_the_server_fail, |h| {
    let o = h.tenant("Fuzz").await;
    let c = h.customer(&o, json!({"name": "F", "email": unique_email("f")})).await;
    let id = c.id();
    let t = Some(o.token.as_str());
    let p = format!("/api/v1/customers/{id}");
    let mut answers = Vec::new();
    for path in [
        "/api/v1/customers?limit=abc",
        "/api/v1/customers?limit=0",
        "/api/v1/customers?limit=100000",
        "/api/v1/customers?cursor=%00%ff",
        "/api/v1/customers?cursor=bm90IGEgY3Vyc29y",
        "/api/v1/customers?sort=",
        "/api/v1/customers?sort=-",
        "/api/v1/customers?created_after=yesterday",
        "/api/v1/customers?assigned_to=nobody",
        "/api/v1/customers?q=%25%27%22%3B--",
        "/api/v1/customers?tag=",
        "/api/v1/customers?include_deleted=maybe",
        "/api/v1/audit?from=x",
        "/api/v1/audit?cursor=zz",
        "/api/v1/audit?limit=-1",
        "/api/v1/customers/%00",
        "/api/v1/customers/00000000-0000-0000-0000-000000000000",
        "/api/v1/customers/00000000-0000-0000-0000-000000000000/timeline?cursor=x",
        "/api/v1/users/00000000-0000-0000-0000-000000000000",
    ] {
        answers.push((format!("GET {path}"), h.call(Method::GET, path, t, None).await));
    }
    answers.push(("GET timeline bad cursor".into(), h.get(&o, &format!("{p}/timeline?cursor=zz")).await));
    let deep = format!("{}1{}", "[".repeat(5000), "]".repeat(5000));
    answers.push((
        "deep JSON".into(),
        raw(&h, Method::POST, "/api/v1/customers", t, Some("application/json"), deep).await,
    ));
    answers.push((
        "invalid UTF-8".into(),
        raw(&h, Method::POST, "/api/v1/customers", t, Some("application/json"), vec![b'"', 0xff, 0xfe, b'"']).await,
    ));
    for (name, body) in [
        ("null", json!(null)),
        ("number", json!(42)),
        ("string", json!("x")),
        ("huge number", json!({"name": 1e308, "custom_fields": {"n": 1e308}})),
        ("nested custom", json!({"email": "bad", "custom_fields": {"a": {"b": {"c": {"d": [null, true, -0.0]}}}}})),
        ("nul in name", json!({"name": "a\u{0}b"})),
        ("emoji", json!({"email": "bad", "name": "🙂", "tags": ["🙂", "🙃"]})),
    ] {
        answers.push((format!("POST {name}"), h.post(&o, "/api/v1/customers", body.clone()).await));
        answers.push((format!("PATCH {name}"), h.patch(&o, &p, body).await));
    }
    for etag in ["\"abc\"", "W/\"-1\"", "\"99999999999999999999\""] {
        let r = h.call_with(Method::PATCH, &p, t, Some(json!({"notes": "n"})), &[("if-match", etag)]).await;
        assert_problem(&r, StatusCode::PRECONDITION_FAILED, "version_mismatch");
        answers.push((format!("If-Match {etag}"), r));
    }
    answers.push((
        "bad idempotency key".into(),
        h.call_with(Method::POST, "/api/v1/customers", t, Some(json!({})), &[("idempotency-key", "")]).await,
    ));
    answers.push((
        "users bad role".into(),
        h.post(&o, "/api/v1/users", json!({"email": unique_email("r"), "role": "root", "password": "longenough"}))
            .await,
    ));
    answers.push((
        "users unknown field".into(),
        h.post(&o, "/api/v1/users", json!({"email": unique_email("r"), "role": "viewer", "admin": true})).await,
    ));
    answers.push((
        "users bad email".into(),
        h.post(&o, "/api/v1/users", json!({"email": "nope", "role": "viewer", "password": "longenough"})).await,
    ));
    answers.push(("refresh garbage".into(), h.call(Method::POST, "/api/v1/auth/refresh", None, Some(json!({}))).await));
    answers.push((
        "patch self deactivate".into(),
        h.patch(&o, &format!("/api/v1/users/{}", o.user_id), json!({"active": false})).await,
    ));

    for (what, r) in &answers {
        assert!(!r.status.is_server_error(), "{what}: {} {:?}", r.status, r.body);
        if r.status.is_client_error() {
            assert_eq!(r.header("content-type"), "application/problem+json", "{what}: {:?}", r.body);
            assert!(r.body["code"].as_str().is_some_and(|c| !c.is_empty()), "{what}: {:?}", r.body);
        }
    }
    // The record survived all of it unchanged.
    let now = h.get(&o, &p).await;
    assert_eq!(now.body, c.body);
});
