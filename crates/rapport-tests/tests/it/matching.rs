//! Matching: ranked look-ups with confidence and reasons, duplicate blocking on email or
//! phone in any format, and matching keys that follow every change of the record.

use http::StatusCode;
use serde_json::json;

use crate::both;
use crate::harness::unique_email;

both!(match_ranks_email_phone_and_name_with_reasons, |h| {
    let o = h.tenant("Match").await;
    let email = unique_email("john");
    let john = h.customer(&o, json!({"name": "John", "email": email})).await;
    let maria = h
        .customer(&o, json!({"name": "María Rodríguez", "phone": "+1 (415) 555-0132", "address": {"city": "Austin"}}))
        .await;

    let r = h.post(&o, "/api/v1/customers/match", json!({"email": email.to_uppercase()})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["data"][0]["customer_id"], john.body["id"]);
    assert_eq!(r.body["data"][0]["confidence"], 100);
    assert_eq!(r.body["data"][0]["reasons"][0]["signal"], "email");

    let r = h.post(&o, "/api/v1/customers/match", json!({"phone": "415.555.0132"})).await;
    assert_eq!(r.body["data"][0]["customer_id"], maria.body["id"]);
    assert_eq!(r.body["data"][0]["confidence"], 90);

    // Accents and a typo in the name still find her; the same city raises the score.
    let plain = h.post(&o, "/api/v1/customers/match", json!({"name": "Maria Rodriges"})).await;
    let m = &plain.body["data"][0];
    assert_eq!(m["customer_id"], maria.body["id"], "{:?}", plain.body);
    let c = m["confidence"].as_u64().unwrap();
    assert!((70..=89).contains(&c), "{c}");
    let with_city = h.post(&o, "/api/v1/customers/match", json!({"name": "Maria Rodriges", "city": "austin"})).await;
    assert!(with_city.body["data"][0]["confidence"].as_u64().unwrap() >= c);

    // The seed's example: "John" chatted with an email; "John Smith" with a phone matches him.
    let r = h.post(&o, "/api/v1/customers/match", json!({"name": "John Smith", "phone": "(555) 123-4567"})).await;
    assert_eq!(r.body["data"][0]["customer_id"], john.body["id"]);
    assert!(r.body["data"][0]["confidence"].as_u64().unwrap() >= 70);
    assert_eq!(r.body["data"][0]["vetoed"], false);

    // A name match against someone with another email is vetoed.
    let r = h.post(&o, "/api/v1/customers/match", json!({"name": "John", "email": unique_email("other")})).await;
    assert_eq!(r.body["data"][0]["vetoed"], true);

    let none = h.post(&o, "/api/v1/customers/match", json!({"name": "Zebediah Quux"})).await;
    assert_eq!(none.body["data"], json!([]));
    let bad = h.post(&o, "/api/v1/customers/match", json!({})).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let bad = h.post(&o, "/api/v1/customers/match", json!({"email": "nope"})).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);

    // Matches never cross tenants.
    let other = h.tenant("Other").await;
    let r = h.post(&other, "/api/v1/customers/match", json!({"email": email})).await;
    assert_eq!(r.body["data"], json!([]));
});

both!(a_phone_in_another_format_blocks_a_manual_create, |h| {
    let o = h.tenant("Block").await;
    let first = h.customer(&o, json!({"name": "Pia", "phone": "+44 20 7946 0958"})).await;
    let r = h.post(&o, "/api/v1/customers", json!({"name": "Pia B", "phone": "+44 (0)20-7946-0958"})).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{:?}", r.body);
    assert_eq!(r.code(), "customer_duplicate");
    assert_eq!(r.body["matches"][0]["customer_id"], first.body["id"]);
    assert_eq!(r.body["matches"][0]["confidence"], 90);
    // A name alone (at most 89) never blocks.
    let same_name = h.post(&o, "/api/v1/customers", json!({"name": "Pia", "email": unique_email("pia")})).await;
    assert_eq!(same_name.status, StatusCode::CREATED);
    // Changing another customer's phone to hers is refused too.
    let r = h.patch(&o, &format!("/api/v1/customers/{}", same_name.id()), json!({"phone": "+442079460958"})).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{:?}", r.body);
    assert_eq!(r.code(), "customer_duplicate");
});

