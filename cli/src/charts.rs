//! The simulation report's charts, drawn with plotters into memory and written as PNG.

use std::path::Path;

use anyhow::{Context, Result, bail};
use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};
use tooling::display::Created;
use tooling::simulation::report::SimReport;

const WIDTH: u32 = 900;
const HEIGHT: u32 = 420;

/// Registers a TrueType font for the labels (plotters draws text with ab_glyph, no system font lookup).
fn register_fonts() -> Result<()> {
    const CANDIDATES: [&str; 3] = [
        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/TTF/DejaVuSans.ttf",
    ];
    let path = CANDIDATES.iter().find(|p| Path::new(p).exists()).context(
        "no DejaVu Sans font found (Debian: apt-get install fonts-dejavu-core); the report is written without charts",
    )?;
    let bytes: &'static [u8] = Box::leak(std::fs::read(path)?.into_boxed_slice());
    if register_font("sans-serif", FontStyle::Normal, bytes).is_err() {
        bail!("{path} is not a usable font");
    }
    Ok(())
}

fn save(buffer: Vec<u8>, path: &Path) -> Result<()> {
    let image = image::RgbImage::from_raw(WIDTH, HEIGHT, buffer).context("chart buffer")?;
    image.save(path).with_context(|| format!("writing {}", path.display()))
}

fn draw(
    path: &Path,
    paint: impl FnOnce(&DrawingArea<BitMapBackend<'_>, plotters::coord::Shift>) -> Result<()>,
) -> Result<()> {
    let mut buffer = vec![0u8; (WIDTH * HEIGHT * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buffer, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| anyhow::anyhow!("{e}"))?;
        paint(&root)?;
        root.present().map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    save(buffer, path)
}

fn histogram(path: &Path, title: &str, series: &[(&str, &[f64], RGBColor)], bin: f64) -> Result<()> {
    let max = series.iter().flat_map(|(_, v, _)| v.iter()).fold(0.0f64, |a, b| a.max(*b)).max(bin);
    let bins = (max / bin).ceil() as usize + 1;
    let counts: Vec<Vec<usize>> = series
        .iter()
        .map(|(_, values, _)| {
            let mut c = vec![0usize; bins];
            for v in values.iter() {
                c[((v.max(0.0)) / bin) as usize] += 1;
            }
            c
        })
        .collect();
    let top = counts.iter().flatten().copied().max().unwrap_or(1).max(1);
    draw(path, |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(title, ("sans-serif", 22))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(50)
            .build_cartesian_2d(0f64..(bins as f64 * bin), 0usize..(top + top / 10 + 1))
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        chart
            .configure_mesh()
            .x_desc("minutes")
            .y_desc("count")
            .label_style(("sans-serif", 14))
            .draw()
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let width = bin / series.len() as f64;
        for (i, ((name, _, color), c)) in series.iter().zip(&counts).enumerate() {
            let color = *color;
            chart
                .draw_series(c.iter().enumerate().filter(|(_, n)| **n > 0).map(move |(b, n)| {
                    let x0 = b as f64 * bin + i as f64 * width;
                    Rectangle::new([(x0, 0), (x0 + width * 0.9, *n)], color.filled())
                }))
                .map_err(|e| anyhow::anyhow!("{e}"))?
                .label(*name)
                .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], color.filled()));
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .label_font(("sans-serif", 14))
            .draw()
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(())
    })
}

/// Writes `actions_per_hour.png`, `first_comment_delay.png`, `reply_latency.png`, `thread_depth.png`.
pub fn write_all(report: &SimReport, dir: &Path) -> Result<()> {
    register_fonts()?;
    let hours = report.per_hour.len().max(1);
    type Series = (&'static str, RGBColor, fn(&Created) -> i64);
    let kinds: [Series; 5] = [
        ("posts", RGBColor(31, 119, 180), |c| c.posts),
        ("comments", RGBColor(255, 127, 14), |c| c.comments),
        ("replies", RGBColor(44, 160, 44), |c| c.replies),
        ("votes", RGBColor(148, 103, 189), |c| c.votes),
        ("by people", RGBColor(140, 140, 140), |c| c.human),
    ];
    let top =
        report.per_hour.iter().flat_map(|h| kinds.iter().map(move |(_, _, f)| f(&h.created))).max().unwrap_or(1).max(1);
    draw(&dir.join("actions_per_hour.png"), |root| {
        let mut chart = ChartBuilder::on(root)
            .caption("Actions per simulated hour", ("sans-serif", 22))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(50)
            .build_cartesian_2d(1u32..hours as u32, 0i64..(top + top / 10 + 1))
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        chart
            .configure_mesh()
            .x_desc("hour")
            .y_desc("count")
            .label_style(("sans-serif", 14))
            .draw()
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        for (name, color, value) in kinds {
            chart
                .draw_series(LineSeries::new(
                    report.per_hour.iter().map(|h| (h.hour, value(&h.created))),
                    color.stroke_width(2),
                ))
                .map_err(|e| anyhow::anyhow!("{e}"))?
                .label(name)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], color.stroke_width(2)));
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .label_font(("sans-serif", 14))
            .draw()
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(())
    })?;
    let s = &report.samples;
    histogram(
        &dir.join("first_comment_delay.png"),
        "Minutes from a post to its first persona comment",
        &[("first comment", &s.first_comment, RGBColor(255, 127, 14))],
        10.0,
    )?;
    histogram(
        &dir.join("reply_latency.png"),
        "Minutes from a comment to a persona's reply",
        &[
            ("to people", &s.reply_to_people, RGBColor(214, 39, 40)),
            ("to personas", &s.reply_to_personas, RGBColor(44, 160, 44)),
        ],
        10.0,
    )?;
    let depths: Vec<(i32, usize)> = report.thread_depths.iter().map(|(d, n)| (*d, *n)).collect();
    let deepest = depths.iter().map(|(d, _)| *d).max().unwrap_or(0) + 1;
    let most = depths.iter().map(|(_, n)| *n).max().unwrap_or(1).max(1);
    draw(&dir.join("thread_depth.png"), |root| {
        let mut chart = ChartBuilder::on(root)
            .caption("Threads by their deepest reply", ("sans-serif", 22))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(50)
            .build_cartesian_2d((0i32..deepest).into_segmented(), 0usize..(most + most / 10 + 1))
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        chart
            .configure_mesh()
            .x_desc("depth (0: a comment nobody answered)")
            .y_desc("threads")
            .label_style(("sans-serif", 14))
            .draw()
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        chart
            .draw_series(
                Histogram::vertical(&chart)
                    .style(RGBColor(31, 119, 180).filled())
                    .margin(8)
                    .data(depths.iter().copied()),
            )
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(())
    })
}
