//! Invitations end to end, as an owner and an invitee meet them.

mod common;

use chrono::Duration;
use common::{Backend, TestApp, expect_status, link_path, location, visible_text};
use diesel::prelude::*;
use reqwest::StatusCode;
use roster::domain::plan::Plan;
use roster::domain::role::Role;

backend_tests!(
    owner_invites_one_address_and_the_email_carries_the_link,
    batch_invite_gives_each_address_its_own_outcome,
    empty_and_oversized_batches_are_refused_with_what_was_typed,
    admins_invite_members_only,
    the_last_seat_goes_to_exactly_one_of_a_hundred_simultaneous_invitations,
    resend_and_copy_link_replace_the_token,
    resend_is_rate_limited,
    daily_invitation_limit_per_workspace,
    invitee_creates_an_account_and_lands_in_the_workspace,
    invitee_with_an_account_signs_in_to_accept,
    signed_in_as_someone_else_is_told_which_address_the_invitation_is_for,
    expired_revoked_used_unknown_and_malformed_links_have_their_own_pages,
    expiry_is_recorded_by_the_worker_and_expired_invitations_can_be_sent_again,
    project_grants_are_applied_on_acceptance,
);

async fn owner_invites_one_address_and_the_email_carries_the_link(app: TestApp) {
    let (_, ws) = app.create_owner("olivia@example.com", "Olivia Owner", "Acme Bots", Plan::Professional).await;
    let owner = app.signed_in("olivia@example.com").await;
    let body = expect_status(app.invite(&owner, &ws.slug, " Bob@Example.com ", "member").await, StatusCode::OK).await;
    let text = visible_text(&body);
    assert!(text.contains("bob@example.com: invited. The email is on its way."), "{text}");
    assert!(text.contains("2 of 3 seats used (1 pending) · Professional"), "{text}");

    let mail = app.mail_to("bob@example.com").await;
    assert_eq!(mail.subject, "Olivia Owner invited you to Acme Bots on Roster");
    for part in [&mail.text, &mail.html] {
        assert!(part.contains("/invitations/"), "the link is in both parts");
        assert!(part.contains("Member"));
        assert!(part.contains("expires on"));
    }
    // The pending row shows the delivery state once the worker has sent it.
    let page = visible_text(
        &expect_status(app.get(&owner, &format!("/w/{}/settings/users", ws.slug)).await, StatusCode::OK).await,
    );
    assert!(page.contains("bob@example.com"));
    assert!(page.contains("Pending until"), "{page}");
    assert!(page.contains("Email sent"), "{page}");
    let actions = app.audit_actions(ws.id).await;
    assert_eq!(actions.last(), Some(&("invitation.sent".to_owned(), Some("bob@example.com".to_owned()))));
    // Only the hash of the token is stored.
    let token = link_path(&mail.text).trim_start_matches("/invitations/").to_owned();
    let stored: Vec<String> = app
        .db(|conn| {
            roster::db::schema::invitations::table
                .select(roster::db::schema::invitations::token_hash)
                .load(conn)
                .expect("rows")
        })
        .await;
    assert_eq!(stored, vec![roster::domain::token::hash(&token)]);
    assert_eq!(token.len(), 43, "32 random bytes, URL-safe base64");
}

