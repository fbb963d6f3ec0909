//! My Users: the seat line for every plan, the members table, the idle hint, and the Plan page.

mod common;

use chrono::Duration;
use common::{TestApp, expect_status, location, visible_text};
use diesel::prelude::*;
use reqwest::StatusCode;
use roster::domain::plan::Plan;
use roster::domain::role::Role;

backend_tests!(
    seat_line_counts_active_and_pending_but_not_expired,
    full_professional_plan_says_how_to_make_room,
    free_and_individual_plans_have_no_room_for_teammates,
    business_plan_counts_members_with_unlimited_seats,
    table_is_sorted_and_shows_projects_usage_and_invitations,
    idle_members_are_flagged_for_managers,
    member_admin_and_owner_see_what_their_role_allows,
    upgrade_applies_at_once_with_an_audit_row,
    downgrade_is_refused_with_the_people_to_remove,
    downgrade_is_allowed_when_it_fits,
    plan_change_rejects_unknown_plans,
);

async fn my_users(app: &TestApp, email: &str, slug: &str) -> String {
    let browser = app.signed_in(email).await;
    expect_status(app.get(&browser, &format!("/w/{slug}/settings/users")).await, StatusCode::OK).await
}

async fn seat_line_counts_active_and_pending_but_not_expired(app: TestApp) {
    let (_, ws) = app.create_owner("olivia@example.com", "Olivia", "Acme", Plan::Professional).await;
    app.invitation_row(&ws, "old@example.com", "pending", Duration::days(-1)).await;
    app.invitation_row(&ws, "gone@example.com", "revoked", Duration::days(3)).await;
    let text = visible_text(&my_users(&app, "olivia@example.com", &ws.slug).await);
    assert!(text.contains("1 of 3 seats used · Professional"), "{text}");
    assert!(text.contains("old@example.com"), "the expired invitation is listed");
    assert!(text.contains("Expired on"), "{text}");
    assert!(!text.contains("gone@example.com"), "revoked invitations leave the table");

    app.invitation_row(&ws, "new@example.com", "pending", Duration::days(7)).await;
    let text = visible_text(&my_users(&app, "olivia@example.com", &ws.slug).await);
    assert!(text.contains("2 of 3 seats used (1 pending) · Professional"), "{text}");
    assert!(text.contains("Pending until"), "{text}");
    assert!(!text.contains("All 3 seats are in use"));
}

async fn full_professional_plan_says_how_to_make_room(app: TestApp) {
    let (_, ws) = app.create_owner("olivia@example.com", "Olivia", "Acme", Plan::Professional).await;
    app.add_member(&ws, "ada@example.com", "Ada", Role::Admin).await;
    app.invitation_row(&ws, "carol@example.com", "pending", Duration::days(7)).await;
    let body = my_users(&app, "olivia@example.com", &ws.slug).await;
    let text = visible_text(&body);
    assert!(text.contains("3 of 3 seats used (1 pending) · Professional"), "{text}");
    assert!(
        text.contains("All 3 seats are in use. Upgrade to Business or remove a member to invite someone."),
        "{text}"
    );
    assert!(body.contains(&format!("href=\"/w/{}/settings/plan\">Upgrade to Business</a>", ws.slug)));
    assert!(body.contains("href=\"#members-title\">remove a member</a>"));
}

async fn free_and_individual_plans_have_no_room_for_teammates(app: TestApp) {
    for (plan, email) in [(Plan::Free, "f@example.com"), (Plan::Individual, "i@example.com")] {
        let (_, ws) = app.create_owner(email, "Solo", &format!("Solo {plan}"), plan).await;
        let text = visible_text(&my_users(&app, email, &ws.slug).await);
        assert!(text.contains(&format!("1 of 1 seat used · {plan}")), "{text}");
        assert!(
            text.contains(&format!("The {plan} plan has 1 seat, and it is yours. Upgrade to Professional (3 seats) or Business (unlimited seats) to invite teammates.")),
            "{text}"
        );
    }
}