both!(matching_keys_follow_every_change, |h| {
    let o = h.tenant("Keys").await;
    let old = unique_email("old");
    let c = h.customer(&o, json!({"name": "Kay", "email": old})).await;
    let id = c.id();
    let find = |email: String| {
        let h = &h;
        let o = o.clone();
        async move {
            h.post(&o, "/api/v1/customers/match", json!({"email": email})).await.body["data"].as_array().unwrap().len()
        }
    };
    assert_eq!(find(old.clone()).await, 1);
    let new = unique_email("new");
    h.patch(&o, &format!("/api/v1/customers/{id}"), json!({"email": new})).await;
    assert_eq!(find(old.clone()).await, 0, "the old email's key is gone");
    assert_eq!(find(new.clone()).await, 1);
    h.delete(&o, &format!("/api/v1/customers/{id}")).await;
    assert_eq!(find(new.clone()).await, 0, "deleted customers are not matched");
    // Once deleted, the email is free for a new customer; restoring the old one then clashes.
    let again = h.customer(&o, json!({"name": "Kay Two", "email": new})).await;
    let r = h.post(&o, &format!("/api/v1/customers/{id}/restore"), json!({})).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    h.delete(&o, &format!("/api/v1/customers/{}", again.id())).await;
    let r = h.post(&o, &format!("/api/v1/customers/{id}/restore"), json!({})).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(find(new).await, 1, "restored customers are matched again");
});

both!(names_in_any_script_are_accepted_and_matched, |h| {
    let o = h.tenant("Scripts").await;
    for name in ["Søren Ærø", "Łukasz Straße", "王伟", "Þór Ðóra", "Nguyễn Văn An"] {
        let c = h.customer(&o, json!({"name": name, "email": unique_email("s")})).await;
        let r = h.post(&o, "/api/v1/customers/match", json!({"name": name})).await;
        assert_eq!(r.status, StatusCode::OK, "{name}: {:?}", r.body);
        assert_eq!(r.body["data"][0]["customer_id"], c.body["id"], "{name}");
    }
    let r = h.post(&o, "/api/v1/customers/match", json!({"name": "Soren Aero"})).await;
    assert_eq!(r.body["data"][0]["name"], "Søren Ærø");
});

both!(a_common_name_never_hides_the_customer_with_the_same_email, |h| {
    let o = h.tenant("Common").await;
    let email = unique_email("maria");
    let first = h.customer(&o, json!({"name": "Maria Garcia", "email": email, "phone": "+1 415 555 0100"})).await;
    // Hundreds of namesakes, all updated after her.
    let rows: Vec<_> = (0..260).map(|i| json!({"name": "Maria Garcia", "email": unique_email(&format!("mg{i}")), "phone": format!("+1 415 555 {:04}", 1000 + i)})).collect();
    h.app.bulk_insert_customers(o.tenant_id, &rows, rapport_core::customer::Source::Import).await.unwrap();
    let r = h.post(&o, "/api/v1/customers/match", json!({"name": "María García", "email": email})).await;
    assert_eq!(r.body["data"][0]["customer_id"], first.body["id"], "{:?}", r.body["data"][0]);
    assert_eq!(r.body["data"][0]["confidence"], 100);
    let r = h.post(&o, "/api/v1/customers/match", json!({"name": "Maria Garcia", "phone": "(415) 555-0100"})).await;
    assert_eq!(r.body["data"][0]["customer_id"], first.body["id"]);
});