async fn batch_invite_gives_each_address_its_own_outcome(app: TestApp) {
    let (_, ws) = app.create_owner("olivia@example.com", "Olivia", "Acme", Plan::Professional).await;
    let owner = app.signed_in("olivia@example.com").await;
    let batch = "a@example.com, not-an-address\nolivia@example.com  A@example.com; b@example.com,c@example.com";
    let body = expect_status(app.invite(&owner, &ws.slug, batch, "member").await, StatusCode::OK).await;
    let text = visible_text(&body);
    for line in [
        "a@example.com: invited.",
        "not-an-address: not a valid email address — it has no @ sign.",
        "olivia@example.com: already a member of this workspace.",
        "a@example.com: listed more than once; invited once.",
        "b@example.com: invited.",
        "c@example.com: no seat left. The Professional plan has 3 of 3 seats in use. All 3 seats are in use. Upgrade to Business or remove a member to invite someone.",
    ] {
        assert!(text.contains(line), "{line}\n---\n{text}");
    }
    // What still needs attention stays in the box.
    assert!(body.contains(">not-an-address\nc@example.com</textarea>"), "{body}");
    // Inviting a pending address again offers a resend, never a second row.
    let body = expect_status(app.invite(&owner, &ws.slug, "b@example.com", "member").await, StatusCode::OK).await;
    let text = visible_text(&body);
    assert!(
        text.contains(
            "b@example.com: already invited and waiting to accept. Resend the invitation if it went missing. Resend"
        ),
        "{text}"
    );
    let count: i64 =
        app.db(|conn| roster::db::schema::invitations::table.count().get_result(conn).expect("count")).await;
    assert_eq!(count, 2);
    // Nothing left: a batch of only refusals is a 409 when seats are the reason.
    expect_status(app.invite(&owner, &ws.slug, "d@example.com", "member").await, StatusCode::CONFLICT).await;
}

async fn empty_and_oversized_batches_are_refused_with_what_was_typed(app: TestApp) {
    let (_, ws) = app.create_owner("olivia@example.com", "Olivia", "Acme", Plan::Business).await;
    let owner = app.signed_in("olivia@example.com").await;
    let body =
        expect_status(app.invite(&owner, &ws.slug, "  ,, ", "member").await, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert!(body.contains("Enter at least one email address."));
    let many: Vec<String> = (0..51).map(|i| format!("p{i}@example.com")).collect();
    let body =
        expect_status(app.invite(&owner, &ws.slug, &many.join(","), "member").await, StatusCode::UNPROCESSABLE_ENTITY)
            .await;
    assert!(body.contains("Invite at most 50 addresses at once; you entered 51."));
    assert!(body.contains("p50@example.com"), "what was typed is kept");
    let body =
        expect_status(app.invite(&owner, &ws.slug, "x@example.com", "owner").await, StatusCode::BAD_REQUEST).await;
    assert!(body.contains("'owner' is not a role you can invite as"));
    let count: i64 =
        app.db(|conn| roster::db::schema::invitations::table.count().get_result(conn).expect("count")).await;
    assert_eq!(count, 0);
}

async fn admins_invite_members_only(app: TestApp) {
    let (_, ws) = app.create_owner("olivia@example.com", "Olivia", "Acme", Plan::Business).await;
    app.add_member(&ws, "ada@example.com", "Ada", Role::Admin).await;
    app.add_member(&ws, "mo@example.com", "Mo", Role::Member).await;
    let admin = app.signed_in("ada@example.com").await;
    let body = expect_status(app.invite(&admin, &ws.slug, "x@example.com", "admin").await, StatusCode::FORBIDDEN).await;
    assert!(body.contains("Admins can invite members only; ask the owner to invite admins."), "{body}");
    let page = expect_status(app.get(&admin, &format!("/w/{}/settings/users", ws.slug)).await, StatusCode::OK).await;
    assert!(!page.contains("<option value=\"admin\""), "admins are not offered the Admin role");
    expect_status(app.invite(&admin, &ws.slug, "x@example.com", "member").await, StatusCode::OK).await;
    let member = app.signed_in("mo@example.com").await;
    expect_status(app.invite(&member, &ws.slug, "y@example.com", "member").await, StatusCode::FORBIDDEN).await;
    let page = expect_status(app.get(&member, &format!("/w/{}/settings/users", ws.slug)).await, StatusCode::OK).await;
    assert!(!page.contains("Add Team Member"), "members don't see the invite form");
}

async fn the_last_seat_goes_to_exactly_one_of_a_hundred_simultaneous_invitations(app: TestApp) {
    let (_, ws) = app.create_owner("olivia@example.com", "Olivia", "Acme", Plan::Professional).await;
    app.add_member(&ws, "ada@example.com", "Ada", Role::Admin).await;
    // Two instances on the same database, as behind a load balancer.
    let other = app.second_instance().await;
    let owner_a = app.signed_in("olivia@example.com").await;
    let owner_b = other.signed_in("olivia@example.com").await;
    let token_a = app.csrf(&owner_a).await;
    let token_b = other.csrf(&owner_b).await;
    let mut tasks = Vec::new();
    for i in 0..100 {
        let (client, url, token) = if i % 2 == 0 {
            (owner_a.clone(), app.url(&format!("/w/{}/settings/users/invitations", ws.slug)), token_a.clone())
        } else {
            (owner_b.clone(), other.url(&format!("/w/{}/settings/users/invitations", ws.slug)), token_b.clone())
        };
        tasks.push(tokio::spawn(async move {
            let email = format!("racer{i}@example.com");
            let res = client
                .post(url)
                .form(&[("emails", email.as_str()), ("role", "member"), ("csrf_token", token.as_str())])
                .send()
                .await
                .expect("post");
            res.status()
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.expect("join"));
    }
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::OK).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::CONFLICT).count(), 99, "{statuses:?}");
    let pending: i64 = app
        .db(|conn| {
            use roster::db::schema::invitations::dsl as i;
            i::invitations.filter(i::status.eq("pending")).count().get_result(conn).expect("count")
        })
        .await;
    assert_eq!(pending, 1);
    let sent = app.audit_actions(ws.id).await.iter().filter(|a| a.0 == "invitation.sent").count();
    assert_eq!(sent, 1);
}

