//! Changes to an app, planned before anything is written (native, build tool only): new files (never
//! overwritten) and edits of existing files (each checked unchanged since planning). [`Plan::apply`] writes
//! new files with `create_new`, edits through a temporary file and a rename, and undoes what it wrote if a
//! later step fails, so a refused or failed run leaves the app as it was.

use std::fmt;
use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Why nothing (or, after an I/O error and its rollback, nothing lasting) was generated.
#[derive(Debug)]
pub enum GenError {
    /// The directory is not an app this command can change, and why.
    NotAnApp { root: PathBuf, why: String },
    /// A file the command would create is already there.
    Exists(PathBuf),
    /// The module, route or session kind is already registered.
    Registered { file: String, what: String },
    /// A marker comment the command inserts at is missing.
    MarkerMissing { file: String, marker: String, hint: String },
    /// A file changed between planning and writing (another tool or person editing it).
    Changed(PathBuf),
    /// Reading or writing failed.
    Io { path: PathBuf, source: io::Error },
}

impl fmt::Display for GenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GenError::NotAnApp { root, why } => write!(f, "{}: {why}; pass --root <dir>", root.display()),
            GenError::Exists(path) => {
                write!(f, "{} already exists; refusing to overwrite it (remove it to generate again)", path.display())
            }
            GenError::Registered { file, what } => write!(f, "{file} already has {what}; refusing to add it twice"),
            GenError::MarkerMissing { file, marker, hint } => write!(f, "{file} has no `// {marker}` comment; {hint}"),
            GenError::Changed(path) => {
                write!(f, "{} changed while the files were being generated; nothing was kept", path.display())
            }
            GenError::Io { path, source } => write!(f, "{}: {source}", path.display()),
        }
    }
}

impl std::error::Error for GenError {}

/// Reads `path`, as a [`GenError::Io`] on failure.
pub fn read(path: &Path) -> Result<String, GenError> {
    fs::read_to_string(path).map_err(|source| GenError::Io { path: path.to_path_buf(), source })
}

/// One file to create.
pub struct NewFile {
    /// Where it goes (absolute).
    pub path: PathBuf,
    /// Its content.
    pub text: String,
}

/// One change to an existing file.
pub struct Edit {
    /// The file (absolute).
    pub path: PathBuf,
    /// Its content when planned: writing stops if it changed since.
    pub before: String,
    /// Its new content.
    pub after: String,
    /// What changed, for the report.
    pub what: String,
}

/// Everything a command will write, checked and ready.
pub struct Plan {
    /// The app's root, for relative paths in the report.
    pub root: PathBuf,
    /// Files to create (never overwritten).
    pub files: Vec<NewFile>,
    /// Edits of existing files.
    pub edits: Vec<Edit>,
    /// Steps found already done (reported, nothing written).
    pub skipped: Vec<String>,
}

/// What was written, to undo if a later step fails.
enum Undo {
    /// Delete a file this run created.
    Remove(PathBuf),
    /// Put back a file's content from before this run.
    Restore(PathBuf, String),
}

impl Plan {
    /// An empty plan for the app at `root`.
    pub fn new(root: &Path) -> Plan {
        Plan { root: root.to_path_buf(), files: Vec::new(), edits: Vec::new(), skipped: Vec::new() }
    }

    /// Refuses if `path` (or, for a file `x.rs`, the module directory `x/`) exists, else plans to create it.
    pub fn create(&mut self, path: PathBuf, text: String) -> Result<(), GenError> {
        if path.exists() || (path.extension().is_some_and(|e| e == "rs") && path.with_extension("").is_dir()) {
            return Err(GenError::Exists(path));
        }
        self.files.push(NewFile { path, text });
        Ok(())
    }

