//! Unit tests of the request path's tables: which scopes a key spends in, and what it may call.

use super::*;
use crate::core::ids::hex;

#[test]
fn hashes_round_trip_through_hex() {
    let h = hash_key(b"sk-test");
    assert_eq!(unhex(&hex(&h)), Some(h));
    assert_eq!(unhex("zz"), None);
    assert_eq!(key_name("sk-abcdefgh"), "sk-...efgh");
}

fn entity(kind: Kind, id: &str, doc: serde_json::Value, spend: i64) -> Entity {
    Entity {
        kind,
        id: id.into(),
        doc: doc.to_string(),
        spend_nano: spend,
        budget_reset_at: None,
    }
}

#[test]
fn a_team_key_spends_the_team_budget_not_the_user_budget() {
    let h = hex(&hash_key(b"sk-1"));
    let es = [
        entity(
            Kind::Key,
            &h,
            serde_json::json!({"token": h, "team_id": "t", "user_id": "u", "models": ["a"]}),
            5,
        ),
        entity(
            Kind::Team,
            "t",
            serde_json::json!({"team_id": "t", "max_budget": 1.0, "models": ["a", "b"]}),
            7,
        ),
        entity(
            Kind::User,
            "u",
            serde_json::json!({"user_id": "u", "max_budget": 2.0}),
            0,
        ),
        entity(
            Kind::TeamMember,
            "t/u",
            serde_json::json!({"team_id": "t", "user_id": "u", "max_budget_in_team": 0.5}),
            0,
        ),
    ];
    let t = Tables::build(&es, None, &UserDefaults::default(), 1);
    let k = &t.keys[&hash_key(b"sk-1")];
    let kinds: Vec<_> = k.scopes.iter().map(|s| s.kind).collect();
    assert_eq!(
        kinds,
        [Some(Kind::Key), Some(Kind::Team), Some(Kind::TeamMember)]
    );
    assert_eq!(k.scopes[1].max_budget, Some(1_000_000_000));
    assert_eq!(k.scopes[1].ledger_spent, 7);
    assert!(k.allows("a", "a"));
    assert!(
        !k.allows("b", "b"),
        "the key's own list is narrower than the team's"
    );
}

#[test]
fn a_minted_key_spends_its_parents_and_its_users_budgets() {
    let parent = hex(&hash_key(b"sk-parent"));
    let child = hex(&hash_key(b"sk-child"));
    let es = [
        entity(
            Kind::Key,
            &parent,
            serde_json::json!({"token": parent, "team_id": "t", "user_id": "u",
                               "max_budget": 1.0, "rpm_limit": 5, "blocked": true}),
            9,
        ),
        entity(
            Kind::Key,
            &child,
            serde_json::json!({"token": child, "team_id": "t", "user_id": "u",
                               "max_budget": 1.0, "parent_key_id": parent}),
            0,
        ),
        entity(Kind::Team, "t", serde_json::json!({"team_id": "t"}), 0),
        entity(
            Kind::User,
            "u",
            serde_json::json!({"user_id": "u", "user_role": "internal_user"}),
            0,
        ),
    ];
    let defaults = UserDefaults {
        max_budget: Some(2.0),
        budget_duration: Some("30d".into()),
        ..UserDefaults::default()
    };
    let t = Tables::build(&es, None, &defaults, 1);
    let c = &t.keys[&hash_key(b"sk-child")];
    let kinds: Vec<_> = c.scopes.iter().map(|s| (s.kind, s.id.as_str())).collect();
    assert_eq!(
        kinds,
        [
            (Some(Kind::Key), child.as_str()),
            (Some(Kind::Key), parent.as_str()),
            (Some(Kind::Team), "t"),
            (Some(Kind::User), "u"),
        ]
    );
    assert_eq!(
        c.scopes[1].counter,
        format!("key:{parent}"),
        "the parent's counter"
    );
    assert_eq!((c.scopes[1].rpm, c.scopes[1].ledger_spent), (Some(5), 9));
    assert_eq!(
        c.scopes[3].max_budget,
        Some(2_000_000_000),
        "internal-user default"
    );
    assert_eq!(c.scopes[3].period, Period::parse("30d").ok());
    assert!(c.blocked, "a blocked parent blocks what it made");
    let p = &t.keys[&hash_key(b"sk-parent")];
    assert_eq!(
        p.scopes.len(),
        2,
        "an admin-made team key spends the team's budget only"
    );
}

#[test]
fn a_team_key_spends_its_organizations_budget_and_keeps_to_its_models() {
    let h = hex(&hash_key(b"sk-org"));
    let plain = hex(&hash_key(b"sk-plain"));
    let es = [
        entity(
            Kind::Key,
            &h,
            serde_json::json!({"token": h, "team_id": "t"}),
            0,
        ),
        entity(Kind::Key, &plain, serde_json::json!({"token": plain}), 0),
        entity(
            Kind::Team,
            "t",
            serde_json::json!({"team_id": "t", "organization_id": "o"}),
            0,
        ),
        entity(
            Kind::Organization,
            "o",
            serde_json::json!({"organization_id": "o", "budget_id": "b", "models": ["a"]}),
            11,
        ),
        entity(
            Kind::Budget,
            "b",
            serde_json::json!({"budget_id": "b", "max_budget": 2.0, "rpm_limit": 9,
                               "budget_duration": "1d"}),
            0,
        ),
    ];
    let t = Tables::build(&es, None, &UserDefaults::default(), 1);
    let k = &t.keys[&hash_key(b"sk-org")];
    let kinds: Vec<_> = k.scopes.iter().map(|s| (s.kind, s.id.as_str())).collect();
    assert_eq!(
        kinds,
        [
            (Some(Kind::Key), h.as_str()),
            (Some(Kind::Team), "t"),
            (Some(Kind::Organization), "o"),
        ]
    );
    let o = &k.scopes[2];
    assert_eq!(
        (o.max_budget, o.rpm, o.ledger_spent, o.counter.as_str()),
        (Some(2_000_000_000), Some(9), 11, "organization:o"),
        "limits from the budget row, spend from the organization's ledger"
    );
    assert_eq!(o.label, "Organization=o");
    assert_eq!(o.period, Period::parse("1d").ok());
    assert_eq!(k.org_id(), Some("o"));
    assert!(k.allows("a", "a"));
    assert_eq!(
        k.denied_by("b", "b"),
        Some(Denier::Org),
        "the team allows all"
    );
    let p = &t.keys[&hash_key(b"sk-plain")];
    assert_eq!((p.scopes.len(), &p.org_models), (1, &None));
    assert!(p.allows("b", "b"));
}

#[test]
fn a_key_expires_at_its_instant_checked_at_any_given_time() {
    // The check takes `now`: expiry is tested at chosen instants, without waiting.
    let h = hex(&hash_key(b"sk-exp"));
    let es = [entity(
        Kind::Key,
        &h,
        serde_json::json!({"token": h, "expires": "2030-01-01T00:00:00Z"}),
        0,
    )];
    let t = Tables::build(&es, None, &UserDefaults::default(), 1);
    let k = &t.keys[&hash_key(b"sk-exp")];
    let at = k.expires_at.expect("an expiry");
    let check = crate::governance::admission::check_key;
    assert!(check(k, at - 1).is_ok());
    let e = check(k, at).unwrap_err();
    assert_eq!(e.status, 401);
    assert!(e.message.contains("Expired Key"), "{}", e.message);
    assert!(check(k, at + 3600).is_err());
}
