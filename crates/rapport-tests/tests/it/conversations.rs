//! The chat feed: find-or-create from conversations, metrics, moves, and the seeds' own
//! testing checklist (000, "Testing Checklist").

use http::{Method, StatusCode};
use serde_json::{json, Value};

use crate::both;
use crate::harness::{unique_email, Client, Harness};

async fn integration_key(h: &Harness, owner: &Client) -> Client {
    let k = h.post(owner, "/api/v1/api-keys", json!({"name": "chat widget", "role": "integration"})).await;
    assert_eq!(k.status, StatusCode::CREATED, "{:?}", k.body);
    Client { token: k.body["secret"].as_str().unwrap().to_string(), user_id: k.id(), tenant_id: owner.tenant_id }
}

async fn put(h: &Harness, c: &Client, session: &str, body: Value) -> Value {
    let r = h.call(Method::PUT, &format!("/api/v1/conversations/{session}"), Some(&c.token), Some(body)).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    r.body
}

fn session() -> String {
    format!("s-{}", uuid::Uuid::now_v7().simple())
}

both!(checklist_1_a_chat_with_a_name_creates_a_customer, |h| {
    let o = h.tenant("Check1").await;
    let key = integration_key(&h, &o).await;
    let s = session();
    let r = put(&h, &key, &s, json!({"contact": {"name": "Olivia Chen"}, "messages": [{"role": "customer", "text": "I want a paver patio. Paver patio pricing please."}]})).await;
    assert_eq!(r["match"]["created"], true);
    let cid = r["customer_id"].as_str().unwrap();
    let c = h.get(&o, &format!("/api/v1/customers/{cid}")).await;
    assert_eq!(c.body["name"], "Olivia Chen");
    assert_eq!(c.body["source"], "chat");
    assert_eq!(c.body["lifecycle_stage"], "prospect");
    assert!(r["summary"].as_str().unwrap().starts_with("I want a paver patio."));
    assert!(r["topics"].as_array().unwrap().iter().any(|t| t == "paver"), "{:?}", r["topics"]);
    // The chat pipeline's writes name the key and the conversation.
    let a = h.get(&o, &format!("/api/v1/customers/{cid}/audit")).await;
    assert_eq!(a.body["data"][0]["actor_type"], "api_key");
    assert_eq!(a.body["data"][0]["conversation_id"], s);
    // Idempotent: the same PUT again changes nothing about who it is.
    let again = put(&h, &key, &s, json!({"contact": {"name": "Olivia Chen"}})).await;
    assert_eq!(again["customer_id"], r["customer_id"]);
    assert!(again.get("match").is_none());
});

both!(checklist_2_a_chat_with_the_same_email_links_to_the_existing_customer, |h| {
    let o = h.tenant("Check2").await;
    let key = integration_key(&h, &o).await;
    let email = unique_email("ava");
    let first = put(&h, &key, &session(), json!({"contact": {"name": "Ava", "email": email}})).await;
    let second =
        put(&h, &key, &session(), json!({"contact": {"name": "Ava Jones", "email": email.to_uppercase()}})).await;
    assert_eq!(second["customer_id"], first["customer_id"]);
    assert_eq!(second["match"]["created"], false);
    assert_eq!(second["match"]["confidence"], 100);
    let list = h.get(&o, "/api/v1/customers").await;
    assert_eq!(list.body["data"].as_array().unwrap().len(), 1, "no duplicate");
    // A person's entered name is never overwritten by the chat.
    assert_eq!(list.body["data"][0]["name"], "Ava");
});

