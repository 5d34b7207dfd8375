//! [`RedisStore`]: the multi-node [`SessionStore`] (server side, `ssr`), shared by every signaling node that
//! points at the same Redis.
//!
//! Each host record is one hash `{prefix}:host:{session}` (`host`, `peers`, `states` as JSON) whose Redis TTL
//! is the record's TTL, so an unrefreshed record (its node crashed) vanishes by itself. Every method that reads
//! and writes is one Lua script, which Redis runs atomically: two nodes racing to claim a vacant session cannot
//! both win. A sorted set `{prefix}:sessions` (all scores 0, so ordered by session id) indexes the sessions for
//! the lobby; entries whose record expired are dropped lazily by [`SessionStore::sessions`].
//!
//! Commands go through a `redis::aio::ConnectionManager`: one multiplexed connection that reconnects by itself
//! after Redis restarts. While Redis is away every call fails fast with [`StoreError::Unavailable`].

use super::{HostClaim, SessionStore, SessionSummary, StoreError, MAX_ROSTER_STATES};
use crate::protocol::{PeerId, PeerStatus, SessionId};
use redis::aio::ConnectionManager;
use redis::Script;
use std::sync::LazyLock;
use std::time::Duration;

/// Claim: KEYS = host record, index; ARGV = peer, ttl ms, session. Returns `{won, holder}`.
static CLAIM: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"local h = redis.call('HGET', KEYS[1], 'host')
        if h == false then
          redis.call('DEL', KEYS[1])
          redis.call('HSET', KEYS[1], 'host', ARGV[1], 'peers', 1, 'states', '[]')
        elseif h ~= ARGV[1] then
          return {0, h}
        end
        redis.call('PEXPIRE', KEYS[1], ARGV[2])
        redis.call('ZADD', KEYS[2], 0, ARGV[3])
        return {1, ARGV[1]}",
    )
});

/// Compare-and-swap: KEYS = host record, index; ARGV = expected, new, ttl ms, session. Returns 1 if swapped.
static REPLACE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"if redis.call('HGET', KEYS[1], 'host') ~= ARGV[1] then return 0 end
        redis.call('DEL', KEYS[1])
        redis.call('HSET', KEYS[1], 'host', ARGV[2], 'peers', 1, 'states', '[]')
        redis.call('PEXPIRE', KEYS[1], ARGV[3])
        redis.call('ZADD', KEYS[2], 0, ARGV[4])
        return 1",
    )
});

/// Conditional TTL change: KEYS = host record; ARGV = peer, ttl ms. Returns 1 if the peer holds the record.
static REFRESH: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"if redis.call('HGET', KEYS[1], 'host') ~= ARGV[1] then return 0 end
        redis.call('PEXPIRE', KEYS[1], ARGV[2])
        return 1",
    )
});

/// Conditional delete: KEYS = host record, index; ARGV = peer, session. Returns 1 if deleted.
static RELEASE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"if redis.call('HGET', KEYS[1], 'host') ~= ARGV[1] then return 0 end
        redis.call('DEL', KEYS[1])
        redis.call('ZREM', KEYS[2], ARGV[2])
        return 1",
    )
});

/// Roster update of an existing record (HSET keeps the key's TTL): KEYS = host record; ARGV = peers, states.
static ROSTER: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
        redis.call('HSET', KEYS[1], 'peers', ARGV[1], 'states', ARGV[2])
        return 1",
    )
});

/// Host records in Redis; see the module documentation for the key layout.
#[derive(Clone)]
pub struct RedisStore {
    /// Reconnecting multiplexed connection (cheap to clone, all clones share it).
    conn: ConnectionManager,
    /// Key prefix, e.g. `p2p`, so several deployments can share one Redis.
    prefix: String,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore").field("prefix", &self.prefix).finish_non_exhaustive()
    }
}

/// A Redis failure is always ours (unreachable, refused, timed out).
pub(crate) fn unavailable(err: redis::RedisError) -> StoreError {
    StoreError::Unavailable(err.to_string())
}

/// Milliseconds for a Redis TTL argument, at least 1 (0 would be refused).
fn millis(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1)
}

impl RedisStore {
    /// A store using `conn`, with every key under `prefix:`.
    pub fn new(conn: ConnectionManager, prefix: impl Into<String>) -> Self {
        RedisStore { conn, prefix: prefix.into() }
    }

    /// The hash holding `s`'s host record.
    fn host_key(&self, s: &SessionId) -> String {
        format!("{}:host:{}", self.prefix, s.0)
    }

