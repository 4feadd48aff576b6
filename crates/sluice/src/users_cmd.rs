//! `sluice users`: the people who may use the admin API and the role each has
//! (administrator: everything; reporter: read only).

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::{Subcommand, ValueEnum};
use reqwest::Method;
use sluice_api::{CreateUserRequest, Role, UpdateUserRequest, UserView};

use crate::client::AdminClient;
use crate::Remote;

#[derive(Copy, Clone, Debug, ValueEnum)]
pub enum RoleArg {
    /// May do everything
    Administrator,
    /// May read everything and change nothing
    Reporter,
}

impl From<RoleArg> for Role {
    fn from(r: RoleArg) -> Role {
        match r {
            RoleArg::Administrator => Role::Administrator,
            RoleArg::Reporter => Role::Reporter,
        }
    }
}

#[derive(Subcommand, Debug)]
pub enum UsersCommand {
    /// List users with their roles
    List {
        /// Print the admin API's JSON
        #[arg(long)]
        json: bool,
    },
    /// Create a user; the password is read from standard input unless --password-file is given
    Create {
        name: String,
        #[arg(long, value_enum)]
        role: RoleArg,
        /// File holding the password (its first line)
        #[arg(long)]
        password_file: Option<PathBuf>,
        /// Print the admin API's JSON
        #[arg(long)]
        json: bool,
    },
    /// Change a user's role
    SetRole {
        name: String,
        #[arg(long, value_enum)]
        role: RoleArg,
        /// Print the admin API's JSON
        #[arg(long)]
        json: bool,
    },
    /// Change a user's password (read from standard input unless --password-file is given)
    SetPassword {
        name: String,
        /// File holding the password (its first line)
        #[arg(long)]
        password_file: Option<PathBuf>,
        /// Print the admin API's JSON
        #[arg(long)]
        json: bool,
    },
    /// Disable a user: no login, and its tokens stop working until it is enabled again
    Disable {
        name: String,
        /// Print the admin API's JSON
        #[arg(long)]
        json: bool,
    },
    /// Enable a disabled user
    Enable {
        name: String,
        /// Print the admin API's JSON
        #[arg(long)]
        json: bool,
    },
    /// Delete a user and its tokens (its audit entries stay)
    Delete {
        name: String,
        /// Print the admin API's JSON
        #[arg(long)]
        json: bool,
    },
}

/// The password: the first line of `file`, or of standard input.
fn read_password(file: Option<&Path>) -> anyhow::Result<String> {
    let text = match file {
        Some(f) => std::fs::read_to_string(f).with_context(|| format!("cannot read {}", f.display()))?,
        None => {
            let mut s = String::new();
            std::io::stdin().read_to_string(&mut s).context("cannot read the password from standard input")?;
            s
        }
    };
    let password = text.lines().next().unwrap_or("").to_string();
    if password.is_empty() {
        bail!("no password given (standard input or --password-file)");
    }
    Ok(password)
}

fn path(name: &str) -> String {
    format!("/users/{}", urlencoding(name))
}

/// Percent-encodes a path segment.
pub(crate) fn urlencoding(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub async fn run(remote: &Remote, c: UsersCommand) -> anyhow::Result<()> {
    let client = AdminClient::from_remote(remote)?;
    let (user, json, done): (UserView, bool, &str) = match c {
        UsersCommand::List { json } => {
            let users: Vec<UserView> = client.send(client.request(Method::GET, "/users")).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&users)?);
            } else {
                print!("{}", table(&users));
            }
            return Ok(());
        }
        UsersCommand::Create { name, role, password_file, json } => {
            let password = read_password(password_file.as_deref())?;
            let req = CreateUserRequest { name, role: role.into(), password };
            (client.send(client.request(Method::POST, "/users").json(&req)).await?, json, "created")
        }
        UsersCommand::SetRole { name, role, json } => {
            let req = UpdateUserRequest { role: Some(role.into()), ..Default::default() };
            (client.send(client.request(Method::PATCH, &path(&name)).json(&req)).await?, json, "changed")
        }
        UsersCommand::SetPassword { name, password_file, json } => {
            let req = UpdateUserRequest { password: Some(read_password(password_file.as_deref())?), ..Default::default() };
            (client.send(client.request(Method::PATCH, &path(&name)).json(&req)).await?, json, "changed the password of")
        }
        UsersCommand::Disable { name, json } => {
            let req = UpdateUserRequest { disabled: Some(true), ..Default::default() };
            (client.send(client.request(Method::PATCH, &path(&name)).json(&req)).await?, json, "disabled")
        }
        UsersCommand::Enable { name, json } => {
            let req = UpdateUserRequest { disabled: Some(false), ..Default::default() };
            (client.send(client.request(Method::PATCH, &path(&name)).json(&req)).await?, json, "enabled")
        }
        UsersCommand::Delete { name, json } => {
            (client.send(client.request(Method::DELETE, &path(&name))).await?, json, "deleted")
        }
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&user)?);
    } else {
        let mut out = String::new();
        push_line!(out, "{done} user '{}' ({}{})", user.name, user.role.as_str(), if user.disabled { ", disabled" } else { "" });
        print!("{out}");
    }
    Ok(())
}

fn table(users: &[UserView]) -> String {
    let mut out = String::new();
    push_line!(out, "{:<24}  {:<13}  {:<8}  CREATED", "NAME", "ROLE", "STATE");
    for u in users {
        push_line!(
            out,
            "{:<24}  {:<13}  {:<8}  {}",
            u.name,
            u.role.as_str(),
            if u.disabled { "disabled" } else { "enabled" },
            u.created_at
        );
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_are_encoded_as_one_path_segment() {
        assert_eq!(super::urlencoding("rita"), "rita");
        assert_eq!(super::urlencoding("a b/c"), "a%20b%2Fc");
        assert_eq!(super::urlencoding("é"), "%C3%A9");
    }
}
