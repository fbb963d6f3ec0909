//! The trash icon, immediate revocation, roles, leaving and ownership transfer.

mod common;

use chrono::Duration;
use common::{PASSWORD, TestApp, expect_status, location, visible_text};
use diesel::prelude::*;
use reqwest::StatusCode;
use roster::domain::plan::Plan;
use roster::domain::role::Role;

backend_tests!(
    htmx_removal_swaps_the_row_out_and_updates_the_page_out_of_band,
    removal_without_javascript_confirms_then_redirects_with_a_flash,
    removed_member_is_refused_on_the_next_request_on_any_instance,
    who_may_remove_whom,
    trash_icon_is_shown_only_where_it_would_work,
    role_changes_follow_the_same_limits,
    members_and_admins_can_leave_but_the_owner_cannot,
    ownership_goes_only_to_an_active_admin_with_the_owners_password,
    reinvite_after_removal_is_a_fresh_start,
    removing_an_admin_withdraws_their_invitations_and_api_keys,
    pending_invitations_are_removed_with_the_trash_icon,
);

async fn setup(app: &TestApp) -> roster::db::workspace::Workspace {
    let (_, ws) = app.create_owner("olivia@example.com", "Olivia Owner", "Acme Bots", Plan::Professional).await;
    app.add_member(&ws, "ada@example.com", "Ada Admin", Role::Admin).await;
    app.add_member(&ws, "bob@example.com", "Bob Member", Role::Member).await;
    ws
}

async fn htmx_removal_swaps_the_row_out_and_updates_the_page_out_of_band(app: TestApp) {
    let ws = setup(&app).await;
    let owner = app.signed_in("olivia@example.com").await;
    let page = expect_status(app.get(&owner, &format!("/w/{}/settings/users", ws.slug)).await, StatusCode::OK).await;
    let bob = app.membership_id(&ws, "bob@example.com").await;
    assert!(page.contains(&format!("hx-delete=\"/w/{}/settings/users/members/{bob}\"", ws.slug)));
    assert!(page.contains("aria-label=\"Remove Bob Member\""));
    assert!(page.contains(
        "hx-confirm=\"Remove Bob Member (bob@example.com)? They lose access to Acme Bots and its projects at once.\""
    ));

    let res = app.htmx_delete(&owner, &format!("/w/{}/settings/users/members/{bob}", ws.slug)).await;
    let body = expect_status(res, StatusCode::OK).await;
    assert!(!body.contains("<tr"), "the row is replaced by nothing");
    assert!(body.contains("id=\"seat-line\" aria-label=\"Seats\" hx-swap-oob=\"true\""), "{body}");
    assert!(visible_text(&body).contains("2 of 3 seats used · Professional"));
    assert!(body.contains("id=\"member-count\" hx-swap-oob=\"true\">2</span>"), "{body}");
    assert!(body.contains("id=\"pending-count\" hx-swap-oob=\"true\" hidden"), "{body}");
    assert!(body.contains("id=\"logs-panel\" aria-labelledby=\"logs-title\" hx-swap-oob=\"true\""));
    assert!(visible_text(&body).contains("Olivia Owner removed Bob Member (bob@example.com)"));
    assert!(body.contains("<div id=\"status-region\" hx-swap-oob=\"innerHTML\">"));
    assert!(
        visible_text(&body).contains("Removed Bob Member (bob@example.com). Their access to Acme Bots ended at once.")
    );
    assert_eq!(app.role_of(&ws, "bob@example.com").await, None);
    let removed = app
        .db(move |conn| {
            roster::db::audit::AuditEvent::with_action(conn, ws.id, roster::domain::audit::Action::MemberRemoved)
                .expect("rows")
        })
        .await;
    assert_eq!(removed.len(), 1);
    assert_eq!(removed[0].target_label.as_deref(), Some("Bob Member"));
    assert_eq!(removed[0].target_email.as_deref(), Some("bob@example.com"));
    assert_eq!(removed[0].actor_email, "olivia@example.com");
}

