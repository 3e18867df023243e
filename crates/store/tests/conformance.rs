//! The storage conformance suite: every story runs on SQLite, and on PostgreSQL when
//! `CASEBRIDGE_TEST_POSTGRES_URL` is set (CI sets it).

use casebridge_domain::agreement::AgreementText;
use casebridge_domain::audit::{verify_chain, AuditAction};
use casebridge_domain::member::MemberDomain;
use casebridge_domain::partnership::{PartnershipStatus, PartnershipType, Terms};
use casebridge_domain::{DataCategory, EmailAddress, Role, UserId};
use casebridge_store::{
    Actor, AuditFilter, CaseStore, DepartmentFields, NewPartnership, NewToken, NewUser, SqlStore,
    Store, StoreError, Tenant,
};
use chrono::{Duration, DurationRound, Utc};

casebridge_store::database_stories!(
    |db, story| {
        let store = db.store().await;
        story(store.clone()).await;
        store.close().await;
    };
    another_members_objects_are_not_found,
    every_change_is_chained_in_the_audit_trail,
    concurrent_changes_keep_the_chain_intact,
    tokens_stop_at_expiry_revocation_and_disabling,
    uniqueness_is_reported_as_conflict,
    a_stale_transition_is_refused,
);

struct Pair {
    a: Tenant,
    b: Tenant,
    a_user: UserId,
}

async fn two_members(store: &SqlStore) -> Pair {
    let a = store
        .create_member("Alpha", &[MemberDomain::parse("alpha.example").unwrap()])
        .await
        .unwrap();
    let b = store
        .create_member("Beta", &[MemberDomain::parse("beta.example").unwrap()])
        .await
        .unwrap();
    let user = |email: &str| NewUser {
        email: EmailAddress::parse(email).unwrap(),
        first_name: "Test".into(),
        last_name: "User".into(),
        role: Role::Admin,
        password_hash: "$argon2id$placeholder".into(),
    };
    let a_user = store
        .create_user(
            &casebridge_store::operator_tenant(a.id),
            &user("ana@alpha.example"),
        )
        .await
        .unwrap();
    let b_user = store
        .create_user(
            &casebridge_store::operator_tenant(b.id),
            &user("bo@beta.example"),
        )
        .await
        .unwrap();
    Pair {
        a: Tenant::new(a.id, Actor::User(a_user.id)),
        b: Tenant::new(b.id, Actor::User(b_user.id)),
        a_user: a_user.id,
    }
}

fn terms() -> Terms {
    Terms::validate(vec![DataCategory::Logs], 30, false, None, Utc::now()).unwrap()
}

