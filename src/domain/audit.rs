//! Audit actions and the hash chain that makes tampering detectable.

use chrono::NaiveDateTime;
use sha2::{Digest, Sha256};

/// Every action the audit log knows. The string is what the database and exports carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    WorkspaceCreated,
    InvitationSent,
    InvitationResent,
    InvitationRevoked,
    InvitationAccepted,
    InvitationExpired,
    MemberAdded,
    MemberRemoved,
    MemberLeft,
    MemberRoleChanged,
    OwnershipTransferred,
    PlanChanged,
    ProjectCreated,
    ProjectRenamed,
    ProjectDeleted,
    ProjectAccessGranted,
    ProjectAccessChanged,
    ProjectAccessRemoved,
    ApiKeyCreated,
    ApiKeyRevoked,
    UsageCapSet,
    SupportLogsViewed,
    AuditPruned,
}

impl Action {
    pub const ALL: [Action; 23] = [
        Action::WorkspaceCreated,
        Action::InvitationSent,
        Action::InvitationResent,
        Action::InvitationRevoked,
        Action::InvitationAccepted,
        Action::InvitationExpired,
        Action::MemberAdded,
        Action::MemberRemoved,
        Action::MemberLeft,
        Action::MemberRoleChanged,
        Action::OwnershipTransferred,
        Action::PlanChanged,
        Action::ProjectCreated,
        Action::ProjectRenamed,
        Action::ProjectDeleted,
        Action::ProjectAccessGranted,
        Action::ProjectAccessChanged,
        Action::ProjectAccessRemoved,
        Action::ApiKeyCreated,
        Action::ApiKeyRevoked,
        Action::UsageCapSet,
        Action::SupportLogsViewed,
        Action::AuditPruned,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::WorkspaceCreated => "workspace.created",
            Action::InvitationSent => "invitation.sent",
            Action::InvitationResent => "invitation.resent",
            Action::InvitationRevoked => "invitation.revoked",
            Action::InvitationAccepted => "invitation.accepted",
            Action::InvitationExpired => "invitation.expired",
            Action::MemberAdded => "member.added",
            Action::MemberRemoved => "member.removed",
            Action::MemberLeft => "member.left",
            Action::MemberRoleChanged => "member.role_changed",
            Action::OwnershipTransferred => "ownership.transferred",
            Action::PlanChanged => "plan.changed",
            Action::ProjectCreated => "project.created",
            Action::ProjectRenamed => "project.renamed",
            Action::ProjectDeleted => "project.deleted",
            Action::ProjectAccessGranted => "project.access_granted",
            Action::ProjectAccessChanged => "project.access_changed",
            Action::ProjectAccessRemoved => "project.access_removed",
            Action::ApiKeyCreated => "api_key.created",
            Action::ApiKeyRevoked => "api_key.revoked",
            Action::UsageCapSet => "usage.cap_set",
            Action::SupportLogsViewed => "support.logs_viewed",
            Action::AuditPruned => "audit.pruned",
        }
    }

    pub fn parse(s: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

/// The hash that the first row of a workspace's chain points back to.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The content of an audit row that its hash covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HashedFields<'a> {
    pub workspace_id: Option<i64>,
    pub created_at: NaiveDateTime,
    pub action: &'a str,
    pub actor_user_id: Option<i64>,
    pub actor_name: &'a str,
    pub actor_email: &'a str,
    pub actor_kind: &'a str,
    pub ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    pub target_type: Option<&'a str>,
    pub target_id: Option<i64>,
    pub target_label: Option<&'a str>,
    pub target_email: Option<&'a str>,
    pub details: &'a str,
}

/// SHA-256 over the previous row's hash and every field, each length-prefixed so that no two
/// different rows serialize alike.
pub fn chain_hash(prev_hash: &str, f: &HashedFields<'_>) -> String {
    fn put(h: &mut Sha256, s: Option<&str>) {
        match s {
            None => h.update(b"-"),
            Some(s) => {
                h.update(s.len().to_string().as_bytes());
                h.update(b":");
                h.update(s.as_bytes());
            }
        }
    }
    let mut h = Sha256::new();
    let ts = f.created_at.format("%Y-%m-%dT%H:%M:%S%.6f").to_string();
    let ws = f.workspace_id.map(|v| v.to_string());
    let actor = f.actor_user_id.map(|v| v.to_string());
    let target = f.target_id.map(|v| v.to_string());
    for field in [
        Some(prev_hash),
        ws.as_deref(),
        Some(ts.as_str()),
        Some(f.action),
        actor.as_deref(),
        Some(f.actor_name),
        Some(f.actor_email),
        Some(f.actor_kind),
        f.ip,
        f.user_agent,
        f.target_type,
        target.as_deref(),
        f.target_label,
        f.target_email,
        Some(f.details),
    ] {
        put(&mut h, field);
    }
    hex::encode(h.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields() -> HashedFields<'static> {
        HashedFields {
            workspace_id: Some(1),
            created_at: chrono::NaiveDate::from_ymd_opt(2026, 12, 4)
                .and_then(|d| d.and_hms_micro_opt(10, 0, 0, 5))
                .unwrap_or_default(),
            action: "member.added",
            actor_user_id: Some(2),
            actor_name: "Olivia",
            actor_email: "o@x.io",
            actor_kind: "user",
            ip: None,
            user_agent: None,
            target_type: Some("member"),
            target_id: Some(3),
            target_label: Some("Bob"),
            target_email: Some("b@x.io"),
            details: "{}",
        }
    }

    #[test]
    fn any_change_changes_the_hash() {
        let base = chain_hash(GENESIS_HASH, &fields());
        assert_eq!(base, chain_hash(GENESIS_HASH, &fields()));
        let mut f = fields();
        f.target_label = Some("Bobby");
        assert_ne!(base, chain_hash(GENESIS_HASH, &f));
        assert_ne!(base, chain_hash(&base, &fields()));
        let mut f = fields();
        f.ip = Some("");
        assert_ne!(base, chain_hash(GENESIS_HASH, &f), "None and empty differ");
    }

    #[test]
    fn action_names_round_trip() {
        for a in Action::ALL {
            assert_eq!(Action::parse(a.as_str()), Some(a));
        }
    }
}

