//! Sends the e-mail notifications over SMTP (lettre, tokio, rustls), checks the e-mail
//! settings an administrator gives, and keeps the notifier's record of what it sent.

use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use sluice_api::{NotifySettingsChange, SmtpTls};
use sluice_catalog::times::format_utc;
use sluice_decide::notify::Mail;
use sluice_store::{NotifyConfig, NotifyState, Store, StoreError, settings};
use time::OffsetDateTime;

/// How long one SMTP exchange may take before it is given up (a stalled server must not
/// hold the notifier forever).
const SMTP_TIMEOUT: Duration = Duration::from_secs(30);
/// At most this many recipients.
const MAX_RECIPIENTS: usize = 50;

/// Serialises every read-modify-write of the notifier's record ([`settings::NOTIFY_STATE`]):
/// the maintenance task and the senders it spawns both update it.
static STATE_LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Checks new e-mail settings and turns them into what is stored; `previous` supplies the
/// password when the same user is configured again without one. `Err` says what is wrong.
pub fn validate(change: NotifySettingsChange, previous: Option<&NotifyConfig>, now: OffsetDateTime) -> Result<NotifyConfig, String> {
    split_host_port(&change.smtp)?;
    let from = parse_mailbox("from", &change.from)?;
    if change.to.is_empty() {
        return Err("at least one recipient ('to') is needed".into());
    }
    if change.to.len() > MAX_RECIPIENTS {
        return Err(format!("at most {MAX_RECIPIENTS} recipients"));
    }
    let mut to = Vec::new();
    for t in &change.to {
        to.push(parse_mailbox("to", t)?.to_string());
    }
    let user = change.user.map(|u| u.trim().to_owned()).filter(|u| !u.is_empty());
    if let Some(u) = &user {
        if u.len() > 256 || u.chars().any(char::is_control) {
            return Err("user: at most 256 characters, no control characters".into());
        }
    }
    if change.password.as_ref().is_some_and(|p| p.len() > 1024 || p.contains(['\r', '\n', '\0'])) {
        return Err("password: at most 1024 bytes, no line breaks or NUL".into());
    }
    let password = match (&user, change.password) {
        (None, Some(_)) => return Err("a password needs a user".into()),
        (None, None) => None,
        (Some(_), Some(p)) => Some(p),
        (Some(u), None) => previous.filter(|p| p.user.as_deref() == Some(u)).and_then(|p| p.password.clone()),
    };
    if user.is_some() && password.is_none() {
        return Err("a user needs a password (--password-file)".into());
    }
    let report_enabled_at = match previous {
        Some(p) if p.status_report == change.status_report && p.report_enabled_at.is_some() => p.report_enabled_at.clone(),
        _ => Some(format_utc(now)),
    };
    Ok(NotifyConfig {
        smtp: change.smtp.trim().to_owned(),
        tls: change.tls,
        user,
        password,
        from: from.to_string(),
        to,
        new_updates: change.new_updates,
        status_report: change.status_report,
        report_enabled_at,
    })
}

fn split_host_port(smtp: &str) -> Result<(String, u16), String> {
    let smtp = smtp.trim();
    let bad = || format!("smtp: expected HOST:PORT, got {smtp:?}");
    let (host, port) = smtp.rsplit_once(':').ok_or_else(bad)?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let port: u16 = port.parse().map_err(|_| bad())?;
    if host.is_empty() || port == 0 || host.len() > 253 || host.chars().any(|c| c.is_whitespace() || c.is_control() || c == '/') {
        return Err(bad());
    }
    Ok((host.to_owned(), port))
}

fn parse_mailbox(what: &str, s: &str) -> Result<Mailbox, String> {
    if s.len() > 320 {
        return Err(format!("{what}: address too long"));
    }
    s.trim().parse::<Mailbox>().map_err(|e| format!("{what}: {s:?} is not an e-mail address ({e})"))
}

