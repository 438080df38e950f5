//! Accounts (SPEC sections 2 and 10): sign-in, refresh, deactivation, the login rate limit,
//! API keys, invitations, unique emails and reassignment on deactivation.

use http::{Method, StatusCode};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::both;
use crate::harness::{unique_email, Client, Harness, Reply, PASSWORD};

/// Invites a user with a known email and password; answers the invitation.
async fn invite(h: &Harness, owner: &Client, email: &str, role: &str) -> Reply {
    h.post(owner, "/api/v1/users", json!({"email": email, "name": role, "role": role, "password": PASSWORD})).await
}

/// Sign-ins for `email` with each of `passwords`, all sent at once.
async fn sign_ins_at_once(h: &Harness, email: &str, passwords: impl Iterator<Item = String>) -> Vec<Reply> {
    futures::future::join_all(passwords.map(|pw| async move { h.login(email, &pw).await })).await
}

fn token(r: &Reply) -> String {
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    r.body["access_token"].as_str().expect("access_token").to_string()
}

fn assert_401(r: &Reply, code: &str) {
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{:?}", r.body);
    assert_eq!(r.code(), code, "{:?}", r.body);
    assert_eq!(r.header("content-type"), "application/problem+json");
}

fn timeline_types(r: &Reply) -> Vec<String> {
    r.body["data"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap().to_string()).collect()
}

both!(login_answers_a_bearer_pair_and_refuses_wrong_credentials_alike, |h| {
    let o = h.tenant("Login").await;
    let email = unique_email("login");
    assert_eq!(invite(&h, &o, &email, "viewer").await.status, StatusCode::CREATED);

    let r = h.login(&email, PASSWORD).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["token_type"], "Bearer");
    assert!(r.body["expires_in"].as_i64().is_some_and(|s| s > 0), "{:?}", r.body);
    let access = r.body["access_token"].as_str().unwrap();
    let refresh = r.body["refresh_token"].as_str().unwrap();
    assert!(!access.is_empty() && !refresh.is_empty());
    assert_ne!(access, refresh);
    // The access token works; the refresh token is not an access token.
    let me = h.call(Method::GET, "/api/v1/users", Some(access), None).await;
    assert_eq!(me.status, StatusCode::OK, "{:?}", me.body);
    assert_401(&h.call(Method::GET, "/api/v1/users", Some(refresh), None).await, "invalid_token");
    // The email is found whatever its case.
    assert_eq!(h.login(&email.to_uppercase(), PASSWORD).await.status, StatusCode::OK);
    // last_login_at is recorded.
    let users = h.get(&o, "/api/v1/users").await;
    let u = users.body["data"].as_array().unwrap().iter().find(|u| u["email"] == email.as_str()).unwrap().clone();
    assert!(u["last_login_at"].is_string(), "{u}");

    let wrong = h.login(&email, "not the password").await;
    assert_401(&wrong, "invalid_credentials");
    let unknown = h.login(&unique_email("nobody"), PASSWORD).await;
    assert_401(&unknown, "invalid_credentials");
    assert_eq!(wrong.body["detail"], unknown.body["detail"], "an unknown email looks like a wrong password");
    let not_email = h.login("not an email", PASSWORD).await;
    assert_401(&not_email, "invalid_credentials");
});