async fn business_plan_counts_members_with_unlimited_seats(app: TestApp) {
    let (_, ws) = app.create_owner("olivia@example.com", "Olivia", "Acme", Plan::Business).await;
    for i in 0..4 {
        app.add_member(&ws, &format!("m{i}@example.com"), &format!("Member {i}"), Role::Member).await;
    }
    let text = visible_text(&my_users(&app, "olivia@example.com", &ws.slug).await);
    assert!(text.contains("5 members · unlimited seats"), "{text}");
    app.invitation_row(&ws, "p@example.com", "pending", Duration::days(7)).await;
    let text = visible_text(&my_users(&app, "olivia@example.com", &ws.slug).await);
    assert!(text.contains("5 members (1 pending) · unlimited seats"), "{text}");
    assert!(!text.contains("seats are in use"));
}

async fn table_is_sorted_and_shows_projects_usage_and_invitations(app: TestApp) {
    let (_, ws) = app.create_owner("olivia@example.com", "Zoe Owner", "Acme", Plan::Business).await;
    let bob = app.add_member(&ws, "bob@example.com", "bob Builder", Role::Member).await;
    app.add_member(&ws, "ada@example.com", "Ada Admin", Role::Admin).await;
    app.invitation_row(&ws, "first@example.com", "pending", Duration::days(6)).await;
    app.invitation_row(&ws, "second@example.com", "pending", Duration::days(7)).await;
    let (ws_id, bob_id) = (ws.id, bob.id);
    app.db(move |conn| {
        use roster::db::schema::{memberships, project_members, projects, usage_monthly};
        let now = roster::domain::now();
        diesel::insert_into(projects::table)
            .values((projects::workspace_id.eq(ws_id), projects::name.eq("Support Bot"), projects::created_at.eq(now)))
            .execute(conn)
            .expect("project");
        let project_id: i64 = projects::table.select(projects::id).first(conn).expect("id");
        let membership_id: i64 = memberships::table
            .filter(memberships::user_id.eq(bob_id))
            .select(memberships::id)
            .first(conn)
            .expect("membership");
        diesel::insert_into(project_members::table)
            .values((
                project_members::project_id.eq(project_id),
                project_members::membership_id.eq(membership_id),
                project_members::access.eq("edit"),
                project_members::created_at.eq(now),
            ))
            .execute(conn)
            .expect("grant");
        for (project, messages, tokens) in [(Some(project_id), 1_000i64, 200_000i64), (None, 234, 34_567)] {
            diesel::insert_into(usage_monthly::table)
                .values((
                    usage_monthly::workspace_id.eq(ws_id),
                    usage_monthly::month.eq(roster::db::usage::month_of(now)),
                    usage_monthly::user_id.eq(bob_id),
                    usage_monthly::project_id.eq(project),
                    usage_monthly::messages.eq(messages),
                    usage_monthly::tokens.eq(tokens),
                ))
                .execute(conn)
                .expect("usage");
        }
    })
    .await;
    let text = visible_text(&my_users(&app, "olivia@example.com", &ws.slug).await);
    let order: Vec<usize> = ["Zoe Owner", "Ada Admin", "bob Builder", "first@example.com", "second@example.com"]
        .iter()
        .map(|n| text.find(n).unwrap_or_else(|| panic!("{n} is listed: {text}")))
        .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "owner, active by name, pending by invite date: {text}");
    assert!(text.contains("Support Bot edit"), "{text}");
    assert!(text.contains("1,234 messages 234,567 tokens"), "{text}");
    assert_eq!(text.matches("All projects").count(), 2, "the owner and Ada (admin) have all: {text}");
}

