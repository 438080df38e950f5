//! Search (`q` on the customer list) and the tenant's customer figures (`/customers/stats`):
//! typos, accents, emails and phones found through the index, ranked the same on both
//! databases; counters that always equal a fresh count.

use http::{Method, StatusCode};
use rapport_store::stats::CustomerStats;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::both;
use crate::harness::{unique_email, Backend, Client, Harness, Reply};

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The names a search answers, in order.
async fn search(h: &Harness, c: &Client, q: &str, more: &str) -> Vec<String> {
    let r = h.get(c, &format!("/api/v1/customers?q={}{more}", enc(q))).await;
    assert_eq!(r.status, StatusCode::OK, "q={q}: {:?}", r.body);
    names(&r)
}

fn names(r: &Reply) -> Vec<String> {
    r.body["data"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap().to_string()).collect()
}

both!(search_tolerates_typos_accents_and_formats, |h| {
    let o = h.tenant("Search").await;
    h.customer(&o, json!({"name": "John Smith", "email": "john.smith@acme.test", "phone": "(555) 123-4567"})).await;
    h.customer(
        &o,
        json!({"name": "José García", "type": "business", "company_name": "Globex Corporation", "email": unique_email("jg")}),
    )
    .await;
    h.customer(&o, json!({"name": "Ann Lee", "email": "ann.lee@example.com", "phone": "+44 20 7946 0018"})).await;
    h.customer(&o, json!({"name": "Catherine Zeta", "email": unique_email("cz")})).await;
    h.customer(&o, json!({"name": "Li Wei", "email": unique_email("lw")})).await;

    // Typos: transposed letters in every word, a changed letter, a missing one, a sound-alike.
    assert_eq!(search(&h, &o, "Jhon Smtih", "").await.first().map(String::as_str), Some("John Smith"));
    assert_eq!(search(&h, &o, "jonh smiht", "").await.first().map(String::as_str), Some("John Smith"));
    assert_eq!(search(&h, &o, "Smyth", "").await, ["John Smith"]);
    assert_eq!(search(&h, &o, "Catherin", "").await, ["Catherine Zeta"]);
    assert_eq!(search(&h, &o, "Katherine", "").await, ["Catherine Zeta"]);
    assert_eq!(search(&h, &o, "JohnS mith", "").await, ["John Smith"], "a space one letter off");
    // Accents and case, either way round.
    for q in ["Jose", "JOSE", "garcia", "José García"] {
        assert_eq!(search(&h, &o, q, "").await, ["José García"], "q={q}");
    }
    // Company.
    assert_eq!(search(&h, &o, "globex", "").await, ["José García"]);
    assert_eq!(search(&h, &o, "Globex Corp", "").await, ["José García"]);
    // The beginning of an email, not its middle.
    assert_eq!(search(&h, &o, "ann.lee@exa", "").await, ["Ann Lee"]);
    assert_eq!(search(&h, &o, "john.smith@", "").await, ["John Smith"]);
    assert_eq!(search(&h, &o, "ANN.LEE@EXAMPLE.COM", "").await, ["Ann Lee"]);
    assert!(search(&h, &o, "smith@acme.test", "").await.is_empty());
    // The beginning of an email without `@` or dots, unlike any name; and its middle.
    h.customer(&o, json!({"name": "Pat Doe", "email": "quillfeather.pd@example.com"})).await;
    assert_eq!(search(&h, &o, "quillfea", "").await, ["Pat Doe"]);
    assert_eq!(search(&h, &o, "QuillFeather.p", "").await, ["Pat Doe"]);
    assert!(search(&h, &o, "illfeather", "").await.is_empty());
    // Phones in any format.
    for q in ["555.123.4567", "+1 555 123 4567", "5551234567", "1-555-123-4567", "123-4567"] {
        assert_eq!(search(&h, &o, q, "").await, ["John Smith"], "q={q}");
    }
    for q in ["+44 20 7946 0018", "020 7946 0018", "+442079460018"] {
        assert_eq!(search(&h, &o, q, "").await, ["Ann Lee"], "q={q}");
    }
    // A whole number of the tenant's region nobody has (+1 207 946 0018) is looked up
    // exactly first, then as digits inside others' numbers.
    assert_eq!(search(&h, &o, "(207) 946-0018", "").await, ["Ann Lee"]);
    // Two characters match the beginning of a word of the name.
    assert_eq!(search(&h, &o, "Li", "").await, ["Li Wei"]);
    assert_eq!(search(&h, &o, "we", "").await, ["Li Wei"]);
    // A letter dropped from a word of seven: no half of it is long enough to look up, and
    // its sound changes (Olusegun is ALSK, Olusegn ALSN); its first four letters are intact.
    let t = h.tenant("Search typos").await;
    h.customer(&t, json!({"name": "Olusegun Smith", "email": unique_email("os")})).await;
    h.customer(&t, json!({"name": "Mary Smith", "email": unique_email("ms")})).await;
    for q in ["Olusegn Smith", "Olusegn", "Olusegum Smith"] {
        assert_eq!(search(&h, &t, q, "").await.first().map(String::as_str), Some("Olusegun Smith"), "q={q}");
    }
    // Nothing like it.
    assert!(search(&h, &o, "Zzyzx", "").await.is_empty());
    assert!(search(&h, &o, "999-0000", "").await.is_empty());
});

