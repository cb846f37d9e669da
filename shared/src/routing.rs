//! Which model does which work. A kind's prompt names the class of model it needs; configuration names
//! a model (and, for text, how much it may think) per class. Choosing (sessions, votes, reflections,
//! tags) is a one-word answer and goes to the cheapest tier with the least thinking; public text goes to
//! a writing model; pictures, clips and looking at a picture each have their own.

use serde::Serialize;

/// The class of model a call needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelClass {
    /// A choice in a word or a few: sessions, votes, reflections' notes, tags.
    Decision,
    /// Text people read: posts, comments, replies, profiles.
    Writing,
    /// A text answer about a picture it is shown (an avatar's description).
    Vision,
    /// A picture.
    Image,
    /// A clip.
    Video,
}

impl ModelClass {
    /// Every class, in the order `doctor` and the docs list them.
    pub const ALL: [ModelClass; 5] = [Self::Decision, Self::Writing, Self::Vision, Self::Image, Self::Video];

    /// Its name in logs, decisions and reports.
    pub fn name(self) -> &'static str {
        match self {
            Self::Decision => "decision",
            Self::Writing => "writing",
            Self::Vision => "vision",
            Self::Image => "image",
            Self::Video => "video",
        }
    }

    /// The class named `name` (as [`ModelClass::name`] writes it).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.name() == name)
    }

    /// The variable that names its model.
    pub fn variable(self) -> &'static str {
        match self {
            Self::Decision => "GEMINI_MODEL_DECISION",
            Self::Writing => "GEMINI_MODEL_WRITING",
            Self::Vision => "GEMINI_MODEL_VISION",
            Self::Image => "GEMINI_MODEL_IMAGE",
            Self::Video => "GEMINI_MODEL_VIDEO",
        }
    }

    /// The variable that sets how much it thinks (text classes only).
    pub fn thinking_variable(self) -> Option<&'static str> {
        match self {
            Self::Decision => Some("GEMINI_THINKING_DECISION"),
            Self::Writing => Some("GEMINI_THINKING_WRITING"),
            Self::Vision => Some("GEMINI_THINKING_VISION"),
            Self::Image | Self::Video => None,
        }
    }

    /// The model it gets when nothing is configured: the cheapest per action at list price that does
    /// the work (BENCHMARKS.md, "Cost per action").
    pub fn default_model(self) -> &'static str {
        match self {
            Self::Decision => "gemini-3.1-flash-lite",
            Self::Writing | Self::Vision => "gemini-3.5-flash-lite",
            Self::Image => "gemini-3.1-flash-lite-image",
            Self::Video => "veo-3.1-fast-generate-preview",
        }
    }

    /// How much it thinks when nothing is configured: a decision as little as the model allows.
    pub fn default_thinking(self) -> Thinking {
        match self {
            Self::Decision => Thinking::Minimal,
            Self::Writing | Self::Vision | Self::Image | Self::Video => Thinking::Low,
        }
    }
}

/// How much a text model may think before it answers (thinking is billed as output).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Thinking {
    /// The least the model allows (none on the models that can turn it off).
    Minimal,
    /// A little.
    Low,
    /// More.
    Medium,
    /// The most.
    High,
}

impl std::str::FromStr for Thinking {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "minimal" => Ok(Self::Minimal),
            "low" => Ok(Self::Low),
            "medium" => Ok(Self::Medium),
            "high" => Ok(Self::High),
            other => Err(format!("{other:?} is not minimal, low, medium or high")),
        }
    }
}

/// A model's thinking setting as Gemini takes it: a level on Gemini 3 and later, a token budget on 2.5.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThinkingSetting {
    /// `thinkingLevel` (`MINIMAL`, `LOW`, `MEDIUM`, `HIGH`).
    Level(&'static str),
    /// `thinkingBudget`, in tokens.
    Budget(i32),
}

