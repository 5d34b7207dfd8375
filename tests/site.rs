//! The binary serves the site's files (`/pkg/...`, names without a hash) with `Cache-Control: no-cache`, so a
//! browser revalidates them: unchanged, a conditional request gets a 304 and no body; pages are not affected.
//! Where a release build left a precompressed file beside one (`--precompress`), a browser that accepts the
//! encoding gets that file. A hashed site (`LEPTOS_HASH_FILES=true`) links the hashed stylesheet and serves its
//! files as immutable; without its hash file the server refuses to start and says why.
#![cfg(all(feature = "ssr", target_os = "linux"))]

mod common;

use common::child::{ServerProcess, BIN};
use common::http;
use std::path::PathBuf;
use std::process::Command;

/// A fresh site directory with a `pkg` folder, unique to this test.
fn site_dir(test: &str) -> PathBuf {
    let site = std::env::temp_dir().join(format!("p2p-streams-site-{test}-{}", std::process::id()));
    std::fs::create_dir_all(site.join("pkg")).expect("site dir");
    site
}

#[tokio::test]
async fn site_files_are_revalidated_and_unchanged_ones_answer_304() {
    let site = site_dir("plain");
    std::fs::write(site.join("pkg/p2p-streams.css"), "body { margin: 0 }\n").expect("stylesheet");
    // What the server sends is opaque to it: a stand-in for gzip-compressed bytes will do.
    std::fs::write(site.join("pkg/p2p-streams.css.gz"), "gzip stand-in").expect("precompressed stylesheet");
    let server = ServerProcess::spawn_with_env(&[], &[("LEPTOS_SITE_ROOT", site.to_str().expect("utf-8 path"))]);

    let first = http(server.addr, "GET", "/pkg/p2p-streams.css", &[], "").await;
    assert_eq!(first.status, 200, "{first:?}");
    assert_eq!(first.body, "body { margin: 0 }\n");
    assert_eq!(first.header("cache-control"), Some("no-cache"), "{first:?}");
    let modified = first.header("last-modified").expect("a validator to revalidate with");

    let again = http(server.addr, "GET", "/pkg/p2p-streams.css", &[("If-Modified-Since", modified)], "").await;
    assert_eq!((again.status, again.body.as_str()), (304, ""), "{again:?}");

    let gzip = http(server.addr, "GET", "/pkg/p2p-streams.css", &[("Accept-Encoding", "br, gzip")], "").await;
    assert_eq!((gzip.status, gzip.body.as_str()), (200, "gzip stand-in"), "{gzip:?}");
    assert_eq!(gzip.header("content-encoding"), Some("gzip"));
    assert_eq!(gzip.header("cache-control"), Some("no-cache"));

    let missing = http(server.addr, "GET", "/pkg/nothing.wasm", &[], "").await;
    assert_eq!(missing.status, 404);
    let page = http(server.addr, "GET", "/", &[], "").await;
    assert_eq!((page.status, page.header("cache-control")), (200, None), "pages keep their own caching");
    assert!(page.body.contains(r#"href="/pkg/p2p-streams.css""#), "unhashed stylesheet linked: {}", page.body);
    let _ = std::fs::remove_dir_all(&site);
}

#[tokio::test]
async fn a_hashed_site_links_hashed_names_and_serves_them_as_immutable() {
    let site = site_dir("hashed");
    std::fs::write(site.join("pkg/p2p-streams.Q2ssaGFzaA.css"), "body { margin: 0 }\n").expect("stylesheet");
    std::fs::write(site.join("pkg/p2p-streams.SnNoYXNo.js"), "export {};\n").expect("script");
    // The hash file as cargo-leptos writes it; an absolute LEPTOS_HASH_FILE_NAME replaces "beside the binary".
    let hashes = site.join("hash.txt");
    std::fs::write(&hashes, "js: SnNoYXNo\nwasm: V2FzbWhhc2g\ncss: Q2ssaGFzaA\n").expect("hash file");
    let env = [
        ("LEPTOS_SITE_ROOT", site.to_str().expect("utf-8 path")),
        ("LEPTOS_HASH_FILES", "true"),
        ("LEPTOS_HASH_FILE_NAME", hashes.to_str().expect("utf-8 path")),
    ];
    let server = ServerProcess::spawn_with_env(&[], &env);

    let page = http(server.addr, "GET", "/", &[], "").await;
    assert_eq!(page.status, 200, "{page:?}");
    for linked in [
        r#"href="/pkg/p2p-streams.Q2ssaGFzaA.css""#,
        "/pkg/p2p-streams.SnNoYXNo.js",
        "/pkg/p2p-streams.V2FzbWhhc2g.wasm",
    ] {
        assert!(page.body.contains(linked), "the page links {linked}: {}", page.body);
    }
    for file in ["/pkg/p2p-streams.Q2ssaGFzaA.css", "/pkg/p2p-streams.SnNoYXNo.js"] {
        let got = http(server.addr, "GET", file, &[], "").await;
        assert_eq!(got.status, 200, "{got:?}");
        assert_eq!(got.header("cache-control"), Some("public, max-age=31536000, immutable"), "{got:?}");
    }
    let _ = std::fs::remove_dir_all(&site);
}

#[test]
fn a_hashed_site_without_its_hash_file_is_refused_at_startup() {
    let site = site_dir("unhashed");
    let missing = site.join("no-such-hash.txt");
    let out = Command::new(BIN)
        .args(["--addr", "127.0.0.1:0"])
        .env("LEPTOS_SITE_ROOT", &site)
        .env("LEPTOS_HASH_FILES", "true")
        .env("LEPTOS_HASH_FILE_NAME", &missing)
        .env("P2P_SECRET", "site-test-fixture-secret-not-for-production")
        .env_remove("LEPTOS_SITE_ADDR")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {BIN}: {e}"));
    assert!(!out.status.success(), "started without its hash file");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("LEPTOS_HASH_FILES=true") && stderr.contains(&*missing.to_string_lossy()),
        "says what is missing and where: {stderr}"
    );
    let _ = std::fs::remove_dir_all(&site);
}
