//! The trace sampler from OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG, read as
//! opentelemetry_sdk reads them (its `Config::default`), so the lean path's server
//! spans (`server_span`) and the SDK's database spans decide alike. One sampler is
//! built and handed to both.

use opentelemetry_sdk::trace::Sampler;

/// The sampler the environment asks for; unknown or unsupported values fall back
/// to the specification's default, `parentbased_always_on`, as in the SDK.
pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Sampler {
    let ratio = || {
        get("OTEL_TRACES_SAMPLER_ARG")
            .and_then(|arg| arg.trim().parse::<f64>().ok())
            .unwrap_or(1.0)
    };
    let parent_based = |root: Sampler| Sampler::ParentBased(Box::new(root));
    match get("OTEL_TRACES_SAMPLER").as_deref().map(str::trim) {
        Some("always_on") => Sampler::AlwaysOn,
        Some("always_off") => Sampler::AlwaysOff,
        Some("traceidratio") => Sampler::TraceIdRatioBased(ratio()),
        Some("parentbased_always_off") => parent_based(Sampler::AlwaysOff),
        Some("parentbased_traceidratio") => parent_based(Sampler::TraceIdRatioBased(ratio())),
        _ => parent_based(Sampler::AlwaysOn),
    }
}

pub fn from_env() -> Sampler {
    from_lookup(|key| std::env::var(key).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sampler(vars: &[(&str, &str)]) -> String {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        format!(
            "{:?}",
            from_lookup(|key| vars.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone()))
        )
    }

    #[test]
    fn the_environment_picks_the_sampler_as_the_sdk_does() {
        assert_eq!(sampler(&[]), "ParentBased(AlwaysOn)");
        assert_eq!(
            sampler(&[("OTEL_TRACES_SAMPLER", "always_off")]),
            "AlwaysOff"
        );
        assert_eq!(
            sampler(&[
                ("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"),
                ("OTEL_TRACES_SAMPLER_ARG", "0.25")
            ]),
            "ParentBased(TraceIdRatioBased(0.25))"
        );
        assert_eq!(
            sampler(&[("OTEL_TRACES_SAMPLER", "traceidratio")]),
            "TraceIdRatioBased(1.0)",
            "a missing ratio is 1.0"
        );
        assert_eq!(
            sampler(&[("OTEL_TRACES_SAMPLER", "xray")]),
            "ParentBased(AlwaysOn)"
        );
    }
}