impl Thinking {
    /// What `model` is sent for this much thinking; `None` for a model that does not think (sending a
    /// setting to one is an error). Gemini 3 Pro takes only low and high; 2.5 Pro cannot go below 128
    /// tokens; 2.5 Flash and Flash-Lite can turn thinking off.
    pub fn for_model(self, model: &str) -> Option<ThinkingSetting> {
        let m = model.to_ascii_lowercase();
        let pro = m.contains("-pro");
        if is_gemini_3_or_later(&m) {
            let level = match (self, pro) {
                (Self::Minimal | Self::Low, true) => "LOW",
                (Self::Medium | Self::High, true) => "HIGH",
                (Self::Minimal, false) => "MINIMAL",
                (Self::Low, false) => "LOW",
                (Self::Medium, false) => "MEDIUM",
                (Self::High, false) => "HIGH",
            };
            Some(ThinkingSetting::Level(level))
        } else if m.starts_with("gemini-2.5") {
            let budget = match self {
                Self::Minimal | Self::Low => 0,
                Self::Medium => 1024,
                Self::High => 8192,
            };
            Some(ThinkingSetting::Budget(if pro { budget.max(128) } else { budget }))
        } else {
            None
        }
    }
}

/// Whether `model` (lowercase) is Gemini 3 or later.
pub(crate) fn is_gemini_3_or_later(model: &str) -> bool {
    model.strip_prefix("gemini-").and_then(|rest| rest.chars().next()).is_some_and(|c| c.is_ascii_digit() && c >= '3')
}

/// The model (and thinking) for each class, as configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Models {
    decision: String,
    writing: String,
    vision: String,
    image: String,
    video: String,
    decision_thinking: Thinking,
    writing_thinking: Thinking,
    vision_thinking: Thinking,
    /// The variable that chose each class's model, in [`ModelClass::ALL`]'s order (an older one, such as
    /// `GEMINI_IMAGE_MODEL`, when that is what the operator set).
    chosen_by: [&'static str; 5],
}

impl Default for Models {
    fn default() -> Self {
        Self::uniform(ModelClass::Writing.default_model(), ModelClass::Image.default_model())
            .with(ModelClass::Decision, ModelClass::Decision.default_model())
            .with(ModelClass::Video, ModelClass::Video.default_model())
    }
}

impl Models {
    /// Every text class on `text`, pictures on `image` (a proxy or a test that serves one model),
    /// with the default thinking and clips.
    pub fn uniform(text: &str, image: &str) -> Self {
        Self {
            decision: text.to_owned(),
            writing: text.to_owned(),
            vision: text.to_owned(),
            image: image.to_owned(),
            video: ModelClass::Video.default_model().to_owned(),
            decision_thinking: ModelClass::Decision.default_thinking(),
            writing_thinking: ModelClass::Writing.default_thinking(),
            vision_thinking: ModelClass::Vision.default_thinking(),
            // Vision follows writing until it is given its own model.
            chosen_by: ModelClass::ALL
                .map(|c| if c == ModelClass::Vision { ModelClass::Writing } else { c }.variable()),
        }
    }

    /// The same with `class` on `model`, chosen by the class's own variable.
    pub fn with(mut self, class: ModelClass, model: &str) -> Self {
        *self.slot(class) = model.to_owned();
        self.chosen_by[class as usize] = class.variable();
        self
    }

    /// The same, saying that `var` chose `class`'s model.
    pub fn chosen_by(mut self, class: ModelClass, var: &'static str) -> Self {
        self.chosen_by[class as usize] = var;
        self
    }

