//! Tenant settings, topics (finding customers by topic, trends), engagement, and metrics
//! that never drift from their source rows.

use http::{Method, StatusCode};
use serde_json::{json, Value};

use crate::both;
use crate::harness::{unique_email, Client, Harness};

async fn key(h: &Harness, o: &Client) -> Client {
    let k = h.post(o, "/api/v1/api-keys", json!({"name": "chat"})).await;
    Client { token: k.body["secret"].as_str().unwrap().to_string(), user_id: k.id(), tenant_id: o.tenant_id }
}

async fn chat(h: &Harness, k: &Client, session: &str, body: Value) -> Value {
    let r = h.call(Method::PUT, &format!("/api/v1/conversations/{session}"), Some(&k.token), Some(body)).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    r.body
}

both!(tenant_settings_are_validated_and_drive_topics, |h| {
    let o = h.tenant("Settings").await;
    let t = h.get(&o, "/api/v1/tenant").await;
    assert_eq!(t.body["base_currency"], "USD");
    let bad = h
        .patch(
            &o,
            "/api/v1/tenant",
            json!({"match_thresholds": {"link": 95, "review": 50, "block": 90}, "base_currency": "XXXX", "colour": 1}),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.body["errors"].as_array().unwrap().len(), 3);
    let ok = h
        .patch(
            &o,
            "/api/v1/tenant",
            json!({"topic_vocabulary": ["Paver Patios", "retaining wall", "outdoor kitchen"], "base_currency": "eur"}),
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK, "{:?}", ok.body);
    assert_eq!(ok.body["settings"]["topic_vocabulary"], json!(["paver patio", "retaining wall", "outdoor kitchen"]));
    let c = h.customer(&o, json!({"name": "Eu", "email": unique_email("eu")})).await;
    assert_eq!(c.body["total_revenue"]["currency"], "EUR", "money follows the base currency");
    let viewer = h.user(&o, "viewer").await;
    assert_eq!(h.patch(&viewer, "/api/v1/tenant", json!({"name": "x"})).await.status, StatusCode::FORBIDDEN);

    let k = key(&h, &o).await;
    let a = chat(
        &h,
        &k,
        "t-1",
        json!({"contact": {"name": "Al", "email": unique_email("al")}, "started_at": "2026-06-01T10:00:00Z",
        "messages": [{"role": "customer", "text": "We want an Outdoor Kitchen and a retaining wall."}]}),
    )
    .await;
    assert_eq!(a["topics"], json!(["retaining wall", "outdoor kitchen"]));
    chat(&h, &k, "t-2", json!({"contact": {"name": "Bo", "email": unique_email("bo")}, "started_at": "2026-05-01T10:00:00Z", "topics": ["Outdoor Kitchens"]})).await;
    chat(&h, &k, "t-3", json!({"contact": {"name": "Cy", "email": unique_email("cy")}, "started_at": "2026-06-02T10:00:00Z", "topics": ["pricing"]})).await;
    let found = h.get(&o, "/api/v1/customers?topic=outdoor%20kitchens&discussed_after=2026-05-15T00:00:00Z").await;
    assert_eq!(found.status, StatusCode::OK, "{:?}", found.body);
    let names: Vec<&str> = found.body["data"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Al"]);
    let all = h.get(&o, "/api/v1/customers?topic=outdoor%20kitchen").await;
    assert_eq!(all.body["data"].as_array().unwrap().len(), 2);
    let trends =
        h.get(&o, "/api/v1/analytics/topics?from=2026-05-01T00:00:00Z&to=2026-06-08T00:00:00Z&period=week").await;
    assert_eq!(trends.status, StatusCode::OK, "{:?}", trends.body);
    let periods = trends.body["data"].as_array().unwrap();
    assert_eq!(periods.len(), 6);
    assert_eq!(periods[0]["topics"], json!([{"topic": "outdoor kitchen", "conversations": 1}]));
    let last = &periods[4]["topics"];
    assert!(last.as_array().unwrap().iter().any(|t| t["topic"] == "pricing"), "{last:?}");
    assert_eq!(h.get(&o, "/api/v1/analytics/topics?period=year").await.status, StatusCode::UNPROCESSABLE_ENTITY);

    // Topic trends follow a conversation sent again with other topics, and its deletion.
    let june = "/api/v1/analytics/topics?from=2026-06-01T00:00:00Z&to=2026-06-08T00:00:00Z&period=week";
    chat(&h, &k, "t-3", json!({"topics": ["financing"]})).await;
    let week = h.get(&o, june).await.body["data"][0]["topics"].clone();
    assert!(week.as_array().unwrap().iter().any(|t| t["topic"] == "financing"), "{week:?}");
    assert!(!week.as_array().unwrap().iter().any(|t| t["topic"] == "pricing"), "{week:?}");
    assert_eq!(h.delete(&k, "/api/v1/conversations/t-3").await.status, StatusCode::NO_CONTENT);
    let week = h.get(&o, june).await.body["data"][0]["topics"].clone();
    assert!(!week.as_array().unwrap().iter().any(|t| t["topic"] == "financing"), "{week:?}");
    assert!(week.as_array().unwrap().iter().any(|t| t["topic"] == "outdoor kitchen"), "{week:?}");
});

both!(top_engaged_customers_of_the_week, |h| {
    let o = h.tenant("Engage").await;
    let k = key(&h, &o).await;
    let now = time::OffsetDateTime::now_utc();
    let recent = rapport_core::audit::format_time(now - time::Duration::days(1));
    let old = rapport_core::audit::format_time(now - time::Duration::days(20));
    let busy = unique_email("busy");
    chat(&h, &k, "e-1", json!({"contact": {"email": busy}, "interaction_count": 5, "started_at": recent})).await;
    chat(&h, &k, "e-2", json!({"contact": {"email": busy}, "interaction_count": 7, "started_at": recent})).await;
    let calm = unique_email("calm");
    chat(&h, &k, "e-3", json!({"contact": {"email": calm}, "interaction_count": 3, "started_at": recent})).await;
    chat(
        &h,
        &k,
        "e-4",
        json!({"contact": {"email": unique_email("past")}, "interaction_count": 50, "started_at": old}),
    )
    .await;
    let e = h.get(&o, "/api/v1/analytics/engagement?window=7d").await;
    assert_eq!(e.status, StatusCode::OK, "{:?}", e.body);
    let data = e.body["data"].as_array().unwrap();
    assert_eq!(data.len(), 2, "the old chat is outside the window");
    assert_eq!(data[0]["interactions"], 12);
    assert_eq!(data[0]["conversations"], 2);
    assert_eq!(h.get(&o, "/api/v1/analytics/engagement?window=30d").await.body["data"][0]["interactions"], 50);
    // A deleted customer leaves the dashboard; restored, it is back.
    let busy_id = data[0]["customer_id"].as_str().unwrap().to_string();
    assert_eq!(h.delete(&o, &format!("/api/v1/customers/{busy_id}")).await.status, StatusCode::NO_CONTENT);
    let e = h.get(&o, "/api/v1/analytics/engagement?window=7d").await;
    assert_eq!(e.body["data"].as_array().unwrap().len(), 1, "{:?}", e.body);
    assert_eq!(e.body["data"][0]["interactions"], 3);
    let r = h.post(&o, &format!("/api/v1/customers/{busy_id}/restore"), json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let e = h.get(&o, "/api/v1/analytics/engagement?window=7d").await;
    assert_eq!(e.body["data"][0]["customer_id"], busy_id.as_str());
    assert_eq!(e.body["data"][0]["interactions"], 12);
    // Answers are kept between changes and never past one: a new chat moves the ranking at
    // once, after the same question was answered again and again.
    for _ in 0..3 {
        assert_eq!(
            h.get(&o, "/api/v1/analytics/engagement?window=7d").await.body["data"][0]["customer_id"],
            busy_id.as_str()
        );
    }
    chat(&h, &k, "e-5", json!({"contact": {"email": calm}, "interaction_count": 20, "started_at": recent})).await;
    let e = h.get(&o, "/api/v1/analytics/engagement?window=7d").await;
    assert_eq!(e.body["data"][0]["interactions"], 23, "{:?}", e.body);
    assert_eq!(e.body["data"][1]["customer_id"], busy_id.as_str());
    assert_eq!(h.get(&o, "/api/v1/analytics/engagement?window=forever").await.status, StatusCode::UNPROCESSABLE_ENTITY);
    let sales = h.user(&o, "sales").await;
    assert_eq!(h.get(&sales, "/api/v1/analytics/engagement").await.status, StatusCode::FORBIDDEN);
});

both!(concurrent_requests_that_miss_top_engaged_compute_it_once, |h| {
    let o = h.tenant("Engage together").await;
    let k = key(&h, &o).await;
    let recent = rapport_core::audit::format_time(time::OffsetDateTime::now_utc() - time::Duration::days(1));
    // A chat of a new person with `n` interactions yesterday.
    let person =
        |n: i64| json!({"contact": {"email": unique_email("t")}, "interaction_count": n, "started_at": recent});
    for (i, n) in [4, 9, 6].into_iter().enumerate() {
        chat(&h, &k, &format!("t-{i}"), person(n)).await;
    }
    let before = h.app.engagement_counts();
    // Twelve dashboards ask at once after the chats: one sums the rows, the others join its
    // computation (each computing its own, both databases computed several: checked).
    let asks = (0..12).map(|_| h.get(&o, "/api/v1/analytics/engagement?window=7d"));
    let answers = futures::future::join_all(asks).await;
    for a in &answers {
        assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
        assert_eq!(a.body, answers[0].body);
    }
    assert_eq!(answers[0].body["data"][0]["interactions"], 9);
    let after = h.app.engagement_counts();
    assert_eq!(after.computed - before.computed, 1, "{before:?} {after:?}");
    assert_eq!(after.kept - before.kept, 11, "{before:?} {after:?}");
    // A change moves the version: the next ask computes again, and /metrics says so.
    chat(&h, &k, "t-3", person(30)).await;
    assert_eq!(h.get(&o, "/api/v1/analytics/engagement?window=7d").await.body["data"][0]["interactions"], 30);
    assert_eq!(h.app.engagement_counts().computed - before.computed, 2);
    let m = h.call(Method::GET, "/metrics", None, None).await;
    let text = m.body.as_str().map(str::to_string).unwrap_or_else(|| m.body.to_string());
    assert!(text.contains("rapport_top_engaged_answers_total{source=\"computed\"}"), "{text}");
});

both!(metrics_never_drift_over_a_long_random_sequence, |h| {
    let o = h.tenant("Drift").await;
    let k = key(&h, &o).await;
    let people: Vec<String> = (0..6).map(|i| unique_email(&format!("p{i}"))).collect();
    let mut state: u64 = 0x9e3779b97f4a7c15;
    let mut next = move |n: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % n
    };
    let mut customers = std::collections::BTreeSet::new();
    for step in 0..60 {
        let session = format!("d-{}", next(15));
        match next(10) {
            0 => {
                h.call(Method::DELETE, &format!("/api/v1/conversations/{session}"), Some(&k.token), None).await;
            }
            1 => {
                // Merge two of the customers seen so far.
                let ids: Vec<String> = customers.iter().cloned().collect();
                if ids.len() >= 2 {
                    let (a, b) = (&ids[next(ids.len() as u64) as usize], &ids[next(ids.len() as u64) as usize]);
                    if a != b {
                        let m = h
                            .post(
                                &o,
                                &format!("/api/v1/customers/{a}/merge"),
                                json!({"source_ids": [b], "reason": "drift test"}),
                            )
                            .await;
                        if m.status == StatusCode::CREATED {
                            customers.remove(b);
                            if next(2) == 0 {
                                h.post(&o, &format!("/api/v1/merges/{}/undo", m.id()), json!({})).await;
                                customers.insert(b.clone());
                            }
                        }
                    }
                }
            }
            _ => {
                let email = &people[next(people.len() as u64) as usize];
                let r = h
                    .call(Method::PUT, &format!("/api/v1/conversations/{session}"), Some(&k.token), Some(json!({"contact": {"email": email}, "interaction_count": next(9), "view_count": next(4), "duration_seconds": next(600)})))
                    .await;
                assert_eq!(r.status, StatusCode::OK, "step {step}: {:?}", r.body);
                customers.insert(r.body["customer_id"].as_str().unwrap().to_string());
            }
        }
    }
    let engaged = h.get(&o, "/api/v1/analytics/engagement?window=30d").await.body;
    let d = h.app.rebuild_metrics(o.tenant_id).await.unwrap();
    assert!(d.customers_checked > 0);
    assert_eq!(d.customers_corrected, 0, "metrics were kept exactly in step");
    // Engagement per day was kept in step too: rebuilt from the conversations, it is the same.
    assert_eq!(h.get(&o, "/api/v1/analytics/engagement?window=30d").await.body, engaged);
});

both!(engagement_of_earlier_conversations_is_rebuilt_at_start, |h| {
    let o = h.tenant("Engagement rebuild").await;
    let k = key(&h, &o).await;
    let recent = rapport_core::audit::format_time(time::OffsetDateTime::now_utc() - time::Duration::days(1));
    chat(&h, &k, "r-1", json!({"contact": {"email": unique_email("r")}, "interaction_count": 4, "started_at": recent}))
        .await;
    let before = h.get(&o, "/api/v1/analytics/engagement?window=7d").await.body;
    assert_eq!(before["data"][0]["interactions"], 4);
    // As if the conversations predated the engagement table. Whatever rewrites engagement
    // rows moves the tenant's engagement counter, or kept answers would still be served.
    let wipe = [
        "DELETE FROM engagement_daily",
        "INSERT INTO pending_rebuilds (job) VALUES ('engagement')",
        "UPDATE tenant_stats SET value = value + 1 WHERE stat_key = 'engagement_changes'",
    ];
    for s in wipe {
        h.raw(s).await.unwrap();
    }
    assert_eq!(h.get(&o, "/api/v1/analytics/engagement?window=7d").await.body["data"], json!([]));
    // Opening the store runs the rebuild the job asks for.
    let store = h.reopen_store().await;
    store.close().await;
    assert_eq!(h.get(&o, "/api/v1/analytics/engagement?window=7d").await.body, before);
});
