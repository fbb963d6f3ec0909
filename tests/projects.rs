//! My Projects and project-level access: members work only where the owner puts them.

mod common;

use common::{TestApp, expect_status, location, visible_text};
use diesel::prelude::*;
use reqwest::{Client, StatusCode};
use roster::domain::plan::Plan;
use roster::domain::role::Role;

backend_tests!(
    visibility_and_write_matrix,
    owner_creates_renames_and_deletes_with_the_name_typed,
    access_is_granted_changed_and_removed_on_the_project_page,
    inline_assignment_from_my_users,
    removing_a_member_removes_their_project_access,
    accepted_invitation_grants_only_the_chosen_projects,
);

struct World {
    slug: String,
    support: i64,
    sales: i64,
    other_ws_project: i64,
}

/// Acme: Olivia (owner), Ada (admin), Vic (view on Support), Eve (edit on Support), Nia (no
/// project). Sam owns another workspace with its own project.
async fn world(app: &TestApp) -> World {
    let (_, ws) = app.create_owner("olivia@example.com", "Olivia Owner", "Acme", Plan::Business).await;
    app.add_member(&ws, "ada@example.com", "Ada Admin", Role::Admin).await;
    for (e, n) in
        [("vic@example.com", "Vic Viewer"), ("eve@example.com", "Eve Editor"), ("nia@example.com", "Nia None")]
    {
        app.add_member(&ws, e, n, Role::Member).await;
    }
    let (_, other) = app.create_owner("sam@example.com", "Sam", "Other Co", Plan::Business).await;
    let owner = app.signed_in("olivia@example.com").await;
    let support = create_project(app, &owner, &ws.slug, "Support Bot").await;
    let sales = create_project(app, &owner, &ws.slug, "Sales Agent").await;
    let sam = app.signed_in("sam@example.com").await;
    let other_ws_project = create_project(app, &sam, &other.slug, "Secret").await;
    let vic = app.membership_id(&ws, "vic@example.com").await.to_string();
    let eve = app.membership_id(&ws, "eve@example.com").await.to_string();
    for (m, a) in [(&vic, "view"), (&eve, "edit")] {
        let res = app
            .post_form(
                &owner,
                &format!("/w/{}/projects/{support}/members", ws.slug),
                &[("membership_id", m), ("access", a)],
            )
            .await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
    }
    World { slug: ws.slug, support, sales, other_ws_project }
}

async fn create_project(app: &TestApp, client: &Client, slug: &str, name: &str) -> i64 {
    let res = app.post_form(client, &format!("/w/{slug}/projects"), &[("name", name)]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "create {name}");
    location(&res).rsplit('/').next().and_then(|id| id.parse().ok()).expect("project id in the redirect")
}

async fn visibility_and_write_matrix(app: TestApp) {
    let w = world(&app).await;
    let actors = [
        "olivia@example.com",
        "ada@example.com",
        "vic@example.com",
        "eve@example.com",
        "nia@example.com",
        "sam@example.com",
    ];
    let mut clients = Vec::new();
    for a in actors {
        clients.push(app.signed_in(a).await);
    }
    let list = format!("/w/{}/projects", w.slug);
    let page = format!("/w/{}/projects/{}", w.slug, w.support);
    // The list: who sees which projects.
    let expect_list: [(u16, &[&str], &[&str]); 6] = [
        (200, &["Support Bot", "Sales Agent"], &[]),
        (200, &["Support Bot", "Sales Agent"], &[]),
        (200, &["Support Bot"], &["Sales Agent"]),
        (200, &["Support Bot"], &["Sales Agent"]),
        (200, &["You haven't been added to a project yet."], &["Support Bot", "Sales Agent"]),
        (403, &[], &["Support Bot"]),
    ];
    for (i, (status, shown, hidden)) in expect_list.iter().enumerate() {
        let res = app.get(&clients[i], &list).await;
        let body = expect_status(res, StatusCode::from_u16(*status).expect("status")).await;
        let text = visible_text(&body);
        for s in *shown {
            assert!(text.contains(s), "{} should see {s}: {text}", actors[i]);
        }
        for h in *hidden {
            assert!(!text.contains(h), "{} should not see {h}", actors[i]);
        }
    }
    // The page.
    let expect_page = [200, 200, 200, 200, 403, 403];
    for (i, status) in expect_page.iter().enumerate() {
        let body = expect_status(app.get(&clients[i], &page).await, StatusCode::from_u16(*status).expect("s")).await;
        if actors[i] == "nia@example.com" {
            assert!(body.contains("You aren't assigned to the project Support Bot."), "{body}");
        }
    }
    // Another workspace's project is not found through this workspace.
    expect_status(
        app.get(&clients[0], &format!("/w/{}/projects/{}", w.slug, w.other_ws_project)).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    // Writes: rename needs edit access; everything else needs owner or admin.
    let nia = app.membership_id_by_slug(&w.slug, "nia@example.com").await.to_string();
    type Write<'a> = (String, Vec<(&'a str, String)>, [u16; 6]);
    let writes: Vec<Write> = vec![
        (format!("{page}/rename"), vec![("name", "Support Bot".into())], [303, 303, 403, 303, 403, 403]),
        (
            format!("{page}/members"),
            vec![("membership_id", nia.clone()), ("access", "view".into())],
            [303, 303, 403, 403, 403, 403],
        ),
        (format!("{page}/members/{nia}"), vec![("access", "none".into())], [303, 303, 403, 403, 403, 403]),
        (list.clone(), vec![("name", "".into())], [422, 422, 403, 403, 403, 403]),
        (
            format!("/w/{}/projects/{}/delete", w.slug, w.sales),
            vec![("confirm_name", "nope".into())],
            [422, 422, 403, 403, 403, 403],
        ),
    ];
    for (url, form, expect) in writes {
        for (i, status) in expect.iter().enumerate() {
            let fields: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let res = app.post_form(&clients[i], &url, &fields).await;
            assert_eq!(res.status().as_u16(), *status, "POST {url} as {}", actors[i]);
        }
    }
    let vic_body = expect_status(
        app.post_form(&clients[2], &format!("{page}/rename"), &[("name", "Mine")]).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert!(vic_body.contains("You have view access to Support Bot; renaming needs edit access."), "{vic_body}");
}