    /// The variable that chose `class`'s model: the one to change when it is wrong.
    pub fn variable(&self, class: ModelClass) -> &'static str {
        self.chosen_by[class as usize]
    }

    /// The same with `class` thinking `thinking` (text classes; others have no setting).
    pub fn thinking_for(mut self, class: ModelClass, thinking: Thinking) -> Self {
        match class {
            ModelClass::Decision => self.decision_thinking = thinking,
            ModelClass::Writing => self.writing_thinking = thinking,
            ModelClass::Vision => self.vision_thinking = thinking,
            ModelClass::Image | ModelClass::Video => {}
        }
        self
    }

    fn slot(&mut self, class: ModelClass) -> &mut String {
        match class {
            ModelClass::Decision => &mut self.decision,
            ModelClass::Writing => &mut self.writing,
            ModelClass::Vision => &mut self.vision,
            ModelClass::Image => &mut self.image,
            ModelClass::Video => &mut self.video,
        }
    }

    /// The model for `class`.
    pub fn model(&self, class: ModelClass) -> &str {
        match class {
            ModelClass::Decision => &self.decision,
            ModelClass::Writing => &self.writing,
            ModelClass::Vision => &self.vision,
            ModelClass::Image => &self.image,
            ModelClass::Video => &self.video,
        }
    }

    /// How much `class` thinks.
    pub fn thinking(&self, class: ModelClass) -> Thinking {
        match class {
            ModelClass::Decision => self.decision_thinking,
            ModelClass::Writing => self.writing_thinking,
            ModelClass::Vision => self.vision_thinking,
            ModelClass::Image | ModelClass::Video => Thinking::Low,
        }
    }

    /// The variable to change for `model`: the one that chose it for the first class that uses it.
    pub fn variable_for(&self, model: &str) -> &'static str {
        ModelClass::ALL
            .into_iter()
            .find(|c| self.model(*c) == model)
            .map_or(ModelClass::Writing.variable(), |c| self.variable(c))
    }

    /// Each configured model once, with the classes that use it.
    pub fn distinct(&self) -> Vec<(&str, Vec<ModelClass>)> {
        let mut out: Vec<(&str, Vec<ModelClass>)> = Vec::new();
        for class in ModelClass::ALL {
            let model = self.model(class);
            match out.iter_mut().find(|(m, _)| *m == model) {
                Some((_, classes)) => classes.push(class),
                None => out.push((model, vec![class])),
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decisions_think_as_little_as_each_model_family_allows() {
        let minimal = Thinking::Minimal;
        assert_eq!(minimal.for_model("gemini-3.1-flash-lite"), Some(ThinkingSetting::Level("MINIMAL")));
        assert_eq!(minimal.for_model("gemini-3-pro-preview"), Some(ThinkingSetting::Level("LOW")), "3 Pro: low/high");
        assert_eq!(Thinking::Medium.for_model("gemini-3.1-pro"), Some(ThinkingSetting::Level("HIGH")));
        assert_eq!(minimal.for_model("gemini-2.5-flash"), Some(ThinkingSetting::Budget(0)));
        assert_eq!(minimal.for_model("gemini-2.5-pro"), Some(ThinkingSetting::Budget(128)), "2.5 Pro cannot stop");
        assert_eq!(Thinking::High.for_model("gemini-2.5-flash-lite"), Some(ThinkingSetting::Budget(8192)));
        assert_eq!(Thinking::Low.for_model("gemini-3.6-flash"), Some(ThinkingSetting::Level("LOW")));
        assert_eq!(minimal.for_model("gemini-2.0-flash"), None, "a model without thinking gets no setting");
        assert_eq!(minimal.for_model("my-proxy-model"), None);
    }

    #[test]
    fn thinking_levels_parse_in_any_case_and_name_what_is_wrong() {
        assert_eq!("Minimal".parse::<Thinking>(), Ok(Thinking::Minimal));
        assert_eq!(" HIGH ".parse::<Thinking>(), Ok(Thinking::High));
        assert!("none".parse::<Thinking>().unwrap_err().contains("\"none\""));
    }

    #[test]
    fn each_class_has_its_model_and_a_shared_model_is_checked_once() {
        let models = Models::default();
        assert_eq!(models.model(ModelClass::Decision), "gemini-3.1-flash-lite");
        assert_ne!(models.model(ModelClass::Decision), models.model(ModelClass::Writing));
        assert_eq!(models.thinking(ModelClass::Decision), Thinking::Minimal);
        let distinct = models.distinct();
        assert_eq!(distinct.len(), 4, "writing and vision share a model: {distinct:?}");
        assert!(distinct.iter().any(|(_, classes)| classes == &[ModelClass::Writing, ModelClass::Vision]));
        assert_eq!(models.variable_for("gemini-3.5-flash-lite"), "GEMINI_MODEL_WRITING");
        assert_eq!(models.variable_for("gemini-3.1-flash-lite-image"), "GEMINI_MODEL_IMAGE");
    }

    #[test]
    fn the_price_table_knows_every_default_model() {
        let prices = crate::prices::PriceTable::default();
        for class in ModelClass::ALL {
            let model = class.default_model();
            match class {
                ModelClass::Video => assert!(prices.video_per_second(model).is_some(), "{model}"),
                ModelClass::Image => assert!(prices.price(model).is_some_and(|p| p.image_output > 0.0), "{model}"),
                _ => assert!(prices.price(model).is_some_and(|p| p.output > 0.0), "{model}"),
            }
        }
    }

    #[test]
    fn gemini_3_and_later_are_told_apart_by_their_version() {
        assert!(is_gemini_3_or_later("gemini-3.1-flash-lite"));
        assert!(is_gemini_3_or_later("gemini-3-pro-image"));
        assert!(!is_gemini_3_or_later("gemini-2.5-flash"));
        assert!(!is_gemini_3_or_later("gemini-"));
        assert!(!is_gemini_3_or_later("gemma-3"));
    }
}