both!(the_beginning_of_an_email_answers_its_holders_and_else_its_words, |h| {
    // An address as typed answers the customers whose email begins with it, not everybody
    // sharing its first word as a name; when nobody's email begins with it, its words are
    // looked up as names.
    let o = h.tenant("Email beginnings").await;
    h.customer(&o, json!({"name": "Priya Joshi", "email": "priya.joshi@example.com"})).await;
    h.customer(&o, json!({"name": "Priya Patel", "email": "pp.office@example.com"})).await;
    h.customer(&o, json!({"name": "Priya Nair", "email": "priya.nair@example.org"})).await;
    let sorted = |mut names: Vec<String>| {
        names.sort();
        names
    };
    assert_eq!(search(&h, &o, "priya.jo", "").await, ["Priya Joshi"]);
    assert_eq!(sorted(search(&h, &o, "PRIYA.", "").await), ["Priya Joshi", "Priya Nair"]);
    // A typo in the address: nobody's begins with it, its words find the name.
    assert_eq!(search(&h, &o, "priya.jsohi", "").await, ["Priya Joshi"]);
    // An address's middle is not its beginning (nor a word's).
    assert!(search(&h, &o, "office@exam", "").await.is_empty());
    // A hyphenated name is a name first, whoever's email begins with it.
    h.customer(&o, json!({"name": "Mary-Jane Watson", "email": "mary-jane.w@example.com"})).await;
    h.customer(&o, json!({"name": "Mary-Jane Holt", "email": "mjh@example.com"})).await;
    assert_eq!(sorted(search(&h, &o, "mary-jane", "").await), ["Mary-Jane Holt", "Mary-Jane Watson"]);
    // An address of two words finds the name of both words too, first when exact.
    h.customer(&o, json!({"name": "Ann Lee", "email": "al@example.com"})).await;
    h.customer(&o, json!({"name": "Ann Leeds", "email": "ann.leeds@example.net"})).await;
    assert_eq!(search(&h, &o, "ann.lee", "").await.first().map(String::as_str), Some("Ann Lee"));
});

both!(digits_find_their_holders_past_the_candidate_cap, |h| {
    // Digits typed are looked up among phone numbers by their trigrams, which match apart
    // ("5555" is only "555"): numbers holding the trigrams elsewhere must not crowd the
    // holders of the digits themselves out of a search's 300 candidates.
    let o = h.tenant("Digits").await;
    let word = |mut n: usize| -> String {
        let mut w = String::new();
        for _ in 0..6 {
            w.push((b'a' + (n % 26) as u8) as char);
            n /= 26;
        }
        let mut c = w.chars();
        c.next().map(|f| f.to_ascii_uppercase().to_string() + c.as_str()).unwrap_or_default()
    };
    let mut csv = String::from("Name,Email,Phone\n");
    for i in 0..320 {
        // +1 617 555 0100 and on: "555" in every number, "5555" in none.
        csv.push_str(&format!(
            "{} {},d{i}@digits.example,+1 617 555 {:04}\n",
            word(i * 7919 + 11),
            word(i * 104_729 + 5),
            100 + i
        ));
    }
    let r = crate::imports::import(&h, &o, "", &csv).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert_eq!(r.body["counts"]["create"], 320, "{:?}", r.body["counts"]);
    h.customer(&o, json!({"name": "Holder Ofthedigits", "phone": "+1 617 255 5512"})).await;
    assert_eq!(search(&h, &o, "5555", "").await, ["Holder Ofthedigits"]);
    assert_eq!(search(&h, &o, "255-5512", "").await, ["Holder Ofthedigits"]);
    assert_eq!(search(&h, &o, "555 0419", "&limit=5").await.len(), 1);
});

// A national number is read in the tenant's region: whole in it, it answers its holder
// alone; not a number there, it answers every phone holding its digits. A change of the
// region acts on the next search.
both!(a_phone_search_reads_the_tenants_region_as_it_is_now, |h| {
    let o = h.tenant("Regions").await;
    h.customer(&o, json!({"name": "London Office", "phone": "+44 20 7946 0958"})).await;
    h.customer(&o, json!({"name": "Maine Office", "phone": "+1 207 946 0958"})).await;
    let mut both = search(&h, &o, "020 7946 0958", "").await;
    both.sort();
    assert_eq!(both, ["London Office", "Maine Office"], "not a US number: its digits");
    let london = vec!["London Office".to_string()];
    for (region, want) in [("GB", &london), ("US", &both), ("GB", &london)] {
        let r = h.patch(&o, "/api/v1/tenant", json!({"phone_region": region})).await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
        let mut found = search(&h, &o, "020 7946 0958", "").await;
        found.sort();
        assert_eq!(&found, want, "in {region}");
    }
});

both!(deleted_and_other_tenants_customers_are_not_found, |h| {
    let a = h.tenant("Alpha").await;
    let b = h.tenant("Beta").await;
    let za = h.customer(&a, json!({"name": "Zelda Quarrington", "email": "zq@alpha.test"})).await.id();
    let zb = h.customer(&b, json!({"name": "Zelda Quarrington", "email": "zq@beta.test"})).await.id();
    let ids = |r: &Reply| -> Vec<String> {
        r.body["data"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap().to_string()).collect()
    };
    assert_eq!(ids(&h.get(&a, "/api/v1/customers?q=zelda").await), [za.to_string()]);
    assert_eq!(ids(&h.get(&b, "/api/v1/customers?q=zelda").await), [zb.to_string()]);
    assert!(search(&h, &b, "zq@alpha.test", "").await.is_empty(), "another tenant's email");

    let path = format!("/api/v1/customers/{za}");
    assert_eq!(h.delete(&a, &path).await.status, StatusCode::NO_CONTENT);
    assert!(search(&h, &a, "Zelda", "").await.is_empty(), "deleted customers vanish from search");
    assert!(search(&h, &a, "zq@alpha.test", "&include_deleted=true").await.is_empty());
    assert_eq!(h.post(&a, &format!("{path}/restore"), json!({})).await.status, StatusCode::OK);
    assert_eq!(search(&h, &a, "Zelda", "").await, ["Zelda Quarrington"]);

    // A rename is found by its new name only, from the transaction of the change on.
    assert_eq!(h.patch(&a, &path, json!({"name": "Zora Quill"})).await.status, StatusCode::OK);
    assert!(search(&h, &a, "Zelda Quarrington", "").await.is_empty());
    assert_eq!(search(&h, &a, "Zora", "").await, ["Zora Quill"]);
    assert_eq!(h.patch(&a, &path, json!({"email": "zora@alpha.test"})).await.status, StatusCode::OK);
    assert!(search(&h, &a, "zq@alpha", "").await.is_empty());
    assert_eq!(search(&h, &a, "zora@alpha", "").await, ["Zora Quill"]);
    // Deleting through `status: deleted` removes it too.
    assert_eq!(h.patch(&a, &path, json!({"status": "deleted"})).await.status, StatusCode::OK);
    assert!(search(&h, &a, "Zora", "").await.is_empty());

    // A customer merged away is found by no look-up (name, beginning of a short name,
    // phone), with filters or without; its merge undone, it is found again.
    let kept = h.customer(&a, json!({"name": "Li Fairweather", "phone": "+16175550123"})).await.id();
    let gone = h.customer(&a, json!({"name": "Li Fairweather", "phone": "+16175550199"})).await.id();
    let both = [kept.to_string(), gone.to_string()];
    for q in ["fairweather", "Li", "+16175550199"] {
        let found = ids(&h.get(&a, &format!("/api/v1/customers?q={}", enc(q))).await);
        assert!(found.iter().all(|id| both.contains(id)) && !found.is_empty(), "{q}: {found:?}");
    }
    let merged = h
        .post(&a, &format!("/api/v1/customers/{kept}/merge"), json!({"source_ids": [gone], "reason": "same person"}))
        .await;
    assert_eq!(merged.status, StatusCode::CREATED, "{:?}", merged.body);
    for q in ["fairweather", "Li", "+16175550199", "+1 617 555 0199"] {
        for more in ["", "&lifecycle_stage=lead", "&status=active"] {
            let found = ids(&h.get(&a, &format!("/api/v1/customers?q={}{more}", enc(q))).await);
            assert!(!found.contains(&gone.to_string()), "{q}{more}: {found:?}");
        }
    }
    let merge_id = merged.body["id"].as_str().unwrap().to_string();
    assert_eq!(h.post(&a, &format!("/api/v1/merges/{merge_id}/undo"), json!({})).await.status, StatusCode::OK);
    assert!(ids(&h.get(&a, "/api/v1/customers?q=%2B16175550199").await).contains(&gone.to_string()));
});

