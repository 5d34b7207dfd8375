//! The server's NAT traversal flags (`ssr` only): TURN REST API credentials handed out with join tickets, and
//! the embedded STUN/TURN server. Flattened into [`super::Config`]; docs/nat-traversal.md shows the two
//! deployment shapes they make.

use clap::Args;
use p2p_streams::server::turn::{parse_ranges, TurnConfig, TurnCredentials};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// STUN/TURN settings.
#[derive(Debug, Clone, Args)]
pub struct TurnFlags {
    /// Shared secret of the TURN REST API (coturn's `static-auth-secret`); setting it makes every join ticket
    /// carry a time-limited TURN credential for `--turn-urls` (and the embedded server) [default: none; with
    /// `--turn-listen` alone, a random per-process secret].
    #[arg(id = "turn-secret", long = "turn-secret", env = "P2P_TURN_SECRET", hide_env_values = true)]
    pub secret: Option<String>,
    /// STUN/TURN URLs handed to browsers with the minted credential, comma-separated, e.g.
    /// `turn:turn.example.org:3478?transport=udp,turn:turn.example.org:3478?transport=tcp,turns:turn.example.org:5349`.
    #[arg(id = "turn-urls", long = "turn-urls", env = "P2P_TURN_URLS", value_delimiter = ',')]
    pub urls: Vec<String>,
    /// UDP address of the embedded STUN/TURN server, e.g. `0.0.0.0:3478`; setting it turns the server on and
    /// adds its `turn:` and `stun:` URLs to every ticket [default: off].
    #[arg(id = "turn-listen", long = "turn-listen", env = "P2P_TURN_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Public IP address the embedded server advertises for itself and its relays [default: the listen IP,
    /// required when listening on 0.0.0.0].
    #[arg(id = "turn-external-ip", long = "turn-external-ip", env = "P2P_TURN_EXTERNAL_IP")]
    pub external_ip: Option<IpAddr>,
    /// CIDR ranges the embedded server may relay to although they are denied by default (loopback, private,
    /// link-local ranges), comma-separated, e.g. `10.8.0.0/16` [default: none].
    #[arg(id = "turn-allow-peers", long = "turn-allow-peers", env = "P2P_TURN_ALLOW_PEERS", value_delimiter = ',')]
    pub allow_peers: Vec<String>,
    /// Realm of the embedded server's credentials.
    #[arg(id = "turn-realm", long = "turn-realm", env = "P2P_TURN_REALM", default_value = "p2p-streams")]
    pub realm: String,
    /// UDP ports of the embedded server's relay sockets, `FIRST-LAST` (open them in the firewall).
    #[arg(
        id = "turn-relay-ports",
        long = "turn-relay-ports",
        env = "P2P_TURN_RELAY_PORTS",
        default_value = "49152-65535"
    )]
    pub relay_ports: String,
    /// Allocations the embedded server holds at once (one more gets 508 Insufficient Capacity).
    #[arg(
        id = "turn-max-allocations",
        long = "turn-max-allocations",
        env = "P2P_TURN_MAX_ALLOCATIONS",
        default_value_t = 1_000
    )]
    pub max_allocations: usize,
    /// Allocations one user may hold (one more gets 486 Allocation Quota Reached).
    #[arg(
        id = "turn-max-allocations-per-user",
        long = "turn-max-allocations-per-user",
        env = "P2P_TURN_MAX_ALLOCATIONS_PER_USER",
        default_value_t = 10
    )]
    pub max_allocations_per_user: usize,
    /// Longest allocation lifetime granted per Allocate or Refresh, in seconds (clients refresh before it ends).
    #[arg(
        id = "turn-max-lifetime-secs",
        long = "turn-max-lifetime-secs",
        env = "P2P_TURN_MAX_LIFETIME_SECS",
        default_value_t = 600
    )]
    pub max_lifetime_secs: u64,
    /// Bytes per second one allocation may relay (both directions together; 0: unlimited).
    #[arg(id = "turn-bandwidth", long = "turn-bandwidth", env = "P2P_TURN_BANDWIDTH", default_value_t = 2_000_000)]
    pub bandwidth: u64,
}

/// What the TURN flags ask for.
#[derive(Debug)]
pub struct TurnSetup {
    /// Mints credentials for tickets (`None`: no secret and no embedded server).
    pub credentials: Option<TurnCredentials>,
    /// The embedded server's settings (`None`: off).
    pub embedded: Option<TurnConfig>,
    /// Where the secret came from, for the start-up summary.
    pub secret_source: &'static str,
}