async fn owner_creates_renames_and_deletes_with_the_name_typed(app: TestApp) {
    let w = world(&app).await;
    let owner = app.signed_in("olivia@example.com").await;
    let body = expect_status(
        app.post_form(&owner, &format!("/w/{}/projects", w.slug), &[("name", "Support Bot")]).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(body.contains("A project named Support Bot already exists; choose another name."));
    let eve = app.signed_in("eve@example.com").await;
    let page = format!("/w/{}/projects/{}", w.slug, w.support);
    assert_eq!(
        app.post_form(&eve, &format!("{page}/rename"), &[("name", "Helpdesk Bot")]).await.status(),
        StatusCode::SEE_OTHER
    );
    let text = visible_text(&expect_status(app.get(&owner, &page).await, StatusCode::OK).await);
    assert!(text.contains("Helpdesk Bot"));
    let body = expect_status(
        app.post_form(&owner, &format!("{page}/delete"), &[("confirm_name", "helpdesk")]).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(body.contains("Type the project's name, Helpdesk Bot, exactly to confirm. Nothing was deleted."));
    let res = app.post_form(&owner, &format!("{page}/delete"), &[("confirm_name", "Helpdesk Bot")]).await;
    assert_eq!(location(&res), format!("/w/{}/projects", w.slug));
    expect_status(app.get(&owner, &page).await, StatusCode::NOT_FOUND).await;
    let logs = visible_text(
        &expect_status(app.get(&owner, &format!("/w/{}/settings/users", w.slug)).await, StatusCode::OK).await,
    );
    assert!(logs.contains("Eve Editor renamed the project Support Bot to Helpdesk Bot"), "{logs}");
    assert!(logs.contains("Olivia Owner deleted the project Helpdesk Bot"));
    assert!(logs.contains("Olivia Owner created the project Sales Agent"));
}

async fn access_is_granted_changed_and_removed_on_the_project_page(app: TestApp) {
    let w = world(&app).await;
    let owner = app.signed_in("olivia@example.com").await;
    let page = format!("/w/{}/projects/{}", w.slug, w.sales);
    let nia = app.membership_id_by_slug(&w.slug, "nia@example.com").await;
    let text = visible_text(&expect_status(app.get(&owner, &page).await, StatusCode::OK).await);
    assert!(text.contains("Nobody else has access yet."));
    // htmx sends the same form; the answer is the page, from which it selects the section.
    let token = app.csrf(&owner).await;
    let res = owner
        .post(app.url(&format!("{page}/members")))
        .header("HX-Request", "true")
        .form(&[("membership_id", nia.to_string().as_str()), ("access", "view"), ("csrf_token", token.as_str())])
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "redirects are followed by the browser's XHR");
    let body = expect_status(app.get(&owner, &location(&res)).await, StatusCode::OK).await;
    assert!(body.contains("id=\"project-members\""));
    assert!(visible_text(&body).contains("Nia None can now view Sales Agent."));
    app.post_form(&owner, &format!("{page}/members/{nia}"), &[("access", "edit")]).await;
    app.post_form(&owner, &format!("{page}/members/{nia}"), &[("access", "none")]).await;
    let actions: Vec<String> =
        app.audit_actions(1).await.into_iter().map(|a| a.0).filter(|a| a.starts_with("project.access")).collect();
    assert_eq!(
        actions[actions.len() - 3..],
        ["project.access_granted", "project.access_changed", "project.access_removed"]
    );
    let logs = visible_text(
        &expect_status(app.get(&owner, &format!("/w/{}/settings/users", w.slug)).await, StatusCode::OK).await,
    );
    assert!(logs.contains("Olivia Owner gave Nia None (nia@example.com) view access to Sales Agent"), "{logs}");
    assert!(
        logs.contains("Olivia Owner changed Nia None (nia@example.com)'s access to Sales Agent from view to edit"),
        "{logs}"
    );
    assert!(logs.contains("Olivia Owner removed Nia None (nia@example.com)'s access to Sales Agent"));
    // Admins always have edit access: they cannot be added.
    let ada = app.membership_id_by_slug(&w.slug, "ada@example.com").await.to_string();
    let body = expect_status(
        app.post_form(&owner, &format!("{page}/members"), &[("membership_id", &ada), ("access", "view")]).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(body.contains("Ada Admin is an admin and always has edit access to every project."));
}

async fn inline_assignment_from_my_users(app: TestApp) {
    let w = world(&app).await;
    let owner = app.signed_in("olivia@example.com").await;
    let users = format!("/w/{}/settings/users", w.slug);
    let text = visible_text(&expect_status(app.get(&owner, &users).await, StatusCode::OK).await);
    assert!(text.contains("1 member has no projects — assign them"), "{text}");
    let nia = app.membership_id_by_slug(&w.slug, "nia@example.com").await;
    let res = app
        .post_form(
            &owner,
            &format!("{users}/members/{nia}/projects"),
            &[(&format!("project_{}", w.support), "edit"), (&format!("project_{}", w.sales), "view")],
        )
        .await;
    assert_eq!(location(&res), format!("{users}#member-{nia}"));
    let body = expect_status(app.get(&owner, &users).await, StatusCode::OK).await;
    let text = visible_text(&body);
    assert!(text.contains("Updated 2 projects for Nia None."), "{text}");
    assert!(!text.contains("has no projects"), "{text}");
    let row = body.split(&format!("id=\"member-{nia}\"")).nth(1).expect("row").split("</tr>").next().expect("row end");
    assert!(visible_text(row).contains("Sales Agent view Support Bot edit"), "{}", visible_text(row));
    // Same form again: nothing changes, nothing is logged.
    let before = app.audit_actions(1).await.len();
    app.post_form(
        &owner,
        &format!("{users}/members/{nia}/projects"),
        &[(&format!("project_{}", w.support), "edit"), (&format!("project_{}", w.sales), "view")],
    )
    .await;
    assert_eq!(app.audit_actions(1).await.len(), before);
    // Nia now sees both projects.
    let nia_client = app.signed_in("nia@example.com").await;
    let list = visible_text(
        &expect_status(app.get(&nia_client, &format!("/w/{}/projects", w.slug)).await, StatusCode::OK).await,
    );
    assert!(list.contains("Support Bot Can edit") && list.contains("Sales Agent Can view"), "{list}");
}

async fn removing_a_member_removes_their_project_access(app: TestApp) {
    let w = world(&app).await;
    let owner = app.signed_in("olivia@example.com").await;
    let eve = app.membership_id_by_slug(&w.slug, "eve@example.com").await;
    expect_status(
        app.htmx_delete(&owner, &format!("/w/{}/settings/users/members/{eve}", w.slug)).await,
        StatusCode::OK,
    )
    .await;
    let text = visible_text(
        &expect_status(app.get(&owner, &format!("/w/{}/projects/{}", w.slug, w.support)).await, StatusCode::OK).await,
    );
    assert!(!text.contains("Eve Editor"), "{text}");
    let rows: i64 = app
        .db(move |conn| {
            use roster::db::schema::project_members::dsl as pm;
            pm::project_members.filter(pm::membership_id.eq(eve)).count().get_result(conn).expect("count")
        })
        .await;
    assert_eq!(rows, 0);
}

async fn accepted_invitation_grants_only_the_chosen_projects(app: TestApp) {
    let w = world(&app).await;
    let owner = app.signed_in("olivia@example.com").await;
    app.post_form(
        &owner,
        &format!("/w/{}/settings/users/invitations", w.slug),
        &[("emails", "new@example.com"), ("role", "member"), (&format!("project_{}", w.sales), "view")],
    )
    .await;
    let users = visible_text(
        &expect_status(app.get(&owner, &format!("/w/{}/settings/users", w.slug)).await, StatusCode::OK).await,
    );
    assert!(users.contains("new@example.com"));
    let link = app.invitation_path("new@example.com").await;
    let newbie = app.browser();
    app.post_form(
        &newbie,
        &format!("{link}/accept"),
        &[("mode", "signup"), ("name", "New Person"), ("password", "a long password")],
    )
    .await;
    let list =
        visible_text(&expect_status(app.get(&newbie, &format!("/w/{}/projects", w.slug)).await, StatusCode::OK).await);
    assert!(list.contains("Sales Agent Can view"), "{list}");
    assert!(!list.contains("Support Bot"));
    expect_status(app.get(&newbie, &format!("/w/{}/projects/{}", w.slug, w.support)).await, StatusCode::FORBIDDEN)
        .await;
}
