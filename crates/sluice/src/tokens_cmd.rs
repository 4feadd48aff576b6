//! `sluice tokens`: API tokens, each a user's, with a label and an optional expiry. The secret
//! is printed once, when the token is made; the server keeps only its digest.

use clap::Subcommand;
use reqwest::Method;
use sluice_api::{CreateTokenRequest, CreatedToken, TokenQuery, TokenView};

use crate::client::AdminClient;
use crate::Remote;

#[derive(Subcommand, Debug)]
pub enum TokensCommand {
    /// Make a token and print its secret (shown this once)
    Create {
        /// The owner [default: the user of the token in use]
        #[arg(long)]
        user: Option<String>,
        /// What the token is for
        #[arg(long)]
        label: Option<String>,
        /// Lifetime: a number and m, h, d or w (90d) [default: never expires]
        #[arg(long)]
        expires: Option<String>,
        /// Print the admin API's JSON (with the secret)
        #[arg(long)]
        json: bool,
    },
    /// List tokens (never their secrets)
    List {
        /// Only this user's tokens
        #[arg(long)]
        user: Option<String>,
        /// Print the admin API's JSON
        #[arg(long)]
        json: bool,
    },
    /// Revoke a token: it stops working at once
    Revoke {
        id: i64,
        /// Print the admin API's JSON
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(remote: &Remote, c: TokensCommand) -> anyhow::Result<()> {
    let client = AdminClient::from_remote(remote)?;
    match c {
        TokensCommand::Create { user, label, expires, json } => {
            let req = CreateTokenRequest { user, label, expires_in: expires };
            let made: CreatedToken = client.send(client.request(Method::POST, "/tokens").json(&req)).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&made)?);
            } else {
                // The secret alone on standard output, for `TOKEN=$(sluice tokens create)`.
                println!("{}", made.token);
                errln!(
                    "token {} for '{}' ({}); it is not shown again",
                    made.info.id,
                    made.info.user,
                    made.info.expires_at.as_deref().map(|e| format!("expires {e}")).unwrap_or_else(|| "never expires".into())
                );
            }
        }
        TokensCommand::List { user, json } => {
            let tokens: Vec<TokenView> = client.send(client.request(Method::GET, "/tokens").query(&TokenQuery { user })).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&tokens)?);
            } else {
                print!("{}", table(&tokens));
            }
        }
        TokensCommand::Revoke { id, json } => {
            let t: TokenView = client.send(client.request(Method::DELETE, &format!("/tokens/{id}"))).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&t)?);
            } else {
                let mut out = String::new();
                push_line!(out, "revoked token {} of '{}'", t.id, t.user);
                print!("{out}");
            }
        }
    }
    Ok(())
}

fn table(tokens: &[TokenView]) -> String {
    let mut out = String::new();
    push_line!(out, "{:>5}  {:<20}  {:<8}  {:<8}  {:<20}  {:<20}  LABEL", "ID", "USER", "KIND", "STATE", "LAST USED", "EXPIRES");
    for t in tokens {
        push_line!(
            out,
            "{:>5}  {:<20}  {:<8}  {:<8}  {:<20}  {:<20}  {}",
            t.id,
            t.user,
            t.kind,
            if t.revoked { "revoked" } else { "active" },
            t.last_used_at.as_deref().unwrap_or("-"),
            t.expires_at.as_deref().unwrap_or("never"),
            t.label
        );
    }
    out
}
