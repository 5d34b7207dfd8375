//! Redis for the multi-node tests: the one `scripts/test.sh` started (`P2P_TEST_REDIS_URL`), or a private
//! `redis-server` from PATH started here on a free loopback port. No Redis at all fails the test with a message
//! saying how to provide one: these tests never skip silently.

use super::{start_node_app, TestServer};
use p2p_streams::server::{RedisBackend, RedisOptions, SignalingConfig};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A `redis-server` child process, killed on drop.
pub struct RedisProcess {
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// The process, while it runs.
    child: Option<Child>,
}

/// A loopback port nobody listens on right now.
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    listener.local_addr().expect("local addr").port()
}

impl RedisProcess {
    /// Starts `redis-server` without persistence on a free port and waits until it answers.
    pub async fn start() -> Self {
        let mut redis = RedisProcess { port: free_port(), child: None };
        redis.restart().await;
        redis
    }

    /// `redis://127.0.0.1:{port}`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kills the server (SIGKILL: nothing is saved, every connection drops).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port (empty: persistence is off) and waits until it answers.
    pub async fn restart(&mut self) {
        self.kill();
        let port = self.port.to_string();
        let child = Command::new("redis-server")
            .args(["--port", &port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "these tests need Redis: set P2P_TEST_REDIS_URL or put redis-server on PATH \
                     (scripts/setup.sh --test installs it): {e}"
                )
            });
        self.child = Some(child);
        let deadline = tokio::time::Instant::now() + super::WAIT;
        while tokio::net::TcpStream::connect(("127.0.0.1", self.port)).await.is_err() {
            assert!(tokio::time::Instant::now() < deadline, "redis-server did not listen on {port}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for RedisProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Where the tests' shared Redis is, and the process when this test started it.
pub struct SharedRedis {
    /// The URL.
    pub url: String,
    /// The private server, if `P2P_TEST_REDIS_URL` was not set.
    _process: Option<RedisProcess>,
}

/// The Redis `scripts/test.sh` exported, or a private one.
pub async fn shared_redis() -> SharedRedis {
    match std::env::var("P2P_TEST_REDIS_URL") {
        Ok(url) if !url.is_empty() => SharedRedis { url, _process: None },
        _ => {
            let process = RedisProcess::start().await;
            SharedRedis { url: process.url(), _process: Some(process) }
        }
    }
}

/// Options with a key prefix unique to this test (tests share one Redis) and a short node TTL.
pub fn options(node_ttl: Duration) -> RedisOptions {
    RedisOptions {
        prefix: format!("test{:016x}", rand_u64()),
        node_ttl,
        peer_ttl: Duration::from_secs(10),
        command_timeout: Duration::from_millis(500),
    }
}

/// A random number without a dev-dependency (hash of the time and a counter).
fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos()));
    hasher.finish()
}

/// A clustered signaling node on `127.0.0.1:0` using `url` with `options`.
pub async fn start_node(config: SignalingConfig, url: &str, options: RedisOptions) -> TestServer {
    let backend = RedisBackend::connect(url, options).await.expect("connect to the test Redis");
    start_node_app(config, backend).await
}