async fn removal_without_javascript_confirms_then_redirects_with_a_flash(app: TestApp) {
    let ws = setup(&app).await;
    let owner = app.signed_in("olivia@example.com").await;
    let bob = app.membership_id(&ws, "bob@example.com").await;
    let url = format!("/w/{}/settings/users/members/{bob}/remove", ws.slug);
    let page = visible_text(&expect_status(app.post_form(&owner, &url, &[]).await, StatusCode::OK).await);
    assert!(page.contains("Remove Bob Member?"), "{page}");
    assert!(page.contains("Bob Member (bob@example.com) loses access to Acme Bots and its projects at once."));
    assert!(app.role_of(&ws, "bob@example.com").await.is_some(), "nothing happens before confirming");
    let res = app.post_form(&owner, &url, &[("confirm", "yes")]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), format!("/w/{}/settings/users", ws.slug));
    let page = visible_text(&expect_status(app.get(&owner, &location(&res)).await, StatusCode::OK).await);
    assert!(page.contains("Removed Bob Member (bob@example.com). Their access to Acme Bots ended at once."));
    assert!(!page.contains("bob@example.com Member"), "the row is gone");
    assert_eq!(app.role_of(&ws, "bob@example.com").await, None);
    // A second try finds nobody.
    expect_status(app.post_form(&owner, &url, &[("confirm", "yes")]).await, StatusCode::NOT_FOUND).await;
}

async fn removed_member_is_refused_on_the_next_request_on_any_instance(app: TestApp) {
    let ws = setup(&app).await;
    app.create_owner("bob2@example.com", "Bob Two", "Bob's Own", Plan::Free).await;
    let other_instance = app.second_instance().await;
    let bob = app.signed_in("bob@example.com").await;
    let users = format!("/w/{}/settings/users", ws.slug);
    expect_status(app.get(&bob, &users).await, StatusCode::OK).await;
    expect_status(other_instance.get(&bob, &users).await, StatusCode::OK).await;

    let owner = app.signed_in("olivia@example.com").await;
    let id = app.membership_id(&ws, "bob@example.com").await;
    expect_status(
        app.htmx_delete(&owner, &format!("/w/{}/settings/users/members/{id}", ws.slug)).await,
        StatusCode::OK,
    )
    .await;

    for instance in [&app, &other_instance] {
        let body = expect_status(instance.get(&bob, &users).await, StatusCode::FORBIDDEN).await;
        assert!(body.contains("You no longer have access to Acme Bots"), "{body}");
    }
    // An htmx request from the open tab is refused too, and reloads into the refusal page.
    let res = bob.get(app.url(&users)).header("HX-Request", "true").send().await.expect("get");
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(res.headers().get("hx-refresh").and_then(|v| v.to_str().ok()), Some("true"));
    // A form post from a stale page is refused as well.
    let res = app.post_form(&bob, &format!("/w/{}/leave", ws.slug), &[("confirm", "yes")]).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    // Bob's account and other workspaces are unaffected (a separate account here, and his own sign-in).
    expect_status(app.get(&bob, "/account").await, StatusCode::OK).await;
}

