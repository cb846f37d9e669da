//! The engine's image path (`shared::media::process`: decode → Lanczos3 to at most 1600 px wide →
//! encode at quality 82) as a variant of ../shared/bench/image: the harness appends
//! `<input.png> <runs> <output>` and reads one line in its format.

use std::time::Instant;

use anyhow::{Context, Result};
use shared::config::ImageFormat;
use shared::media::{ImageSettings, ImageSlot, Provenance, process};

#[derive(clap::Args)]
pub struct Args {
    /// Output format.
    #[arg(long, value_parser = ["jpeg", "webp"], default_value = "jpeg")]
    format: String,
    /// The variant name printed first on the line.
    #[arg(long, default_value = "persona_engine")]
    name: String,
    /// Input PNG.
    input: std::path::PathBuf,
    /// Timed runs (after WARMUP, default 3, untimed ones).
    runs: usize,
    /// Where to write the last output.
    output: std::path::PathBuf,
}

pub fn run(args: &Args) -> Result<()> {
    let input = std::fs::read(&args.input).with_context(|| format!("reading {}", args.input.display()))?;
    let settings = ImageSettings {
        max_width: 1600,
        quality: 82,
        format: if args.format == "webp" { ImageFormat::Webp } else { ImageFormat::Jpeg },
    };
    let warmup: usize = std::env::var("WARMUP").ok().and_then(|v| v.parse().ok()).unwrap_or(3);
    let mut times = Vec::with_capacity(args.runs);
    let mut first = 0.0;
    let mut last = Vec::new();
    let slot = ImageSlot::acquire_blocking();
    // What the engine does: every stored image carries its provenance mark.
    let provenance = Provenance::new("bench", chrono::Utc::now());
    for i in 0..warmup + args.runs.max(1) {
        let started = Instant::now();
        let image = process(&input, &settings, &provenance, &slot)?;
        let ms = started.elapsed().as_secs_f64() * 1e3;
        if i == 0 {
            first = ms;
        }
        if i >= warmup {
            times.push(ms);
        }
        last = image.bytes;
    }
    std::fs::write(&args.output, &last).with_context(|| format!("writing {}", args.output.display()))?;
    // The provenance mark's share of that time: the same mark written again on the (JPEG) output, 100
    // times. A marked WebP is already extended and is not marked twice.
    let (mark_us, mark_bytes) = if args.format == "jpeg" {
        let started = Instant::now();
        for _ in 0..100 {
            std::hint::black_box(provenance.mark(last.clone(), "image/jpeg")?);
        }
        let us = started.elapsed().as_secs_f64() * 1e6 / 100.0;
        (format!("{us:.1}"), (provenance.mark(last.clone(), "image/jpeg")?.len() - last.len()).to_string())
    } else {
        ("na".to_owned(), "na".to_owned())
    };
    // Signing Content Credentials, when C2PA_SIGNING_CERT and C2PA_SIGNING_KEY (PEM text) are set: the
    // XMP mark and the signed manifest on the same output, 100 times.
    let (sign_us, sign_bytes) = match (std::env::var("C2PA_SIGNING_CERT"), std::env::var("C2PA_SIGNING_KEY")) {
        (Ok(cert), Ok(key)) if args.format == "jpeg" => {
            let signer = std::sync::Arc::new(shared::signing::Signer::from_pem(&cert, &key)?);
            let signing = provenance.clone().signed_by(Some(signer));
            let started = Instant::now();
            for _ in 0..100 {
                std::hint::black_box(signing.mark(last.clone(), "image/jpeg")?);
            }
            let us = started.elapsed().as_secs_f64() * 1e6 / 100.0;
            (format!("{us:.1}"), (signing.mark(last.clone(), "image/jpeg")?.len() - last.len()).to_string())
        }
        _ => ("na".to_owned(), "na".to_owned()),
    };
    times.sort_by(f64::total_cmp);
    let n = times.len();
    let median = if n % 2 == 1 { times[n / 2] } else { (times[n / 2 - 1] + times[n / 2]) / 2.0 };
    let name = args.input.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    println!(
        "{} input={name} ms={median:.2} min_ms={:.2} first_ms={first:.2} runs={} bytes={} vmhwm_kb={} mark_us={mark_us} mark_bytes={mark_bytes} sign_us={sign_us} sign_bytes={sign_bytes}",
        args.name,
        times[0],
        n,
        last.len(),
        peak_rss_kb()
    );
    Ok(())
}

/// The process's peak resident set (VmHWM), as the harness's own variants report it.
fn peak_rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}