both!(ranking_puts_the_exact_name_first_and_pages_by_relevance, |h| {
    let o = h.tenant("Rank").await;
    for n in ["Johnny Smith", "Jon Smith", "John Smithson", "John Smith", "Jane Smith", "Smith John", "Mary Jones"] {
        h.customer(&o, json!({"name": n, "email": unique_email("r")})).await;
    }
    let all = search(&h, &o, "John Smith", "").await;
    assert_eq!(all[0], "John Smith");
    assert_eq!(all[1], "Smith John", "the same words in another order come next");
    assert_eq!(all.last().map(String::as_str), Some("Jane Smith"), "a sound-alike first name ranks last");
    assert!(!all.contains(&"Mary Jones".to_string()));
    assert_eq!(all.len(), 6);

    // Pages of two follow the same order, with a (score, id) cursor, and end with null.
    let mut paged = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..10 {
        let c = cursor.as_deref().map(|c| format!("&cursor={c}")).unwrap_or_default();
        let r = h.get(&o, &format!("/api/v1/customers?q=John%20Smith&limit=2{c}")).await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
        paged.extend(names(&r));
        match r.body["next_cursor"].as_str() {
            Some(n) => cursor = Some(n.to_string()),
            None => break,
        }
    }
    assert_eq!(paged, all);
    // A cursor belongs to its sort.
    let first = h.get(&o, "/api/v1/customers?q=John%20Smith&limit=2").await;
    let cur = first.body["next_cursor"].as_str().unwrap();
    let other = h.get(&o, &format!("/api/v1/customers?q=John%20Smith&limit=2&sort=name&cursor={cur}")).await;
    assert_eq!(other.status, StatusCode::UNPROCESSABLE_ENTITY);

    // Another sort orders the same matches.
    let by_name = search(&h, &o, "John Smith", "&sort=name").await;
    let mut expected = all.clone();
    expected.sort();
    assert_eq!(by_name, expected);
    let r = h.get(&o, "/api/v1/customers?q=John%20Smith&sort=-relevance&limit=1").await;
    assert_eq!(names(&r), ["John Smith"]);
});

both!(search_combines_with_filters_and_scope, |h| {
    let o = h.tenant("Filter").await;
    let sales = h.user(&o, "sales").await;
    h.customer(
        &o,
        json!({"name": "Kim Park", "email": unique_email("k1"), "lifecycle_stage": "lead", "tags": ["vip"]}),
    )
    .await;
    h.customer(&o, json!({"name": "Kim Parker", "email": unique_email("k2"), "lifecycle_stage": "customer"})).await;
    h.customer(
        &o,
        json!({"name": "Kim Parks", "email": unique_email("k3"), "lifecycle_stage": "customer", "tags": ["vip"]}),
    )
    .await;
    let all = search(&h, &o, "kim park", "").await;
    assert_eq!(all[0], "Kim Park");
    assert_eq!(all.len(), 3);
    assert_eq!(search(&h, &o, "kim park", "&lifecycle_stage=lead").await, ["Kim Park"]);
    assert_eq!(search(&h, &o, "kim park", "&lifecycle_stage=customer").await, ["Kim Parks", "Kim Parker"]);
    assert_eq!(search(&h, &o, "kim park", "&tag=vip").await, ["Kim Park", "Kim Parks"]);
    assert!(search(&h, &o, "kim park", "&lifecycle_stage=churned").await.is_empty());
    // A sales user searches within their scope: unassigned customers are out of it.
    assert_eq!(search(&h, &sales, "kim park", "").await, ["Kim Park"]);
    let mine = h.customer(&sales, json!({"name": "Kim Parkes", "email": unique_email("k4")})).await;
    assert_eq!(mine.body["assigned_to"], sales.user_id.to_string());
    let seen = search(&h, &sales, "kim park", "").await;
    assert_eq!(seen.len(), 2);
    assert!(seen.contains(&"Kim Parkes".to_string()));
});

