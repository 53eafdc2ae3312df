//! Bundles as tar: the server answers with an uncompressed tar of every file
//! (manifest first), the client reads it back, and writes the checked files as
//! a directory or a `.tar.gz`. Entries are written with fixed metadata (mode
//! 0644, owner 0, the export's time), so the same files give the same tar.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

/// A bundle's files as they travel: path inside the bundle, exact bytes.
pub type Files = Vec<(String, Vec<u8>)>;

/// The most bytes one bundle may hold once read (it is built in memory).
pub const MAX_BUNDLE_BYTES: u64 = 2 << 30;

/// A bundle path is relative, `/`-separated, of `[A-Za-z0-9._-]` names that
/// are not `.` or `..`: nothing the server sends can write outside `--out`.
pub fn safe_path(path: &str) -> bool {
    !path.is_empty()
        && path.len() <= 200
        && path.split('/').all(|part| {
            !part.is_empty()
                && part != "."
                && part != ".."
                && part
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        })
}

/// An uncompressed tar of `files` (path, bytes), in order, under `prefix/` when given.
pub fn tar_bytes(
    files: &[(String, Vec<u8>)],
    prefix: Option<&str>,
    mtime: u64,
) -> anyhow::Result<Vec<u8>> {
    let mut builder = tar::Builder::new(Vec::new());
    for (path, bytes) in files {
        if !safe_path(path) {
            bail!("unsafe bundle path {path:?}");
        }
        let name = match prefix {
            Some(p) => format!("{p}/{path}"),
            None => path.clone(),
        };
        let mut header = tar::Header::new_ustar();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(mtime);
        header.set_entry_type(tar::EntryType::Regular);
        builder
            .append_data(&mut header, &name, bytes.as_slice())
            .with_context(|| format!("adding {name} to the tar"))?;
    }
    Ok(builder.into_inner()?)
}

/// The regular files of a tar, in order; any other entry or an unsafe path is an error.
pub fn read_tar(bytes: &[u8]) -> anyhow::Result<Files> {
    let mut archive = tar::Archive::new(bytes);
    let mut files = Vec::new();
    let mut total: u64 = 0;
    for entry in archive.entries().context("reading the tar")? {
        let mut entry = entry.context("reading a tar entry")?;
        let path = entry
            .path()
            .context("a tar entry's path")?
            .to_string_lossy()
            .into_owned();
        if entry.header().entry_type() != tar::EntryType::Regular {
            bail!("tar entry {path:?} is not a regular file");
        }
        if !safe_path(&path) {
            bail!("tar entry {path:?} is not a safe bundle path");
        }
        total += entry.size();
        if total > MAX_BUNDLE_BYTES {
            bail!("the bundle is larger than {MAX_BUNDLE_BYTES} bytes");
        }
        let mut data = Vec::with_capacity(entry.size() as usize);
        entry
            .read_to_end(&mut data)
            .with_context(|| format!("reading {path}"))?;
        files.push((path, data));
    }
    Ok(files)
}

/// `files` gzip-compressed as a tar under `prefix/`.
pub fn tar_gz_bytes(
    files: &[(String, Vec<u8>)],
    prefix: &str,
    mtime: u64,
) -> anyhow::Result<Vec<u8>> {
    let tar = tar_bytes(files, Some(prefix), mtime)?;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&tar)?;
    Ok(gz.finish()?)
}

/// Refuses a target that would be written over: a directory that exists and
/// is not empty, or an archive that exists. Checked before the export is
/// asked for, so an audited export is not spent on a bundle that cannot land.
pub fn check_target(out: &Path, archive: bool) -> anyhow::Result<()> {
    if archive {
        let (path, _) = archive_names(out)?;
        if path.exists() {
            bail!("{} exists", path.display());
        }
        return Ok(());
    }
    if out.exists() {
        let empty = std::fs::read_dir(out)
            .with_context(|| format!("reading {}", out.display()))?
            .next()
            .is_none();
        if !empty {
            bail!("{} exists and is not empty", out.display());
        }
    }
    Ok(())
}

/// Writes `files` into a new directory `out` (refused when it exists and is
/// not empty). Files go to a sibling temporary directory first, renamed into
/// place at the end, so `out` never holds half a bundle.
pub fn write_dir(out: &Path, files: &[(String, Vec<u8>)]) -> anyhow::Result<()> {
    check_target(out, false)?;
    if out.exists() {
        std::fs::remove_dir(out).with_context(|| format!("replacing {}", out.display()))?;
    }
    let tmp = sibling(out, ".partial")?;
    let _ = std::fs::remove_dir_all(&tmp);
    let result = (|| -> anyhow::Result<()> {
        for (path, bytes) in files {
            if !safe_path(path) {
                bail!("unsafe bundle path {path:?}");
            }
            let target = tmp.join(path);
            if let Some(dir) = target.parent() {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("creating {}", dir.display()))?;
            }
            std::fs::write(&target, bytes)
                .with_context(|| format!("writing {}", target.display()))?;
        }
        std::fs::rename(&tmp, out)
            .with_context(|| format!("moving {} to {}", tmp.display(), out.display()))
    })();
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    result
}

/// Writes `bytes` to `out` through a temporary sibling file and a rename.
pub fn write_file(out: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let tmp = sibling(out, ".partial")?;
    std::fs::write(&tmp, bytes).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, out).with_context(|| format!("moving to {}", out.display()))
}

fn sibling(path: &Path, suffix: &str) -> anyhow::Result<PathBuf> {
    let Some(name) = path.file_name() else {
        bail!("{} has no file name", path.display());
    };
    let mut name = name.to_os_string();
    name.push(suffix);
    Ok(path.with_file_name(name))
}

