//! Tests of the host's stream map and the media frames' JSON.

use super::*;

fn peer(name: &str) -> PeerId {
    PeerId(format!("{name}#t"))
}

fn camera(id: &str) -> Publication {
    Publication { id: id.into(), kind: MediaKind::Camera, video: true, audio: true, muted: false }
}

#[test]
fn publish_stamps_the_publisher_and_updates_in_place() {
    let mut map = StreamMap::default();
    assert_eq!(map.publish(&peer("ada"), &camera("s1"), 4), Ok(true));
    assert_eq!(map.publish(&peer("ada"), &camera("s1"), 4), Ok(false), "same publication: no change");
    let muted = Publication { muted: true, ..camera("s1") };
    assert_eq!(map.publish(&peer("ada"), &muted, 4), Ok(true));
    assert_eq!(map.streams().len(), 1);
    assert!(map.get("s1").is_some_and(|s| s.muted && s.publisher == peer("ada")));
}

#[test]
fn the_cap_the_owner_and_the_id_are_enforced() {
    let mut map = StreamMap::default();
    assert_eq!(map.publish(&peer("ada"), &camera("s1"), 2), Ok(true));
    assert_eq!(map.publish(&peer("bob"), &camera("s1"), 2), Err(Refusal::Taken), "bob cannot take ada's id");
    assert_eq!(map.publish(&peer("bob"), &camera("s2"), 2), Ok(true));
    assert_eq!(map.publish(&peer("cy"), &camera("s3"), 2), Err(Refusal::RoomFull { limit: 2 }));
    assert_eq!(map.publish(&peer("cy"), &camera(""), 2), Err(Refusal::BadId));
    assert_eq!(map.publish(&peer("cy"), &camera(&"x".repeat(MAX_STREAM_ID + 1)), 9), Err(Refusal::BadId));
    assert!(!map.unpublish(&peer("bob"), "s1"), "only the publisher unpublishes");
    assert!(map.unpublish(&peer("ada"), "s1"));
    assert_eq!(map.publish(&peer("cy"), &camera("s3"), 2), Ok(true), "room again after an unpublish");
}

#[test]
fn a_peer_receives_every_stream_but_its_own_and_leaving_removes_its_streams() {
    let mut map = StreamMap::default();
    for (who, id) in [("ada", "a1"), ("bob", "b1"), ("ada", "a2")] {
        assert_eq!(map.publish(&peer(who), &camera(id), 8), Ok(true));
    }
    let bob = peer("bob");
    let for_bob: Vec<&str> = map.for_peer(&bob).map(|s| s.id.as_str()).collect();
    assert_eq!(for_bob, ["a1", "a2"]);
    assert!(map.remove_publisher(&peer("ada")));
    assert!(!map.remove_publisher(&peer("ada")));
    assert_eq!(map.streams().iter().map(|s| s.id.as_str()).collect::<Vec<_>>(), ["b1"]);
}

#[test]
fn media_frames_round_trip() {
    let frames = [
        MediaFrame::Description { offer: true, sdp: "v=0".into() },
        MediaFrame::Candidate { candidate: "candidate:1".into(), sdp_mid: Some("0".into()), sdp_m_line_index: None },
        MediaFrame::Publish(camera("s1")),
        MediaFrame::Unpublish { id: "s1".into() },
        MediaFrame::Streams { streams: vec![camera("s1").stamped(peer("ada"))] },
        MediaFrame::Refused { id: "s1".into(), reason: Refusal::RoomFull { limit: 3 } },
    ];
    for frame in frames {
        let text = serde_json::to_string(&frame).unwrap();
        assert_eq!(serde_json::from_str::<MediaFrame>(&text).unwrap(), frame, "{text}");
    }
    let refusal = serde_json::to_string(&Refusal::RoomFull { limit: 3 }).unwrap();
    assert_eq!(refusal, r#"{"RoomFull":{"limit":3}}"#);
}
