//! `sluice notify`: e-mail notifications over SMTP (new updates after each sync, the periodic
//! status report): configure, show, send a test message.

use anyhow::Context;
use clap::{Args, Subcommand};
use reqwest::Method;
use sluice_api::{NotifySettingsChange, NotifyTestResult, NotifyView, ReportFrequency, SmtpTls};

use crate::Remote;
use crate::client::AdminClient;

#[derive(Subcommand, Debug)]
pub enum NotifyCommand {
    /// Set the SMTP server, the addresses and what is mailed (replaces the settings)
    Configure(ConfigureArgs),
    /// The settings (never the password) and how the last messages went
    Show {
        /// Print the admin API's JSON
        #[arg(long)]
        json: bool,
    },
    /// Send a test message now
    Test {
        /// Print the admin API's JSON
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args, Debug)]
pub struct ConfigureArgs {
    /// SMTP server
    #[arg(long, value_name = "HOST:PORT")]
    smtp: String,
    /// How the connection is secured
    #[arg(long, value_parser = ["none", "starttls", "tls"], default_value = "starttls")]
    tls: String,
    /// SMTP user (with --password-file)
    #[arg(long, requires = "password_file")]
    user: Option<String>,
    /// File holding the SMTP password (its first line); omitted with the same --user as before,
    /// the stored password is kept
    #[arg(long, value_name = "FILE")]
    password_file: Option<String>,
    /// Sender address
    #[arg(long)]
    from: String,
    /// Recipient addresses
    #[arg(long, num_args = 1.., required = true)]
    to: Vec<String>,
    /// Mail the new updates of each sync
    #[arg(long, value_parser = ["on", "off"], default_value = "on")]
    new_updates: String,
    /// Status report per computer group
    #[arg(long, value_parser = ["daily", "weekly", "off"], default_value = "off")]
    status_report: String,
    /// Print the admin API's JSON
    #[arg(long)]
    json: bool,
}

pub async fn run(remote: &Remote, c: NotifyCommand) -> anyhow::Result<()> {
    let client = AdminClient::from_remote(remote)?;
    match c {
        NotifyCommand::Configure(a) => {
            let password = match &a.password_file {
                Some(path) => {
                    let text = std::fs::read_to_string(path).with_context(|| format!("--password-file {path}: cannot read it"))?;
                    Some(text.lines().next().unwrap_or("").to_owned())
                }
                None => None,
            };
            let change = NotifySettingsChange {
                smtp: a.smtp,
                tls: SmtpTls::parse(&a.tls).context("--tls: none, starttls or tls")?,
                user: a.user,
                password,
                from: a.from,
                to: a.to,
                new_updates: a.new_updates == "on",
                status_report: ReportFrequency::parse(&a.status_report).context("--status-report: daily, weekly or off")?,
            };
            let view: NotifyView = client.send(client.request(Method::PUT, "/notify/settings").json(&change)).await?;
            print_view(&view, a.json)?;
        }
        NotifyCommand::Show { json } => {
            let view: NotifyView = client.send(client.request(Method::GET, "/notify/settings")).await?;
            print_view(&view, json)?;
        }
        NotifyCommand::Test { json } => {
            let r: NotifyTestResult = client.send(client.request(Method::POST, "/notify/test")).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&r)?);
            } else {
                let mut out = String::new();
                push_line!(out, "test message sent to {}", r.to.join(", "));
                print!("{out}");
            }
        }
    }
    Ok(())
}

fn print_view(v: &NotifyView, json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(v)?);
        return Ok(());
    }
    let mut out = String::new();
    if !v.configured {
        push_line!(out, "e-mail is not configured ('sluice notify configure')");
    } else {
        push_line!(out, "smtp:          {} ({})", v.smtp.as_deref().unwrap_or("-"), v.tls.as_str());
        let auth = match (&v.user, v.password_set) {
            (Some(u), true) => format!("{u} (password set)"),
            (Some(u), false) => format!("{u} (no password)"),
            (None, _) => "none".into(),
        };
        push_line!(out, "auth:          {auth}");
        push_line!(out, "from:          {}", v.from.as_deref().unwrap_or("-"));
        push_line!(out, "to:            {}", v.to.join(", "));
        push_line!(out, "new updates:   {}", if v.new_updates { "on" } else { "off" });
        push_line!(out, "status report: {}", v.status_report.as_str());
    }
    push_line!(out, "last sent:     {}", v.last_sent_at.as_deref().unwrap_or("never"));
    push_line!(out, "last report:   {}", v.last_status_report_at.as_deref().unwrap_or("never"));
    if let Some(e) = &v.last_error {
        push_line!(out, "last error:    {} at {}", e, v.last_error_at.as_deref().unwrap_or("?"));
    }
    print!("{out}");
    Ok(())
}