async fn resend_and_copy_link_replace_the_token(app: TestApp) {
    let (_, ws) = app.create_owner("olivia@example.com", "Olivia", "Acme", Plan::Professional).await;
    let owner = app.signed_in("olivia@example.com").await;
    expect_status(app.invite(&owner, &ws.slug, "bob@example.com", "member").await, StatusCode::OK).await;
    let first = app.invitation_path("bob@example.com").await;
    let id: i64 = app
        .db(|conn| {
            roster::db::schema::invitations::table.select(roster::db::schema::invitations::id).first(conn).expect("id")
        })
        .await;
    // Resend is allowed once a minute: pretend the first email went out two minutes ago.
    backdate_last_sent(&app, id, 2).await;
    let res = app.post_form(&owner, &format!("/w/{}/settings/users/invitations/{id}/resend", ws.slug), &[]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let page = visible_text(&expect_status(app.get(&owner, &location(&res)).await, StatusCode::OK).await);
    assert!(
        page.contains("Invitation sent again to bob@example.com, with a new link. The old link no longer works."),
        "{page}"
    );
    for _ in 0..100 {
        if app.mail_count_to("bob@example.com") == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let second = app.invitation_path("bob@example.com").await;
    assert_ne!(first, second);
    let anon = app.browser();
    let body = expect_status(app.get(&anon, &first).await, StatusCode::GONE).await;
    assert!(body.contains("This invitation link was replaced"), "{body}");
    expect_status(app.get(&anon, &second).await, StatusCode::OK).await;

    // Copy link: a third token, shown once; the second link dies.
    let body = expect_status(
        app.post_form(&owner, &format!("/w/{}/settings/users/invitations/{id}/link", ws.slug), &[]).await,
        StatusCode::OK,
    )
    .await;
    assert!(body.contains("It is shown only once"));
    let third = link_path(&body);
    expect_status(app.get(&anon, &second).await, StatusCode::GONE).await;
    expect_status(app.get(&anon, &third).await, StatusCode::OK).await;
    let resent = app.audit_actions(ws.id).await.iter().filter(|a| a.0 == "invitation.resent").count();
    assert_eq!(resent, 2);
}

async fn backdate_last_sent(app: &TestApp, id: i64, minutes: i64) {
    app.db(move |conn| {
        use roster::db::schema::invitations::dsl as i;
        diesel::update(i::invitations.filter(i::id.eq(id)))
            .set(i::last_sent_at.eq(roster::domain::now() - Duration::minutes(minutes)))
            .execute(conn)
            .expect("backdate");
    })
    .await;
}

async fn resend_is_rate_limited(app: TestApp) {
    let (_, ws) = app.create_owner("olivia@example.com", "Olivia", "Acme", Plan::Professional).await;
    let owner = app.signed_in("olivia@example.com").await;
    expect_status(app.invite(&owner, &ws.slug, "bob@example.com", "member").await, StatusCode::OK).await;
    let id: i64 = app
        .db(|conn| {
            roster::db::schema::invitations::table.select(roster::db::schema::invitations::id).first(conn).expect("id")
        })
        .await;
    let url = format!("/w/{}/settings/users/invitations/{id}/resend", ws.slug);
    let body = expect_status(app.post_form(&owner, &url, &[]).await, StatusCode::TOO_MANY_REQUESTS).await;
    assert!(body.contains("was sent moments ago. You can resend it in"), "{body}");
    for _ in 0..5 {
        backdate_last_sent(&app, id, 2).await;
        assert_eq!(app.post_form(&owner, &url, &[]).await.status(), StatusCode::SEE_OTHER);
    }
    backdate_last_sent(&app, id, 2).await;
    let body = expect_status(app.post_form(&owner, &url, &[]).await, StatusCode::TOO_MANY_REQUESTS).await;
    assert!(body.contains("has been resent 5 times today. Try again tomorrow, or use Copy link"), "{body}");
}

async fn daily_invitation_limit_per_workspace(app: TestApp) {
    drop(app);
    let Some(app) = TestApp::spawn_with(backend_of_test(), |c| c.invites_per_day = 2).await else { return };
    let (_, ws) = app.create_owner("olivia@example.com", "Olivia", "Acme", Plan::Business).await;
    let owner = app.signed_in("olivia@example.com").await;
    let body = expect_status(
        app.invite(&owner, &ws.slug, "a@example.com b@example.com c@example.com", "member").await,
        StatusCode::OK,
    )
    .await;
    let text = visible_text(&body);
    assert!(text.contains("b@example.com: invited."));
    assert!(
        text.contains(
            "c@example.com: not sent. This workspace has sent its 2 invitation emails for today; try again tomorrow."
        ),
        "{text}"
    );
    expect_status(app.invite(&owner, &ws.slug, "d@example.com", "member").await, StatusCode::TOO_MANY_REQUESTS).await;
}

/// Which backend the current test runs on (from its module path).
fn backend_of_test() -> Backend {
    let name = std::thread::current().name().unwrap_or_default().to_owned();
    if name.starts_with("postgres::") { Backend::Postgres } else { Backend::Sqlite }
}

async fn invitee_creates_an_account_and_lands_in_the_workspace(app: TestApp) {
    let (_, ws) = app.create_owner("olivia@example.com", "Olivia Owner", "Acme Bots", Plan::Professional).await;
    let owner = app.signed_in("olivia@example.com").await;
    expect_status(app.invite(&owner, &ws.slug, "bob@example.com", "admin").await, StatusCode::OK).await;
    let link = app.invitation_path("bob@example.com").await;
    let bob = app.browser();
    let page = visible_text(&expect_status(app.get(&bob, &link).await, StatusCode::OK).await);
    assert!(page.contains("Join Acme Bots"));
    assert!(page.contains("Olivia Owner invited bob@example.com to join as Admin."), "{page}");
    assert!(page.contains("Create your account"));
    let res = app.get(&bob, &link).await;
    assert_eq!(res.headers().get("referrer-policy").and_then(|v| v.to_str().ok()), Some("no-referrer"));
    // A short password is refused on the page, with the name kept.
    let body = expect_status(
        app.post_form(
            &bob,
            &format!("{link}/accept"),
            &[("mode", "signup"), ("name", "Bob Builder"), ("password", "short")],
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(body.contains("Choose a password of at least 8 characters."));
    assert!(body.contains("value=\"Bob Builder\""));
    let res = app
        .post_form(
            &bob,
            &format!("{link}/accept"),
            &[("mode", "signup"), ("name", "Bob Builder"), ("password", "bob's long password")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), format!("/w/{}/settings/users", ws.slug));
    let page = visible_text(&expect_status(app.get(&bob, &location(&res)).await, StatusCode::OK).await);
    assert!(page.contains("Welcome to Acme Bots, Bob Builder. You are now a member."), "{page}");
    assert!(page.contains("2 of 3 seats used · Professional"), "{page}");
    let owner_view = visible_text(
        &expect_status(app.get(&owner, &format!("/w/{}/settings/users", ws.slug)).await, StatusCode::OK).await,
    );
    assert!(owner_view.contains("Bob Builder"));
    assert!(!owner_view.contains("Pending"), "the pending row became a member");
    let actions: Vec<String> = app.audit_actions(ws.id).await.into_iter().map(|a| a.0).collect();
    assert!(
        actions.ends_with(&["invitation.sent".into(), "member.added".into(), "invitation.accepted".into()]),
        "{actions:?}"
    );
    let body = expect_status(app.get(&app.browser(), &link).await, StatusCode::GONE).await;
    assert!(body.contains("This invitation has already been used"));
    // The new account signs in on its own later.
    assert_eq!(
        app.sign_in(&app.browser(), "bob@example.com", "bob's long password").await.status(),
        StatusCode::SEE_OTHER
    );
}

async fn invitee_with_an_account_signs_in_to_accept(app: TestApp) {
    let (_, ws) = app.create_owner("olivia@example.com", "Olivia", "Acme", Plan::Professional).await;
    app.create_owner("carol@example.com", "Carol", "Carol's Own", Plan::Free).await;
    let owner = app.signed_in("olivia@example.com").await;
    expect_status(app.invite(&owner, &ws.slug, "CAROL@example.com", "member").await, StatusCode::OK).await;
    let link = app.invitation_path("carol@example.com").await;
    let carol = app.browser();
    let page = visible_text(&expect_status(app.get(&carol, &link).await, StatusCode::OK).await);
    assert!(page.contains("You already have an account with carol@example.com."), "{page}");
    let body = expect_status(
        app.post_form(&carol, &format!("{link}/accept"), &[("mode", "signin"), ("password", "wrong one")]).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(body.contains("That password is not right for carol@example.com."));
    let res =
        app.post_form(&carol, &format!("{link}/accept"), &[("mode", "signin"), ("password", common::PASSWORD)]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    // Carol now has two workspaces and the switcher lists both.
    let page = expect_status(app.get(&carol, &location(&res)).await, StatusCode::OK).await;
    assert!(page.contains("Carol&#39;s Own") || page.contains("Carol's Own"));
    assert!(page.contains(">Acme</a>"));
}

async fn signed_in_as_someone_else_is_told_which_address_the_invitation_is_for(app: TestApp) {
    let (_, ws) = app.create_owner("olivia@example.com", "Olivia", "Acme", Plan::Professional).await;
    app.create_owner("sam@example.com", "Sam", "Sam Co", Plan::Free).await;
    let owner = app.signed_in("olivia@example.com").await;
    expect_status(app.invite(&owner, &ws.slug, "bob@example.com", "member").await, StatusCode::OK).await;
    let link = app.invitation_path("bob@example.com").await;
    let sam = app.signed_in("sam@example.com").await;
    let page = visible_text(&expect_status(app.get(&sam, &link).await, StatusCode::OK).await);
    assert!(
        page.contains("This invitation is for bob@example.com, but you are signed in as sam@example.com. Sign out, then continue as bob@example.com."),
        "{page}"
    );
    let body = expect_status(
        app.post_form(&sam, &format!("{link}/accept"), &[("mode", "current")]).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert!(
        body.contains("This invitation is for bob@example.com, and you are signed in as sam@example.com."),
        "{body}"
    );
    let res = app.post_form(&sam, "/logout", &[("next", &link)]).await;
    assert_eq!(location(&res), link, "sign out and continue");
    let page = visible_text(&expect_status(app.get(&sam, &link).await, StatusCode::OK).await);
    assert!(page.contains("Create your account"));
}

async fn expired_revoked_used_unknown_and_malformed_links_have_their_own_pages(app: TestApp) {
    let (_, ws) = app.create_owner("olivia@example.com", "Olivia", "Acme", Plan::Business).await;
    let owner = app.signed_in("olivia@example.com").await;
    expect_status(app.invite(&owner, &ws.slug, "late@example.com gone@example.com", "member").await, StatusCode::OK)
        .await;
    let late = app.invitation_path("late@example.com").await;
    let gone = app.invitation_path("gone@example.com").await;
    app.db(|conn| {
        use roster::db::schema::invitations::dsl as i;
        diesel::update(i::invitations.filter(i::email.eq("late@example.com")))
            .set(i::expires_at.eq(roster::domain::now() - Duration::hours(1)))
            .execute(conn)
            .expect("expire");
    })
    .await;
    let gone_id: i64 = app
        .db(|conn| {
            use roster::db::schema::invitations::dsl as i;
            i::invitations.filter(i::email.eq("gone@example.com")).select(i::id).first(conn).expect("id")
        })
        .await;
    let owner_actor = common::actor_of(
        &app.db(|conn| roster::db::user::User::find_by_email(conn, "olivia@example.com").expect("q").expect("u")).await,
    );
    let ws_id = ws.id;
    app.db(move |conn| {
        roster::services::invitations::revoke(conn, ws_id, gone_id, &owner_actor, Role::Owner).expect("revoke")
    })
    .await;
    let anon = app.browser();
    let body = expect_status(app.get(&anon, &late).await, StatusCode::GONE).await;
    assert!(body.contains("This invitation has expired") && body.contains("Ask Olivia to resend"), "{body}");
    let res = app
        .post_form(
            &anon,
            &format!("{late}/accept"),
            &[("mode", "signup"), ("name", "L"), ("password", "long enough pw")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::GONE, "an expired link cannot be accepted");
    let body = expect_status(app.get(&anon, &gone).await, StatusCode::GONE).await;
    assert!(body.contains("This invitation was withdrawn"));
    let body = expect_status(
        app.get(&anon, "/invitations/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA").await,
        StatusCode::NOT_FOUND,
    )
    .await;
    assert!(body.contains("This invitation link is not valid"));
    let body = expect_status(app.get(&anon, "/invitations/%3Cscript%3E").await, StatusCode::NOT_FOUND).await;
    assert!(body.contains("This invitation link is not valid"));
    assert!(!body.contains("<script>"));
    let actions = app.audit_actions(ws.id).await;
    assert!(actions.contains(&("invitation.revoked".into(), Some("gone@example.com".into()))));
}

async fn expiry_is_recorded_by_the_worker_and_expired_invitations_can_be_sent_again(app: TestApp) {
    let (_, ws) = app.create_owner("olivia@example.com", "Olivia", "Acme", Plan::Professional).await;
    app.add_member(&ws, "ada@example.com", "Ada", Role::Admin).await;
    let id = app.invitation_row(&ws, "late@example.com", "pending", Duration::hours(-2)).await;
    let pool = app.pool.clone();
    let n = tokio::task::spawn_blocking(move || roster::services::invitations::expire_due(&pool))
        .await
        .expect("join")
        .expect("expire");
    assert_eq!(n, 1);
    let status: String = app
        .db(move |conn| {
            use roster::db::schema::invitations::dsl as i;
            i::invitations.filter(i::id.eq(id)).select(i::status).first(conn).expect("status")
        })
        .await;
    assert_eq!(status, "expired");
    assert!(app.audit_actions(ws.id).await.contains(&("invitation.expired".into(), Some("late@example.com".into()))));
    let owner = app.signed_in("olivia@example.com").await;
    let page = visible_text(
        &expect_status(app.get(&owner, &format!("/w/{}/settings/users", ws.slug)).await, StatusCode::OK).await,
    );
    assert!(page.contains("2 of 3 seats used · Professional"), "an expired invitation holds no seat: {page}");
    assert!(page.contains("Expired on"));
    // Inviting the address again re-sends the same invitation with a new link.
    let body = expect_status(app.invite(&owner, &ws.slug, "late@example.com", "member").await, StatusCode::OK).await;
    assert!(visible_text(&body).contains("late@example.com: invited again. The earlier invitation had expired"));
    let link = app.invitation_path("late@example.com").await;
    expect_status(app.get(&app.browser(), &link).await, StatusCode::OK).await;
    // Now the plan is full: resending another expired invitation is refused for lack of a seat.
    let other = app.invitation_row(&ws, "later@example.com", "expired", Duration::hours(-2)).await;
    let body = expect_status(
        app.post_form(&owner, &format!("/w/{}/settings/users/invitations/{other}/resend", ws.slug), &[]).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert!(body.contains("No seat left for later@example.com."), "{body}");
}

async fn project_grants_are_applied_on_acceptance(app: TestApp) {
    let (_, ws) = app.create_owner("olivia@example.com", "Olivia", "Acme", Plan::Business).await;
    let ws_id = ws.id;
    let (support, sales): (i64, i64) = app
        .db(move |conn| {
            use roster::db::schema::projects;
            for name in ["Support Bot", "Sales Agent"] {
                diesel::insert_into(projects::table)
                    .values((
                        projects::workspace_id.eq(ws_id),
                        projects::name.eq(name),
                        projects::created_at.eq(roster::domain::now()),
                    ))
                    .execute(conn)
                    .expect("project");
            }
            let id = |conn: &mut roster::db::DbConnection, n: &str| -> i64 {
                projects::table.filter(projects::name.eq(n)).select(projects::id).first(conn).expect("id")
            };
            (id(conn, "Support Bot"), id(conn, "Sales Agent"))
        })
        .await;
    let owner = app.signed_in("olivia@example.com").await;
    let page = expect_status(app.get(&owner, &format!("/w/{}/settings/users", ws.slug)).await, StatusCode::OK).await;
    assert!(page.contains(&format!("name=\"project_{support}\"")), "the picker appears once projects exist");
    let res = app
        .post_form(
            &owner,
            &format!("/w/{}/settings/users/invitations", ws.slug),
            &[
                ("emails", "bob@example.com"),
                ("role", "member"),
                (&format!("project_{support}"), "edit"),
                (&format!("project_{sales}"), "none"),
            ],
        )
        .await;
    expect_status(res, StatusCode::OK).await;
    let mail = app.mail_to("bob@example.com").await;
    assert!(mail.text.contains("Support Bot (edit)") && !mail.text.contains("Sales Agent"), "{}", mail.text);
    let link = link_path(&mail.text);
    let bob = app.browser();
    let page = visible_text(&expect_status(app.get(&bob, &link).await, StatusCode::OK).await);
    assert!(page.contains("You will have access to: Support Bot (edit)"), "{page}");
    let res = app
        .post_form(
            &bob,
            &format!("{link}/accept"),
            &[("mode", "signup"), ("name", "Bob"), ("password", "bob's long password")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let page = visible_text(
        &expect_status(app.get(&owner, &format!("/w/{}/settings/users", ws.slug)).await, StatusCode::OK).await,
    );
    assert!(page.contains("Support Bot edit"), "{page}");
    // A project of another workspace cannot be slipped into the form.
    let res = app
        .post_form(
            &owner,
            &format!("/w/{}/settings/users/invitations", ws.slug),
            &[("emails", "eve@example.com"), ("project_999999", "edit")],
        )
        .await;
    let body = expect_status(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert!(body.contains("One of the chosen projects no longer exists"));
}
