//! `oncall incident export`: asks the on-call server for the bundle, checks
//! every file against the manifest (and the manifest against the hash the
//! server audited), and only then writes the directory or the `.tar.gz`.

use anyhow::{bail, Context};

use super::manifest::{self, Manifest, MANIFEST_PATH};
use super::{write, INCIDENT_PATH};
use crate::cli::IncidentExportSettings;
use crate::logs::api::SHA256_HEADER;
use crate::logs::client::token;

/// The query string of the export (the server checks it and names a bad field).
pub fn params(s: &IncidentExportSettings) -> Vec<(&'static str, String)> {
    [
        ("request_id", &s.request_id),
        ("trace_id", &s.trace_id),
        ("alert_fingerprint", &s.alert_fingerprint),
        ("route", &s.route),
        ("from", &s.from),
        ("to", &s.to),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.as_ref().map(|v| (k, v.clone())))
    .collect()
}

/// The received files, checked: the manifest first, its hash as audited,
/// every other file listed with its size and SHA-256, nothing unlisted.
pub fn check(
    files: Vec<(String, Vec<u8>)>,
    audited_sha256: Option<&str>,
) -> anyhow::Result<(Manifest, write::Files)> {
    let Some((first, manifest_bytes)) = files.first() else {
        bail!("the bundle is empty");
    };
    if first != MANIFEST_PATH {
        bail!("the bundle does not start with {MANIFEST_PATH} (got {first})");
    }
    let sha = manifest::sha256_hex(manifest_bytes);
    if let Some(expected) = audited_sha256 {
        if sha != expected {
            bail!("{MANIFEST_PATH} has SHA-256 {sha}, the server audited {expected}");
        }
    }
    let parsed: Manifest =
        serde_json::from_slice(manifest_bytes).context("manifest.json does not parse")?;
    manifest::verify(&parsed, &files[1..]).context("the bundle does not match its manifest")?;
    Ok((parsed, files))
}

pub fn run_export(s: IncidentExportSettings) -> anyhow::Result<()> {
    let token = token(&s.client.token_file)?;
    write::check_target(&s.out, s.archive)?;
    let mut url = s.client.server.clone();
    url.set_path(INCIDENT_PATH);
    url.query_pairs_mut().extend_pairs(params(&s));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (body, audited) = runtime.block_on(async {
        let response = reqwest::Client::new()
            .get(url)
            .bearer_auth(token)
            .send()
            .await
            .with_context(|| format!("the on-call server at {} did not answer", s.client.server))?;
        let status = response.status();
        let audited = response
            .headers()
            .get(SHA256_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = response.bytes().await.context("reading the bundle")?;
        if !status.is_success() {
            let text = String::from_utf8_lossy(&body);
            bail!(
                "the on-call server refused ({status}): {}",
                crate::logs::client::error_message(&text)
            );
        }
        Ok::<_, anyhow::Error>((body, audited))
    })?;
    let files = write::read_tar(&body)?;
    let (manifest, files) = check(files, audited.as_deref())?;
    let written = if s.archive {
        let (path, folder) = write::archive_names(&s.out)?;
        let mtime = manifest.exported_at.timestamp().max(0) as u64;
        write::write_file(&path, &write::tar_gz_bytes(&files, &folder, mtime)?)?;
        path
    } else {
        write::write_dir(&s.out, &files)?;
        s.out.clone()
    };
    let count = |k: &str| manifest.counts.get(k).copied().unwrap_or(0);
    eprintln!(
        "oncall incident export: wrote {} ({} files checked against the manifest; {} log records, {} spans, {} requests; manifest SHA-256 {})",
        written.display(),
        files.len(),
        count("logs"),
        count("spans"),
        count("requests"),
        manifest::sha256_hex(&files[0].1)
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::incident::BundleFile;
    use serde_json::json;

    fn bundle() -> Vec<(String, Vec<u8>)> {
        let files = vec![BundleFile {
            path: "logs.ndjson".into(),
            bytes: b"{}\n".to_vec(),
            query: json!({}),
        }];
        let at = "2026-12-01T10:00:00Z".parse().expect("time");
        let m = Manifest {
            format: manifest::FORMAT,
            exported_at: at,
            exported_by: manifest::Exporter {
                operator: "a".into(),
                role: "oncall".into(),
            },
            selector: json!({}),
            window: manifest::Window { from: at, to: at },
            counts: Default::default(),
            files: Manifest::entries(&files),
        };
        vec![
            (MANIFEST_PATH.into(), m.to_bytes()),
            ("logs.ndjson".into(), b"{}\n".to_vec()),
        ]
    }

    #[test]
    fn a_bundle_is_checked_against_its_manifest_and_the_audited_hash() {
        let b = bundle();
        let sha = manifest::sha256_hex(&b[0].1);
        assert!(check(b.clone(), Some(&sha)).is_ok());
        assert!(check(b.clone(), None).is_ok());
        let err = check(b.clone(), Some("00")).expect_err("hash");
        assert!(err.to_string().contains("audited"), "{err}");
        let mut altered = b.clone();
        altered[1].1 = b"{ }\n".to_vec();
        assert!(check(altered, None).is_err());
        let mut reordered = b.clone();
        reordered.reverse();
        assert!(check(reordered, None).is_err());
        assert!(check(Vec::new(), None).is_err());
    }
}