async fn idle_members_are_flagged_for_managers(app: TestApp) {
    let (owner, ws) = app.create_owner("olivia@example.com", "Olivia", "Acme", Plan::Business).await;
    let idle = app.add_member(&ws, "idle@example.com", "Ida Idle", Role::Member).await;
    app.add_member(&ws, "busy@example.com", "Bo Busy", Role::Member).await;
    let (ws_id, idle_id, owner_id) = (ws.id, idle.id, owner.id);
    app.db(move |conn| {
        use roster::db::schema::memberships::dsl as m;
        let long_ago = roster::domain::now() - Duration::days(45);
        for uid in [idle_id, owner_id] {
            diesel::update(m::memberships.filter(m::workspace_id.eq(ws_id)).filter(m::user_id.eq(uid)))
                .set((m::last_active_at.eq(Some(long_ago)), m::created_at.eq(long_ago)))
                .execute(conn)
                .expect("backdate");
        }
    })
    .await;
    let text = visible_text(&my_users(&app, "olivia@example.com", &ws.slug).await);
    assert_eq!(text.matches("free this seat?").count(), 1, "only Ida (the owner is never flagged): {text}");
    assert!(text.contains("last active 45 days ago — free this seat?"), "{text}");
    assert!(text.contains("1 member hasn't been active for 30 days or more"), "{text}");
    // Members don't get the hint.
    let text = visible_text(&my_users(&app, "busy@example.com", &ws.slug).await);
    assert!(!text.contains("free this seat?"));
}

async fn member_admin_and_owner_see_what_their_role_allows(app: TestApp) {
    let (_, ws) = app.create_owner("olivia@example.com", "Olivia", "Acme", Plan::Professional).await;
    app.add_member(&ws, "ada@example.com", "Ada", Role::Admin).await;
    app.add_member(&ws, "mo@example.com", "Mo", Role::Member).await;
    let plan_url = format!("/w/{}/settings/plan", ws.slug);

    let member = app.signed_in("mo@example.com").await;
    let users = expect_status(app.get(&member, &format!("/w/{}/settings/users", ws.slug)).await, StatusCode::OK).await;
    assert!(visible_text(&users).contains("Only the owner and admins can invite or remove people."));
    assert!(!users.contains(&plan_url), "no Plan link for members");
    let body = expect_status(app.get(&member, &plan_url).await, StatusCode::FORBIDDEN).await;
    assert!(body.contains("Only the owner and admins can do this"));

    let admin = app.signed_in("ada@example.com").await;
    let plan = expect_status(app.get(&admin, &plan_url).await, StatusCode::OK).await;
    assert!(plan.contains("Only the workspace owner can change the plan."));
    assert!(!plan.contains("Switch to Business"));
    let body =
        expect_status(app.post_form(&admin, &plan_url, &[("plan", "business")]).await, StatusCode::FORBIDDEN).await;
    assert!(body.contains("Only the owner can change the plan"));
    assert_eq!(app.plan_of(ws.id).await, Plan::Professional);

    let owner = app.signed_in("olivia@example.com").await;
    let plan = visible_text(&expect_status(app.get(&owner, &plan_url).await, StatusCode::OK).await);
    assert!(plan.contains("Switch to Business"));
    assert!(plan.contains("10,000 messages"), "Professional's allowance: {plan}");
    assert!(plan.contains("3 of 3"), "{plan}");
}

async fn upgrade_applies_at_once_with_an_audit_row(app: TestApp) {
    let (_, ws) = app.create_owner("olivia@example.com", "Olivia", "Acme", Plan::Free).await;
    let owner = app.signed_in("olivia@example.com").await;
    let plan_url = format!("/w/{}/settings/plan", ws.slug);
    let res = app.post_form(&owner, &plan_url, &[("plan", "professional")]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), plan_url);
    let text = visible_text(&expect_status(app.get(&owner, &plan_url).await, StatusCode::OK).await);
    assert!(text.contains("Upgraded Acme from Free to Professional: 3 seats and 10,000 messages a month."), "{text}");
    let users = visible_text(&my_users(&app, "olivia@example.com", &ws.slug).await);
    assert!(users.contains("1 of 3 seats used · Professional"), "{users}");
    let rows = app
        .db(move |conn| {
            roster::db::audit::AuditEvent::with_action(conn, ws.id, roster::domain::audit::Action::PlanChanged)
                .expect("rows")
        })
        .await;
    assert_eq!(rows.len(), 1);
    let details: serde_json::Value = serde_json::from_str(&rows[0].details).expect("json");
    assert_eq!(details, serde_json::json!({ "from": "free", "to": "professional" }));
    assert_eq!(rows[0].actor_email, "olivia@example.com");
}