both!(bad_queries_and_sorts_are_refused, |h| {
    let o = h.tenant("Bad").await;
    for q in ["J", "a b", " - "] {
        let r = h.get(&o, &format!("/api/v1/customers?q={}", enc(q))).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "q={q}: {:?}", r.body);
        assert_eq!(r.body["errors"][0]["field"], "q");
        assert_eq!(r.body["errors"][0]["code"], "too_short");
    }
    let long = "x".repeat(201);
    let r = h.get(&o, &format!("/api/v1/customers?q={long}")).await;
    assert_eq!(r.body["errors"][0]["code"], "too_long");
    let r = h.get(&o, "/api/v1/customers?sort=-relevance").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "relevance needs q");
    assert_eq!(r.body["errors"][0]["field"], "sort");
    // An empty q is no search at all.
    assert_eq!(h.get(&o, "/api/v1/customers?q=").await.status, StatusCode::OK);
});

/// The tenant's figures as the API answers them.
async fn stats(h: &Harness, c: &Client) -> Value {
    let r = h.get(c, "/api/v1/customers/stats").await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    r.body
}

/// Sets a customer's total revenue the way the invoices will: through the store.
async fn set_revenue(h: &Harness, c: &Client, id: Uuid, amount: i64) {
    let mut tx = h.app.store.begin(c.tenant_id).await.unwrap();
    let mut row = tx.get_customer(id).await.unwrap().unwrap();
    row.derived.total_revenue = amount;
    row.version += 1;
    tx.update_customer(&row).await.unwrap();
    tx.commit().await.unwrap();
}

both!(stats_follow_every_change_exactly, |h| {
    let o = h.tenant("Stats").await;
    let zero = stats(&h, &o).await;
    assert_eq!(zero["total_customers"], 0);
    assert_eq!(zero["average_value"], json!({"amount_minor": 0, "currency": "USD"}));

    let a = h.customer(&o, json!({"name": "A", "email": unique_email("a")})).await.id();
    let b = h.customer(&o, json!({"name": "B", "email": unique_email("b"), "lifecycle_stage": "lead"})).await.id();
    let c = h
        .customer(
            &o,
            json!({"name": "C", "email": unique_email("c"), "type": "business", "company_name": "C Ltd", "status": "inactive", "lifecycle_stage": "customer"}),
        )
        .await
        .id();
    let d = h
        .customer(&o, json!({"name": "D", "email": unique_email("d"), "type": "company", "company_name": "D Inc"}))
        .await
        .id();
    let s = stats(&h, &o).await;
    assert_eq!(s["total_customers"], 4);
    assert_eq!(s["active_customers"], 3);
    assert_eq!(
        s["by_type"],
        json!({"individual": 2, "business": 2, "enterprise": 0, "non_profit": 0, "government": 0})
    );
    assert_eq!(s["by_lifecycle_stage"], json!({"prospect": 2, "lead": 1, "customer": 1, "churned": 0}));
    assert_eq!(s["by_status"], json!({"active": 3, "inactive": 1, "archived": 0}));

    // Revenue: 2,500,000 over the customers, as 002's example; the average is rounded.
    set_revenue(&h, &o, a, 1_000_000).await;
    set_revenue(&h, &o, c, 1_500_000).await;
    let s = stats(&h, &o).await;
    assert_eq!(s["total_revenue"], json!({"amount_minor": 2_500_000, "currency": "USD"}));
    assert_eq!(s["average_value"]["amount_minor"], 625_000);

    // Updates move customers between counters; a change that changes nothing moves nothing.
    let p = h
        .patch(
            &o,
            &format!("/api/v1/customers/{b}"),
            json!({"status": "archived", "lifecycle_stage": "churned", "type": "government", "company_name": "City"}),
        )
        .await;
    assert_eq!(p.status, StatusCode::OK, "{:?}", p.body);
    h.patch(&o, &format!("/api/v1/customers/{b}"), json!({"status": "archived"})).await;
    let s = stats(&h, &o).await;
    assert_eq!(s["total_customers"], 4);
    assert_eq!(s["active_customers"], 2);
    assert_eq!(s["by_status"], json!({"active": 2, "inactive": 1, "archived": 1}));
    assert_eq!(s["by_type"]["government"], 1);
    assert_eq!(s["by_type"]["individual"], 1);
    assert_eq!(s["by_lifecycle_stage"], json!({"prospect": 2, "lead": 0, "customer": 1, "churned": 1}));

    // Deleting takes a customer, and its revenue, out of every figure; restoring puts it back.
    assert_eq!(h.delete(&o, &format!("/api/v1/customers/{c}")).await.status, StatusCode::NO_CONTENT);
    let s = stats(&h, &o).await;
    assert_eq!(s["total_customers"], 3);
    assert_eq!(s["by_status"]["inactive"], 0);
    assert_eq!(s["by_type"]["business"], 1);
    assert_eq!(s["total_revenue"]["amount_minor"], 1_000_000);
    assert_eq!(s["average_value"]["amount_minor"], 333_333);
    assert_eq!(h.post(&o, &format!("/api/v1/customers/{c}/restore"), json!({})).await.status, StatusCode::OK);
    let s = stats(&h, &o).await;
    assert_eq!(s["total_customers"], 4);
    assert_eq!(s["total_revenue"]["amount_minor"], 2_500_000);
    h.delete(&o, &format!("/api/v1/customers/{d}")).await;
    assert_eq!(stats(&h, &o).await["by_type"]["business"], 1);

    // Another tenant's figures are its own.
    let other = h.tenant("Other").await;
    assert_eq!(stats(&h, &other).await["total_customers"], 0);
    // Tenant-wide figures: read-only roles see them, scoped roles do not.
    let viewer = h.user(&o, "viewer").await;
    assert_eq!(stats(&h, &viewer).await["total_customers"], 3);
    let sales = h.user(&o, "sales").await;
    let r = h.get(&sales, "/api/v1/customers/stats").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.header("content-type"), "application/problem+json");
    assert_eq!(h.call(Method::GET, "/api/v1/customers/stats", None, None).await.status, StatusCode::UNAUTHORIZED);
});

/// A small deterministic generator, so a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.next(xs.len())]
    }
}

