//! Model prices (USD per million tokens: fresh input, cached input, output including thinking, image
//! output): Google's published prices by default, overridable with `MODEL_PRICES`. What a call costs is
//! the model layer's ([`crate::ai::cost`]); the table is configuration.

/// Prices of one model, in USD per million tokens.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Price {
    /// Fresh (uncached) input.
    pub input: f64,
    /// Input served from the cache.
    pub cached_input: f64,
    /// Text output, thinking included.
    pub output: f64,
    /// Image output.
    pub image_output: f64,
}

/// When the default prices were read off Google's pricing page (as transcribed; check the page).
pub const PRICES_AS_OF: &str = "2026-10-07";

/// Google's prices for the models this engine is used with. `gemini-3.6-flash` (the default text model)
/// is not on the page we read: it is priced as `gemini-3.5-flash`, the dearer neighbour, until
/// `MODEL_PRICES` says otherwise. `gemini-3.1-flash-image`: $0.067 per 1K image at 1,290 tokens;
/// `gemini-3.1-flash-lite-image` ("Nano Banana 2 Lite", 1K only): $0.034 at 1,120 tokens and $30 per
/// million (as Google's Vertex pricing lists it, read through lumenfall.ai on 2026-12-06).
const DEFAULTS: &[(&str, Price)] = &[
    ("gemini-3.8-flash", Price { input: 0.75, cached_input: 0.075, output: 3.75, image_output: 0.0 }),
    ("gemini-3.6-flash", Price { input: 1.50, cached_input: 0.15, output: 9.00, image_output: 0.0 }),
    ("gemini-3.5-flash-lite", Price { input: 0.30, cached_input: 0.03, output: 2.50, image_output: 0.0 }),
    ("gemini-3.5-flash", Price { input: 1.50, cached_input: 0.15, output: 9.00, image_output: 0.0 }),
    ("gemini-3.1-flash-lite", Price { input: 0.25, cached_input: 0.025, output: 1.50, image_output: 0.0 }),
    ("gemini-3.1-flash-lite-image", Price { input: 0.25, cached_input: 0.025, output: 1.50, image_output: 30.0 }),
    ("gemini-3.1-flash-image", Price { input: 0.30, cached_input: 0.03, output: 2.50, image_output: 52.0 }),
    ("gemini-3-pro-image", Price { input: 2.00, cached_input: 0.20, output: 12.0, image_output: 120.0 }),
    ("gemini-2.5-flash-image", Price { input: 0.30, cached_input: 0.03, output: 2.50, image_output: 30.0 }),
    ("gemini-2.5-flash", Price { input: 0.30, cached_input: 0.03, output: 2.50, image_output: 0.0 }),
];

/// Image tokens Google bills for one picture of `model` at 1K (1024×1024): 1,120 on the Lite image
/// model, 1,290 on the others.
pub fn tokens_per_image(model: &str) -> u32 {
    if model.contains("flash-lite-image") { 1_120 } else { 1_290 }
}

/// Prices by model. A model is priced by its exact name, else by the longest name it starts with
/// (`gemini-3.5-flash-001` as `gemini-3.5-flash`); a model the table does not know costs nothing, and
/// `doctor` says so.
#[derive(Debug, Clone, PartialEq)]
pub struct PriceTable {
    entries: Vec<(String, Price)>,
    /// Clip models: USD per second of video.
    video: Vec<(String, f64)>,
}

/// Google's per-second prices for the Veo models this engine is used with (video with sound, as the
/// Gemini API makes it; read with the prices above — check the page).
const VIDEO_DEFAULTS: &[(&str, f64)] = &[
    ("veo-3.1-generate-preview", 0.40),
    ("veo-3.1-fast-generate-preview", 0.15),
    ("veo-3.0-generate-001", 0.40),
    ("veo-3.0-fast-generate-001", 0.15),
    ("veo-2.0-generate-001", 0.35),
];

impl Default for PriceTable {
    fn default() -> Self {
        Self {
            entries: DEFAULTS.iter().map(|(m, p)| ((*m).to_owned(), *p)).collect(),
            video: VIDEO_DEFAULTS.iter().map(|(m, p)| ((*m).to_owned(), *p)).collect(),
        }
    }
}

impl PriceTable {
    /// The defaults with `spec` over them: `model=input/cached/output/image;…`, USD per million tokens
    /// (`MODEL_PRICES`). An entry may leave the image price out.
    pub fn with_overrides(spec: &str) -> Result<Self, String> {
        let mut table = Self::default();
        for entry in spec.split(';').map(str::trim).filter(|e| !e.is_empty()) {
            let (model, prices) =
                entry.split_once('=').ok_or_else(|| format!("{entry:?} is not model=input/cached/output[/image]"))?;
            // A clip model: `model=0.15/s`, USD per second of video.
            if let Some(per_second) = prices.trim().strip_suffix("/s") {
                let usd: f64 = per_second
                    .trim()
                    .parse()
                    .map_err(|_| format!("{per_second:?} in {entry:?} is not a number of dollars per second"))?;
                if !usd.is_finite() || !(0.0..=100.0).contains(&usd) {
                    return Err(format!("the price in {entry:?} must be between 0 and 100 USD per second"));
                }
                let model = model.trim().to_owned();
                table.video.retain(|(m, _)| *m != model);
                table.video.push((model, usd));
                continue;
            }
            let numbers: Vec<f64> = prices
                .split('/')
                .map(|n| n.trim().parse::<f64>().map_err(|_| format!("{n:?} in {entry:?} is not a number")))
                .collect::<Result<_, _>>()?;
            if numbers.iter().any(|n| !n.is_finite() || *n < 0.0 || *n > 10_000.0) {
                return Err(format!("prices in {entry:?} must be between 0 and 10000 USD per million tokens"));
            }
            let price = match numbers.as_slice() {
                [input, cached_input, output] => {
                    Price { input: *input, cached_input: *cached_input, output: *output, image_output: 0.0 }
                }
                [input, cached_input, output, image_output] => {
                    Price { input: *input, cached_input: *cached_input, output: *output, image_output: *image_output }
                }
                _ => return Err(format!("{entry:?} needs three or four prices: input/cached/output[/image]")),
            };
            let model = model.trim().to_owned();
            table.entries.retain(|(m, _)| *m != model);
            table.entries.push((model, price));
        }
        Ok(table)
    }

    /// USD per second of clip from `model`, if the table knows it (by the longest name it starts with).
    pub fn video_per_second(&self, model: &str) -> Option<f64> {
        self.video
            .iter()
            .filter(|(m, _)| model == m || model.starts_with(m.as_str()))
            .max_by_key(|(m, _)| m.len())
            .map(|(_, p)| *p)
    }

    /// The price of `model`, if the table knows it.
    pub fn price(&self, model: &str) -> Option<Price> {
        self.entries
            .iter()
            .filter(|(m, _)| model == m || model.starts_with(m.as_str()))
            .max_by_key(|(m, _)| m.len())
            .map(|(_, p)| *p)
    }
}