both!(a_refresh_token_works_once, |h| {
    let o = h.tenant("Refresh").await;
    let email = unique_email("ref");
    invite(&h, &o, &email, "manager").await;
    let first = h.login(&email, PASSWORD).await;
    let refresh = first.body["refresh_token"].as_str().unwrap().to_string();

    let body = json!({"refresh_token": refresh});
    let second = h.call(Method::POST, "/api/v1/auth/refresh", None, Some(body.clone())).await;
    assert_eq!(second.status, StatusCode::OK, "{:?}", second.body);
    assert_eq!(second.body["token_type"], "Bearer");
    let new_refresh = second.body["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(new_refresh, refresh);
    let new_access = token(&second);
    assert_eq!(h.call(Method::GET, "/api/v1/customers", Some(&new_access), None).await.status, StatusCode::OK);

    let again = h.call(Method::POST, "/api/v1/auth/refresh", None, Some(body)).await;
    assert_401(&again, "invalid_token");
    // The new one still works, once.
    let third = h.call(Method::POST, "/api/v1/auth/refresh", None, Some(json!({"refresh_token": new_refresh}))).await;
    assert_eq!(third.status, StatusCode::OK, "{:?}", third.body);
    let garbage =
        h.call(Method::POST, "/api/v1/auth/refresh", None, Some(json!({"refresh_token": "rrt_garbage"}))).await;
    assert_401(&garbage, "invalid_token");
});

// A secret carries its tenant and record in URL-safe base64, which may itself contain `_`,
// the separator of its parts: every secret must still be recognized, and every key of a
// tenant must have its own prefix.
both!(every_issued_secret_is_accepted, |h| {
    let o = h.tenant("Secrets").await;
    let mut prefixes = std::collections::HashSet::new();
    for i in 0..24 {
        let k = h.post(&o, "/api/v1/api-keys", json!({"name": format!("k{i}")})).await;
        assert_eq!(k.status, StatusCode::CREATED, "{:?}", k.body);
        assert!(prefixes.insert(k.body["prefix"].as_str().unwrap().to_string()), "prefix repeats: {:?}", k.body);
        let secret = k.body["secret"].as_str().unwrap();
        let r = h.call(Method::GET, "/api/v1/customers", Some(secret), None).await;
        assert_eq!(r.status, StatusCode::OK, "key {i} ({secret}) refused: {:?}", r.body);
    }
    let email = unique_email("rot");
    invite(&h, &o, &email, "viewer").await;
    let mut refresh = h.login(&email, PASSWORD).await.body["refresh_token"].as_str().unwrap().to_string();
    for i in 0..24 {
        let r = h.call(Method::POST, "/api/v1/auth/refresh", None, Some(json!({"refresh_token": refresh}))).await;
        assert_eq!(r.status, StatusCode::OK, "refresh {i} ({refresh}) refused: {:?}", r.body);
        refresh = r.body["refresh_token"].as_str().unwrap().to_string();
    }
});

both!(a_deactivated_users_tokens_stop_working_at_once, |h| {
    let o = h.tenant("Deact").await;
    let email = unique_email("gone");
    let id = invite(&h, &o, &email, "sales").await.id();
    let l = h.login(&email, PASSWORD).await;
    let access = token(&l);
    let refresh = l.body["refresh_token"].as_str().unwrap().to_string();
    assert_eq!(h.call(Method::GET, "/api/v1/customers", Some(&access), None).await.status, StatusCode::OK);

    let d = h.patch(&o, &format!("/api/v1/users/{id}"), json!({"active": false})).await;
    assert_eq!(d.status, StatusCode::OK, "{:?}", d.body);
    assert_eq!(d.body["active"], false);

    let r = h.call(Method::GET, "/api/v1/customers", Some(&access), None).await;
    assert_401(&r, "invalid_token");
    assert_eq!(r.header("www-authenticate"), "Bearer");
    assert_401(&h.login(&email, PASSWORD).await, "invalid_credentials");
    let rr = h.call(Method::POST, "/api/v1/auth/refresh", None, Some(json!({"refresh_token": refresh}))).await;
    assert_401(&rr, "invalid_token");

    // Reactivated, the user signs in again.
    let a = h.patch(&o, &format!("/api/v1/users/{id}"), json!({"active": true})).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(h.login(&email, PASSWORD).await.status, StatusCode::OK);
});

both!(a_new_role_acts_on_the_next_request, |h| {
    let o = h.tenant("Demote").await;
    let u = h.user(&o, "manager").await;
    // Read once, so that the user is kept for the requests that follow.
    assert_eq!(h.get(&u, "/api/v1/customers").await.status, StatusCode::OK);
    let d = h.patch(&o, &format!("/api/v1/users/{}", u.user_id), json!({"role": "viewer"})).await;
    assert_eq!(d.status, StatusCode::OK, "{:?}", d.body);
    let r = h.post(&u, "/api/v1/customers", json!({"name": "Not Allowed", "email": unique_email("na")})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{:?}", r.body);
});

both!(a_user_deactivated_by_another_server_is_refused_within_a_second, |h| {
    let o = h.tenant("Elsewhere").await;
    let u = h.user(&o, "sales").await;
    assert_eq!(h.get(&u, "/api/v1/customers").await.status, StatusCode::OK);
    // A second server on the same database, as several nodes on PostgreSQL or the command
    // line beside a SQLite server.
    let other = rapport_app::App::new(h.reopen_store().await, crate::harness::test_settings());
    let owner = other.authenticate(&o.token).await.expect("the owner signs in on the other server");
    let patch = rapport_app::users::UserPatch { active: Some(false), ..Default::default() };
    other.update_user(&owner, &Default::default(), u.user_id, patch, None).await.expect("deactivated");
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_401(&h.get(&u, "/api/v1/customers").await, "invalid_token");
});

both!(signing_in_often_is_not_rate_limited_while_it_succeeds, |h| {
    // Several devices, or a script, signing in again and again: only failures count.
    let o = h.tenant("Often").await;
    let email = unique_email("often");
    invite(&h, &o, &email, "viewer").await;
    for i in 0..15 {
        let r = h.login(&email, PASSWORD).await;
        assert_eq!(r.status, StatusCode::OK, "sign-in {i}: {:?}", r.body);
    }
    // Failures still add up to the limit after them.
    for i in 0..10 {
        assert_401(&h.login(&email, &format!("wrong {i}")).await, "invalid_credentials");
    }
    assert_eq!(h.login(&email, PASSWORD).await.status, StatusCode::TOO_MANY_REQUESTS);
});

both!(wrong_passwords_sent_together_get_no_more_tries_than_one_by_one, |h| {
    let o = h.tenant("Burst").await;
    let email = unique_email("burst");
    invite(&h, &o, &email, "viewer").await;
    // Twenty-five guesses at once: at most ten are tried (each running one counts until it
    // ends), the others refused, as if they had come one after another.
    let answers = sign_ins_at_once(&h, &email, (0..25).map(|i| format!("guess {i}"))).await;
    let tried = answers.iter().filter(|r| r.status == StatusCode::UNAUTHORIZED).count();
    let refused = answers.iter().filter(|r| r.status == StatusCode::TOO_MANY_REQUESTS).count();
    assert_eq!(tried + refused, 25, "{:?}", answers.iter().map(|r| r.status).collect::<Vec<_>>());
    assert!((1..=10).contains(&tried), "{tried} guesses were tried");
    assert_eq!(h.login(&email, PASSWORD).await.status, StatusCode::TOO_MANY_REQUESTS);
});

both!(fifteen_sign_ins_at_once_with_the_right_password_all_succeed, |h| {
    // More than the limit's places at once: the later ones wait for a place, none is refused.
    let o = h.tenant("Crowd").await;
    let email = unique_email("crowd");
    invite(&h, &o, &email, "viewer").await;
    let answers = sign_ins_at_once(&h, &email, (0..15).map(|_| PASSWORD.to_string())).await;
    for (i, r) in answers.into_iter().enumerate() {
        assert_eq!(r.status, StatusCode::OK, "sign-in {i}: {:?}", r.body);
    }
});

both!(the_eleventh_failed_login_for_one_email_in_a_minute_is_rate_limited, |h| {
    let o = h.tenant("Limit").await;
    let email = unique_email("victim");
    invite(&h, &o, &email, "viewer").await;
    for i in 0..10 {
        let r = h.login(&email, &format!("wrong password {i}")).await;
        assert_401(&r, "invalid_credentials");
    }
    // The 11th, even with another spelling of the email and the right password.
    let r = h.login(&email.to_uppercase(), PASSWORD).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{:?}", r.body);
    assert_eq!(r.code(), "rate_limited");
    assert_eq!(r.header("content-type"), "application/problem+json");
    let wait: u64 = r.header("retry-after").parse().expect("Retry-After is a number of seconds");
    assert!((1..=60).contains(&wait), "Retry-After {wait}");
    // Another email is not held back by it.
    let other = unique_email("bystander");
    invite(&h, &o, &other, "viewer").await;
    assert_eq!(h.login(&other, PASSWORD).await.status, StatusCode::OK);
});

both!(api_keys_are_shown_once_act_as_integrations_and_can_be_revoked, |h| {
    let o = h.tenant("Keys").await;
    let k = h.post(&o, "/api/v1/api-keys", json!({"name": "Chat widget", "role": "integration"})).await;
    assert_eq!(k.status, StatusCode::CREATED, "{:?}", k.body);
    let key_id = k.id();
    let secret = k.body["secret"].as_str().expect("secret in the creation answer").to_string();
    assert_eq!(k.body["name"], "Chat widget");
    assert_eq!(k.body["role"], "integration");
    assert!(secret.starts_with(k.body["prefix"].as_str().unwrap()));

    let list = h.get(&o, "/api/v1/api-keys").await;
    assert_eq!(list.status, StatusCode::OK);
    let keys = list.body["data"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["id"], key_id.to_string());
    assert!(keys[0].get("secret").is_none(), "the secret is never shown again: {}", keys[0]);
    assert!(!list.body.to_string().contains(&secret));
    assert!(keys[0]["revoked_at"].is_null());

    // The key signs requests as an integration.
    let email = unique_email("api");
    let c = h
        .call(Method::POST, "/api/v1/customers", Some(&secret), Some(json!({"name": "From Chat", "email": email})))
        .await;
    assert_eq!(c.status, StatusCode::CREATED, "{:?}", c.body);
    assert_eq!(c.body["source"], "api");
    assert!(c.body["created_by"].is_null(), "an API key is not a user");
    let cid = c.id();
    let read = h.call(Method::GET, &format!("/api/v1/customers/{cid}"), Some(&secret), None).await;
    assert_eq!(read.status, StatusCode::OK, "{:?}", read.body);
    assert_eq!(read.body["email"], email.as_str());
    let list = h.call(Method::GET, "/api/v1/customers", Some(&secret), None).await;
    assert_eq!(list.status, StatusCode::OK);
    assert_eq!(list.body["data"].as_array().unwrap().len(), 1);
    // ...and only as one: it cannot change or delete customers, nor manage users or keys.
    let p =
        h.call(Method::PATCH, &format!("/api/v1/customers/{cid}"), Some(&secret), Some(json!({"notes": "x"}))).await;
    assert_eq!(p.status, StatusCode::FORBIDDEN, "{:?}", p.body);
    let d = h.call(Method::DELETE, &format!("/api/v1/customers/{cid}"), Some(&secret), None).await;
    assert_eq!(d.status, StatusCode::FORBIDDEN);
    let u = h
        .call(
            Method::POST,
            "/api/v1/users",
            Some(&secret),
            Some(json!({"email": unique_email("x"), "role": "viewer", "password": PASSWORD})),
        )
        .await;
    assert_eq!(u.status, StatusCode::FORBIDDEN);
    let kk = h.call(Method::POST, "/api/v1/api-keys", Some(&secret), Some(json!({"name": "k2"}))).await;
    assert_eq!(kk.status, StatusCode::FORBIDDEN);

    // The audit log and the timeline name the key as the actor.
    let a = h.get(&o, &format!("/api/v1/customers/{cid}/audit")).await;
    let entries = a.body["data"].as_array().unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["action"], "insert");
    assert_eq!(entries[0]["actor_type"], "api_key");
    assert_eq!(entries[0]["actor_id"], key_id.to_string());
    let t = h.get(&o, &format!("/api/v1/customers/{cid}/timeline")).await;
    assert_eq!(t.body["data"][0]["type"], "created");
    assert_eq!(t.body["data"][0]["actor_type"], "api_key");
    let used = h.get(&o, "/api/v1/api-keys").await;
    assert!(used.body["data"][0]["last_used_at"].is_string(), "use is recorded: {:?}", used.body);

    // Revoked, it stops working at once.
    let del = h.delete(&o, &format!("/api/v1/api-keys/{key_id}")).await;
    assert_eq!(del.status, StatusCode::NO_CONTENT, "{:?}", del.body);
    let r = h.call(Method::GET, &format!("/api/v1/customers/{cid}"), Some(&secret), None).await;
    assert_401(&r, "invalid_token");
    assert_eq!(r.header("www-authenticate"), "Bearer");
    let after = h.get(&o, "/api/v1/api-keys").await;
    assert!(after.body["data"][0]["revoked_at"].is_string());
    assert_eq!(h.delete(&o, &format!("/api/v1/api-keys/{}", Uuid::now_v7())).await.status, StatusCode::NOT_FOUND);

    let audit = h.get(&o, "/api/v1/audit?table=api_keys").await;
    let entries = audit.body["data"].as_array().unwrap();
    let actions: Vec<&str> = entries.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["delete", "insert"]);
    assert!(entries.iter().all(|e| e["record_id"] == key_id.to_string() && e["actor_id"] == o.user_id.to_string()));
    assert_eq!(entries[1]["new_values"]["name"], "Chat widget");
    assert!(!audit.body.to_string().contains(&secret), "the secret never reaches the audit log");

    // Roles a key may not hold.
    for role in ["owner", "portal", "wizard"] {
        let r = h.post(&o, "/api/v1/api-keys", json!({"name": "bad", "role": role})).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{role}: {:?}", r.body);
        assert_eq!(r.body["errors"][0]["field"], "role");
    }
});