fn sorted(mut v: Vec<(String, i64)>) -> Vec<(String, i64)> {
    v.retain(|(_, n)| *n != 0);
    v.sort();
    v
}

both!(counters_equal_a_fresh_count_after_random_operations, |h| {
    let o = h.tenant("Random").await;
    let k = h.post(&o, "/api/v1/api-keys", json!({"name": "chat", "role": "integration"})).await;
    let key = Client { token: k.body["secret"].as_str().unwrap().to_string(), user_id: k.id(), tenant_id: o.tenant_id };
    let mut rng = Rng(0x5eed_1234_abcd_ef01);
    let types = ["individual", "business", "enterprise", "non_profit", "government"];
    let statuses = ["active", "inactive", "archived"];
    let stages = ["prospect", "lead", "customer", "churned"];
    let first = ["Ada", "Bo", "Cy", "Di", "Eve", "Fay"];
    let mut ids: Vec<Uuid> = Vec::new();
    let mut merges: Vec<Uuid> = Vec::new();
    for step in 0..90 {
        let op = if ids.len() < 4 { 0 } else { rng.next(9) };
        let id = if ids.is_empty() { Uuid::nil() } else { ids[rng.next(ids.len())] };
        let path = format!("/api/v1/customers/{id}");
        match op {
            0 | 1 => {
                let t = rng.pick(&types);
                let r = h
                    .post(
                        &o,
                        "/api/v1/customers",
                        json!({"name": format!("{} {step}", rng.pick(&first)), "email": unique_email("x"), "type": t,
                               "company_name": "Co", "status": rng.pick(&statuses), "lifecycle_stage": rng.pick(&stages)}),
                    )
                    .await;
                assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
                ids.push(r.id());
            }
            2 => {
                let body = match rng.next(4) {
                    0 => json!({"type": rng.pick(&types)}),
                    1 => json!({"status": rng.pick(&statuses)}),
                    2 => json!({"lifecycle_stage": rng.pick(&stages), "name": format!("Renamed {step}")}),
                    _ => json!({"status": "deleted"}),
                };
                h.patch(&o, &path, body).await;
            }
            3 => {
                h.delete(&o, &path).await;
            }
            4 => {
                h.post(&o, &format!("{path}/restore"), json!({})).await;
            }
            5 => {
                let live = h.app.store.read(o.tenant_id).await.unwrap().get_customer(id).await.unwrap().unwrap();
                if live.deleted_at.is_none() {
                    set_revenue(&h, &o, id, rng.next(10_000) as i64 * 100).await;
                }
            }
            6 => {
                let source = ids[rng.next(ids.len())];
                if source != id {
                    let r =
                        h.post(&o, &format!("{path}/merge"), json!({"source_ids": [source], "reason": "random"})).await;
                    if r.status == StatusCode::CREATED {
                        merges.push(r.id());
                    }
                }
            }
            7 => {
                if let Some(m) = merges.pop() {
                    h.post(&o, &format!("/api/v1/merges/{m}/undo"), json!({})).await;
                }
            }
            _ => {
                let r = h
                    .call(
                        Method::PUT,
                        &format!("/api/v1/conversations/r-{step}"),
                        Some(&key.token),
                        Some(json!({"contact": {"name": format!("Chat {step}"), "email": unique_email("chat")}})),
                    )
                    .await;
                assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
                if let Some(c) = r.body["customer_id"].as_str() {
                    ids.push(Uuid::parse_str(c).unwrap());
                }
            }
        }
    }
    let mut tx = h.app.store.read(o.tenant_id).await.unwrap();
    let kept = sorted(tx.customer_counters().await.unwrap());
    let fresh = sorted(tx.count_customers_afresh().await.unwrap());
    assert!(fresh.iter().any(|(k, n)| k == "customers" && *n > 3), "the sequence left customers: {fresh:?}");
    assert_eq!(kept, fresh);
    let api = stats(&h, &o).await;
    let want = CustomerStats::from_counters(&fresh);
    assert_eq!(api["total_customers"], want.total);
    assert_eq!(api["total_revenue"]["amount_minor"], want.total_revenue);
    assert_eq!(api["by_lifecycle_stage"]["churned"], want.by_lifecycle_stage["churned"]);

    // The search index holds exactly the live customers, each under its current email and
    // name; and the same once it is readied as after a bulk load (on SQLite its segments
    // merged into one).
    for after_load in [false, true] {
        if after_load {
            h.app.store.analyze().await.unwrap();
        }
        for id in &ids {
            let c = tx.get_customer(*id).await.unwrap().unwrap();
            let mut queries = vec![c.data.name.clone()];
            queries.extend(c.data.email.as_ref().map(|e| e.normalized().to_string()));
            for q in queries {
                let found = h.get(&o, &format!("/api/v1/customers?q={}&limit=100", enc(&q))).await;
                let hit = found.body["data"].as_array().unwrap().iter().any(|x| x["id"] == id.to_string());
                assert_eq!(hit, c.deleted_at.is_none(), "{q} (deleted: {:?}, after load: {after_load})", c.deleted_at);
            }
        }
    }
});

both!(a_rebuild_restores_documents_and_counters_of_earlier_customers, |h| {
    let o = h.tenant("Rebuild").await;
    h.customer(&o, json!({"name": "Old Timer", "email": "old@timer.test", "lifecycle_stage": "lead"})).await;
    let gone = h.customer(&o, json!({"name": "Gone Away", "email": unique_email("g")})).await;
    h.delete(&o, &format!("/api/v1/customers/{}", gone.id())).await;
    // As if the customers predated the search and counter tables.
    let wipe = [
        "DELETE FROM customer_search",
        "DELETE FROM tenant_stats",
        "INSERT INTO pending_rebuilds (job) VALUES ('customer_index')",
    ];
    for s in wipe {
        h.raw(s).await.unwrap();
    }
    assert!(search(&h, &o, "Old Timer", "").await.is_empty());
    assert_eq!(stats(&h, &o).await["total_customers"], 0);

    // Opening the store runs the rebuild the job asks for.
    let store = h.reopen_store().await;
    let mut tx = store.read(o.tenant_id).await.unwrap();
    assert_eq!(sorted(tx.customer_counters().await.unwrap()), sorted(tx.count_customers_afresh().await.unwrap()));
    drop(tx);
    store.close().await;
    assert_eq!(search(&h, &o, "Old Timer", "").await, ["Old Timer"]);
    assert!(search(&h, &o, "Gone Away", "").await.is_empty());
    let s = stats(&h, &o).await;
    assert_eq!(s["total_customers"], 1);
    assert_eq!(s["by_lifecycle_stage"]["lead"], 1);
});

