//! The site's files under `/pkg` (wasm, JS, CSS) and how long browsers may keep them (server only).
//!
//! A release build made with `LEPTOS_HASH_FILES=true` (`cargo leptos build --release --split --precompress`)
//! puts a hash of each file's content into its name and writes the hashes to `hash.txt` beside the server
//! binary. Run with the same `LEPTOS_HASH_FILES=true`, the server then links the hashed names and serves every
//! `/pkg` file as `immutable` for a year: a returning browser, or one coming from the lobby to a room, takes
//! them from its cache without asking. Without hashing the names stay the same from build to build, so the files
//! go out with `Cache-Control: no-cache`: a browser revalidates them (a 304 while unchanged) instead of guessing a
//! freshness and, after a deploy, hydrating the new HTML with an old wasm.

use axum::http::header::{HeaderValue, CACHE_CONTROL};
use leptos::prelude::LeptosOptions;
use std::path::PathBuf;
use std::sync::OnceLock;
use tower::Layer;
use tower_http::services::ServeDir;
use tower_http::set_header::{SetResponseHeader, SetResponseHeaderLayer};

/// `Cache-Control` of files whose names carry their content's hash.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// `Cache-Control` of files whose names do not change between builds.
pub const REVALIDATE: &str = "no-cache";

/// The site's configuration cannot be served as it is.
#[derive(Debug, thiserror::Error)]
pub enum SiteError {
    /// `LEPTOS_HASH_FILES=true`, but the hash file cargo-leptos writes is missing or has no `css` line.
    #[error(
        "LEPTOS_HASH_FILES=true but {path} has no file hashes ({reason}); build the site with \
         `LEPTOS_HASH_FILES=true cargo leptos build --release --split --precompress`, or run without LEPTOS_HASH_FILES"
    )]
    NoHashes {
        /// Where the hash file was looked for.
        path: String,
        /// Why it could not be used.
        reason: String,
    },
}

/// The hash file: `LEPTOS_HASH_FILE_NAME` (default `hash.txt`) beside the running binary, where cargo-leptos
/// writes it and where Leptos's `<HydrationScripts>` reads the JS and wasm hashes from.
fn hash_file_path(options: &LeptosOptions) -> PathBuf {
    let dir = std::env::current_exe().ok().and_then(|exe| exe.parent().map(PathBuf::from)).unwrap_or_default();
    dir.join(&*options.hash_file)
}

/// The stylesheet's hash from the hash file (its `css: <hash>` line).
fn css_hash(options: &LeptosOptions) -> Result<String, SiteError> {
    let path = hash_file_path(options);
    let no_hashes = |reason: String| SiteError::NoHashes { path: path.display().to_string(), reason };
    let text = std::fs::read_to_string(&path).map_err(|err| no_hashes(err.to_string()))?;
    text.lines()
        .filter_map(|line| line.split_once(':'))
        .find(|(file, _)| file.trim() == "css")
        .map(|(_, hash)| hash.trim().to_owned())
        .filter(|hash| !hash.is_empty())
        .ok_or_else(|| no_hashes("no `css:` line".into()))
}

/// The stylesheet's URL as the pages link it, read once per process (by [`check`] at startup).
static STYLESHEET: OnceLock<String> = OnceLock::new();

/// The stylesheet's URL: with its hash when the site is hashed.
fn resolve_stylesheet(options: &LeptosOptions) -> Result<String, SiteError> {
    let (pkg, name) = (&options.site_pkg_dir, &options.output_name);
    Ok(match options.hash_files {
        true => format!("/{pkg}/{name}.{}.css", css_hash(options)?),
        false => format!("/{pkg}/{name}.css"),
    })
}

/// Checks at startup that the files the pages will link exist under the names they will use, and remembers the
/// stylesheet's URL for [`stylesheet_href`].
pub fn check(options: &LeptosOptions) -> Result<(), SiteError> {
    let href = resolve_stylesheet(options)?;
    let _ = STYLESHEET.set(href);
    Ok(())
}

/// The stylesheet's URL, with its hash when the site is hashed.
pub fn stylesheet_href(options: &LeptosOptions) -> &'static str {
    // Without `check` (which refuses to start a hashed site without hashes), unhashed is the name left to try.
    STYLESHEET.get_or_init(|| {
        resolve_stylesheet(options).unwrap_or_else(|_| format!("/{}/{}.css", options.site_pkg_dir, options.output_name))
    })
}

/// The `/pkg` service: the files as they are on disk, or the `.br`/`.gz` file a release build left beside one
/// (`--precompress`) to a browser that accepts it, with the `Cache-Control` the naming allows. (leptos_axum's
/// file handler, used before, drops the request's headers: no 304, no precompressed files.)
pub fn site_files(options: &LeptosOptions) -> SetResponseHeader<ServeDir, HeaderValue> {
    let dir = std::path::Path::new(&*options.site_root).join(&*options.site_pkg_dir);
    let policy = if options.hash_files { IMMUTABLE } else { REVALIDATE };
    SetResponseHeaderLayer::overriding(CACHE_CONTROL, HeaderValue::from_static(policy))
        .layer(ServeDir::new(dir).precompressed_br().precompressed_gzip())
}