async fn another_members_objects_are_not_found(store: SqlStore) {
    let p = two_members(&store).await;
    assert!(matches!(
        store.get_user(&p.b, p.a_user).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.disable_user(&p.b, p.a_user).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(store.list_users(&p.b).await.unwrap().len(), 1);

    let department = store
        .create_department(
            &p.a,
            &DepartmentFields {
                name: "Storage".into(),
                description: String::new(),
                tags: vec!["san".into()],
                notification_emails: vec![],
            },
        )
        .await
        .unwrap();
    assert!(store.list_departments(&p.b).await.unwrap().is_empty());
    let renamed = DepartmentFields {
        name: "Taken over".into(),
        description: String::new(),
        tags: vec![],
        notification_emails: vec![],
    };
    assert!(matches!(
        store.update_department(&p.b, department.id, &renamed).await,
        Err(StoreError::NotFound)
    ));

    let third = store
        .create_member("Gamma", &[MemberDomain::parse("gamma.example").unwrap()])
        .await
        .unwrap();
    let gamma = Tenant::new(third.id, Actor::Operator);
    let proposal = NewPartnership {
        proposer_department: None,
        partner_member: p.b.member(),
        partner_department: None,
        kind: PartnershipType::Collaborative,
    };
    let partnership = store
        .create_partnership(&p.a, &proposal, &terms(), Utc::now())
        .await
        .unwrap();
    assert_eq!(
        store
            .get_partnership(&p.b, partnership.id)
            .await
            .unwrap()
            .id,
        partnership.id
    );
    assert!(matches!(
        store.get_partnership(&gamma, partnership.id).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store
            .transition_partnership(
                &gamma,
                partnership.id,
                PartnershipStatus::Proposed,
                PartnershipStatus::Ended
            )
            .await,
        Err(StoreError::Stale)
    ));
    assert!(store.list_partnerships(&gamma).await.unwrap().is_empty());

    // Pseudonym keys: one per member and partnership, only for its parties, first wins.
    let now = Utc::now();
    let a_key = store
        .pseudonym_key(&p.a, partnership.id, [1; 32], now)
        .await
        .unwrap();
    assert_eq!(a_key, [1; 32]);
    assert_eq!(
        store
            .pseudonym_key(&p.a, partnership.id, [2; 32], now)
            .await
            .unwrap(),
        a_key,
        "a later candidate does not replace the key"
    );
    assert_eq!(
        store
            .pseudonym_key(&p.b, partnership.id, [3; 32], now)
            .await
            .unwrap(),
        [3; 32],
        "each party has its own key"
    );
    assert!(matches!(
        store
            .pseudonym_key(&gamma, partnership.id, [4; 32], now)
            .await,
        Err(StoreError::NotFound)
    ));

    let events = store.list_audit_events(&p.b, &page()).await.unwrap();
    assert!(events
        .items
        .iter()
        .all(|e| e.action != "department.created"));
}

fn page() -> AuditFilter {
    AuditFilter {
        size: 100,
        ..AuditFilter::default()
    }
}

async fn every_change_is_chained_in_the_audit_trail(store: SqlStore) {
    let p = two_members(&store).await;
    let agreement = store
        .publish_agreement(&AgreementText::parse("Framework", "Terms").unwrap())
        .await
        .unwrap();
    store.accept_agreement(&p.a, &agreement).await.unwrap();
    let (events, (head_seq, head_hash)) = store.audit_chain().await.unwrap();
    assert_eq!(
        verify_chain(events.clone(), Some((head_seq, &head_hash))),
        Ok(6)
    );
    let actions: Vec<&str> = events.iter().map(|e| e.entry.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "member.created",
            "member.created",
            "user.created",
            "user.created",
            "agreement.published",
            "agreement.accepted"
        ]
    );
    let own = store.list_audit_events(&p.a, &page()).await.unwrap();
    assert_eq!(own.total, 3);
    assert_eq!(own.items[0].action, AuditAction::AgreementAccepted.as_str());
    assert_eq!(own.items[0].actor_id, Some(p.a_user.to_string()));
}

async fn concurrent_changes_keep_the_chain_intact(store: SqlStore) {
    let p = two_members(&store).await;
    let mut tasks = Vec::new();
    for i in 0..16 {
        let store = store.clone();
        let tenant = if i % 2 == 0 { p.a } else { p.b };
        tasks.push(tokio::spawn(async move {
            store
                .create_department(
                    &tenant,
                    &DepartmentFields {
                        name: format!("Department {i}"),
                        description: String::new(),
                        tags: vec![],
                        notification_emails: vec![],
                    },
                )
                .await
        }));
    }
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let (events, (head_seq, head_hash)) = store.audit_chain().await.unwrap();
    assert_eq!(
        verify_chain(events, Some((head_seq, &head_hash))),
        Ok(4 + 16)
    );
}

async fn tokens_stop_at_expiry_revocation_and_disabling(store: SqlStore) {
    let p = two_members(&store).await;
    let now = Utc::now();
    let issue = |hash: &str, ttl: i64| NewToken {
        token_hash: hash.into(),
        issued_at: now,
        expires_at: now + Duration::seconds(ttl),
        idle_timeout: None,
        action: AuditAction::LoginSucceeded,
    };
    store.issue_token(&p.a, &issue("live", 60)).await.unwrap();
    store
        .issue_token(&p.a, &issue("expired", -1))
        .await
        .unwrap();
    let principal = store.authenticate("live", now).await.unwrap().unwrap();
    assert_eq!(principal.member_id, p.a.member());
    assert_eq!(principal.role, Role::Admin);
    assert!(store.authenticate("expired", now).await.unwrap().is_none());
    assert!(store.authenticate("unknown", now).await.unwrap().is_none());

    assert!(matches!(
        store.revoke_token(&p.b, "live").await,
        Err(StoreError::NotFound)
    ));
    store.revoke_token(&p.a, "live").await.unwrap();
    assert!(store.authenticate("live", now).await.unwrap().is_none());

    // A web session also lapses when idle; using it restarts the idle timeout.
    let session = NewToken {
        idle_timeout: Some(Duration::minutes(30)),
        ..issue("session", 3600)
    };
    store.issue_token(&p.a, &session).await.unwrap();
    let later = now + Duration::minutes(20);
    let principal = store.authenticate("session", later).await.unwrap().unwrap();
    assert_eq!(
        principal.last_used_at,
        Some(now.duration_trunc(Duration::milliseconds(1)).unwrap())
    );
    store.touch_token("session", later).await.unwrap();
    let later = later + Duration::minutes(20);
    assert!(store
        .authenticate("session", later)
        .await
        .unwrap()
        .is_some());
    assert!(store
        .authenticate("session", later + Duration::minutes(31))
        .await
        .unwrap()
        .is_none());

    store.issue_token(&p.a, &issue("second", 60)).await.unwrap();
    store.disable_user(&p.b, p.a_user).await.unwrap_err();
    store.disable_user(&p.a, p.a_user).await.unwrap();
    assert!(store.authenticate("second", now).await.unwrap().is_none());
}

async fn uniqueness_is_reported_as_conflict(store: SqlStore) {
    let p = two_members(&store).await;
    let duplicate = store
        .create_member("Alpha", &[MemberDomain::parse("other.example").unwrap()])
        .await;
    assert!(matches!(duplicate, Err(StoreError::Conflict(_))));
    let taken_domain = store
        .create_member("Delta", &[MemberDomain::parse("alpha.example").unwrap()])
        .await;
    assert!(matches!(taken_domain, Err(StoreError::Conflict(_))));
    // The failed creations left nothing behind: no member, no audit event.
    let (events, _) = store.audit_chain().await.unwrap();
    assert_eq!(events.len(), 4);
    let user = NewUser {
        email: EmailAddress::parse("ANA@alpha.example").unwrap(),
        first_name: "Ana".into(),
        last_name: "Again".into(),
        role: Role::Engineer,
        password_hash: "x".into(),
    };
    assert!(matches!(
        store.create_user(&p.a, &user).await,
        Err(StoreError::Conflict(_))
    ));
    let proposal = NewPartnership {
        proposer_department: None,
        partner_member: p.b.member(),
        partner_department: None,
        kind: PartnershipType::SolutionSupport,
    };
    store
        .create_partnership(&p.a, &proposal, &terms(), Utc::now())
        .await
        .unwrap();
    let reverse = NewPartnership {
        partner_member: p.a.member(),
        ..proposal
    };
    assert!(matches!(
        store
            .create_partnership(&p.b, &reverse, &terms(), Utc::now())
            .await,
        Err(StoreError::Conflict(_))
    ));
}

async fn a_stale_transition_is_refused(store: SqlStore) {
    let p = two_members(&store).await;
    let proposal = NewPartnership {
        proposer_department: None,
        partner_member: p.b.member(),
        partner_department: None,
        kind: PartnershipType::Collaborative,
    };
    let partnership = store
        .create_partnership(&p.a, &proposal, &terms(), Utc::now())
        .await
        .unwrap();
    let accepted = store
        .transition_partnership(
            &p.b,
            partnership.id,
            PartnershipStatus::Proposed,
            PartnershipStatus::Active,
        )
        .await
        .unwrap();
    assert_eq!(accepted.status, PartnershipStatus::Active);
    assert!(accepted.answered_at.is_some());
    let again = store
        .transition_partnership(
            &p.b,
            partnership.id,
            PartnershipStatus::Proposed,
            PartnershipStatus::Declined,
        )
        .await;
    assert!(matches!(again, Err(StoreError::Stale)));
}