/// On PostgreSQL, under row-level security and as the application's role, the search's
/// conditions (word similarity, LIKE, whole words) are index conditions of the GIN indexes:
/// no scan of the tenant.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_search_uses_the_trigram_index_under_row_level_security() {
    let Some(h) = Harness::new(Backend::Postgres).await else { return };
    let o = h.tenant("Plan").await;
    h.customer(&o, json!({"name": "John Smith", "email": unique_email("p")})).await;
    let pool = sqlx::PgPool::connect(&h.url).await.unwrap();
    let leakproof: bool =
        sqlx::query_scalar("SELECT proleakproof FROM pg_proc WHERE proname = 'word_similarity_commutator_op'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(leakproof, "the migration runs as a superuser here and marks the operator leakproof");
    // A tenant large enough that reading all of it would cost more than the index.
    sqlx::query(
        "INSERT INTO customers SELECT (jsonb_populate_record(NULL::customers, to_jsonb(c) || \
         jsonb_build_object('id', gen_random_uuid(), 'name', 'Person ' || i, 'email', NULL, 'email_normalized', NULL))).* \
         FROM customers c, generate_series(1, 3000) i",
    )
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO customer_search (tenant_id, customer_id, doc) SELECT tenant_id, id, \
         lower(name) || ' ' || md5(id::text) FROM customers WHERE name LIKE 'Person %'",
    )
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query("ANALYZE customer_search").execute(&pool).await.unwrap();
    let mut tx = pool.begin().await.unwrap();
    sqlx::query(
        "SELECT set_config('role', 'rapport_app', true), set_config('rapport.tenant_id', $1, true), \
         set_config('enable_seqscan', 'off', true)",
    )
    .bind(o.tenant_id.to_string())
    .execute(&mut *tx)
    .await
    .unwrap();
    let plan: Vec<String> = sqlx::query_scalar(
        "EXPLAIN SELECT customer_id FROM customer_search WHERE tenant_id = $1 AND (doc %> $2 OR doc %> $3)",
    )
    .bind(o.tenant_id)
    .bind("jhon smtih")
    .bind("hjno himst")
    .fetch_all(&mut *tx)
    .await
    .unwrap();
    let plan = plan.join("\n");
    assert!(plan.contains("Bitmap Index Scan on customer_search_trgm_idx"), "{plan}");
    assert!(plan.contains("Index Cond: (doc %> 'jhon smtih'::text)"), "{plan}");
    assert!(!plan.contains("Filter: ((doc %> "), "the trigram condition must not be a filter: {plan}");
    // Whole words from the keys, substrings by LIKE: index conditions too.
    for (sql, index, cond) in [
        (
            "EXPLAIN SELECT customer_id FROM customer_search WHERE tenant_id = $1 AND keys @@ CAST($2 AS tsquery)",
            "customer_search_keys_idx",
            "Index Cond: (keys @@ ",
        ),
        (
            "EXPLAIN SELECT customer_id FROM customer_search WHERE tenant_id = $1 AND (doc LIKE $2)",
            "customer_search_trgm_idx",
            "Index Cond: (doc ~~ ",
        ),
    ] {
        let plan: Vec<String> = sqlx::query_scalar(sql)
            .bind(o.tenant_id)
            .bind(if index.contains("keys") { "'john' & 'smith'" } else { "%smith%" })
            .fetch_all(&mut *tx)
            .await
            .unwrap();
        let plan = plan.join("\n");
        assert!(plan.contains(&format!("Bitmap Index Scan on {index}")), "{plan}");
        assert!(plan.contains(cond), "{plan}");
    }
    drop(tx);
    pool.close().await;
}