both!(candidates_are_the_newest_holders_of_each_key_those_sharing_most_first, |h| {
    let o = h.tenant("Holders").await;
    // 260 holders of one name, created one after another (ids grow with time).
    let rows: Vec<_> = (0..260)
        .map(|i| json!({"name": "Ana Lima", "email": unique_email(&format!("al{i}")), "phone": format!("+1 415 555 {:04}", 2000 + i)}))
        .collect();
    let ids = h.app.bulk_insert_customers(o.tenant_id, &rows, rapport_core::customer::Source::Import).await.unwrap();
    let newest = &ids[60..];
    let pair = ("name_pair", "ana lima".to_string());
    let email_of = |i: usize| ("email", rows[i]["email"].as_str().unwrap().to_lowercase());
    let mut tx = h.app.store.read(o.tenant_id).await.unwrap();
    let sets = vec![
        // A name alone: 50 of the 200 newest holders of its key, never one of the 60 older.
        vec![pair.clone()],
        // An older holder is found by its email.
        vec![email_of(3)],
        // One of the newer shares two keys, so it comes first.
        vec![pair.clone(), email_of(100)],
        // An older one sharing two keys is not: its name key is past the key's 200 newest
        // holders, which are all a look-up reads of a key.
        vec![pair.clone(), email_of(3)],
    ];
    let found = tx.find_candidates_by_keys(&sets, 50, None, &Default::default()).await.unwrap();
    let of = |set: usize| found.iter().filter(|(s, _)| *s == set).map(|(_, c)| c).collect::<Vec<_>>();
    for set in [0, 2, 3] {
        let list = of(set);
        assert_eq!(list.len(), 50, "set {set}");
        assert!(list.iter().all(|c| c.name == "Ana Lima" && newest.contains(&c.id)), "an older holder was read");
    }
    assert_eq!(of(1).iter().map(|c| c.id).collect::<Vec<_>>(), vec![ids[3]]);
    assert!(of(3).iter().all(|c| c.id != ids[3]));
    assert_eq!(of(2)[0].id, ids[100], "the customer sharing two keys comes first");
    // Each set's candidates of equal hits are the most recently updated first.
    let zero = of(0);
    assert!(zero.windows(2).all(|w| w[0].updated_at >= w[1].updated_at));
});

both!(only_candidates_alike_enough_to_score_by_name_are_read_whole, |h| {
    let o = h.tenant("Alike").await;
    // Sharing a first name and an initial ("maria r"): only the one whose name is alike
    // enough to score can be the person; the others are never read whole.
    let names = ["Maria Rodrigez", "Maria Ramos", "Maria Reyes", "Maria Rios"];
    let rows: Vec<_> =
        names.iter().enumerate().map(|(i, n)| json!({"name": n, "email": unique_email(&format!("mr{i}"))})).collect();
    let ids = h.app.bulk_insert_customers(o.tenant_id, &rows, rapport_core::customer::Source::Import).await.unwrap();
    let probe = rapport_core::identity::Probe { name: Some("María Rodríguez".into()), ..Default::default() };
    let words = rapport_core::identity::name_tokens("María Rodríguez");
    let sets = vec![rapport_core::identity::probe_keys(&probe)];
    let mut tx = h.app.store.read(o.tenant_id).await.unwrap();
    let all = tx.find_candidates_by_keys(&sets, 50, None, &Default::default()).await.unwrap();
    assert_eq!(all.len(), 4, "all four share a key: {all:?}");
    let asked = std::sync::Mutex::new(Vec::new());
    let keep = |set: usize, name: &str| {
        asked.lock().unwrap().push((set, name.to_string()));
        rapport_core::identity::name_may_match(&words, name)
    };
    let kept = tx.find_candidates_by_keys(&sets, 50, Some(&keep), &Default::default()).await.unwrap();
    assert_eq!(kept.iter().map(|(s, c)| (*s, c.id)).collect::<Vec<_>>(), vec![(0, ids[0])]);
    assert_eq!(asked.lock().unwrap().len(), 4, "each was asked about by its name");
    // And the match answers her, as before.
    let r = h.post(&o, "/api/v1/customers/match", json!({"name": "María Rodríguez"})).await;
    assert_eq!(r.body["data"].as_array().map(Vec::len), Some(1), "{:?}", r.body);
    assert_eq!(r.body["data"][0]["customer_id"], ids[0].to_string());
});