/// Sends one message to every recipient.
pub async fn send(config: &NotifyConfig, mail: &Mail) -> Result<(), String> {
    let (host, port) = split_host_port(&config.smtp)?;
    let builder = match config.tls {
        SmtpTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&host),
        SmtpTls::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&host).map_err(|e| e.to_string())?,
        SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&host).map_err(|e| e.to_string())?,
    };
    let mut builder = builder.port(port).timeout(Some(SMTP_TIMEOUT));
    if let (Some(user), Some(password)) = (&config.user, &config.password) {
        builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
    }
    let transport = builder.build();
    let mut message = Message::builder().from(parse_mailbox("from", &config.from)?).subject(mail.subject.clone());
    for to in &config.to {
        message = message.to(parse_mailbox("to", to)?);
    }
    let message = message
        .header(ContentType::TEXT_PLAIN)
        .body(mail.body.clone())
        .map_err(|e| format!("cannot compose the message: {e}"))?;
    transport.send(message).await.map_err(|e| format!("SMTP {}: {e}", config.smtp))?;
    Ok(())
}

/// Updates the notifier's record under its lock.
pub async fn update_state(store: &Store, change: impl FnOnce(&mut NotifyState)) -> Result<NotifyState, StoreError> {
    let _lock = STATE_LOCK.lock().await;
    let mut state = store.setting(settings::NOTIFY_STATE).await?.unwrap_or_default();
    change(&mut state);
    store.set(settings::NOTIFY_STATE, &state).await?;
    Ok(state)
}

/// Sends and records the outcome: the last error stays visible (`sluice notify show`) until a
/// message goes through.
pub async fn send_and_record(store: &Store, config: &NotifyConfig, mail: &Mail, what: &str) -> Result<(), String> {
    let result = send(config, mail).await;
    let at = format_utc(OffsetDateTime::now_utc());
    let recorded = update_state(store, |s| match &result {
        Ok(()) => {
            s.last_sent_at = Some(at);
            s.last_error = None;
        }
        Err(e) => {
            s.last_error_at = Some(at);
            s.last_error = Some(format!("{what}: {e}"));
        }
    })
    .await;
    if let Err(e) = recorded {
        tracing::error!(error = %e, "cannot record the e-mail outcome");
    }
    if let Err(e) = &result {
        tracing::warn!(error = %e, what, "e-mail notification not sent");
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_api::ReportFrequency;

    fn change() -> NotifySettingsChange {
        NotifySettingsChange {
            smtp: "mail.example.org:587".into(),
            from: "wsus@example.org".into(),
            to: vec!["admins@example.org".into()],
            new_updates: true,
            ..Default::default()
        }
    }

    #[test]
    fn bad_settings_are_refused_with_a_reason() {
        let now = OffsetDateTime::UNIX_EPOCH;
        assert!(validate(change(), None, now).is_ok());
        for (what, c) in [
            ("no port", NotifySettingsChange { smtp: "mail.example.org".into(), ..change() }),
            ("port 0", NotifySettingsChange { smtp: "mail:0".into(), ..change() }),
            ("bad from", NotifySettingsChange { from: "not an address".into(), ..change() }),
            ("bad to", NotifySettingsChange { to: vec!["a@b".into(), "@@".into()], ..change() }),
            ("no to", NotifySettingsChange { to: vec![], ..change() }),
            ("user without password", NotifySettingsChange { user: Some("u".into()), ..change() }),
            ("password without user", NotifySettingsChange { password: Some("p".into()), ..change() }),
        ] {
            assert!(validate(c, None, now).is_err(), "{what}");
        }
    }

    #[test]
    fn the_password_is_kept_for_the_same_user_and_the_report_clock_for_the_same_frequency() {
        let t0 = OffsetDateTime::UNIX_EPOCH;
        let first = validate(
            NotifySettingsChange { user: Some("u".into()), password: Some("secret".into()), status_report: ReportFrequency::Daily, ..change() },
            None,
            t0,
        )
        .unwrap();
        let again = validate(
            NotifySettingsChange { user: Some("u".into()), status_report: ReportFrequency::Daily, ..change() },
            Some(&first),
            t0 + time::Duration::days(3),
        )
        .unwrap();
        assert_eq!(again.password.as_deref(), Some("secret"));
        assert_eq!(again.report_enabled_at, first.report_enabled_at);
        assert!(validate(NotifySettingsChange { user: Some("other".into()), ..change() }, Some(&first), t0).is_err());
    }
}
