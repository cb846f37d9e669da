//! What model calls cost, by the price table ([`crate::prices`]). Each call is priced when it returns, with the model that answered it, so a task that
//! makes text and an image is charged each at its own rate.

use super::Usage;

pub use crate::prices::{PRICES_AS_OF, Price, PriceTable};

impl PriceTable {
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
