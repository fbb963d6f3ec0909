//! Message bodies, rendered from askama templates: a text part and an HTML part each.

use askama::Template;

use super::Email;

#[derive(Template)]
#[template(path = "email/invitation.txt")]
struct InvitationText<'a> {
    m: &'a InvitationMail<'a>,
    expires: &'a str,
}

#[derive(Template)]
#[template(path = "email/invitation.html")]
struct InvitationHtml<'a> {
    m: &'a InvitationMail<'a>,
    expires: &'a str,
}

pub struct InvitationMail<'a> {
    pub to: &'a str,
    pub inviter: &'a str,
    pub workspace: &'a str,
    /// "Member" or "Admin".
    pub role: &'a str,
    pub link: &'a str,
    pub expires_at: chrono::NaiveDateTime,
    /// (project name, "view" or "edit").
    pub projects: &'a [(String, String)],
}

pub fn invitation(m: &InvitationMail<'_>) -> Result<Email, askama::Error> {
    let expires = m.expires_at.format("%B %-d, %Y at %H:%M UTC").to_string();
    let text = InvitationText { m, expires: &expires }.render()?;
    let html = InvitationHtml { m, expires: &expires }.render()?;
    Ok(Email {
        to: m.to.to_owned(),
        subject: format!("{} invited you to {} on Roster", m.inviter, m.workspace),
        text,
        html,
    })
}

/// The alert's figures, formatted once for both parts.
struct Figures {
    messages: String,
    messages_limit: String,
    tokens: String,
    tokens_limit: String,
}

#[derive(Template)]
#[template(path = "email/usage_alert.txt")]
struct UsageAlertText<'a> {
    m: &'a UsageAlertMail<'a>,
    f: &'a Figures,
}

#[derive(Template)]
#[template(path = "email/usage_alert.html")]
struct UsageAlertHtml<'a> {
    m: &'a UsageAlertMail<'a>,
    f: &'a Figures,
}

pub struct UsageAlertMail<'a> {
    pub to: &'a str,
    pub owner: &'a str,
    pub workspace: &'a str,
    /// 80 or 100.
    pub threshold: i32,
    pub messages: i64,
    pub messages_limit: i64,
    pub tokens: i64,
    pub tokens_limit: i64,
    /// When the allowance resets, as words.
    pub resets: &'a str,
}

/// "Acme Bots has used 80% of its monthly allowance".
pub fn usage_alert(m: &UsageAlertMail<'_>) -> Result<Email, askama::Error> {
    use crate::domain::format_count as n;
    let f = Figures {
        messages: n(m.messages),
        messages_limit: n(m.messages_limit),
        tokens: n(m.tokens),
        tokens_limit: n(m.tokens_limit),
    };
    let text = UsageAlertText { m, f: &f }.render()?;
    let html = UsageAlertHtml { m, f: &f }.render()?;
    let subject = if m.threshold >= 100 {
        format!("{} has used its whole monthly allowance", m.workspace)
    } else {
        format!("{} has used {}% of its monthly allowance", m.workspace, m.threshold)
    };
    Ok(Email { to: m.to.to_owned(), subject, text, html })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_parts_carry_who_where_role_link_and_expiry() {
        let projects = vec![("Support Bot".to_owned(), "edit".to_owned())];
        let mail = invitation(&InvitationMail {
            to: "bob@example.com",
            inviter: "Ana García",
            workspace: "Acme <Bots>",
            role: "Member",
            link: "http://x/invitations/abc",
            expires_at: chrono::NaiveDate::from_ymd_opt(2026, 12, 11)
                .and_then(|d| d.and_hms_opt(9, 30, 0))
                .unwrap_or_default(),
            projects: &projects,
        })
        .expect("renders");
        assert_eq!(mail.subject, "Ana García invited you to Acme <Bots> on Roster");
        for part in [&mail.text, &mail.html] {
            assert!(part.contains("Ana García"));
            assert!(part.contains("http://x/invitations/abc"));
            assert!(part.contains("December 11, 2026 at 09:30 UTC"));
            assert!(part.contains("Member"));
            assert!(part.contains("Support Bot"));
        }
        assert!(mail.text.contains("Acme <Bots>"), "text is not HTML-escaped");
        assert!(mail.html.contains("Acme &lt;Bots&gt;") || mail.html.contains("Acme &#60;Bots&#62;"), "{}", mail.html);
    }
}