async fn downgrade_is_refused_with_the_people_to_remove(app: TestApp) {
    let (_, ws) = app.create_owner("olivia@example.com", "Olivia", "Acme", Plan::Business).await;
    app.add_member(&ws, "ada@example.com", "Ada Admin", Role::Admin).await;
    app.add_member(&ws, "bob@example.com", "Bob Member", Role::Member).await;
    app.invitation_row(&ws, "carol@example.com", "pending", Duration::days(7)).await;
    app.invitation_row(&ws, "expired@example.com", "pending", Duration::days(-1)).await;
    let owner = app.signed_in("olivia@example.com").await;
    let plan_url = format!("/w/{}/settings/plan", ws.slug);
    let body =
        expect_status(app.post_form(&owner, &plan_url, &[("plan", "professional")]).await, StatusCode::CONFLICT).await;
    let text = visible_text(&body);
    assert!(text.contains("Professional has 3 seats, and 4 are in use. Remove 1 of these people first"), "{text}");
    for who in [
        "Ada Admin (ada@example.com, Admin)",
        "Bob Member (bob@example.com, Member)",
        "carol@example.com (pending invitation)",
    ] {
        assert!(text.contains(who), "{who} listed: {text}");
    }
    assert!(!text.contains("expired@example.com"), "expired invitations hold no seat");
    assert!(!text.contains("Olivia (olivia"), "the owner is not offered for removal");
    assert_eq!(app.plan_of(ws.id).await, Plan::Business, "nothing changed");
    let body = expect_status(app.post_form(&owner, &plan_url, &[("plan", "free")]).await, StatusCode::CONFLICT).await;
    assert!(visible_text(&body).contains("Free has 1 seat, and 4 are in use. Remove 3 of these people first"));
    let actions = app.audit_actions(ws.id).await;
    assert!(!actions.iter().any(|a| a.0 == "plan.changed"));
}

async fn downgrade_is_allowed_when_it_fits(app: TestApp) {
    let (_, ws) = app.create_owner("olivia@example.com", "Olivia", "Acme", Plan::Business).await;
    app.add_member(&ws, "ada@example.com", "Ada", Role::Admin).await;
    app.invitation_row(&ws, "carol@example.com", "pending", Duration::days(7)).await;
    let owner = app.signed_in("olivia@example.com").await;
    let plan_url = format!("/w/{}/settings/plan", ws.slug);
    let res = app.post_form(&owner, &plan_url, &[("plan", "professional")]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.plan_of(ws.id).await, Plan::Professional);
    let text = visible_text(&my_users(&app, "olivia@example.com", &ws.slug).await);
    assert!(text.contains("All 3 seats are in use."), "{text}");
    let actions = app.audit_actions(ws.id).await;
    assert_eq!(actions.iter().filter(|a| a.0 == "plan.changed").count(), 1);
}

async fn plan_change_rejects_unknown_plans(app: TestApp) {
    let (_, ws) = app.create_owner("olivia@example.com", "Olivia", "Acme", Plan::Free).await;
    let owner = app.signed_in("olivia@example.com").await;
    let plan_url = format!("/w/{}/settings/plan", ws.slug);
    let body =
        expect_status(app.post_form(&owner, &plan_url, &[("plan", "gold")]).await, StatusCode::UNPROCESSABLE_ENTITY)
            .await;
    assert!(body.contains("'gold' is not a plan."));
    let res = app.post_form(&owner, &plan_url, &[("plan", "free")]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let text = visible_text(&expect_status(app.get(&owner, &plan_url).await, StatusCode::OK).await);
    assert!(text.contains("Acme is already on the Free plan."));
}