async fn who_may_remove_whom(app: TestApp) {
    let ws = setup(&app).await;
    app.add_member(&ws, "adam@example.com", "Adam Admin", Role::Admin).await;
    app.add_member(&ws, "mia@example.com", "Mia Member", Role::Member).await;
    let ids = |email: &'static str| app.membership_id(&ws, email);
    let (olivia, ada, adam, bob, mia) = (
        ids("olivia@example.com").await,
        ids("ada@example.com").await,
        ids("adam@example.com").await,
        ids("bob@example.com").await,
        ids("mia@example.com").await,
    );
    let url = |id: i64| format!("/w/{}/settings/users/members/{id}", ws.slug);
    let member = app.signed_in("bob@example.com").await;
    let admin = app.signed_in("ada@example.com").await;
    let owner = app.signed_in("olivia@example.com").await;

    // Members remove nobody.
    let body = expect_status(app.htmx_delete(&member, &url(mia)).await, StatusCode::FORBIDDEN).await;
    assert!(body.contains("Only the owner and admins can do this"), "{body}");
    // Admins: not the owner, not another admin, not themselves; members yes.
    let body = expect_status(app.htmx_delete(&admin, &url(olivia)).await, StatusCode::FORBIDDEN).await;
    assert!(body.contains("The owner can't be removed."), "{body}");
    let body = expect_status(app.htmx_delete(&admin, &url(adam)).await, StatusCode::FORBIDDEN).await;
    assert!(body.contains("Only the owner can remove an admin (Adam Admin)."), "{body}");
    let body = expect_status(app.htmx_delete(&admin, &url(ada)).await, StatusCode::FORBIDDEN).await;
    assert!(body.contains("use Leave workspace in the menu"), "{body}");
    expect_status(app.htmx_delete(&admin, &url(mia)).await, StatusCode::OK).await;
    // The owner: anyone but themself.
    let body = expect_status(app.htmx_delete(&owner, &url(olivia)).await, StatusCode::FORBIDDEN).await;
    assert!(body.contains("transfer ownership to an admin"), "{body}");
    expect_status(app.htmx_delete(&owner, &url(adam)).await, StatusCode::OK).await;
    expect_status(app.htmx_delete(&owner, &url(bob)).await, StatusCode::OK).await;
    let left: Vec<Option<String>> = vec![
        app.role_of(&ws, "olivia@example.com").await,
        app.role_of(&ws, "ada@example.com").await,
        app.role_of(&ws, "adam@example.com").await,
        app.role_of(&ws, "bob@example.com").await,
        app.role_of(&ws, "mia@example.com").await,
    ];
    assert_eq!(left, vec![Some("owner".into()), Some("admin".into()), None, None, None]);
    let removed = app.audit_actions(ws.id).await.iter().filter(|a| a.0 == "member.removed").count();
    assert_eq!(removed, 3, "refusals write nothing");
}

async fn trash_icon_is_shown_only_where_it_would_work(app: TestApp) {
    let ws = setup(&app).await;
    app.add_member(&ws, "adam@example.com", "Adam Admin", Role::Admin).await;
    let users = format!("/w/{}/settings/users", ws.slug);
    let admin = expect_status(app.get(&app.signed_in("ada@example.com").await, &users).await, StatusCode::OK).await;
    assert!(admin.contains("aria-label=\"Remove Bob Member\""));
    assert!(!admin.contains("aria-label=\"Remove Olivia Owner\""));
    assert!(!admin.contains("aria-label=\"Remove Adam Admin\""));
    assert!(!admin.contains("aria-label=\"Remove Ada Admin\""));
    let owner = expect_status(app.get(&app.signed_in("olivia@example.com").await, &users).await, StatusCode::OK).await;
    assert!(owner.contains("aria-label=\"Remove Adam Admin\"") && owner.contains("aria-label=\"Remove Bob Member\""));
    assert!(!owner.contains("aria-label=\"Remove Olivia Owner\""), "the owner row has no trash icon");
    let member = expect_status(app.get(&app.signed_in("bob@example.com").await, &users).await, StatusCode::OK).await;
    assert!(!member.contains("aria-label=\"Remove "), "members see no trash icons");
}