    /// Plans `path`'s change from `before` to `after` (nothing when equal), merging with an earlier edit of the
    /// same file.
    pub fn edit(&mut self, path: PathBuf, before: String, after: String, what: String) {
        if let Some(earlier) = self.edits.iter_mut().find(|e| e.path == path) {
            earlier.after = after;
            earlier.what = format!("{}; {what}", earlier.what);
        } else if before != after {
            self.edits.push(Edit { path, before, after, what });
        }
    }

    /// The planned content of `path`: the result of earlier planned edits, else the file as it is.
    pub fn current(&self, path: &Path) -> Result<String, GenError> {
        match self.edits.iter().find(|e| e.path == path) {
            Some(edit) => Ok(edit.after.clone()),
            None => read(path),
        }
    }

    /// Whether the plan writes nothing.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty() && self.edits.is_empty()
    }

    /// Writes the plan and returns the report lines. On failure, removes the files it created and restores the
    /// files it edited.
    pub fn apply(&self) -> Result<Vec<String>, GenError> {
        let mut done = Vec::new();
        let result = self.write_all(&mut done);
        if result.is_err() {
            for undo in done.into_iter().rev() {
                // Best effort: the error being reported is the first one.
                let _ = match undo {
                    Undo::Remove(path) => fs::remove_file(path),
                    Undo::Restore(path, text) => fs::write(path, text),
                };
            }
        }
        result
    }

    fn write_all(&self, done: &mut Vec<Undo>) -> Result<Vec<String>, GenError> {
        let mut report: Vec<String> = self.skipped.iter().map(|s| format!("already there: {s}")).collect();
        for file in &self.files {
            let io_err = |source| GenError::Io { path: file.path.clone(), source };
            if let Some(dir) = file.path.parent() {
                fs::create_dir_all(dir).map_err(io_err)?;
            }
            let mut out = match OpenOptions::new().write(true).create_new(true).open(&file.path) {
                Ok(out) => out,
                Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {
                    return Err(GenError::Exists(file.path.clone()))
                }
                Err(err) => return Err(io_err(err)),
            };
            done.push(Undo::Remove(file.path.clone()));
            out.write_all(file.text.as_bytes()).map_err(io_err)?;
            report.push(format!("created {}", self.relative(&file.path)));
        }
        for edit in &self.edits {
            let io_err = |source| GenError::Io { path: edit.path.clone(), source };
            if read(&edit.path)? != edit.before {
                return Err(GenError::Changed(edit.path.clone()));
            }
            let tmp = edit.path.with_extension("p2p-gen.tmp");
            fs::write(&tmp, &edit.after).map_err(io_err)?;
            if let Err(err) = fs::rename(&tmp, &edit.path) {
                let _ = fs::remove_file(&tmp);
                return Err(io_err(err));
            }
            done.push(Undo::Restore(edit.path.clone(), edit.before.clone()));
            report.push(format!("updated {}: {}", self.relative(&edit.path), edit.what));
        }
        Ok(report)
    }

    /// `path` relative to the app's root, for messages.
    pub fn relative(&self, path: &Path) -> String {
        path.strip_prefix(&self.root).unwrap_or(path).display().to_string()
    }
}

/// The first of the app's `src/**/*.rs` files holding `needle`: `src/app.rs` first, then the others sorted.
pub fn first_source_with(root: &Path, needle: &str) -> Result<Option<PathBuf>, GenError> {
    let mut pending = vec![root.join("src")];
    let mut others = Vec::new();
    while let Some(dir) = pending.pop() {
        let entries = fs::read_dir(&dir).map_err(|source| GenError::Io { path: dir.clone(), source })?;
        for path in entries.flatten().map(|entry| entry.path()) {
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") && !path.ends_with("src/app.rs") {
                others.push(path);
            }
        }
    }
    others.sort();
    let app = root.join("src/app.rs");
    for file in std::iter::once(app).filter(|app| app.is_file()).chain(others) {
        if read(&file)?.contains(needle) {
            return Ok(Some(file));
        }
    }
    Ok(None)
}
