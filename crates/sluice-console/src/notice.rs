//! What a page says after a change succeeded. A change redirects to a page with
//! `?notice=CODE` (post/redirect/get, so reloading does not repeat it); only the codes listed
//! here are shown, so a link cannot make the console display text of its choosing.

/// The sentence for a notice code, if it is one.
pub fn text(code: &str) -> Option<&'static str> {
    Some(match code {
        "approved" => "Approval saved.",
        "approval-removed" => "Approval removed.",
        "declined" => "Update declined.",
        "undeclined" => "Update no longer declined.",
        "bulk" => "Bulk change applied.",
        "moved" => "Computer moved.",
        "sync-started" => "Synchronization started.",
        "saved" => "Settings saved.",
        "rule-created" => "Automatic approval rule created.",
        "rule-deleted" => "Automatic approval rule deleted.",
        "rule-run" => "Automatic approval rule applied to the updates already synchronized.",
        "plan-created" => "Rollout plan created.",
        "cleanup-done" => "Cleanup finished.",
        "mail-sent" => "Test e-mail sent.",
        "user-created" => "User created.",
        "user-changed" => "User changed.",
        "token-created" => "Token created.",
        "token-revoked" => "Token revoked.",
        "group-created" => "Computer group created.",
        "group-deleted" => "Computer group deleted.",
        "logged-out" => "You are logged out.",
        "server-trusted" => "Server trusted: its identity is pinned.",
        "server-forgotten" => "Server no longer trusted; its token is forgotten.",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_known_codes_have_text() {
        assert_eq!(super::text("approved"), Some("Approval saved."));
        assert_eq!(super::text("<script>"), None);
    }
}