both!(bad_or_missing_credentials_answer_401_with_a_challenge, |h| {
    let o = h.tenant("Creds").await;
    let other_key = {
        let k = h.post(&o, "/api/v1/api-keys", json!({"name": "k"})).await;
        k.body["secret"].as_str().unwrap().to_string()
    };
    let none = h.call(Method::GET, "/api/v1/customers", None, None).await;
    assert_401(&none, "unauthenticated");
    assert_eq!(none.header("www-authenticate"), "Bearer");
    let basic =
        h.call_with(Method::GET, "/api/v1/customers", None, None, &[("authorization", "Basic dXNlcjpwdw==")]).await;
    assert_401(&basic, "unauthenticated");
    // A key whose secret part is altered names a real key but does not match its hash.
    let mut forged = other_key.clone();
    let last = forged.pop().unwrap();
    forged.push(if last == 'A' { 'B' } else { 'A' });
    for bad in ["garbage", "rpk_garbage", "eyJhbGciOiJIUzI1NiJ9.e30.c2ln", forged.as_str()] {
        let r = h.call(Method::GET, "/api/v1/customers", Some(bad), None).await;
        assert_401(&r, "invalid_token");
        assert_eq!(r.header("www-authenticate"), "Bearer", "{bad}");
    }
});

both!(an_invitation_without_password_answers_a_one_time_password, |h| {
    let o = h.tenant("Invite").await;
    let email = unique_email("invitee");
    let r = h.post(&o, "/api/v1/users", json!({"email": email, "role": "support"})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert_eq!(r.body["role"], "support");
    assert_eq!(r.body["active"], true);
    assert!(r.body.get("password_hash").is_none());
    let pw = r.body["initial_password"].as_str().expect("initial_password").to_string();
    assert!(pw.len() >= 16, "{pw}");
    let l = h.login(&email, &pw).await;
    assert_eq!(l.status, StatusCode::OK, "{:?}", l.body);
    // Shown once: reading the user does not show it.
    let g = h.get(&o, &format!("/api/v1/users/{}", r.id())).await;
    assert_eq!(g.status, StatusCode::OK);
    assert!(g.body.get("initial_password").is_none(), "{:?}", g.body);
    assert_eq!(g.body["email"], email.as_str());
    // An invitation with a password does not echo one.
    let with = invite(&h, &o, &unique_email("given"), "viewer").await;
    assert!(with.body.get("initial_password").is_none());
    // A new password replaces it; the old one stops working.
    let c = h.patch(&o, &format!("/api/v1/users/{}", r.id()), json!({"password": "a brand new password"})).await;
    assert_eq!(c.status, StatusCode::OK, "{:?}", c.body);
    assert_401(&h.login(&email, &pw).await, "invalid_credentials");
    assert_eq!(h.login(&email, "a brand new password").await.status, StatusCode::OK);
    let weak = h.patch(&o, &format!("/api/v1/users/{}", r.id()), json!({"password": "short"})).await;
    assert_eq!(weak.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(weak.body["errors"][0]["code"], "weak_password");
});

both!(a_user_email_is_unique_across_all_tenants, |h| {
    let a = h.tenant("Uniq A").await;
    let b = h.tenant("Uniq B").await;
    let email = unique_email("taken");
    assert_eq!(invite(&h, &a, &email, "viewer").await.status, StatusCode::CREATED);

    let again = invite(&h, &a, &email, "sales").await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{:?}", again.body);
    assert_eq!(again.code(), "email_taken");
    assert!(again.body["detail"].as_str().is_some_and(|d| d.contains("exists")), "a readable detail: {:?}", again.body);
    let upper = invite(&h, &a, &email.to_uppercase(), "sales").await;
    assert_eq!(upper.status, StatusCode::CONFLICT, "{:?}", upper.body);
    assert_eq!(upper.code(), "email_taken");
    // An email signs in to one tenant, so another tenant cannot have it either.
    let other = invite(&h, &b, &email, "viewer").await;
    assert_eq!(other.status, StatusCode::CONFLICT, "{:?}", other.body);
    assert_eq!(other.code(), "email_taken");
    let owner_a = h.get(&a, &format!("/api/v1/users/{}", a.user_id)).await;
    let owner_email = owner_a.body["email"].as_str().unwrap().to_string();
    let r = invite(&h, &b, &owner_email, "viewer").await;
    assert_eq!(r.code(), "email_taken", "{:?}", r.body);
    // Nothing was added to either tenant.
    assert_eq!(h.get(&a, "/api/v1/users").await.body["data"].as_array().unwrap().len(), 2);
    assert_eq!(h.get(&b, "/api/v1/users").await.body["data"].as_array().unwrap().len(), 1);
    // And the email still signs in to its own tenant.
    let l = h.login(&email, PASSWORD).await;
    let t = token(&l);
    let me = h.call(Method::GET, "/api/v1/users", Some(&t), None).await;
    assert!(me.body["data"].as_array().unwrap().iter().any(|u| u["id"] == a.user_id.to_string()));
});

/// The `assigned_to` of every customer in `ids`, read by the owner (deleted ones included).
async fn assignees(h: &Harness, o: &Client, ids: &[Uuid]) -> Vec<Value> {
    let mut out = Vec::new();
    for id in ids {
        let r = h.get(o, &format!("/api/v1/customers/{id}?include_deleted=true")).await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
        out.push(r.body["assigned_to"].clone());
    }
    out
}

both!(deactivating_a_user_reassigns_their_customers_or_leaves_them_unassigned, |h| {
    let o = h.tenant("Reassign").await;
    let s1 = h.user(&o, "sales").await;
    let s2 = h.user(&o, "sales").await;
    let mut ids = Vec::new();
    for i in 0..3 {
        let c = h
            .customer(
                &o,
                json!({"name": format!("R{i}"), "email": unique_email("r"), "lifecycle_stage": "customer", "assigned_to": s1.user_id}),
            )
            .await;
        ids.push(c.id());
    }
    // A deleted customer of theirs moves too, so a restore does not bring back a stale owner.
    h.delete(&o, &format!("/api/v1/customers/{}", ids[2])).await;
    let keep = h.customer(&o, json!({"name": "Keep", "email": unique_email("k"), "assigned_to": s2.user_id})).await;

    // A target that cannot take them is refused, and nothing changes.
    let viewer = h.user(&o, "viewer").await;
    h.patch(&o, &format!("/api/v1/users/{}", viewer.user_id), json!({"active": false})).await;
    let bad = h
        .patch(&o, &format!("/api/v1/users/{}", s1.user_id), json!({"active": false, "reassign_to": viewer.user_id}))
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{:?}", bad.body);
    assert_eq!(bad.body["errors"][0]["field"], "reassign_to");
    assert_eq!(bad.body["errors"][0]["code"], "invalid_reference");
    assert_eq!(h.get(&o, &format!("/api/v1/users/{}", s1.user_id)).await.body["active"], true);
    assert_eq!(assignees(&h, &o, &ids).await, vec![json!(s1.user_id); 3]);
    let self_target = h
        .patch(&o, &format!("/api/v1/users/{}", s1.user_id), json!({"active": false, "reassign_to": s1.user_id}))
        .await;
    assert_eq!(self_target.status, StatusCode::UNPROCESSABLE_ENTITY);

    let r = h
        .patch(&o, &format!("/api/v1/users/{}", s1.user_id), json!({"active": false, "reassign_to": s2.user_id}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["active"], false);
    assert_eq!(assignees(&h, &o, &ids).await, vec![json!(s2.user_id); 3]);
    for id in &ids[..2] {
        let t = h.get(&o, &format!("/api/v1/customers/{id}/timeline?type=assigned")).await;
        let newest = &t.body["data"][0];
        assert_eq!(newest["type"], "assigned", "{:?}", t.body);
        assert_eq!(newest["data"]["from"], s1.user_id.to_string());
        assert_eq!(newest["data"]["to"], s2.user_id.to_string());
        assert_eq!(newest["actor_id"], o.user_id.to_string());
    }
    // The new owner sees them.
    let mine = h.get(&s2, "/api/v1/customers?assigned_to=me&limit=200").await;
    assert_eq!(mine.body["data"].as_array().unwrap().len(), 3, "two moved and one kept: {:?}", mine.body);

    // Without reassign_to they are left unassigned.
    let r = h.patch(&o, &format!("/api/v1/users/{}", s2.user_id), json!({"active": false})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let mut all = ids.clone();
    all.push(keep.id());
    assert_eq!(assignees(&h, &o, &all).await, vec![Value::Null; 4]);
    let t = h.get(&o, &format!("/api/v1/customers/{}/timeline?type=assigned", keep.id())).await;
    assert_eq!(t.body["data"][0]["data"]["from"], s2.user_id.to_string());
    assert!(t.body["data"][0]["data"]["to"].is_null());
    let types = timeline_types(&h.get(&o, &format!("/api/v1/customers/{}/timeline", ids[0])).await);
    assert_eq!(types.iter().filter(|t| *t == "assigned").count(), 3, "{types:?}");

    // The audit log has the users' inserts and updates, and the customers' updates.
    let audit = h.get(&o, "/api/v1/audit?table=users&limit=200").await;
    let entries = audit.body["data"].as_array().unwrap();
    let of = |id: Uuid| -> Vec<&Value> { entries.iter().filter(|e| e["record_id"] == id.to_string()).collect() };
    let s1_entries = of(s1.user_id);
    let actions: Vec<&str> = s1_entries.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["update", "insert"], "the refused deactivations left no entry");
    assert_eq!(s1_entries[0]["old_values"], json!({"active": true}));
    assert_eq!(s1_entries[0]["new_values"], json!({"active": false}));
    assert_eq!(s1_entries[1]["new_values"]["role"], "sales");
    assert!(entries.iter().all(|e| e.get("new_values").is_some_and(|v| v.get("password_hash").is_none())));
    let cust = h.get(&o, &format!("/api/v1/audit?table=customers&record_id={}", ids[0])).await;
    let upd = &cust.body["data"][0];
    assert_eq!(upd["action"], "update");
    assert_eq!(upd["old_values"], json!({"assigned_to": s2.user_id}));
    assert_eq!(upd["new_values"], json!({"assigned_to": null}));
    let v = h.get(&o, "/api/v1/audit/verify").await;
    assert_eq!(v.body["ok"], true, "{:?}", v.body);
});

both!(two_servers_starting_together_make_one_first_tenant, |h| {
    // Two servers started at once on a new database (two replicas on one PostgreSQL, or
    // two processes on one SQLite file): both start, and one of them makes the first
    // tenant and its owner.
    let other = rapport_app::App::new(h.reopen_store().await, crate::harness::test_settings());
    let (a, b) = tokio::join!(h.app.bootstrap(), other.bootstrap());
    let (a, b) = (a.expect("the first server starts"), b.expect("the second server starts"));
    assert_eq!(u8::from(a.is_some()) + u8::from(b.is_some()), 1, "exactly one made the first tenant");
    assert_eq!(h.app.store.tenant_ids().await.unwrap().len(), 1);
    assert!(h.app.bootstrap().await.unwrap().is_none(), "and a restart makes none");
});
