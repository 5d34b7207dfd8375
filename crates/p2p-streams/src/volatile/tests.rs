//! Native tests of the volatile frame, the token bucket and the host's relay decision.

use super::*;
use proptest::prelude::*;

fn peer(name: &str) -> PeerId {
    PeerId(name.into())
}

#[test]
fn frames_use_their_documented_format_and_round_trip() {
    let json = VolatileFrame { from: None, payload: Payload::Json(serde_json::json!({"x": 1})) };
    assert_eq!(json.encode(), r#"{"payload":{"x":1},"type":"Volatile"}"#);
    assert_eq!(VolatileFrame::decode(&json.encode()), Ok(json));
    let binary = VolatileFrame { from: Some(peer("a#1")), payload: Payload::Bytes(vec![1, 2]) };
    assert_eq!(binary.encode(), r#"{"bytes":"AQI=","from":"a#1","payload":null,"type":"Volatile"}"#);
    assert_eq!(VolatileFrame::decode(&binary.encode()), Ok(binary.clone()));
    assert_eq!(VolatileFrame::decode_from_host(&binary.encode()), Ok((peer("a#1"), Payload::Bytes(vec![1, 2]))));
}

#[test]
fn bad_frames_are_errors_never_panics() {
    let cases = [
        ("", "not a JSON object"),
        ("[1]", "not a JSON object"),
        (r#"{"type":"Send","payload":1}"#, "not tagged Volatile"),
        (r#"{"type":"Volatile"}"#, "missing field `payload`"),
        (r#"{"type":"Volatile","payload":1,"from":3}"#, "`from` is not a string"),
        (r#"{"type":"Volatile","payload":null,"bytes":"!!"}"#, "`bytes` is not base64"),
        (r#"{"type":"Volatile","payload":null,"bytes":7}"#, "`bytes` is not a string"),
    ];
    for (text, reason) in cases {
        assert_eq!(VolatileFrame::decode(text), Err(VolatileError::Malformed(reason)), "{text}");
    }
    let unstamped = VolatileFrame { from: None, payload: Payload::Json(1.into()) }.encode();
    assert_eq!(VolatileFrame::decode_from_host(&unstamped), Err(VolatileError::Unstamped));
}

#[test]
fn oversized_frames_and_contents_are_refused() {
    let long = "x".repeat(MAX_VOLATILE_FRAME + 1);
    assert!(matches!(VolatileFrame::decode(&long), Err(VolatileError::TooLarge { limit: MAX_VOLATILE_FRAME, .. })));
    // Fits the frame limit, but its content is over the message limit.
    let text = format!(r#"{{"type":"Volatile","payload":"{}"}}"#, "y".repeat(MAX_VOLATILE_BYTES));
    assert!(text.len() <= MAX_VOLATILE_FRAME);
    assert!(matches!(VolatileFrame::decode(&text), Err(VolatileError::TooLarge { limit: MAX_VOLATILE_BYTES, .. })));
    // The largest binary message fits its frame, even stamped with a long sender.
    let largest =
        VolatileFrame { from: Some(peer(&"p".repeat(200))), payload: Payload::Bytes(vec![7; MAX_VOLATILE_BYTES]) };
    assert_eq!(VolatileFrame::decode(&largest.encode()), Ok(largest));
}

#[test]
fn the_bucket_allows_a_burst_then_the_rate() {
    let mut bucket = TokenBucket::new(VolatileRate { per_second: 10, burst: 5 });
    assert_eq!((0..8).filter(|_| bucket.try_take(0.0)).count(), 5, "the burst");
    assert!(!bucket.try_take(50.0), "half a token");
    assert!(bucket.try_take(100.0), "one token after 100 ms");
    assert!(!bucket.try_take(100.0));
    assert_eq!((0..10).filter(|_| bucket.try_take(10_000.0)).count(), 5, "refills to the burst, no more");
    assert!(!bucket.try_take(5_000.0), "a clock going backwards adds nothing");
    let mut zero = TokenBucket::new(VolatileRate { per_second: 0, burst: 0 });
    assert!(zero.try_take(0.0) && !zero.try_take(1e9), "at least one message, then nothing at rate 0");
}

#[test]
fn the_host_stamps_the_sender_from_the_link_and_caps_each_client() {
    let mut relay = VolatileRelay::new(VolatileRate { per_second: 1, burst: 2 });
    let forged = VolatileFrame { from: Some(peer("host#1")), payload: Payload::Json("hi".into()) }.encode();
    let VolatileVerdict::Relay { message, text } = relay.on_client(&peer("bob#1"), &forged, 0.0) else {
        panic!("not relayed")
    };
    assert_eq!(message, VolatileMessage { from: peer("bob#1"), payload: Payload::Json("hi".into()) });
    assert_eq!(VolatileFrame::decode_from_host(&text), Ok((peer("bob#1"), Payload::Json("hi".into()))));
    assert!(matches!(relay.on_client(&peer("bob#1"), &forged, 0.0), VolatileVerdict::Relay { .. }));
    assert_eq!(relay.on_client(&peer("bob#1"), &forged, 0.0), VolatileVerdict::Drop(VolatileDrop::RateLimited));
    assert!(matches!(relay.on_client(&peer("carol#1"), &forged, 0.0), VolatileVerdict::Relay { .. }), "per client");
    assert!(
        matches!(relay.on_client(&peer("bob#1"), "{", 0.0), VolatileVerdict::Drop(VolatileDrop::Invalid(_))),
        "a bad frame is refused before the cap"
    );
    relay.forget(&peer("bob#1"));
    assert!(matches!(relay.on_client(&peer("bob#1"), &forged, 0.0), VolatileVerdict::Relay { .. }), "a new link");
    let own = relay.own(&peer("host#1"), Payload::Bytes(vec![9]));
    assert_eq!(VolatileFrame::decode_from_host(&own), Ok((peer("host#1"), Payload::Bytes(vec![9]))));
    let linked = [peer("a"), peer("b"), peer("c")];
    assert_eq!(VolatileRelay::targets(&linked[1], &linked), vec![&linked[0], &linked[2]]);
}

proptest! {
    /// Over any sequence of arrivals, a bucket never lets through more than its burst plus its rate times the
    /// time elapsed, and a steady sender under the rate is never dropped.
    #[test]
    fn the_bucket_never_exceeds_burst_plus_rate(
        per_second in 1u32..500,
        burst in 1u32..200,
        gaps in proptest::collection::vec(0.0f64..50.0, 1..400),
    ) {
        let mut bucket = TokenBucket::new(VolatileRate { per_second, burst });
        let (mut now, mut allowed) = (0.0, 0u64);
        for gap in &gaps {
            now += gap;
            allowed += u64::from(bucket.try_take(now));
        }
        let bound = f64::from(burst) + f64::from(per_second) * now / 1000.0;
        prop_assert!(allowed as f64 <= bound + 1e-6, "{allowed} > {bound}");

        let mut steady = TokenBucket::new(VolatileRate { per_second, burst });
        let every = 1000.0 / f64::from(per_second);
        prop_assert!((0..gaps.len()).all(|i| steady.try_take(i as f64 * every * 1.0001)));
    }

    /// Any text at all gives a verdict (never a panic), and anything relayed names the link's peer.
    #[test]
    fn any_client_text_gives_a_verdict(text in ".{0,200}", from in "[a-z]{1,8}#[a-z0-9]{1,4}") {
        let mut relay = VolatileRelay::default();
        if let VolatileVerdict::Relay { message, text } = relay.on_client(&PeerId(from.clone()), &text, 0.0) {
            prop_assert_eq!(&message.from.0, &from);
            prop_assert_eq!(VolatileFrame::decode_from_host(&text).map(|(f, _)| f), Ok(PeerId(from)));
        }
    }
}
