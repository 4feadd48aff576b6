//! People and roles: users, their API tokens and console login (`/users`, `/tokens`,
//! `/login`).

use serde::{Deserialize, Serialize};

/// What a user may do. Administrators everything; reporters every read (GET) and nothing else.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Administrator,
    Reporter,
}

impl Role {
    /// The name stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Administrator => "administrator",
            Role::Reporter => "reporter",
        }
    }

    /// The role a stored name stands for; anything but `administrator` may only read.
    pub fn from_stored(s: &str) -> Role {
        if s == "administrator" { Role::Administrator } else { Role::Reporter }
    }
}

/// A user as the API shows it (never its password hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct UserView {
    pub name: String,
    pub role: Role,
    pub disabled: bool,
    pub created_at: String,
}

/// `POST /users`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUserRequest {
    pub name: String,
    pub role: Role,
    pub password: String,
}

/// `PATCH /users/{name}`: the fields given change, the others stay.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUserRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
}

/// An API token as listed (its secret is shown once, when it is made, never again).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TokenView {
    pub id: i64,
    pub user: String,
    pub label: String,
    /// `api` (made on request) or `session` (made by a console login).
    pub kind: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub expires_at: Option<String>,
    pub revoked: bool,
}

/// Query of `GET /tokens`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TokenQuery {
    /// Only this user's tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
}

/// `POST /tokens`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTokenRequest {
    /// The owner; the caller when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// How long the token lives: a number and a unit, `m`inutes, `h`ours, `d`ays or `w`eeks
    /// (`90d`); never expires when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<String>,
}

/// A token just made: its secret, this once, and what `GET /tokens` shows of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CreatedToken {
    pub token: String,
    #[serde(flatten)]
    pub info: TokenView,
}

/// `POST /login`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub user: String,
    pub password: String,
}

/// A console session: a bearer token of the user that expires.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LoginResponse {
    pub token: String,
    pub user: String,
    pub role: Role,
    pub expires_at: String,
}

/// The longest lifetime `expires_in` takes (ten years).
pub const MAX_TOKEN_LIFETIME_SECS: u64 = 10 * 366 * 24 * 3600;

/// Seconds of a lifetime such as `90d`, `12h`, `30m`, `2w`.
pub fn parse_lifetime(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let bad = || format!("'{s}' is not a lifetime: a number and m, h, d or w, such as 90d");
    let unit = s.chars().last().ok_or_else(bad)?;
    let per = match unit {
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        'w' => 7 * 86_400,
        _ => return Err(bad()),
    };
    let n: u64 = s[..s.len() - 1].parse().map_err(|_| bad())?;
    match n.checked_mul(per) {
        Some(0) => Err(format!("'{s}': a token must live a while")),
        Some(secs) if secs <= MAX_TOKEN_LIFETIME_SECS => Ok(secs),
        _ => Err(format!("'{s}' is longer than ten years")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes() {
        assert_eq!(parse_lifetime("90d"), Ok(90 * 86_400));
        assert_eq!(parse_lifetime(" 12h "), Ok(12 * 3600));
        assert_eq!(parse_lifetime("2w"), Ok(14 * 86_400));
        assert_eq!(parse_lifetime("30m"), Ok(1800));
        for bad in ["", "d", "90", "-1d", "1.5d", "0d", "99999999999999999999d", "4000d", "1y", "1é"] {
            assert!(parse_lifetime(bad).is_err(), "{bad}");
        }
    }
}