/// On SQLite the search reads the FTS5 index of terms first, inside the tenant's range of
/// row ids, and reaches each customer by its key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_search_reads_the_fts_index_first() {
    let Some(h) = Harness::new(Backend::Sqlite).await else { return };
    let o = h.tenant("Plan").await;
    h.customer(&o, json!({"name": "John Smith", "email": unique_email("p")})).await;
    let pool = sqlx::SqlitePool::connect(&h.url).await.unwrap();
    let plan: Vec<(i64, i64, i64, String)> = sqlx::query_as(
        "EXPLAIN QUERY PLAN SELECT c.* FROM (SELECT d.customer_id AS customer_id FROM customer_search_terms \
         CROSS JOIN customer_search d WHERE customer_search_terms MATCH replace($1, '$', \
         COALESCE((SELECT tenant_no FROM search_tenants WHERE tenant_id = $2), 0)) \
         AND customer_search_terms.rowid BETWEEN \
         (SELECT tenant_no * 4294967296 FROM search_tenants WHERE tenant_id = $2) AND \
         (SELECT tenant_no * 4294967296 + 4294967295 FROM search_tenants WHERE tenant_id = $2) \
         AND d.row_id = customer_search_terms.rowid) s CROSS JOIN customers c \
         WHERE c.id = s.customer_id AND c.tenant_id = $2 AND c.deleted_at IS NULL LIMIT 300",
    )
    .bind("\"$gith\" AND \"$gmit\" AND \"$gsmi\"")
    .bind(o.tenant_id)
    .fetch_all(&pool)
    .await
    .unwrap();
    let steps: Vec<&str> = plan.iter().map(|p| p.3.as_str()).filter(|d| !d.contains("SCALAR SUBQUERY")).collect();
    let scans: Vec<&&str> = steps.iter().filter(|d| d.starts_with("SCAN") || d.starts_with("SEARCH")).collect();
    assert!(scans[0].starts_with("SCAN customer_search_terms VIRTUAL TABLE INDEX"), "{steps:?}");
    assert!(scans.iter().skip(1).all(|d| d.starts_with("SEARCH")), "{steps:?}");
    // The tenant's range reaches FTS5 as rowid constraints (the index plan names them).
    assert!(scans[0].contains('>') && scans[0].contains('<'), "{steps:?}");
    // The terms begin with the tenant's number: another tenant's number finds nobody.
    let tenant_no: i64 = sqlx::query_scalar("SELECT tenant_no FROM search_tenants WHERE tenant_id = $1")
        .bind(o.tenant_id)
        .fetch_one(&pool)
        .await
        .unwrap();
    for (n, found) in [(tenant_no, 1), (tenant_no + 1, 0)] {
        let count: i64 =
            sqlx::query_scalar("SELECT count(*) FROM customer_search_terms WHERE customer_search_terms MATCH $1")
                .bind(format!("\"{n}gsmi\" AND \"{n}kjohn\""))
                .fetch_one(&pool)
                .await
                .unwrap();
        assert_eq!(count, found, "tenant number {n}");
    }
    // The beginning of an email is a range of the documents' email index.
    let plan: Vec<(i64, i64, i64, String)> = sqlx::query_as(
        "EXPLAIN QUERY PLAN SELECT d.customer_id FROM customer_search d WHERE d.email <> '' AND d.tenant_id = $1 \
         AND d.email >= $2 AND d.email < $3",
    )
    .bind(o.tenant_id)
    .bind("john.s")
    .bind("john.s\u{10FFFF}")
    .fetch_all(&pool)
    .await
    .unwrap();
    assert!(plan[0].3.contains("customer_search_email_idx (tenant_id=? AND email>? AND email<?)"), "{plan:?}");
    pool.close().await;
}

/// Migration 0020 replaced SQLite's two search indexes of every tenant's trigrams and words
/// with one index of terms spelled with the tenant's number: a database put back in the
/// shape before it finds the same customers by typos, substrings of a name and the digits
/// of a phone after it (the terms written at start from the documents), and its writes keep
/// the new index in step.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_upgrading_writes_the_terms_of_earlier_documents() {
    let Some(h) = Harness::new(Backend::Sqlite).await else { return };
    let o = h.tenant("Terms upgrade").await;
    let phone = json!({"name": "Olusegun Quarrington", "email": unique_email("oq"), "phone": "(555) 123-4567"});
    h.customer(&o, phone).await;
    h.customer(&o, json!({"name": "Mary Smith", "email": unique_email("ms")})).await;
    let other = h.tenant("Terms elsewhere").await;
    h.customer(&other, json!({"name": "Olusegun Quarrington", "email": unique_email("oq2")})).await;
    // The shape of migration 0019, its indexes rebuilt from the documents.
    let before = "DROP TRIGGER customer_search_ad; DROP TABLE customer_search_terms; DROP INDEX customer_search_email_idx; \
        CREATE VIRTUAL TABLE customer_search_fts USING fts5 (name, company, phone, \
            content = 'customer_search', content_rowid = 'row_id', tokenize = 'trigram', detail = column); \
        CREATE VIRTUAL TABLE customer_search_keys USING fts5 (name, company, alt, content = 'customer_search', \
            content_rowid = 'row_id', tokenize = 'unicode61 remove_diacritics 0', detail = none); \
        INSERT INTO customer_search_fts (customer_search_fts) VALUES ('rebuild'); \
        INSERT INTO customer_search_keys (customer_search_keys) VALUES ('rebuild'); \
        CREATE TRIGGER customer_search_ai AFTER INSERT ON customer_search BEGIN \
            INSERT INTO customer_search_fts (rowid, name, company, phone) VALUES (new.row_id, new.name, new.company, new.phone); \
            INSERT INTO customer_search_keys (rowid, name, company, alt) VALUES (new.row_id, new.name, new.company, new.alt); \
        END; \
        CREATE TRIGGER customer_search_ad AFTER DELETE ON customer_search BEGIN \
            INSERT INTO customer_search_fts (customer_search_fts, rowid, name, company, phone) \
            VALUES ('delete', old.row_id, old.name, old.company, old.phone); \
            INSERT INTO customer_search_keys (customer_search_keys, rowid, name, company, alt) \
            VALUES ('delete', old.row_id, old.name, old.company, old.alt); \
        END; \
        CREATE TRIGGER customer_search_au AFTER UPDATE ON customer_search BEGIN \
            INSERT INTO customer_search_fts (customer_search_fts, rowid, name, company, phone) \
            VALUES ('delete', old.row_id, old.name, old.company, old.phone); \
            INSERT INTO customer_search_keys (customer_search_keys, rowid, name, company, alt) \
            VALUES ('delete', old.row_id, old.name, old.company, old.alt); \
            INSERT INTO customer_search_fts (rowid, name, company, phone) VALUES (new.row_id, new.name, new.company, new.phone); \
            INSERT INTO customer_search_keys (rowid, name, company, alt) VALUES (new.row_id, new.name, new.company, new.alt); \
        END; \
        DELETE FROM _sqlx_migrations WHERE version = 20;";
    h.raw(before).await.unwrap();
    let pool = sqlx::SqlitePool::connect(&h.url).await.unwrap();
    let tables = "SELECT group_concat(name, ' ') FROM (SELECT name FROM sqlite_schema \
        WHERE type = 'table' AND name IN ('customer_search_fts', 'customer_search_keys', 'customer_search_terms') ORDER BY name)";
    let old: String = sqlx::query_scalar(tables).fetch_one(&pool).await.unwrap();
    assert_eq!(old, "customer_search_fts customer_search_keys");
    h.reopen_store().await.close().await;
    let new: String = sqlx::query_scalar(tables).fetch_one(&pool).await.unwrap();
    assert_eq!(new, "customer_search_terms");
    let pending: i64 = sqlx::query_scalar("SELECT count(*) FROM pending_rebuilds").fetch_one(&pool).await.unwrap();
    assert_eq!(pending, 0);
    pool.close().await;
    // Found by a typo, the trigrams of a name's beginning and of a phone's digits, in its
    // own tenant only.
    assert_eq!(search(&h, &o, "Olusegn", "").await, ["Olusegun Quarrington"]);
    assert_eq!(search(&h, &o, "Mray Smith", "").await, ["Mary Smith"]);
    assert_eq!(search(&h, &o, "123-4567", "").await, ["Olusegun Quarrington"]);
    assert!(search(&h, &o, "999-4567", "").await.is_empty());
    assert_eq!(search(&h, &other, "Quarrngton", "").await, ["Olusegun Quarrington"]);
    // A rename and a new customer reach the index with their documents.
    let mary = h.get(&o, "/api/v1/customers?q=Mary%20Smith").await.body["data"][0]["id"].as_str().unwrap().to_string();
    let r = h.patch(&o, &format!("/api/v1/customers/{mary}"), json!({"name": "Maryam Smithers"})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    h.customer(&o, json!({"name": "Wilhelmina Zed", "phone": "+1 617 555 0188"})).await;
    assert_eq!(search(&h, &o, "Smithrs", "").await, ["Maryam Smithers"]);
    assert!(search(&h, &o, "Mary Smith", "").await.iter().all(|n| n != "Mary Smith"));
    assert_eq!(search(&h, &o, "Wilhelmna", "").await, ["Wilhelmina Zed"]);
    assert_eq!(search(&h, &o, "555-0188", "").await, ["Wilhelmina Zed"]);
    // Deleted, gone from it; and the index is whole throughout.
    let r = h.delete(&o, &format!("/api/v1/customers/{mary}")).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert!(search(&h, &o, "Smithers", "").await.is_empty());
    let check = "INSERT INTO customer_search_terms (customer_search_terms, rank) VALUES ('integrity-check', 1)";
    h.raw(check).await.unwrap();
    // The job again, as if cut short or run after a rebuild that wrote terms already: it
    // starts from nothing, and every document has its terms once.
    h.raw("INSERT INTO pending_rebuilds (job) VALUES ('search_terms')").await.unwrap();
    h.reopen_store().await.close().await;
    assert_eq!(search(&h, &o, "Wilhelmna", "").await, ["Wilhelmina Zed"]);
    assert_eq!(search(&h, &other, "Quarrngton", "").await, ["Olusegun Quarrington"]);
    h.raw(check).await.unwrap();
}