/// `--out` with `--archive`: the archive's path (`.tar.gz` added when missing)
/// and the folder name its entries sit under (the file name without it).
pub fn archive_names(out: &Path) -> anyhow::Result<(PathBuf, String)> {
    let Some(name) = out.file_name().and_then(|n| n.to_str()) else {
        bail!("--out {} has no usable file name", out.display());
    };
    let stem = name
        .strip_suffix(".tar.gz")
        .or_else(|| name.strip_suffix(".tgz"))
        .unwrap_or(name);
    if !safe_path(stem) {
        bail!("--out {name:?}: use letters, digits, '.', '_' and '-' for the archive's name");
    }
    let path = if stem == name {
        out.with_file_name(format!("{name}.tar.gz"))
    } else {
        out.to_path_buf()
    };
    Ok((path, stem.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files() -> Vec<(String, Vec<u8>)> {
        vec![
            ("manifest.json".into(), b"{}\n".to_vec()),
            ("logs.ndjson".into(), b"{\"a\":1}\n".to_vec()),
            ("metrics/p99.svg".into(), b"<svg/>".to_vec()),
            ("empty.json".into(), Vec::new()),
        ]
    }

    #[test]
    fn paths_that_could_leave_the_bundle_are_refused() {
        for ok in ["logs.ndjson", "metrics/request_rate.json", "a-b_c.d"] {
            assert!(safe_path(ok), "{ok}");
        }
        for bad in [
            "",
            "/etc/passwd",
            "../x",
            "a/../b",
            "a//b",
            "./a",
            "a/",
            "a b",
            "a\\b",
            "é",
        ] {
            assert!(!safe_path(bad), "{bad:?}");
        }
        assert!(tar_bytes(&[("../x".into(), vec![])], None, 0).is_err());
    }

    #[test]
    fn a_tar_round_trips_in_order_and_is_byte_stable() {
        let tar = tar_bytes(&files(), None, 1_764_583_200).expect("tar");
        assert_eq!(tar.len() % 512, 0);
        assert_eq!(read_tar(&tar).expect("reads"), files());
        assert_eq!(
            tar,
            tar_bytes(&files(), None, 1_764_583_200).expect("tar"),
            "same files, same bytes"
        );
        let prefixed = tar_bytes(&files(), Some("incident-1"), 0).expect("tar");
        let mut archive = tar::Archive::new(prefixed.as_slice());
        let first = archive
            .entries()
            .expect("entries")
            .next()
            .expect("one")
            .expect("entry");
        assert_eq!(
            first.path().expect("path").to_string_lossy(),
            "incident-1/manifest.json"
        );
        assert_eq!(first.header().mode().expect("mode"), 0o644);
    }

    #[test]
    fn a_tar_with_an_unsafe_entry_is_refused() {
        let mut header = tar::Header::new_gnu();
        header.set_size(1);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        // Builder refuses '..' itself, so write the name into the header raw.
        let name = b"../evil";
        header.as_old_mut().name[..name.len()].copy_from_slice(name);
        header.set_cksum();
        let mut raw = header.as_bytes().to_vec();
        raw.extend_from_slice(&[b'x'; 512]);
        raw.extend_from_slice(&[0; 1024]);
        assert!(read_tar(&raw).is_err());
    }

    #[test]
    fn a_gzip_archive_holds_the_files_under_its_folder() {
        let gz = tar_gz_bytes(&files(), "incident-x", 0).expect("gz");
        let mut tar = Vec::new();
        flate2::read::GzDecoder::new(gz.as_slice())
            .read_to_end(&mut tar)
            .expect("gunzip");
        let mut archive = tar::Archive::new(tar.as_slice());
        let names: Vec<String> = archive
            .entries()
            .expect("entries")
            .map(|e| {
                e.expect("entry")
                    .path()
                    .expect("path")
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        assert_eq!(names[0], "incident-x/manifest.json");
        assert_eq!(names.len(), 4);
    }

    #[test]
    fn a_directory_is_written_whole_and_never_over_a_non_empty_one() {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().join("bundle");
        write_dir(&out, &files()).expect("written");
        assert_eq!(
            std::fs::read(out.join("metrics/p99.svg")).expect("file"),
            b"<svg/>"
        );
        assert!(!dir.path().join("bundle.partial").exists());
        let err = write_dir(&out, &files()).expect_err("not empty");
        assert!(err.to_string().contains("not empty"), "{err}");
        assert!(check_target(&out, false).is_err());
        assert!(check_target(&dir.path().join("new"), false).is_ok());
        std::fs::write(dir.path().join("a.tar.gz"), b"").expect("file");
        assert!(check_target(&dir.path().join("a"), true).is_err());
        assert!(check_target(&dir.path().join("b"), true).is_ok());
    }

    #[test]
    fn archive_names_add_the_suffix_and_name_the_folder() {
        let (p, f) = archive_names(Path::new("/tmp/inc-1")).expect("ok");
        assert_eq!(p, PathBuf::from("/tmp/inc-1.tar.gz"));
        assert_eq!(f, "inc-1");
        let (p, f) = archive_names(Path::new("inc-2.tar.gz")).expect("ok");
        assert_eq!(p, PathBuf::from("inc-2.tar.gz"));
        assert_eq!(f, "inc-2");
        assert!(archive_names(Path::new("/")).is_err());
        assert!(archive_names(Path::new("a b.tar.gz")).is_err());
    }
}