    /// The sorted set indexing sessions.
    fn index_key(&self) -> String {
        format!("{}:sessions", self.prefix)
    }
}

#[async_trait::async_trait]
impl SessionStore for RedisStore {
    async fn claim_host(&self, s: &SessionId, p: &PeerId, ttl: Duration) -> Result<HostClaim, StoreError> {
        let mut invocation = CLAIM.key(self.host_key(s));
        invocation.key(self.index_key()).arg(&p.0).arg(millis(ttl)).arg(&s.0);
        let (won, holder): (i64, String) =
            invocation.invoke_async(&mut self.conn.clone()).await.map_err(unavailable)?;
        Ok(if won == 1 { HostClaim::Won } else { HostClaim::Taken(PeerId(holder)) })
    }

    async fn replace_host(
        &self,
        s: &SessionId,
        expected: &PeerId,
        new: &PeerId,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        let mut invocation = REPLACE.key(self.host_key(s));
        invocation.key(self.index_key()).arg(&expected.0).arg(&new.0).arg(millis(ttl)).arg(&s.0);
        let swapped: i64 = invocation.invoke_async(&mut self.conn.clone()).await.map_err(unavailable)?;
        Ok(swapped == 1)
    }

    async fn refresh_host(&self, s: &SessionId, p: &PeerId, ttl: Duration) -> Result<bool, StoreError> {
        let mut invocation = REFRESH.key(self.host_key(s));
        invocation.arg(&p.0).arg(millis(ttl));
        let held: i64 = invocation.invoke_async(&mut self.conn.clone()).await.map_err(unavailable)?;
        Ok(held == 1)
    }

    async fn release_host(&self, s: &SessionId, p: &PeerId) -> Result<bool, StoreError> {
        let mut invocation = RELEASE.key(self.host_key(s));
        invocation.key(self.index_key()).arg(&p.0).arg(&s.0);
        let released: i64 = invocation.invoke_async(&mut self.conn.clone()).await.map_err(unavailable)?;
        Ok(released == 1)
    }

    async fn current_host(&self, s: &SessionId) -> Result<Option<PeerId>, StoreError> {
        let host: Option<String> = redis::cmd("HGET")
            .arg(self.host_key(s))
            .arg("host")
            .query_async(&mut self.conn.clone())
            .await
            .map_err(unavailable)?;
        Ok(host.map(PeerId))
    }

    async fn set_roster(&self, s: &SessionId, peers: u32, mut states: Vec<PeerStatus>) -> Result<(), StoreError> {
        states.truncate(MAX_ROSTER_STATES);
        let states = serde_json::to_string(&states).map_err(|e| StoreError::Invalid(e.to_string()))?;
        let mut invocation = ROSTER.key(self.host_key(s));
        invocation.arg(peers.max(1)).arg(states);
        let _: i64 = invocation.invoke_async(&mut self.conn.clone()).await.map_err(unavailable)?;
        Ok(())
    }

    async fn sessions(&self) -> Result<Vec<SessionSummary>, StoreError> {
        let mut conn = self.conn.clone();
        let ids: Vec<String> = redis::cmd("ZRANGE")
            .arg(self.index_key())
            .arg(0)
            .arg(-1)
            .query_async(&mut conn)
            .await
            .map_err(unavailable)?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for id in &ids {
            pipe.cmd("HMGET").arg(self.host_key(&SessionId(id.clone()))).arg("host").arg("peers").arg("states");
        }
        type Row = (Option<String>, Option<u32>, Option<String>);
        let rows: Vec<Row> = pipe.query_async(&mut conn).await.map_err(unavailable)?;
        let (mut list, mut stale) = (Vec::new(), Vec::new());
        for (id, (host, peers, states)) in ids.into_iter().zip(rows) {
            let Some(host) = host else {
                stale.push(id);
                continue;
            };
            let states: Vec<PeerStatus> = match states.as_deref().map(serde_json::from_str).transpose() {
                Ok(states) => states.unwrap_or_default(),
                Err(err) => return Err(StoreError::Invalid(format!("states of session {id}: {err}"))),
            };
            let peers = peers.unwrap_or(1).max(1);
            list.push(SessionSummary { session_id: SessionId(id), host: PeerId(host), peers, states });
        }
        if !stale.is_empty() {
            // Expired records leave their index entry behind; a failure here only delays the clean-up.
            let removed: Result<i64, _> =
                redis::cmd("ZREM").arg(self.index_key()).arg(&stale).query_async(&mut conn).await;
            if let Err(err) = removed {
                tracing::debug!(%err, "could not drop expired sessions from the index");
            }
        }
        Ok(list)
    }
}
