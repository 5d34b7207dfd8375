//! The binary serves the site's files (`/pkg/...`, names without a hash) with `Cache-Control: no-cache`, so a
//! browser revalidates them: unchanged, a conditional request gets a 304 and no body; pages are not affected.
//! Where a release build left a precompressed file beside one (`--precompress`), a browser that accepts the
//! encoding gets that file.
#![cfg(all(feature = "ssr", target_os = "linux"))]

mod common;

use common::child::ServerProcess;
use common::http;

#[tokio::test]
async fn site_files_are_revalidated_and_unchanged_ones_answer_304() {
    let site = std::env::temp_dir().join(format!("p2p-streams-site-{}", std::process::id()));
    std::fs::create_dir_all(site.join("pkg")).expect("site dir");
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
    let _ = std::fs::remove_dir_all(&site);
}