async fn role_changes_follow_the_same_limits(app: TestApp) {
    let ws = setup(&app).await;
    let bob = app.membership_id(&ws, "bob@example.com").await;
    let ada = app.membership_id(&ws, "ada@example.com").await;
    let olivia = app.membership_id(&ws, "olivia@example.com").await;
    let role_url = |id: i64| format!("/w/{}/settings/users/members/{id}/role", ws.slug);
    let owner = app.signed_in("olivia@example.com").await;
    let admin = app.signed_in("ada@example.com").await;
    let member = app.signed_in("bob@example.com").await;

    expect_status(app.post_form(&member, &role_url(ada), &[("role", "member")]).await, StatusCode::FORBIDDEN).await;
    let body =
        expect_status(app.post_form(&admin, &role_url(bob), &[("role", "admin")]).await, StatusCode::FORBIDDEN).await;
    assert!(body.contains("Only the owner can change roles"), "{body}");
    expect_status(app.post_form(&admin, &role_url(olivia), &[("role", "member")]).await, StatusCode::FORBIDDEN).await;
    expect_status(app.post_form(&owner, &role_url(olivia), &[("role", "admin")]).await, StatusCode::FORBIDDEN).await;
    let body =
        expect_status(app.post_form(&owner, &role_url(bob), &[("role", "owner")]).await, StatusCode::BAD_REQUEST).await;
    assert!(body.contains("'owner' is not a role"), "{body}");

    let res = app.post_form(&owner, &role_url(bob), &[("role", "admin")]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let page = visible_text(&expect_status(app.get(&owner, &location(&res)).await, StatusCode::OK).await);
    assert!(page.contains("Bob Member is now Admin (was Member)."), "{page}");
    assert_eq!(app.role_of(&ws, "bob@example.com").await.as_deref(), Some("admin"));
    assert_eq!(app.post_form(&owner, &role_url(ada), &[("role", "member")]).await.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.role_of(&ws, "ada@example.com").await.as_deref(), Some("member"));
    let changes = app
        .db(move |conn| {
            roster::db::audit::AuditEvent::with_action(conn, ws.id, roster::domain::audit::Action::MemberRoleChanged)
                .expect("rows")
        })
        .await;
    assert_eq!(changes.len(), 2);
    assert_eq!(changes[0].details, r#"{"from":"member","to":"admin"}"#);
}

async fn members_and_admins_can_leave_but_the_owner_cannot(app: TestApp) {
    let ws = setup(&app).await;
    let bob = app.signed_in("bob@example.com").await;
    let leave = format!("/w/{}/leave", ws.slug);
    let page = visible_text(&expect_status(app.post_form(&bob, &leave, &[]).await, StatusCode::OK).await);
    assert!(page.contains("Leave Acme Bots?"));
    let res = app.post_form(&bob, &leave, &[("confirm", "yes")]).await;
    assert_eq!(location(&res), "/");
    let home = visible_text(&expect_status(app.get(&bob, "/").await, StatusCode::OK).await);
    assert!(home.contains("You left Acme Bots."), "{home}");
    assert!(home.contains("You're not in a workspace yet"));
    assert_eq!(app.role_of(&ws, "bob@example.com").await, None);
    let ada = app.signed_in("ada@example.com").await;
    assert_eq!(app.post_form(&ada, &leave, &[("confirm", "yes")]).await.status(), StatusCode::SEE_OTHER);
    let owner = app.signed_in("olivia@example.com").await;
    let body = expect_status(app.post_form(&owner, &leave, &[("confirm", "yes")]).await, StatusCode::FORBIDDEN).await;
    assert!(body.contains("Transfer ownership to an admin on My Users first"), "{body}");
    let left = app.audit_actions(ws.id).await.iter().filter(|a| a.0 == "member.left").count();
    assert_eq!(left, 2);
}

async fn ownership_goes_only_to_an_active_admin_with_the_owners_password(app: TestApp) {
    let ws = setup(&app).await;
    let owner = app.signed_in("olivia@example.com").await;
    let ada = app.membership_id(&ws, "ada@example.com").await.to_string();
    let bob = app.membership_id(&ws, "bob@example.com").await.to_string();
    let url = format!("/w/{}/settings/users/transfer", ws.slug);
    let body = expect_status(
        app.post_form(&owner, &url, &[("membership_id", &ada), ("password", "wrong")]).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(body.contains("Your password is not right"));
    let body = expect_status(
        app.post_form(&owner, &url, &[("membership_id", &bob), ("password", PASSWORD)]).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(
        body.contains("Ownership can go only to an active admin; Bob Member is a member. Make them an admin first."),
        "{body}"
    );
    let admin = app.signed_in("ada@example.com").await;
    expect_status(
        app.post_form(&admin, &url, &[("membership_id", &ada), ("password", PASSWORD)]).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    let res = app.post_form(&owner, &url, &[("membership_id", &ada), ("password", PASSWORD)]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let page = visible_text(&expect_status(app.get(&owner, &location(&res)).await, StatusCode::OK).await);
    assert!(page.contains("Ada Admin now owns Acme Bots. You are an admin."), "{page}");
    assert_eq!(app.role_of(&ws, "ada@example.com").await.as_deref(), Some("owner"));
    assert_eq!(app.role_of(&ws, "olivia@example.com").await.as_deref(), Some("admin"));
    assert!(app.audit_actions(ws.id).await.contains(&("ownership.transferred".into(), Some("ada@example.com".into()))));
    // The new owner can now change the plan; the old one cannot.
    expect_status(
        app.post_form(&owner, &format!("/w/{}/settings/plan", ws.slug), &[("plan", "business")]).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert_eq!(
        app.post_form(&admin, &format!("/w/{}/settings/plan", ws.slug), &[("plan", "business")]).await.status(),
        StatusCode::SEE_OTHER
    );
}

async fn reinvite_after_removal_is_a_fresh_start(app: TestApp) {
    let (_, ws) = app.create_owner("olivia@example.com", "Olivia", "Acme", Plan::Business).await;
    let owner = app.signed_in("olivia@example.com").await;
    expect_status(app.invite(&owner, &ws.slug, "bob@example.com", "admin").await, StatusCode::OK).await;
    let link = app.invitation_path("bob@example.com").await;
    let bob = app.browser();
    app.post_form(
        &bob,
        &format!("{link}/accept"),
        &[("mode", "signup"), ("name", "Bob"), ("password", "bob's long password")],
    )
    .await;
    assert_eq!(app.role_of(&ws, "bob@example.com").await.as_deref(), Some("admin"));
    let id = app.membership_id(&ws, "bob@example.com").await;
    expect_status(
        app.htmx_delete(&owner, &format!("/w/{}/settings/users/members/{id}", ws.slug)).await,
        StatusCode::OK,
    )
    .await;
    let body = visible_text(
        &expect_status(app.invite(&owner, &ws.slug, "bob@example.com", "member").await, StatusCode::OK).await,
    );
    assert!(body.contains("bob@example.com: invited."), "not 'already a member': {body}");
    expect_status(app.get(&bob, &format!("/w/{}/settings/users", ws.slug)).await, StatusCode::FORBIDDEN).await;
    for _ in 0..100 {
        if app.mail_count_to("bob@example.com") == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let link = app.invitation_path("bob@example.com").await;
    let res = app.post_form(&bob, &format!("{link}/accept"), &[("mode", "current")]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.role_of(&ws, "bob@example.com").await.as_deref(), Some("member"), "the new role, not the old one");
    expect_status(app.get(&bob, &format!("/w/{}/settings/users", ws.slug)).await, StatusCode::OK).await;
}

async fn removing_an_admin_withdraws_their_invitations_and_api_keys(app: TestApp) {
    let (_, ws) = app.create_owner("olivia@example.com", "Olivia Owner", "Acme Bots", Plan::Business).await;
    app.add_member(&ws, "ada@example.com", "Ada Admin", Role::Admin).await;
    app.add_member(&ws, "bob@example.com", "Bob Member", Role::Member).await;
    let admin = app.signed_in("ada@example.com").await;
    expect_status(app.invite(&admin, &ws.slug, "carol@example.com", "member").await, StatusCode::OK).await;
    let link = app.invitation_path("carol@example.com").await;
    let (ws_id, ada_email) = (ws.id, "ada@example.com");
    app.db(move |conn| {
        use roster::db::schema::{api_keys, users};
        let ada: i64 = users::table.filter(users::email.eq(ada_email)).select(users::id).first(conn).expect("ada");
        diesel::insert_into(api_keys::table)
            .values((
                api_keys::workspace_id.eq(ws_id),
                api_keys::name.eq("Ada's bot"),
                api_keys::key_prefix.eq("rk_test"),
                api_keys::key_hash.eq("hash-of-adas-key"),
                api_keys::created_by.eq(Some(ada)),
                api_keys::created_at.eq(roster::domain::now()),
            ))
            .execute(conn)
            .expect("api key");
    })
    .await;
    let owner = app.signed_in("olivia@example.com").await;
    let id = app.membership_id(&ws, "ada@example.com").await;
    let body = visible_text(
        &expect_status(
            app.htmx_delete(&owner, &format!("/w/{}/settings/users/members/{id}", ws.slug)).await,
            StatusCode::OK,
        )
        .await,
    );
    assert!(
        body.contains("1 invitation they sent was withdrawn (carol@example.com); invite again if still wanted."),
        "{body}"
    );
    assert!(body.contains("1 API key they created was revoked."), "{body}");
    assert!(body.contains("2 members · unlimited seats"), "the withdrawn invitation holds no seat: {body}");
    let page = expect_status(app.get(&app.browser(), &link).await, StatusCode::GONE).await;
    assert!(page.contains("This invitation was withdrawn"));
    let revoked: Option<chrono::NaiveDateTime> = app
        .db(|conn| {
            roster::db::schema::api_keys::table
                .select(roster::db::schema::api_keys::revoked_at)
                .first(conn)
                .expect("key")
        })
        .await;
    assert!(revoked.is_some());
    let rows = app
        .db(move |conn| {
            roster::db::audit::AuditEvent::with_action(conn, ws_id, roster::domain::audit::Action::MemberRemoved)
                .expect("rows")
        })
        .await;
    let details: serde_json::Value = serde_json::from_str(&rows[0].details).expect("json");
    assert_eq!(details["withdrawn_invitations"], serde_json::json!(["carol@example.com"]));
    assert_eq!(details["revoked_api_keys"], 1);
}

async fn pending_invitations_are_removed_with_the_trash_icon(app: TestApp) {
    let (_, ws) = app.create_owner("olivia@example.com", "Olivia", "Acme", Plan::Professional).await;
    let a = app.invitation_row(&ws, "a@example.com", "pending", Duration::days(5)).await;
    let b = app.invitation_row(&ws, "b@example.com", "pending", Duration::days(5)).await;
    let owner = app.signed_in("olivia@example.com").await;
    let body = expect_status(
        app.htmx_delete(&owner, &format!("/w/{}/settings/users/invitations/{a}", ws.slug)).await,
        StatusCode::OK,
    )
    .await;
    let text = visible_text(&body);
    assert!(text.contains("Removed the invitation to a@example.com. Its link no longer works."));
    assert!(text.contains("2 of 3 seats used (1 pending) · Professional"), "{text}");
    assert!(body.contains("id=\"pending-count\" hx-swap-oob=\"true\">1 invited</span>"), "{body}");
    assert!(text.contains("Olivia removed the invitation to a@example.com"));
    // Without JavaScript: confirm, then redirect with a flash.
    let url = format!("/w/{}/settings/users/invitations/{b}/revoke", ws.slug);
    let page = visible_text(&expect_status(app.post_form(&owner, &url, &[]).await, StatusCode::OK).await);
    assert!(page.contains("Remove the invitation to b@example.com?"));
    let res = app.post_form(&owner, &url, &[("confirm", "yes")]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let page = visible_text(&expect_status(app.get(&owner, &location(&res)).await, StatusCode::OK).await);
    assert!(page.contains("Removed the invitation to b@example.com."));
    assert!(page.contains("1 of 3 seats used · Professional"));
    let revoked = app.audit_actions(ws.id).await.iter().filter(|a| a.0 == "invitation.revoked").count();
    assert_eq!(revoked, 2);
}