both!(checklist_3_a_deleted_customer_disappears_from_every_view_but_stays, |h| {
    let o = h.tenant("Check3").await;
    let key = integration_key(&h, &o).await;
    let email = unique_email("del");
    let r = put(&h, &key, &session(), json!({"contact": {"name": "Del", "email": email}})).await;
    let cid = r["customer_id"].as_str().unwrap().to_string();
    assert_eq!(h.delete(&o, &format!("/api/v1/customers/{cid}")).await.status, StatusCode::NO_CONTENT);
    assert_eq!(h.get(&o, &format!("/api/v1/customers/{cid}")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(h.get(&o, "/api/v1/customers").await.body["data"], json!([]));
    assert_eq!(h.post(&o, "/api/v1/customers/match", json!({"email": email})).await.body["data"], json!([]));
    assert_eq!(h.get(&o, &format!("/api/v1/customers/{cid}/conversations")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(h.get(&o, &format!("/api/v1/customers/{cid}/metrics")).await.status, StatusCode::NOT_FOUND);
    let kept = h.get(&o, &format!("/api/v1/customers/{cid}?include_deleted=true")).await;
    assert_eq!(kept.status, StatusCode::OK, "still in the database");
});

both!(checklist_4_lifecycle_changes_are_logged, |h| {
    let o = h.tenant("Check4").await;
    let key = integration_key(&h, &o).await;
    let r = put(&h, &key, &session(), json!({"contact": {"name": "Liv", "phone": "+1 212 555 0199"}})).await;
    let cid = r["customer_id"].as_str().unwrap();
    let p = h.patch(&o, &format!("/api/v1/customers/{cid}"), json!({"lifecycle_stage": "customer"})).await;
    assert_ne!(p.body["lifecycle_updated_at"], Value::Null);
    let t = h.get(&o, &format!("/api/v1/customers/{cid}/timeline?type=lifecycle_changed")).await;
    assert_eq!(t.body["data"][0]["data"]["from"], "prospect");
    assert_eq!(t.body["data"][0]["data"]["to"], "customer");
});

both!(checklist_5_an_email_change_logs_old_and_new_values, |h| {
    let o = h.tenant("Check5").await;
    let key = integration_key(&h, &o).await;
    let old = unique_email("old");
    let r = put(&h, &key, &session(), json!({"contact": {"name": "Em", "email": old}})).await;
    let cid = r["customer_id"].as_str().unwrap();
    let new = unique_email("new");
    h.patch(&o, &format!("/api/v1/customers/{cid}"), json!({"email": new})).await;
    let a = h.get(&o, &format!("/api/v1/customers/{cid}/audit")).await;
    assert_eq!(a.body["data"][0]["old_values"]["email"], old);
    assert_eq!(a.body["data"][0]["new_values"]["email"], new);
    assert_eq!(a.body["data"][0]["actor_type"], "user");
});

both!(checklist_6_metrics_follow_every_chat_in_real_time, |h| {
    let o = h.tenant("Check6").await;
    let key = integration_key(&h, &o).await;
    let email = unique_email("met");
    let s1 = session();
    let r = put(&h, &key, &s1, json!({"contact": {"email": email}, "interaction_count": 4, "view_count": 2, "duration_seconds": 100, "started_at": "2026-03-01T10:00:00Z", "ended_at": "2026-03-01T10:01:40Z"})).await;
    let cid = r["customer_id"].as_str().unwrap().to_string();
    // Created by the chat with its last contact already set: one write, one audit entry.
    let c = h.get(&o, &format!("/api/v1/customers/{cid}")).await;
    assert_eq!(c.body["last_contact_at"], "2026-03-01T10:01:40.000000Z");
    assert_eq!(c.body["version"], 1, "{:?}", c.body);
    let a = h.get(&o, &format!("/api/v1/customers/{cid}/audit")).await;
    assert_eq!(a.body["data"].as_array().unwrap().len(), 1, "{:?}", a.body);
    assert_eq!(a.body["data"][0]["new_values"]["last_contact_at"], "2026-03-01T10:01:40.000000Z");
    put(&h, &key, &session(), json!({"contact": {"email": email}, "interaction_count": 6, "view_count": 1, "duration_seconds": 300, "started_at": "2026-03-05T09:00:00Z", "ended_at": "2026-03-05T09:05:00Z"})).await;
    let m = h.get(&o, &format!("/api/v1/customers/{cid}/metrics")).await;
    assert_eq!(m.status, StatusCode::OK, "{:?}", m.body);
    assert_eq!(m.body["total_conversations"], 2);
    assert_eq!(m.body["total_interactions"], 10);
    assert_eq!(m.body["total_views"], 3);
    assert_eq!(m.body["avg_interaction_length_seconds"], 200.0);
    assert_eq!(m.body["first_interaction_at"], "2026-03-01T10:00:00.000000Z");
    assert_eq!(m.body["last_interaction_at"], "2026-03-05T09:05:00.000000Z");
    let c = h.get(&o, &format!("/api/v1/customers/{cid}")).await;
    assert_eq!(c.body["last_contact_at"], "2026-03-05T09:05:00.000000Z", "conversations advance last_contact_at");
    // An update of a conversation and its deletion are reflected at once.
    put(&h, &key, &s1, json!({"interaction_count": 10})).await;
    assert_eq!(h.get(&o, &format!("/api/v1/customers/{cid}/metrics")).await.body["total_interactions"], 16);
    assert_eq!(h.delete(&key, &format!("/api/v1/conversations/{s1}")).await.status, StatusCode::NO_CONTENT);
    let m = h.get(&o, &format!("/api/v1/customers/{cid}/metrics")).await;
    assert_eq!(m.body["total_conversations"], 1);
    assert_eq!(m.body["total_interactions"], 6);
    assert_eq!(h.get(&key, &format!("/api/v1/conversations/{s1}")).await.status, StatusCode::NOT_FOUND);
});

both!(seed_example_john_then_john_smith_links_and_gains_the_phone, |h| {
    let o = h.tenant("Seed").await;
    let key = integration_key(&h, &o).await;
    let first = put(&h, &key, &session(), json!({"contact": {"name": "John", "email": unique_email("john")}})).await;
    let second = put(&h, &key, &session(), json!({"contact": {"name": "John Smith", "phone": "(555) 123-4567"}})).await;
    assert_eq!(second["customer_id"], first["customer_id"]);
    assert_eq!(second["match"]["created"], false);
    assert!(second["match"]["confidence"].as_u64().unwrap() >= 70);
    let c = h.get(&o, &format!("/api/v1/customers/{}", first["customer_id"].as_str().unwrap())).await;
    assert_eq!(c.body["phone_e164"], "+15551234567", "the first customer gains the phone");
    assert_eq!(c.body["name"], "John", "and keeps the name a person gave");
});

both!(a_change_of_contact_details_moves_the_conversation, |h| {
    let o = h.tenant("Move").await;
    let key = integration_key(&h, &o).await;
    let a = put(&h, &key, &session(), json!({"contact": {"name": "Amy", "email": unique_email("amy")}})).await;
    let bea_email = unique_email("bea");
    let b = put(&h, &key, &session(), json!({"contact": {"name": "Bea", "email": bea_email}})).await;
    let s = session();
    let r = put(&h, &key, &s, json!({"contact": {"name": "Amy", "email": a["contact"]["email"]}})).await;
    assert_eq!(r["customer_id"], a["customer_id"]);
    let moved = put(&h, &key, &s, json!({"contact": {"name": "Bea", "email": bea_email}})).await;
    assert_eq!(moved["customer_id"], b["customer_id"]);
    let ma = h.get(&o, &format!("/api/v1/customers/{}/metrics", a["customer_id"].as_str().unwrap())).await;
    let mb = h.get(&o, &format!("/api/v1/customers/{}/metrics", b["customer_id"].as_str().unwrap())).await;
    assert_eq!(ma.body["total_conversations"], 1);
    assert_eq!(mb.body["total_conversations"], 2);
    let t = h
        .get(
            &o,
            &format!("/api/v1/customers/{}/timeline?type=conversation_unlinked", a["customer_id"].as_str().unwrap()),
        )
        .await;
    assert_eq!(t.body["data"][0]["data"]["session_id"], s);
});

both!(bad_conversations_are_refused_clearly, |h| {
    let o = h.tenant("BadConv").await;
    let key = integration_key(&h, &o).await;
    let r = h
        .call(
            Method::PUT,
            &format!("/api/v1/conversations/{}", session()),
            Some(&key.token),
            Some(json!({"messages": []})),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.body["errors"][0]["code"], "identifier_required");
    let r = h.call(Method::PUT, &format!("/api/v1/conversations/{}", session()), Some(&key.token), Some(json!({"contact": {"name": "X"}, "channel": "pigeon", "messages": [{"role": "robot", "text": "x"}], "view_count": -1}))).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<&str> = r.body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["channel", "messages[0].role", "view_count"]);
    let viewer = h.user(&o, "viewer").await;
    let r = h
        .call(
            Method::PUT,
            &format!("/api/v1/conversations/{}", session()),
            Some(&viewer.token),
            Some(json!({"contact": {"name": "X"}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(h.customer(&o, json!({"name": "n", "email": unique_email("n")})).await.status, StatusCode::CREATED);
});

both!(thirty_two_concurrent_chats_of_one_person_make_one_customer, |h| {
    let o = h.tenant("Burst").await;
    let key = integration_key(&h, &o).await;
    let names = ["Zoë Martínez", "zoe martinez", "ZOE MARTINEZ", "Martínez, Zoë"];
    let phones = ["+1 (415) 555-0175", "415.555.0175", "(415) 555 0175", "+14155550175"];
    let tasks: Vec<_> = (0..32)
        .map(|i| {
            let h = &h;
            let key = key.clone();
            let body = json!({"contact": {"name": names[i % 4], "phone": phones[(i / 4) % 4]}, "interaction_count": 1});
            async move {
                h.call(Method::PUT, &format!("/api/v1/conversations/burst-{i}"), Some(&key.token), Some(body)).await
            }
        })
        .collect();
    let replies = futures::future::join_all(tasks).await;
    let mut ids: Vec<String> = replies
        .iter()
        .map(|r| {
            assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
            r.body["customer_id"].as_str().unwrap().to_string()
        })
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 1, "exactly one customer for one person");
    assert_eq!(replies.iter().filter(|r| r.body["match"]["created"] == true).count(), 1);
    let list = h.get(&o, "/api/v1/customers?limit=200").await;
    assert_eq!(list.body["data"].as_array().unwrap().len(), 1);
    let m = h.get(&o, &format!("/api/v1/customers/{}/metrics", ids[0])).await;
    assert_eq!(m.body["total_conversations"], 32);
    assert_eq!(m.body["total_interactions"], 32);
});

both!(conversation_lists_filter_by_channel_topic_and_start, |h| {
    let o = h.tenant("Conv filters").await;
    let key = integration_key(&h, &o).await;
    let email = unique_email("filters");
    let patio = put(
        &h,
        &key,
        &session(),
        json!({"channel": "whatsapp", "contact": {"name": "Noor Haddad", "email": email},
        "started_at": "2026-03-01T10:00:00Z", "topics": ["Outdoor Kitchens", "pricing"]}),
    )
    .await;
    let wall = put(
        &h,
        &key,
        &session(),
        json!({"channel": "web_chat", "contact": {"email": email},
        "started_at": "2026-05-01T10:00:00Z", "topics": ["retaining wall"]}),
    )
    .await;
    put(
        &h,
        &key,
        &session(),
        json!({"channel": "sms", "contact": {"name": "Somebody Else"},
        "started_at": "2026-06-01T10:00:00Z", "topics": ["pricing"]}),
    )
    .await;

    let ids = |r: &Value| -> Vec<String> {
        r["data"].as_array().unwrap().iter().map(|c| c["session_id"].as_str().unwrap().to_string()).collect()
    };
    let one = |r: &Value| r["session_id"].as_str().unwrap().to_string();
    let r = h.get(&o, "/api/v1/conversations?channel=whatsapp").await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(ids(&r.body), [one(&patio)]);
    let r = h.get(&o, "/api/v1/conversations?topic=outdoor%20kitchen").await;
    assert_eq!(ids(&r.body), [one(&patio)], "the topic in another form still finds it");
    assert_eq!(ids(&h.get(&o, "/api/v1/conversations?topic=pricing").await.body).len(), 2);
    let r =
        h.get(&o, "/api/v1/conversations?started_after=2026-04-01T00:00:00Z&started_before=2026-05-15T00:00:00Z").await;
    assert_eq!(ids(&r.body), [one(&wall)]);
    let cid = patio["customer_id"].as_str().unwrap();
    let r = h.get(&o, &format!("/api/v1/conversations?customer_id={cid}&topic=retaining%20wall")).await;
    assert_eq!(ids(&r.body), [one(&wall)], "filters combine");

    let r = h.get(&o, "/api/v1/conversations?channel=pigeon").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.body["errors"][0]["field"], "channel");
    let r = h.get(&o, "/api/v1/conversations?started_after=yesterday").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.body["errors"][0]["code"], "invalid_time");

    // The customer carries its metrics when asked to.
    let c = h.get(&o, &format!("/api/v1/customers/{cid}?expand=metrics")).await;
    assert_eq!(c.status, StatusCode::OK, "{:?}", c.body);
    assert_eq!(c.body["metrics"]["total_conversations"], 2);
    assert_eq!(c.body["metrics"]["first_interaction_at"], "2026-03-01T10:00:00.000000Z", "{:?}", c.body);
    let plain = h.get(&o, &format!("/api/v1/customers/{cid}")).await;
    assert!(plain.body.get("metrics").is_none());
    let bad = h.get(&o, &format!("/api/v1/customers/{cid}?expand=everything")).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.body["errors"][0]["field"], "expand");
});

both!(chats_and_edits_of_one_customer_at_once_all_succeed, |h| {
    let o = h.tenant("Chat and edit").await;
    let key = integration_key(&h, &o).await;
    let email = unique_email("busy");
    let first = put(&h, &key, &session(), json!({"contact": {"name": "Busy Person", "email": email}})).await;
    let id = first["customer_id"].as_str().unwrap().to_string();
    // A person chatting while a user edits their record: every chat is taken, every edit
    // that carried no If-Match is applied.
    let chats =
        (0..6).map(|i| {
            let body = json!({"contact": {"name": "Busy Person", "email": email},
                          "started_at": format!("2026-03-{:02}T10:00:00Z", 1 + i),
                          "messages": [{"role": "customer", "text": "hello"}]});
            let (h, key) = (&h, &key);
            async move {
                h.call(Method::PUT, &format!("/api/v1/conversations/busy-{i}"), Some(&key.token), Some(body)).await
            }
        });
    let edits = (0..6).map(|i| {
        let (h, o, id) = (&h, &o, &id);
        async move { h.patch(o, &format!("/api/v1/customers/{id}"), json!({"notes": format!("edit {i}")})).await }
    });
    let (chats, edits) = tokio::join!(futures::future::join_all(chats), futures::future::join_all(edits));
    for r in chats {
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
        assert_eq!(r.body["customer_id"], id.as_str());
    }
    for r in edits {
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    }
    let m = h.get(&o, &format!("/api/v1/customers/{id}/metrics")).await;
    assert_eq!(m.body["total_conversations"], 7);
});

both!(a_bad_chat_among_concurrent_ones_fails_alone, |h| {
    // Concurrent chats of a tenant are written in one transaction; one that fails inside it
    // (an unknown channel is only found while the batch writes) answers its own 422 and
    // leaves no trace, and every other chat lands whole.
    let o = h.tenant("Batch").await;
    let key = integration_key(&h, &o).await;
    let tasks: Vec<_> = (0..24)
        .map(|i| {
            let (h, key) = (&h, key.clone());
            let channel = if i % 4 == 3 { "carrier_pigeon" } else { "web_chat" };
            let body = json!({"channel": channel, "contact": {"name": format!("Batch Person {i}"),
                "email": format!("batch-{i}@group.example")}, "interaction_count": 2});
            async move {
                h.call(Method::PUT, &format!("/api/v1/conversations/batch-{i}"), Some(&key.token), Some(body)).await
            }
        })
        .collect();
    let replies = futures::future::join_all(tasks).await;
    for (i, r) in replies.iter().enumerate() {
        if i % 4 == 3 {
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{i}: {:?}", r.body);
            assert_eq!(h.get(&o, &format!("/api/v1/conversations/batch-{i}")).await.status, StatusCode::NOT_FOUND);
        } else {
            assert_eq!(r.status, StatusCode::OK, "{i}: {:?}", r.body);
            assert_eq!(r.body["match"]["created"], true);
        }
    }
    let list = h.get(&o, "/api/v1/customers?limit=200").await;
    assert_eq!(list.body["data"].as_array().unwrap().len(), 18);
    let stats = h.get(&o, "/api/v1/customers/stats").await;
    assert_eq!(stats.body["total_customers"], 18, "{:?}", stats.body);
    let v = h.get(&o, "/api/v1/audit/verify").await;
    assert_eq!(v.body["ok"], true, "{:?}", v.body);
    // Each landed chat wrote two entries (its customer, its conversation); the owner's and
    // the key's entries come first.
    let convs = h.get(&o, "/api/v1/audit?table=conversations&limit=200").await;
    assert_eq!(convs.body["data"].as_array().unwrap().len(), 18);
});

both!(a_savepoint_undoes_its_writes_and_keeps_what_came_before, |h| {
    use rapport_store::EventRow;
    let o = h.tenant("Savepoints").await;
    let c = h.customer(&o, json!({"name": "Sam Point", "email": unique_email("sam")})).await;
    let id = c.id();
    let event = |kind: &str| EventRow {
        id: uuid::Uuid::now_v7(),
        tenant_id: o.tenant_id,
        customer_id: id,
        event_type: kind.into(),
        data: json!({}),
        actor_type: "system".into(),
        actor_id: None,
        at: time::OffsetDateTime::now_utc(),
    };
    let stats = h.get(&o, "/api/v1/customers/stats").await.body;
    let mut tx = h.app.store.begin(o.tenant_id).await.unwrap();
    let (seq, head) = tx.audit_head().await.unwrap();
    tx.insert_event(&event("kept_before")).await.unwrap();
    tx.savepoint().await.unwrap();
    tx.insert_event(&event("undone")).await.unwrap();
    let mut row = tx.get_customer(id).await.unwrap().unwrap();
    row.data.name = "Undone Name".into();
    row.data.lifecycle_stage = rapport_core::customer::LifecycleStage::Customer;
    row.version += 1;
    tx.update_customer(&row).await.unwrap();
    tx.rollback_to_savepoint().await.unwrap();
    assert!(tx.rollback_to_savepoint().await.is_err(), "the savepoint is gone");
    tx.savepoint().await.unwrap();
    tx.insert_event(&event("kept_after")).await.unwrap();
    tx.release_savepoint().await.unwrap();
    // A read inside a savepoint writes what was appended before it too; a rollback to the
    // savepoint takes that out of the database, and it must still be written at commit.
    tx.insert_event(&event("kept_across_a_read")).await.unwrap();
    tx.savepoint().await.unwrap();
    tx.insert_event(&event("undone_after_a_read")).await.unwrap();
    let inside: Vec<String> =
        tx.list_events(id, &[], None, 50).await.unwrap().into_iter().map(|e| e.event_type).collect();
    assert!(inside.contains(&"undone_after_a_read".to_string()), "{inside:?}");
    tx.rollback_to_savepoint().await.unwrap();
    assert_eq!(tx.audit_head().await.unwrap(), (seq, head), "the chain head did not move");
    tx.commit().await.unwrap();

    let mut tx = h.app.store.read(o.tenant_id).await.unwrap();
    let kinds: Vec<String> =
        tx.list_events(id, &[], None, 50).await.unwrap().into_iter().map(|e| e.event_type).collect();
    for kept in ["kept_before", "kept_after", "kept_across_a_read"] {
        assert!(kinds.contains(&kept.to_string()), "{kept}: {kinds:?}");
    }
    for undone in ["undone", "undone_after_a_read"] {
        assert!(!kinds.contains(&undone.to_string()), "{undone}: {kinds:?}");
    }
    assert_eq!(tx.get_customer(id).await.unwrap().unwrap().data.name, "Sam Point");
    drop(tx);
    assert_eq!(h.get(&o, "/api/v1/customers/stats").await.body, stats, "the counters did not move");
});

both!(concurrent_chats_of_two_tenants_land_each_in_its_own_tenant, |h| {
    // Each tenant's ingests are written in batches of their own: the same person chatting
    // with two businesses at once is one customer in each, seeing only its own chats.
    let (a, b) = (h.tenant("Batch A").await, h.tenant("Batch B").await);
    let (ka, kb) = (integration_key(&h, &a).await, integration_key(&h, &b).await);
    let tasks: Vec<_> = (0..24)
        .map(|i| {
            let h = &h;
            let key = if i % 2 == 0 { ka.clone() } else { kb.clone() };
            let body = json!({"contact": {"name": "Ines Duarte", "email": "ines@two-tenants.example"}, "interaction_count": 1});
            async move { h.call(Method::PUT, &format!("/api/v1/conversations/two-{i}"), Some(&key.token), Some(body)).await }
        })
        .collect();
    let replies = futures::future::join_all(tasks).await;
    for (owner, parity) in [(&a, 0), (&b, 1)] {
        let mine: Vec<&str> = replies
            .iter()
            .enumerate()
            .filter(|(i, _)| i % 2 == parity)
            .map(|(_, r)| {
                assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
                r.body["customer_id"].as_str().unwrap()
            })
            .collect();
        assert!(mine.iter().all(|id| *id == mine[0]), "one customer per tenant: {mine:?}");
        let list = h.get(owner, "/api/v1/customers?limit=200").await;
        assert_eq!(list.body["data"].as_array().unwrap().len(), 1);
        let m = h.get(owner, &format!("/api/v1/customers/{}/metrics", mine[0])).await;
        assert_eq!(m.body["total_conversations"], 12, "{:?}", m.body);
        assert_eq!(h.get(owner, "/api/v1/audit/verify").await.body["ok"], true);
    }
    let other = replies[1].body["customer_id"].as_str().unwrap();
    assert_eq!(h.get(&a, &format!("/api/v1/customers/{other}")).await.status, StatusCode::NOT_FOUND);
});

both!(a_chat_and_a_form_of_one_email_at_once_make_one_customer, |h| {
    // The chat feed decides under the tenant's identity lock; a customer created by hand is
    // decided under the same one, so whichever comes second finds the first (the form is
    // refused as a duplicate, or the chat links to the form's customer).
    let o = h.tenant("Chat and form").await;
    let key = integration_key(&h, &o).await;
    let tasks: Vec<_> = (0..8)
        .flat_map(|i| {
            let email = format!("race{i}@chat-and-form.example");
            let h = &h;
            let (o, key) = (o.clone(), key.clone());
            let chat = json!({"contact": {"name": format!("Rae Race{i}"), "email": email}, "interaction_count": 1});
            let form = json!({"name": format!("Rae Race{i}"), "email": email});
            [
                Box::pin(async move {
                    h.call(Method::PUT, &format!("/api/v1/conversations/race-{i}"), Some(&key.token), Some(chat)).await
                }) as std::pin::Pin<Box<dyn std::future::Future<Output = _> + Send>>,
                Box::pin(async move { h.post(&o, "/api/v1/customers", form).await }),
            ]
        })
        .collect();
    for r in futures::future::join_all(tasks).await {
        assert!(r.status.is_success() || r.code() == "customer_duplicate", "{} {:?}", r.status, r.body);
    }
    for i in 0..8 {
        let email = format!("race{i}@chat-and-form.example");
        let found = h.get(&o, &format!("/api/v1/customers?q={email}&limit=10")).await;
        let same: Vec<&Value> =
            found.body["data"].as_array().unwrap().iter().filter(|c| c["email"] == email.as_str()).collect();
        assert_eq!(same.len(), 1, "{email}: {same:?}");
    }
});

both!(a_burst_of_new_and_returning_people_lands_as_one_by_one, |h| {
    // Chats that arrive together are written together (new conversations decided as a
    // group): each must land exactly as it would alone.
    let o = h.tenant("Burst mix").await;
    let key = integration_key(&h, &o).await;
    let ana_email = unique_email("ana");
    let ana = h.customer(&o, json!({"name": "Ana Souza", "email": ana_email})).await.id().to_string();
    let ben = h.customer(&o, json!({"name": "Ben Okafor", "phone": "+1 212 555 0101"})).await.id().to_string();
    let cy_email = unique_email("cy");
    let cy = h
        .customer(&o, json!({"name": "Cy Larsen", "email": cy_email, "phone": "+1 212 555 0102"}))
        .await
        .id()
        .to_string();
    let dee = h.customer(&o, json!({"name": "Dee Moreau", "email": unique_email("dee")})).await.id().to_string();
    let kwame_email = unique_email("kwame");
    let mut bodies = vec![
        // Returning: gains a phone; gains an email; a second phone is noted, not stored.
        json!({"contact": {"name": "Ana Souza", "email": ana_email.to_uppercase(), "phone": "+1 212 555 0103"}}),
        json!({"contact": {"name": "Ben Okafor", "phone": "(212) 555-0101", "email": unique_email("ben")}}),
        json!({"contact": {"name": "Cy Larsen", "email": cy_email, "phone": "+1 212 555 0199"}}),
        // A namesake with another email: a new customer, and a vetoed pair to review.
        json!({"contact": {"name": "Dee Moreau", "email": unique_email("other-dee")}}),
        // One new person in two chats at once: one customer.
        json!({"contact": {"name": "Kwame Mensah", "email": kwame_email}, "interaction_count": 2}),
        json!({"contact": {"name": "Kwame Mensah", "email": kwame_email}, "interaction_count": 3}),
        // Refused alone.
        json!({"contact": {"name": "Bad Email", "email": "not-an-email"}}),
    ];
    for i in 0..12 {
        bodies.push(json!({"contact": {"name": format!("Person {i} Newcomer"), "email": unique_email("new")},
            "messages": [{"role": "customer", "text": "A fire pit, please."}], "interaction_count": i + 1}));
    }
    let sessions: Vec<String> = bodies.iter().map(|_| session()).collect();
    let tasks: Vec<_> = bodies
        .iter()
        .zip(&sessions)
        .map(|(body, s)| {
            let (h, key) = (&h, key.clone());
            async move {
                h.call(Method::PUT, &format!("/api/v1/conversations/{s}"), Some(&key.token), Some(body.clone())).await
            }
        })
        .collect();
    let replies = futures::future::join_all(tasks).await;
    for (i, r) in replies.iter().enumerate() {
        let want = if i == 6 { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
        assert_eq!(r.status, want, "chat {i}: {:?}", r.body);
    }
    let customer_of = |i: usize| replies[i].body["customer_id"].as_str().unwrap().to_string();
    let created = |i: usize| replies[i].body["match"]["created"].as_bool().unwrap();
    assert_eq!((customer_of(0), created(0)), (ana.clone(), false));
    assert_eq!((customer_of(1), created(1)), (ben.clone(), false));
    assert_eq!((customer_of(2), created(2)), (cy.clone(), false));
    assert!(created(3) && customer_of(3) != dee, "a namesake with another email is someone else");
    assert_eq!(customer_of(4), customer_of(5), "one person, one customer");
    assert_eq!([created(4), created(5)].iter().filter(|c| **c).count(), 1);
    let newcomers: std::collections::HashSet<String> = (7..19).map(customer_of).collect();
    assert_eq!(newcomers.len(), 12);
    assert!((7..19).all(created));

    let c = h.get(&o, &format!("/api/v1/customers/{ana}")).await;
    assert_eq!(c.body["phone_e164"], "+12125550103", "Ana gains the phone");
    assert!(c.body["last_contact_at"].is_string(), "and her last contact: {:?}", c.body);
    // Filled and touched in one write.
    let a = h.get(&o, &format!("/api/v1/customers/{ana}/audit")).await;
    let actions: Vec<&str> = a.body["data"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["update", "insert"], "{:?}", a.body);
    let c = h.get(&o, &format!("/api/v1/customers/{ben}")).await;
    assert!(c.body["email"].as_str().unwrap().starts_with("ben"), "Ben gains the email: {:?}", c.body);
    let c = h.get(&o, &format!("/api/v1/customers/{cy}")).await;
    assert_eq!(c.body["phone_e164"], "+12125550102", "Cy keeps the phone on file");
    let t = h.get(&o, &format!("/api/v1/customers/{cy}/timeline?type=contact_point_added")).await;
    assert_eq!(t.body["data"].as_array().unwrap().len(), 1, "{:?}", t.body);
    for i in [0, 4, 7, 18] {
        let t = h.get(&o, &format!("/api/v1/customers/{}/timeline?type=conversation_linked", customer_of(i))).await;
        assert!(!t.body["data"].as_array().unwrap().is_empty(), "chat {i}: {:?}", t.body);
    }
    let m = h.get(&o, &format!("/api/v1/customers/{}/metrics", customer_of(4))).await;
    assert_eq!((m.body["total_conversations"].clone(), m.body["total_interactions"].clone()), (json!(2), json!(5)));
    let m = h.get(&o, &format!("/api/v1/customers/{}/metrics", customer_of(18))).await;
    assert_eq!((m.body["total_conversations"].clone(), m.body["total_interactions"].clone()), (json!(1), json!(12)));
    let c = h.get(&o, &format!("/api/v1/customers/{}", customer_of(18))).await;
    assert_eq!((c.body["source"].clone(), c.body["lifecycle_stage"].clone()), (json!("chat"), json!("prospect")));
    assert!(c.body["last_contact_at"].is_string(), "{:?}", c.body);

    let pairs = h.get(&o, "/api/v1/duplicates").await;
    let vetoed = pairs.body["data"].as_array().unwrap().iter().any(|p| {
        p["vetoed"] == true && [&p["customer_a"], &p["customer_b"]].iter().any(|id| id.as_str() == Some(dee.as_str()))
    });
    assert!(vetoed, "{:?}", pairs.body);
    // Every write is in the audit chain, which still verifies: 18 conversations, 13 new
    // customers and 3 filled (Cy's differing phone changes nothing on the record).
    let v = h.get(&o, "/api/v1/audit/verify").await;
    assert_eq!(v.body["ok"], true, "{:?}", v.body);
    let a = h.get(&o, "/api/v1/audit?table=conversations&limit=200").await;
    assert_eq!(a.body["data"].as_array().unwrap().len(), 18);
    let list = h.get(&o, "/api/v1/customers?limit=200").await;
    assert_eq!(list.body["data"].as_array().unwrap().len(), 4 + 1 + 1 + 12);
});
