//! What model calls cost: a price table per model (USD per million tokens: fresh input, cached input,
//! output including thinking, image output), Google's published prices by default, overridable with
//! `MODEL_PRICES`. Each call is priced when it returns, with the model that answered it, so a task that
//! makes text and an image is charged each at its own rate.

use super::Usage;

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
/// `MODEL_PRICES` says otherwise. `gemini-3.1-flash-image`: $0.067 per 1K image at 1,290 tokens.
const DEFAULTS: &[(&str, Price)] = &[
    ("gemini-3.8-flash", Price { input: 0.75, cached_input: 0.075, output: 3.75, image_output: 0.0 }),
    ("gemini-3.6-flash", Price { input: 1.50, cached_input: 0.15, output: 9.00, image_output: 0.0 }),
    ("gemini-3.5-flash-lite", Price { input: 0.30, cached_input: 0.03, output: 2.50, image_output: 0.0 }),
    ("gemini-3.5-flash", Price { input: 1.50, cached_input: 0.15, output: 9.00, image_output: 0.0 }),
    ("gemini-3.1-flash-lite", Price { input: 0.25, cached_input: 0.025, output: 1.50, image_output: 0.0 }),
    ("gemini-3.1-flash-image", Price { input: 0.30, cached_input: 0.03, output: 2.50, image_output: 52.0 }),
    ("gemini-3-pro-image", Price { input: 2.00, cached_input: 0.20, output: 12.0, image_output: 120.0 }),
    ("gemini-2.5-flash-image", Price { input: 0.30, cached_input: 0.03, output: 2.50, image_output: 30.0 }),
    ("gemini-2.5-flash", Price { input: 0.30, cached_input: 0.03, output: 2.50, image_output: 0.0 }),
];

/// Prices by model. A model is priced by its exact name, else by the longest name it starts with
/// (`gemini-3.5-flash-001` as `gemini-3.5-flash`); a model the table does not know costs nothing, and
/// `doctor` says so.
#[derive(Debug, Clone, PartialEq)]
pub struct PriceTable {
    entries: Vec<(String, Price)>,
}

impl Default for PriceTable {
    fn default() -> Self {
        Self { entries: DEFAULTS.iter().map(|(m, p)| ((*m).to_owned(), *p)).collect() }
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

    /// The price of `model`, if the table knows it.
    pub fn price(&self, model: &str) -> Option<Price> {
        self.entries
            .iter()
            .filter(|(m, _)| model == m || model.starts_with(m.as_str()))
            .max_by_key(|(m, _)| m.len())
            .map(|(_, p)| *p)
    }

    /// What `usage` cost on `model`, in micro-USD (millionths of a dollar): a price per million tokens
    /// is micro-USD per token.
    pub fn cost_micros(&self, model: &str, usage: &Usage) -> u64 {
        let Some(p) = self.price(model) else { return 0 };
        let fresh = f64::from(usage.prompt_tokens.saturating_sub(usage.cached_tokens));
        let cached = f64::from(usage.cached_tokens.min(usage.prompt_tokens));
        let image = f64::from(usage.image_tokens.min(usage.output_tokens));
        let text = f64::from(usage.output_tokens) - image + f64::from(usage.thoughts_tokens);
        let micros = fresh * p.input + cached * p.cached_input + text * p.output + image * p.image_output;
        micros.round() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage(prompt: u32, cached: u32, output: u32, thoughts: u32, image: u32) -> Usage {
        Usage {
            prompt_tokens: prompt,
            cached_tokens: cached,
            output_tokens: output,
            thoughts_tokens: thoughts,
            image_tokens: image,
            cost_micros: 0,
            model_millis: 0,
        }
    }

    #[test]
    fn a_text_call_costs_its_tokens_at_the_models_prices() {
        let table = PriceTable::default();
        // gemini-3.5-flash: 1,000 fresh input at $1.50/M = 1,500 µ$; 200 cached at $0.15/M = 30 µ$;
        // 300 output + 100 thinking at $9.00/M = 3,600 µ$. Total 5,130 µ$.
        assert_eq!(table.cost_micros("gemini-3.5-flash", &usage(1200, 200, 300, 100, 0)), 5130);
        // The longest matching name wins: -lite is cheaper than its prefix.
        // 1,000 input at $0.30/M = 300; 100 output at $2.50/M = 250.
        assert_eq!(table.cost_micros("gemini-3.5-flash-lite-002", &usage(1000, 0, 100, 0, 0)), 550);
        assert_eq!(table.cost_micros("my-local-model", &usage(1000, 0, 100, 0, 0)), 0);
    }

    #[test]
    fn an_image_costs_its_image_tokens_at_the_image_rate() {
        // gemini-3.1-flash-image: 264 input at $0.30/M = 79.2; 1 text token at $2.50/M = 2.5; 1,290 image
        // tokens at $52/M = 67,080. Total 67,161.7 → 67,162 µ$ (about $0.067, the published per-image price).
        let table = PriceTable::default();
        assert_eq!(table.cost_micros("gemini-3.1-flash-image", &usage(264, 0, 1291, 0, 1290)), 67_162);
    }

    #[test]
    fn overrides_replace_and_add_models_and_bad_ones_are_named() {
        let table = PriceTable::with_overrides("gemini-3.6-flash=1/0.1/4; local-llama = 0/0/0 ;").unwrap();
        assert_eq!(table.price("gemini-3.6-flash").unwrap().output, 4.0);
        assert_eq!(table.price("local-llama").unwrap().input, 0.0);
        assert_eq!(table.price("gemini-2.5-flash"), PriceTable::default().price("gemini-2.5-flash"));
        assert!(PriceTable::with_overrides("gemini-x").unwrap_err().contains("model=input"));
        assert!(PriceTable::with_overrides("m=1/2").unwrap_err().contains("three or four"));
        assert!(PriceTable::with_overrides("m=1/x/3").unwrap_err().contains("\"x\""));
        assert!(PriceTable::with_overrides("m=1/2/-3").unwrap_err().contains("between 0"));
    }
}