impl TurnFlags {
    /// Checks the flags and turns them into a [`TurnSetup`].
    pub fn setup(&self) -> Result<TurnSetup, String> {
        let urls: Vec<String> = self.urls.iter().map(|u| u.trim().to_owned()).filter(|u| !u.is_empty()).collect();
        if let Some(bad) =
            urls.iter().find(|u| !["stun:", "stuns:", "turn:", "turns:"].iter().any(|s| u.starts_with(s)))
        {
            return Err(format!("--turn-urls: {bad:?} is not a stun:, stuns:, turn: or turns: URL"));
        }
        let embedded = self.listen.map(|listen| self.embedded(listen)).transpose()?;
        let (secret, secret_source) = match (&self.secret, &embedded) {
            (Some(secret), _) if secret.len() < 16 => return Err("P2P_TURN_SECRET must be at least 16 bytes".into()),
            (Some(secret), _) => (Some(secret.as_bytes().to_vec()), "P2P_TURN_SECRET"),
            (None, Some(_)) => (Some(rand::random::<[u8; 32]>().to_vec()), "random (embedded server only)"),
            (None, None) if !urls.is_empty() => {
                return Err("--turn-urls needs --turn-secret (P2P_TURN_SECRET) to mint credentials".into())
            }
            (None, None) => (None, "none"),
        };
        let credentials = secret.map(|secret| TurnCredentials::new(secret, urls));
        Ok(TurnSetup { credentials, embedded, secret_source })
    }

    /// Logs the STUN/TURN configuration at start-up (never the secret).
    pub fn log_summary(&self, setup: &TurnSetup) {
        tracing::info!(
            minting = setup.credentials.is_some(),
            secret = setup.secret_source,
            urls = ?self.urls,
            embedded = ?self.listen,
            external_ip = ?setup.embedded.as_ref().map(|c| c.external_ip),
            allow_peers = ?self.allow_peers,
            realm = %self.realm,
            relay_ports = %self.relay_ports,
            max_allocations = self.max_allocations,
            max_allocations_per_user = self.max_allocations_per_user,
            max_lifetime_secs = self.max_lifetime_secs,
            bandwidth_bytes_per_sec = self.bandwidth,
            "stun/turn configuration"
        );
    }

    fn embedded(&self, listen: SocketAddr) -> Result<TurnConfig, String> {
        let external_ip = match self.external_ip {
            Some(ip) => ip,
            None if !listen.ip().is_unspecified() => listen.ip(),
            None => return Err("--turn-listen on an unspecified address needs --turn-external-ip".into()),
        };
        let (first, last) = self
            .relay_ports
            .split_once('-')
            .and_then(|(a, b)| Some((a.trim().parse::<u16>().ok()?, b.trim().parse::<u16>().ok()?)))
            .filter(|(a, b)| *a > 0 && a <= b)
            .ok_or_else(|| format!("--turn-relay-ports: {:?} is not FIRST-LAST", self.relay_ports))?;
        let mut config = TurnConfig::new(listen, external_ip);
        config.realm = self.realm.clone();
        config.relay_ports = first..=last;
        config.allow_peers = parse_ranges(&self.allow_peers).map_err(|e| format!("--turn-allow-peers: {e}"))?;
        config.max_allocations = self.max_allocations;
        config.max_allocations_per_user = self.max_allocations_per_user;
        config.max_lifetime = Duration::from_secs(self.max_lifetime_secs.clamp(1, 3600));
        config.bandwidth_bytes_per_sec = self.bandwidth;
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::super::Config;
    use clap::Parser;

    fn setup(args: &[&str]) -> Result<super::TurnSetup, String> {
        let mut all = vec!["p2p-streams"];
        all.extend_from_slice(args);
        Config::try_parse_from(all).map_err(|e| e.to_string())?.turn.setup()
    }

    #[test]
    fn nothing_configured_means_no_credentials_and_no_server() {
        let turn = setup(&[]).unwrap_or_else(|e| panic!("{e}"));
        assert!(turn.credentials.is_none() && turn.embedded.is_none());
    }

    #[test]
    fn a_secret_and_urls_mint_credentials_for_those_urls() {
        let turn =
            setup(&["--turn-secret=0123456789abcdef", "--turn-urls=turn:t.example:3478?transport=udp, stun:t.example"])
                .unwrap_or_else(|e| panic!("{e}"));
        let creds = turn.credentials.unwrap_or_else(|| panic!("minting on"));
        assert_eq!(creds.urls(), ["turn:t.example:3478?transport=udp", "stun:t.example"]);
        assert!(turn.embedded.is_none());
    }

    #[test]
    fn the_embedded_server_needs_an_address_to_advertise_and_checks_its_flags() {
        assert!(setup(&["--turn-listen=0.0.0.0:3478"]).is_err());
        let turn =
            setup(&["--turn-listen=0.0.0.0:3478", "--turn-external-ip=203.0.113.10", "--turn-allow-peers=10.0.0.0/8"])
                .unwrap_or_else(|e| panic!("{e}"));
        let embedded = turn.embedded.unwrap_or_else(|| panic!("embedded on"));
        assert_eq!(embedded.external_ip.to_string(), "203.0.113.10");
        assert_eq!((embedded.relay_ports.start(), embedded.relay_ports.end()), (&49152, &65535));
        assert_eq!(turn.secret_source, "random (embedded server only)");
        assert!(turn.credentials.is_some());
        assert!(setup(&["--turn-listen=127.0.0.1:3478", "--turn-relay-ports=9-3"]).is_err());
        assert!(setup(&["--turn-listen=127.0.0.1:3478", "--turn-allow-peers=nope"]).is_err());
        assert!(setup(&["--turn-urls=turn:x"]).is_err(), "URLs without a secret mint nothing");
        assert!(setup(&["--turn-secret=short"]).is_err());
        assert!(setup(&["--turn-secret=0123456789abcdef", "--turn-urls=http://x"]).is_err());
    }
}
