//! The server's admin inspector flags (`ssr` only): the token that opens `/admin`, how long a login lasts,
//! which proxy header may say a request came over HTTPS, and how many wrong tokens one address may try.
//! Flattened into [`super::Config`]; `src/admin/access.rs` enforces them.

use crate::admin::{AdminAccess, AdminOptions, AdminToken};
use axum::http::HeaderName;
use clap::Args;
use std::time::Duration;

/// Admin inspector settings.
#[derive(Debug, Clone, Args)]
pub struct AdminFlags {
    /// Token that opens the /admin inspector [default: none, inspector disabled].
    #[arg(long, env = "P2P_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
    /// How long an /admin login lasts, in seconds: the session cookie's Max-Age, and its expiry signed into it
    /// (the server refuses it afterwards, replayed or not). 28800 is 8 hours.
    #[arg(long, env = "P2P_ADMIN_SESSION_SECS", default_value_t = 8 * 3600,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub admin_session_secs: u64,
    /// Wrong admin tokens one client address (IPv6: one /64) may present at once; then one more per
    /// `--admin-failure-window-secs / this`, and every token from it, right or wrong, gets HTTP 429 with
    /// Retry-After until then.
    #[arg(long, env = "P2P_ADMIN_MAX_FAILURES", default_value_t = 5,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub admin_max_failures: u32,
    /// The window of `--admin-max-failures`, in seconds.
    #[arg(long, env = "P2P_ADMIN_FAILURE_WINDOW_SECS", default_value_t = 60,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub admin_failure_window_secs: u64,
    /// Header in which a trusted reverse proxy that terminates TLS tells the scheme of the client's request,
    /// e.g. `x-forwarded-proto` (its last entry is used); `https` there makes the admin cookie Secure. This
    /// server speaks plain HTTP, so without it the cookie is never Secure [default: none, never trusted]. Set it
    /// only behind a proxy that always writes it.
    #[arg(long, env = "P2P_CLIENT_PROTO_HEADER", value_parser = super::parse_header_name)]
    pub client_proto_header: Option<HeaderName>,
}

impl AdminFlags {
    /// Admin access as configured; `client_ip_header` is the one the signaling limits trust too.
    pub fn access(&self, client_ip_header: Option<HeaderName>) -> AdminAccess {
        let options = AdminOptions {
            session: Duration::from_secs(self.admin_session_secs),
            proto_header: self.client_proto_header.clone(),
            client_ip_header,
            max_failures: self.admin_max_failures,
            failure_window: Duration::from_secs(self.admin_failure_window_secs),
        };
        AdminAccess::new(AdminToken(self.admin_token.clone()), options)
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Config;
    use clap::Parser;

    #[test]
    fn admin_flags_default_to_eight_hour_sessions_five_guesses_a_minute_and_no_trusted_scheme() {
        let cfg = Config::try_parse_from(["p2p-streams"]).unwrap_or_else(|e| panic!("{e}"));
        let flags = &cfg.admin;
        assert_eq!(
            (flags.admin_session_secs, flags.admin_max_failures, flags.admin_failure_window_secs),
            (28_800, 5, 60)
        );
        assert_eq!((flags.admin_token.as_deref(), flags.client_proto_header.as_ref()), (None, None));
        let cfg = Config::try_parse_from([
            "p2p-streams",
            "--admin-token=t",
            "--admin-session-secs=2",
            "--client-proto-header=X-Forwarded-Proto",
        ])
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(cfg.admin.client_proto_header.as_ref().map(|h| h.as_str()), Some("x-forwarded-proto"));
        assert_eq!(cfg.admin.admin_session_secs, 2);
        for bad in ["--admin-session-secs=0", "--admin-max-failures=0", "--client-proto-header=bad header"] {
            assert!(Config::try_parse_from(["p2p-streams", bad]).is_err(), "{bad}");
        }
    }
}
