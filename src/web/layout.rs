//! What every page's frame needs: title, CSRF token, assets, the signed-in account, the workspace
//! menu and switcher, and a flash message.

use actix_session::Session;

use super::assets::{Assets, assets};
use super::extract::{Viewer, WsCtx};
use super::session::{self, Flash};

pub struct NavUser {
    pub name: String,
    pub initial: String,
    pub email: String,
    pub is_staff: bool,
}

pub struct NavWs {
    pub slug: String,
    pub name: String,
    pub role: &'static str,
    pub can_manage: bool,
}

pub struct NavLink {
    pub slug: String,
    pub name: String,
    pub current: bool,
}

pub struct Chrome {
    pub title: String,
    pub csrf: String,
    pub assets: &'static Assets,
    pub user: Option<NavUser>,
    pub ws: Option<NavWs>,
    pub switcher: Vec<NavLink>,
    /// Which menu entry is current: `projects`, `users`, `usage`, `plan`, `account`.
    pub section: &'static str,
    pub flash: Option<Flash>,
    /// For owner and admins: (80 or 100, sentence) when the month's usage has passed a threshold.
    pub usage_alert: Option<(i32, String)>,
}

impl Chrome {
    /// A page with no signed-in account (sign-in, setup, invitations).
    pub fn public(session: &Session, title: impl Into<String>) -> Chrome {
        Chrome {
            title: title.into(),
            csrf: session::csrf_token(session),
            assets: assets(),
            user: None,
            ws: None,
            switcher: Vec::new(),
            section: "",
            flash: session::take_flash(session),
            usage_alert: None,
        }
    }

    /// A page of a signed-in account outside any workspace.
    pub fn account(session: &Session, viewer: &Viewer, title: impl Into<String>, section: &'static str) -> Chrome {
        let mut c = Chrome::public(session, title);
        c.user = Some(NavUser {
            name: viewer.user.name.clone(),
            initial: initial(&viewer.user.name),
            email: viewer.user.email.clone(),
            is_staff: viewer.user.is_staff,
        });
        c.switcher = viewer
            .workspaces
            .iter()
            .map(|w| NavLink { slug: w.slug.clone(), name: w.name.clone(), current: false })
            .collect();
        c.section = section;
        c
    }

    /// A page inside a workspace.
    pub fn workspace(session: &Session, ctx: &WsCtx, title: impl Into<String>, section: &'static str) -> Chrome {
        let mut c = Chrome::account(session, &ctx.viewer, title, section);
        for link in &mut c.switcher {
            link.current = link.slug == ctx.ws.slug;
        }
        c.usage_alert = ctx.usage_alert.clone();
        c.ws = Some(NavWs {
            slug: ctx.ws.slug.clone(),
            name: ctx.ws.name.clone(),
            role: ctx.role().label(),
            can_manage: ctx.role().can_manage_members(),
        });
        c
    }
}

/// The first letter of a name, upper-cased, for avatars.
pub fn initial(name: &str) -> String {
    name.trim().chars().next().map(|c| c.to_uppercase().collect()).unwrap_or_else(|| "?".into())
}