/// What a log line needs of an audit row.
pub struct LogLine<'a> {
    pub action: &'a str,
    pub actor_name: &'a str,
    pub actor_kind: &'a str,
    pub target_label: Option<&'a str>,
    pub target_email: Option<&'a str>,
    pub details: &'a serde_json::Value,
}

fn titled(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// One sentence per audit row, as the Logs panel shows it: "Ana García invited bob@example.com
/// as Member".
pub fn sentence(l: &LogLine<'_>) -> String {
    let actor = l.actor_name;
    let d = l.details;
    let text = |k: &str| d.get(k).and_then(|v| v.as_str()).unwrap_or_default().to_owned();
    let role = |k: &str| titled(&text(k));
    let email = l.target_email.or(l.target_label).unwrap_or("someone");
    let target = l.target_label.or(l.target_email).unwrap_or("someone");
    let person = match (l.target_label, l.target_email) {
        (Some(n), Some(e)) if n != e => format!("{n} ({e})"),
        _ => target.to_owned(),
    };
    match Action::parse(l.action) {
        Some(Action::WorkspaceCreated) => format!("{actor} created the workspace on the {} plan", role("plan")),
        Some(Action::InvitationSent) => format!("{actor} invited {email} as {}", role("role")),
        Some(Action::InvitationResent) if text("via") == "link" => {
            format!("{actor} copied a new invitation link for {email}")
        }
        Some(Action::InvitationResent) => format!("{actor} resent the invitation to {email}"),
        Some(Action::InvitationRevoked) if text("reason") == "inviter_left" => {
            format!("{actor} removed the invitation to {email} (sent by {}, who no longer has access)", text("inviter"))
        }
        Some(Action::InvitationRevoked) => format!("{actor} removed the invitation to {email}"),
        Some(Action::InvitationAccepted) => format!("{email} accepted the invitation"),
        Some(Action::InvitationExpired) => format!("The invitation to {email} expired"),
        Some(Action::MemberAdded) if l.actor_kind == "system" => format!("{person} was added as {}", role("role")),
        Some(Action::MemberAdded) => format!("{person} joined as {}", role("role")),
        Some(Action::MemberRemoved) => format!("{actor} removed {person}"),
        Some(Action::MemberLeft) => format!("{person} left the workspace"),
        Some(Action::MemberRoleChanged) => {
            format!("{actor} changed {target}'s role from {} to {}", role("from"), role("to"))
        }
        Some(Action::OwnershipTransferred) => format!("{actor} transferred ownership to {person}"),
        Some(Action::PlanChanged) => format!("{actor} changed the plan from {} to {}", role("from"), role("to")),
        Some(Action::ProjectCreated) => format!("{actor} created the project {target}"),
        Some(Action::ProjectRenamed) => format!("{actor} renamed the project {} to {}", text("from"), text("to")),
        Some(Action::ProjectDeleted) => format!("{actor} deleted the project {target}"),
        Some(Action::ProjectAccessGranted) => {
            format!("{actor} gave {person} {} access to {}", text("access"), text("project"))
        }
        Some(Action::ProjectAccessChanged) => {
            format!("{actor} changed {person}'s access to {} from {} to {}", text("project"), text("from"), text("to"))
        }
        Some(Action::ProjectAccessRemoved) => format!("{actor} removed {person}'s access to {}", text("project")),
        Some(Action::ApiKeyCreated) => format!("{actor} created the API key {target}"),
        Some(Action::ApiKeyRevoked) => format!("{actor} revoked the API key {target}"),
        Some(Action::UsageCapSet) => format!("{actor} set {person}'s monthly cap ({})", text("summary")),
        Some(Action::SupportLogsViewed) => format!("Support staff ({actor}, support) viewed the logs"),
        Some(Action::AuditPruned) => format!(
            "{actor} removed {} log entries older than {} (retention policy)",
            d.get("deleted").and_then(|v| v.as_i64()).unwrap_or(0),
            text("cutoff_date")
        ),
        None => format!("{actor}: {}", l.action),
    }
}

#[cfg(test)]
mod sentence_tests {
    use super::*;

    fn line(action: &str, details: serde_json::Value) -> String {
        sentence(&LogLine {
            action,
            actor_name: "Ana García",
            actor_kind: "user",
            target_label: Some("Bob"),
            target_email: Some("bob@example.com"),
            details: &details,
        })
    }

    #[test]
    fn sentences_read_like_the_help_page() {
        assert_eq!(
            line("invitation.sent", serde_json::json!({"role": "member"})),
            "Ana García invited bob@example.com as Member"
        );
        assert_eq!(line("member.removed", serde_json::json!({})), "Ana García removed Bob (bob@example.com)");
        assert_eq!(
            line("invitation.revoked", serde_json::json!({})),
            "Ana García removed the invitation to bob@example.com"
        );
        assert_eq!(
            line("member.role_changed", serde_json::json!({"from": "member", "to": "admin"})),
            "Ana García changed Bob's role from Member to Admin"
        );
        assert_eq!(
            line("plan.changed", serde_json::json!({"from": "free", "to": "business"})),
            "Ana García changed the plan from Free to Business"
        );
        assert_eq!(
            line("support.logs_viewed", serde_json::json!({})),
            "Support staff (Ana García, support) viewed the logs"
        );
    }
}
