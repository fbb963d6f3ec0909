//! Email: composing messages from templates, the transports (SMTP, a mail folder, or memory for
//! tests), and the outbox worker that delivers what services queued.

pub mod compose;
pub mod outbox;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

/// One message as the outbox keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Where messages go. Chosen from the configuration: SMTP when `ROSTER_SMTP_URL` is set,
/// otherwise `.eml` files in the mail folder; tests may use memory.
#[derive(Clone)]
pub enum Mailer {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Folder(PathBuf),
    Memory(Arc<Mutex<Vec<Email>>>),
}

/// How long one delivery may take before it counts as failed (lettre's own timeout covers only
/// the TCP connect: a server that accepts and never greets would hang forever).
pub const SEND_TIMEOUT: Duration = Duration::from_secs(30);

impl Mailer {
    pub fn from_config(config: &crate::config::Config) -> Result<Mailer, String> {
        match &config.smtp_url {
            Some(url) => AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                .map(|b| Mailer::Smtp(b.timeout(Some(Duration::from_secs(20))).build()))
                .map_err(|e| format!("ROSTER_SMTP_URL is not a usable SMTP URL ({e}); for example smtp://user:pass@mail.example.com:587")),
            None => {
                std::fs::create_dir_all(&config.mail_dir).map_err(|e| {
                    format!("ROSTER_MAIL_DIR: cannot create {} ({e}); choose a writable folder.", config.mail_dir.display())
                })?;
                Ok(Mailer::Folder(config.mail_dir.clone()))
            }
        }
    }

    pub fn memory() -> (Mailer, Arc<Mutex<Vec<Email>>>) {
        let store = Arc::new(Mutex::new(Vec::new()));
        (Mailer::Memory(store.clone()), store)
    }

    pub fn describe(&self) -> String {
        match self {
            Mailer::Smtp(_) => "SMTP".into(),
            Mailer::Folder(dir) => format!("the mail folder {}", dir.display()),
            Mailer::Memory(_) => "memory".into(),
        }
    }

    /// Sends one message; the error is the reason a person reads on the pending row.
    pub async fn send(&self, from: &str, email: &Email) -> Result<(), String> {
        let message = build_message(from, email)?;
        let attempt = async {
            match self {
                Mailer::Smtp(t) => t.send(message).await.map(|_| ()).map_err(|e| smtp_reason(&e)),
                Mailer::Folder(dir) => AsyncFileTransport::<Tokio1Executor>::new(dir)
                    .send(message)
                    .await
                    .map(|id| tracing::info!(to = %email.to, file = %dir.join(format!("{id}.eml")).display(), "email written to the mail folder"))
                    .map_err(|e| format!("could not write to the mail folder: {e}")),
                Mailer::Memory(store) => {
                    store.lock().map_err(|_| "mail store poisoned".to_owned())?.push(email.clone());
                    Ok(())
                }
            }
        };
        match tokio::time::timeout(SEND_TIMEOUT, attempt).await {
            Ok(result) => result,
            Err(_) => Err(format!("the mail server did not answer within {} seconds", SEND_TIMEOUT.as_secs())),
        }
    }
}

fn smtp_reason(e: &lettre::transport::smtp::Error) -> String {
    let text = e.to_string();
    if text.contains("Connection refused") || text.contains("connection refused") {
        "the mail server refused the connection".into()
    } else {
        format!("the mail server said: {text}")
    }
}

fn build_message(from: &str, email: &Email) -> Result<Message, String> {
    let from: Mailbox = from.parse().map_err(|e| format!("ROSTER_MAIL_FROM is not an address ({e})"))?;
    let to: Mailbox = email.to.parse().map_err(|e| format!("{} is not an address lettre accepts ({e})", email.to))?;
    Message::builder()
        .from(from)
        .to(to)
        .subject(email.subject.clone())
        .multipart(MultiPart::alternative_plain_html(email.text.clone(), email.html.clone()))
        .map_err(|e| format!("could not build the message: {e}"))
}