/// On SQLite the search index, written a transaction at a time, holds several segments;
/// merged into one, as a server does when its writer is idle, it answers the same.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_search_index_merged_answers_the_same() {
    let Some(h) = Harness::new(Backend::Sqlite).await else { return };
    let o = h.tenant("Segments").await;
    let words = ["Alpha", "Bravo", "Charlie", "Delta", "Echo", "Foxtrot", "Golf", "Hotel", "India", "Juliett"];
    let mut names = Vec::new();
    for (i, w) in words.iter().enumerate() {
        for last in ["Quorrington", "Vasquez"] {
            let name = format!("{w} {last}");
            let email = format!("{}.{}{i}@segments.test", w.to_lowercase(), last.to_lowercase());
            h.customer(&o, json!({"name": name, "email": email})).await;
            names.push((name, email));
        }
    }
    let store = rapport_store_sqlite::SqliteStore::connect(&h.url, 1).await.unwrap();
    let before = store.search_segments().await.unwrap();
    assert!(before > 1, "the index in segments: {before}");
    let mut answers = Vec::new();
    for (name, email) in &names {
        for q in [name.as_str(), &email[..8], "quorington", "vasqeuz"] {
            answers.push((q.to_string(), search(&h, &o, q, "&limit=100").await));
        }
    }
    assert!(answers.iter().all(|(_, found)| !found.is_empty()), "{answers:?}");
    store.merge_search_index().await.unwrap();
    assert_eq!(store.search_segments().await.unwrap(), 1);
    for (q, found) in &answers {
        assert_eq!(&search(&h, &o, q, "&limit=100").await, found, "{q}");
    }
    rapport_store::Store::close(&store).await;
}

// A search reads its look-ups and then its page's rows with `read_each`: on SQLite each
// statement sees what is committed when it runs (no BEGIN, no ROLLBACK), on PostgreSQL the
// read is one snapshot. Either way a customer deleted between the look-ups and the rows is
// read as it is in that statement's view (the page, `search_page`, drops a row read
// deleted); a read outside a transaction refuses a savepoint, which would open one.
both!(a_search_read_sees_each_statements_own_view, |h| {
    let o = h.tenant("Each").await;
    let r = h.customer(&o, json!({"name": "Quintessa Vallombrosa", "email": unique_email("qv")})).await;
    let id = Uuid::parse_str(r.body["id"].as_str().unwrap()).unwrap();
    let mut tx = h.app.store.read_each(o.tenant_id).await.unwrap();
    let q = rapport_core::search::Query::parse("Quintessa", "").unwrap();
    let hits = tx.search_customers(&Default::default(), &q, 300).await.unwrap();
    assert_eq!(hits.iter().map(|x| x.id).collect::<Vec<_>>(), [id]);

    assert_eq!(h.delete(&o, &format!("/api/v1/customers/{id}")).await.status, StatusCode::NO_CONTENT);
    let rows = tx.get_customers(&[id]).await.unwrap();
    assert_eq!(rows.len(), 1);
    match h.backend {
        Backend::Sqlite => assert!(rows[0].deleted_at.is_some(), "a statement after the delete sees it"),
        Backend::Postgres => assert!(rows[0].deleted_at.is_none(), "one snapshot, taken before the delete"),
    }
    if h.backend == Backend::Sqlite {
        assert!(tx.savepoint().await.is_err(), "no savepoint outside a transaction");
    }
    tx.commit().await.unwrap();
    assert!(search(&h, &o, "Quintessa", "").await.is_empty());
});
