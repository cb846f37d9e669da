//! The health of what personas published, measured the way a reader would notice it: how lengths
//! spread, the marks of machine text (em-dashes, stock openers and closers, lists, closing questions),
//! how varied the wording is, repeated openings and closings, near-duplicates within and across
//! personas, how unevenly activity is spread, how often personas sit at their hourly cap, and how fast
//! people are answered compared with personas. Any database, any provider: `persona-engine audit`, the
//! simulator's report and `GET /status` all use it.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::ai::similarity::{NEAR_DUPLICATE, shingle_hashes};
use crate::db::audit::{self as reads, PublishedText};
use crate::db::{DbError, GenericClient};
use crate::style::{self, Mark};

/// At most this many texts are audited (the newest): the cost stays bounded on a busy week.
pub const MAX_TEXTS: i64 = 5000;
/// At most this many replies are timed (the newest).
const MAX_REPLIES: i64 = 20_000;
/// Example pairs of near-duplicates kept in the report.
const MAX_EXAMPLES: usize = 8;
/// Openings and closings listed.
const TOP_PHRASES: usize = 5;
/// Openings and closings are this many words.
const PHRASE_WORDS: usize = 3;

/// A distribution's shape.
#[derive(Debug, Clone, Default, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Summary {
    /// How many values.
    pub count: usize,
    /// Mean.
    pub mean: f64,
    /// 10th percentile.
    pub p10: f64,
    /// Median.
    pub median: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 95th percentile.
    pub p95: f64,
    /// Largest.
    pub max: f64,
}

impl Summary {
    /// The summary of `values`.
    pub fn of(values: &[f64]) -> Self {
        if values.is_empty() {
            return Self::default();
        }
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        let at = |q: f64| sorted[((sorted.len() - 1) as f64 * q).round() as usize];
        Self {
            count: sorted.len(),
            mean: sorted.iter().sum::<f64>() / sorted.len() as f64,
            p10: at(0.1),
            median: at(0.5),
            p90: at(0.9),
            p95: at(0.95),
            max: *sorted.last().unwrap_or(&0.0),
        }
    }
}

/// Lengths in words.
#[derive(Debug, Clone, Default, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Lengths {
    /// Median words.
    pub median: f64,
    /// 10th percentile.
    pub p10: f64,
    /// 90th percentile.
    pub p90: f64,
    /// Coefficient of variation (standard deviation ÷ mean): people's comments vary a lot (well above
    /// 0.5); a model left alone writes the same length every time.
    pub cv: f64,
}

/// A phrase and how often it was used.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Repeated {
    /// The phrase (lower case).
    pub text: String,
    /// Times used.
    pub count: usize,
}

/// The marks of a set of texts.
#[derive(Debug, Clone, Default, Serialize, PartialEq, utoipa::ToSchema)]
pub struct TextHealth {
    /// Texts measured.
    pub texts: usize,
    /// Their lengths.
    pub length: Lengths,
    /// Share of texts with an em-dash.
    pub em_dash_rate: f64,
    /// Share opening or closing with a stock phrase ("Great question", "Hope this helps").
    pub stock_phrase_rate: f64,
    /// Share written as a list.
    pub list_rate: f64,
    /// Share with headings, bold or other markdown.
    pub markdown_rate: f64,
    /// Share ending on a question.
    pub question_ending_rate: f64,
    /// How many say their writer is AI (answers to people who sincerely asked, in the honest modes).
    pub says_ai: usize,
    /// How many claim not to be AI (the honest modes' gate refuses these; `none` publishes them).
    pub denies_ai: usize,
    /// Distinct word bigrams ÷ all word bigrams: low means the same phrases over and over.
    pub distinct_bigram_ratio: f64,
    /// Distinct sentences ÷ all sentences.
    pub distinct_sentence_ratio: f64,
    /// The sentence used most, and how often (absent when none repeats).
    pub most_repeated_sentence: Option<Repeated>,
    /// The most repeated first words (only those used twice or more).
    pub top_openings: Vec<Repeated>,
    /// The most repeated last words.
    pub top_closings: Vec<Repeated>,
}

/// One persona's figures.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct PersonaHealth {
    /// Handle.
    pub username: String,
    /// Posts, comments, replies and votes in the period.
    pub actions: i64,
    /// Near-duplicate pairs among its own texts.
    pub near_duplicate_pairs: usize,
    /// Its texts' marks.
    #[serde(flatten)]
    pub text: TextHealth,
}

/// Two texts too alike.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct DuplicatePair {
    /// Who wrote the first.
    pub a_persona: String,
    /// The first (cut to 200 characters).
    pub a_text: String,
    /// Who wrote the second.
    pub b_persona: String,
    /// The second.
    pub b_text: String,
    /// Word 3-gram Jaccard similarity.
    pub similarity: f64,
}

/// Repeated text.
#[derive(Debug, Clone, Default, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Duplicates {
    /// Similarity at or above which two texts count (word 3-gram Jaccard).
    pub threshold: f64,
    /// Pairs by the same persona.
    pub near_duplicate_pairs: usize,
    /// Pairs by different personas (the mark of a bot farm).
    pub cross_persona_near_duplicates: usize,
    /// Share of texts that repeat an earlier one word for word (case, spacing and punctuation aside), the
    /// figure Moltbook's studies report (34.1 % there).
    pub exact_duplicate_share: f64,
    /// Some of them, across personas first, with their texts.
    pub examples: Vec<DuplicatePair>,
}

/// How activity spreads.
#[derive(Debug, Clone, Default, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Activity {
    /// Active personas.
    pub personas: usize,
    /// Their actions in the period.
    pub actions: i64,
    /// Gini coefficient of actions across active personas: 0 is everyone equally busy (a bot farm's
    /// shape); real communities are uneven, roughly 0.4 to 0.7.
    pub activity_gini: f64,
    /// Of the persona-hours with any action, the share at the hourly cap: a persona that is always at
    /// its cap is the cap talking, not the persona.
    pub at_cap_share: f64,
    /// `PERSONA_MAX_ACTIONS_PER_HOUR`.
    pub hourly_cap: u32,
}

/// How fast personas answer, in minutes.
#[derive(Debug, Clone, Default, Serialize, PartialEq, utoipa::ToSchema)]
pub struct ReplyLatency {
    /// From a person's comment to a persona's reply.
    pub to_people: Summary,
    /// From a persona's comment to another persona's reply.
    pub to_personas: Summary,
}

/// The whole audit.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Audit {
    /// Start of the period.
    pub since: DateTime<Utc>,
    /// End of the period.
    pub until: DateTime<Utc>,
    /// Every persona's texts together.
    pub overall: TextHealth,
    /// Repeated text.
    pub duplicates: Duplicates,
    /// Activity across personas.
    pub activity: Activity,
    /// Reply latency.
    pub reply_latency: ReplyLatency,
    /// Per persona, busiest first.
    pub per_persona: Vec<PersonaHealth>,
    /// Tags and trends.
    pub trends: TrendHealth,
}

/// Tags and trends over the period.
#[derive(Debug, Clone, Default, Serialize, PartialEq, utoipa::ToSchema)]
pub struct TrendHealth {
    /// Persona posts.
    pub persona_posts: i64,
    /// Their mean number of tags (2–5 each once tagging is in place).
    pub tags_per_persona_post: f64,
    /// Share of persona posts carrying a tag that was trending when they were posted (trending tags only:
    /// a board's topic is on every post there).
    pub persona_posts_on_trend: f64,
    /// Share of people's posts with tags (theirs, or `TAG_HUMAN_POSTS`).
    pub people_posts_tagged: f64,
    /// Runs of a topic on the trending list that overlap the period.
    pub trends: usize,
    /// Of those, started by a person's post.
    pub started_by_people: usize,
    /// Of those, started by a persona's post (people still had to engage for it to trend).
    pub started_by_personas: usize,
    /// How long the ended ones trended, in hours.
    pub hours_trending: Summary,
}

impl TrendHealth {
    /// The figures from how posts were tagged and the trend runs.
    pub fn of(tags: &crate::db::trends::TagCounts, runs: &[crate::db::trends::Run]) -> Self {
        let share = |part: i64, whole: i64| if whole == 0 { 0.0 } else { round3(part as f64 / whole as f64) };
        let ended: Vec<f64> =
            runs.iter().filter(|r| !r.open).map(|r| (r.until - r.since).num_minutes() as f64 / 60.0).collect();
        Self {
            persona_posts: tags.persona_posts,
            tags_per_persona_post: if tags.persona_posts == 0 {
                0.0
            } else {
                round3(tags.persona_tags as f64 / tags.persona_posts as f64)
            },
            persona_posts_on_trend: share(tags.persona_posts_on_trend, tags.persona_posts),
            people_posts_tagged: share(tags.people_posts_tagged, tags.people_posts),
            trends: runs.len(),
            started_by_people: runs.iter().filter(|r| r.started_by == "people").count(),
            started_by_personas: runs.iter().filter(|r| r.started_by == "personas").count(),
            hours_trending: Summary::of(&ended),
        }
    }
}

/// The audit's headline figures, for `GET /status` and the simulator's summary.
#[derive(Debug, Clone, Default, Serialize, PartialEq, utoipa::ToSchema)]
pub struct AuditSummary {
    /// Texts measured.
    pub texts: usize,
    /// Median words.
    pub length_median: f64,
    /// Coefficient of variation of lengths.
    pub length_cv: f64,
    /// Share with an em-dash.
    pub em_dash_rate: f64,
    /// Share with a stock opener or closer.
    pub stock_phrase_rate: f64,
    /// Share written as a list.
    pub list_rate: f64,
    /// Share ending on a question.
    pub question_ending_rate: f64,
    /// Distinct sentences ÷ sentences.
    pub distinct_sentence_ratio: f64,
    /// Near-duplicate pairs by the same persona.
    pub near_duplicate_pairs: usize,
    /// Near-duplicate pairs by different personas.
    pub cross_persona_near_duplicates: usize,
    /// Share of texts repeating an earlier one word for word.
    pub exact_duplicate_share: f64,
    /// Gini of actions across personas.
    pub activity_gini: f64,
    /// Share of active persona-hours at the hourly cap.
    pub at_cap_share: f64,
    /// Median minutes to answer a person.
    pub reply_minutes_to_people: f64,
    /// Median minutes to answer a persona.
    pub reply_minutes_to_personas: f64,
}

impl Audit {
    /// The headline figures.
    pub fn summary(&self) -> AuditSummary {
        AuditSummary {
            texts: self.overall.texts,
            length_median: self.overall.length.median,
            length_cv: self.overall.length.cv,
            em_dash_rate: self.overall.em_dash_rate,
            stock_phrase_rate: self.overall.stock_phrase_rate,
            list_rate: self.overall.list_rate,
            question_ending_rate: self.overall.question_ending_rate,
            distinct_sentence_ratio: self.overall.distinct_sentence_ratio,
            near_duplicate_pairs: self.duplicates.near_duplicate_pairs,
            cross_persona_near_duplicates: self.duplicates.cross_persona_near_duplicates,
            exact_duplicate_share: self.duplicates.exact_duplicate_share,
            activity_gini: self.activity.activity_gini,
            at_cap_share: self.activity.at_cap_share,
            reply_minutes_to_people: self.reply_latency.to_people.median,
            reply_minutes_to_personas: self.reply_latency.to_personas.median,
        }
    }
}

/// Audits `(since, until]` on `c`, with `hourly_cap` the persona's actions-per-hour limit and at most
/// `max_texts` of the newest texts.
pub async fn run(
    c: &impl GenericClient,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
    hourly_cap: u32,
    max_texts: i64,
) -> Result<Audit, DbError> {
    let texts = reads::published_texts(c, since, until, max_texts).await?;
    let latencies = reads::reply_latencies(c, since, until, MAX_REPLIES).await?;
    let hourly = reads::hourly_actions(c, since, until).await?;
    let personas = reads::active_usernames(c).await?;
    let mut audit = measure(since, until, &texts, &latencies, &hourly, &personas, hourly_cap);
    let tags = crate::db::trends::tag_counts(c, since, until).await?;
    let runs = crate::db::trends::runs(c, since, until).await?;
    audit.trends = TrendHealth::of(&tags, &runs);
    Ok(audit)
}

/// The audit of what was read: pure, so it can be tested on any texts.
pub fn measure(
    since: DateTime<Utc>,
    until: DateTime<Utc>,
    texts: &[PublishedText],
    latencies: &[(f64, bool)],
    hourly: &[(String, DateTime<Utc>, i64)],
    active_personas: &[String],
    hourly_cap: u32,
) -> Audit {
    let all: Vec<&str> = texts.iter().map(|t| t.text.as_str()).collect();
    let (duplicates, own_pairs) = duplicates(texts);
    let mut actions: BTreeMap<&str, i64> = active_personas.iter().map(|p| (p.as_str(), 0)).collect();
    for (username, _, n) in hourly {
        *actions.entry(username.as_str()).or_default() += n;
    }
    let mut by_persona: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for t in texts {
        by_persona.entry(t.username.as_str()).or_default().push(&t.text);
    }
    let mut per_persona: Vec<PersonaHealth> = actions
        .iter()
        .map(|(username, n)| PersonaHealth {
            username: (*username).to_owned(),
            actions: *n,
            near_duplicate_pairs: own_pairs.get(*username).copied().unwrap_or(0),
            text: text_health(by_persona.get(username).map(Vec::as_slice).unwrap_or_default()),
        })
        .collect();
    per_persona.sort_by(|a, b| b.actions.cmp(&a.actions).then_with(|| a.username.cmp(&b.username)));
    let counts: Vec<f64> = actions.values().map(|n| *n as f64).collect();
    let busy_hours = hourly.len();
    let at_cap = hourly.iter().filter(|(_, _, n)| *n >= i64::from(hourly_cap)).count();
    let (to_people, to_personas): (Vec<_>, Vec<_>) = latencies.iter().partition(|(_, person)| *person);
    Audit {
        since,
        until,
        overall: text_health(&all),
        duplicates,
        activity: Activity {
            personas: actions.len(),
            actions: counts.iter().sum::<f64>() as i64,
            activity_gini: gini(&counts),
            at_cap_share: ratio(at_cap, busy_hours),
            hourly_cap,
        },
        reply_latency: ReplyLatency {
            to_people: Summary::of(&to_people.iter().map(|(m, _)| *m).collect::<Vec<_>>()),
            to_personas: Summary::of(&to_personas.iter().map(|(m, _)| *m).collect::<Vec<_>>()),
        },
        per_persona,
        trends: TrendHealth::default(),
    }
}

fn ratio(part: usize, whole: usize) -> f64 {
    if whole == 0 { 0.0 } else { round3(part as f64 / whole as f64) }
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric() && c != '\'')
        .filter(|w| !w.is_empty())
        .map(|w| w.to_lowercase().replace('\'', ""))
        .collect()
}

/// Sentences: split after `.`, `!` or `?` followed by a space, and at line breaks.
pub fn sentences(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines() {
        let mut start = 0;
        let chars: Vec<(usize, char)> = line.char_indices().collect();
        for (i, (at, c)) in chars.iter().enumerate() {
            let next_is_space = chars.get(i + 1).is_none_or(|(_, n)| n.is_whitespace());
            if matches!(c, '.' | '!' | '?') && next_is_space {
                let end = at + c.len_utf8();
                let sentence = line[start..end].trim();
                if !sentence.is_empty() {
                    out.push(sentence.to_owned());
                }
                start = end;
            }
        }
        let rest = line[start..].trim();
        if !rest.is_empty() {
            out.push(rest.to_owned());
        }
    }
    out
}

fn top(counts: HashMap<String, usize>) -> Vec<Repeated> {
    let mut repeated: Vec<Repeated> =
        counts.into_iter().filter(|(_, n)| *n >= 2).map(|(text, count)| Repeated { text, count }).collect();
    repeated.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.text.cmp(&b.text)));
    repeated.truncate(TOP_PHRASES);
    repeated
}

/// The marks of `texts`.
pub fn text_health(texts: &[&str]) -> TextHealth {
    if texts.is_empty() {
        return TextHealth::default();
    }
    let (mut em_dash, mut stock, mut list, mut markdown, mut question) = (0, 0, 0, 0, 0);
    let (mut says_ai, mut denies_ai) = (0, 0);
    let (mut bigrams, mut distinct_bigrams) = (0usize, std::collections::HashSet::new());
    let mut sentence_counts: HashMap<String, usize> = HashMap::new();
    let mut sentence_total = 0;
    let (mut openings, mut closings): (HashMap<String, usize>, HashMap<String, usize>) = Default::default();
    let mut lengths = Vec::with_capacity(texts.len());
    for text in texts {
        let marks = style::marks(text);
        em_dash += usize::from(marks.contains(&Mark::EmDash));
        stock += usize::from(marks.iter().any(|m| matches!(m, Mark::StockOpener(_) | Mark::StockCloser(_))));
        list += usize::from(marks.contains(&Mark::List));
        markdown += usize::from(marks.iter().any(|m| matches!(m, Mark::Markdown(_))));
        question += usize::from(style::ends_with_question(text));
        says_ai += usize::from(crate::disclosure::admits(text));
        denies_ai += usize::from(crate::disclosure::denial(text).is_some());
        let w = words(text);
        lengths.push(w.len() as f64);
        for pair in w.windows(2) {
            bigrams += 1;
            distinct_bigrams.insert((pair[0].clone(), pair[1].clone()));
        }
        if w.len() >= PHRASE_WORDS {
            *openings.entry(w[..PHRASE_WORDS].join(" ")).or_default() += 1;
            *closings.entry(w[w.len() - PHRASE_WORDS..].join(" ")).or_default() += 1;
        }
        for s in sentences(text) {
            sentence_total += 1;
            *sentence_counts.entry(s).or_default() += 1;
        }
    }
    let n = texts.len();
    let mean = lengths.iter().sum::<f64>() / n as f64;
    let variance = lengths.iter().map(|l| (l - mean).powi(2)).sum::<f64>() / n as f64;
    let spread = Summary::of(&lengths);
    let most_repeated = sentence_counts
        .iter()
        .filter(|(_, n)| **n >= 2)
        .max_by(|a, b| a.1.cmp(b.1).then_with(|| b.0.cmp(a.0)))
        .map(|(text, count)| Repeated { text: text.clone(), count: *count });
    TextHealth {
        texts: n,
        length: Lengths {
            median: spread.median,
            p10: spread.p10,
            p90: spread.p90,
            cv: if mean > 0.0 { round3(variance.sqrt() / mean) } else { 0.0 },
        },
        em_dash_rate: ratio(em_dash, n),
        stock_phrase_rate: ratio(stock, n),
        list_rate: ratio(list, n),
        markdown_rate: ratio(markdown, n),
        question_ending_rate: ratio(question, n),
        says_ai,
        denies_ai,
        distinct_bigram_ratio: ratio(distinct_bigrams.len(), bigrams),
        distinct_sentence_ratio: ratio(sentence_counts.len(), sentence_total),
        most_repeated_sentence: most_repeated,
        top_openings: top(openings),
        top_closings: top(closings),
    }
}

/// The text's words, lowercased, joined by single spaces: what is left of a text when case, spacing and
/// punctuation are set aside.
fn words_only(text: &str) -> String {
    text.split(|c: char| !c.is_alphanumeric() && c != '\'')
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Near-duplicate pairs through an inverted index of shingles: only texts that share one are compared,
/// and the shared count gives their Jaccard directly. Also the pairs within each persona's own texts.
fn duplicates(texts: &[PublishedText]) -> (Duplicates, HashMap<String, usize>) {
    let shingles: Vec<Vec<u64>> = texts.iter().map(|t| shingle_hashes(&t.text)).collect();
    let mut postings: HashMap<u64, Vec<u32>> = HashMap::new();
    let mut result = Duplicates { threshold: NEAR_DUPLICATE, ..Duplicates::default() };
    let mut own: HashMap<String, usize> = HashMap::new();
    let mut examples: Vec<(bool, DuplicatePair)> = Vec::new();
    for (i, mine) in shingles.iter().enumerate() {
        let mut shared: HashMap<u32, usize> = HashMap::new();
        for h in mine {
            if let Some(earlier) = postings.get(h) {
                for j in earlier {
                    *shared.entry(*j).or_default() += 1;
                }
            }
        }
        let mut pairs: Vec<(u32, f64)> = shared
            .into_iter()
            .map(|(j, n)| {
                let union = (mine.len() + shingles[j as usize].len() - n).max(1);
                (j, n as f64 / union as f64)
            })
            .filter(|(_, similarity)| *similarity >= NEAR_DUPLICATE)
            .collect();
        pairs.sort_by_key(|(j, _)| *j);
        for (j, similarity) in pairs {
            let (a, b) = (&texts[j as usize], &texts[i]);
            let across = a.username != b.username;
            if across {
                result.cross_persona_near_duplicates += 1;
            } else {
                result.near_duplicate_pairs += 1;
                *own.entry(a.username.clone()).or_default() += 1;
            }
            if examples.len() < MAX_EXAMPLES * 4 {
                examples.push((
                    across,
                    DuplicatePair {
                        a_persona: a.username.clone(),
                        a_text: crate::prompt::truncate(&a.text, 200),
                        b_persona: b.username.clone(),
                        b_text: crate::prompt::truncate(&b.text, 200),
                        similarity: round3(similarity),
                    },
                ));
            }
        }
        for h in mine {
            postings.entry(*h).or_default().push(i as u32);
        }
    }
    let mut seen = std::collections::HashSet::new();
    let exact = texts.iter().filter(|t| !seen.insert(words_only(&t.text))).count();
    result.exact_duplicate_share = if texts.is_empty() { 0.0 } else { round3(exact as f64 / texts.len() as f64) };
    // Across personas first: that is what gives a farm away.
    examples.sort_by_key(|(across, _)| !*across);
    result.examples = examples.into_iter().take(MAX_EXAMPLES).map(|(_, p)| p).collect();
    (result, own)
}

/// The Gini coefficient of `values` (0: all equal; towards 1: one has everything).
pub fn gini(values: &[f64]) -> f64 {
    let n = values.len();
    // Sorted before summing, so the same values in any order give the same figure to the last bit.
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let total: f64 = sorted.iter().sum();
    if n < 2 || total <= 0.0 {
        return 0.0;
    }
    let weighted: f64 = sorted.iter().enumerate().map(|(i, v)| (i as f64 + 1.0) * v).sum();
    round3((2.0 * weighted) / (n as f64 * total) - (n as f64 + 1.0) / n as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn text(username: &str, body: &str) -> PublishedText {
        PublishedText {
            username: username.into(),
            kind: "comment".into(),
            board_id: uuid::Uuid::nil(),
            text: body.into(),
            created_at: Utc.with_ymd_and_hms(2026, 11, 2, 9, 0, 0).unwrap(),
        }
    }

    #[test]
    fn gini_is_zero_for_equals_and_high_for_one_doing_everything() {
        assert_eq!(gini(&[5.0, 5.0, 5.0, 5.0]), 0.0);
        assert_eq!(gini(&[0.0, 0.0, 0.0, 12.0]), 0.75);
        assert_eq!(gini(&[]), 0.0);
    }

    #[test]
    fn sentences_split_where_a_reader_would() {
        assert_eq!(
            sentences("Two batches. Always two batches!\nok then"),
            ["Two batches.", "Always two batches!", "ok then"]
        );
        assert_eq!(sentences("It costs 2.5 euros. Fine"), ["It costs 2.5 euros.", "Fine"]);
    }

    #[test]
    fn what_texts_say_about_being_ai_is_counted() {
        let health = text_health(&[
            "Yep, AI. This account is one of the site's personas.",
            "lol no, I'm not a bot",
            "Two batches, hot pan.",
        ]);
        assert_eq!((health.says_ai, health.denies_ai), (1, 1));
    }

    #[test]
    fn the_marks_are_counted_per_text() {
        let health = text_health(&[
            "Great question! Heat the pan.",
            "Heat the pan. Then wait \u{2014} really.",
            "Things:\n- pan\n- heat",
            "Which pan?",
            "two batches. always two batches",
        ]);
        assert_eq!(health.texts, 5);
        assert_eq!((health.em_dash_rate, health.stock_phrase_rate, health.list_rate), (0.2, 0.2, 0.2));
        assert_eq!(health.question_ending_rate, 0.2);
        assert_eq!(health.top_openings, Vec::new(), "no three-word opening repeats");
        assert!(health.distinct_sentence_ratio < 1.0, "\"Heat the pan.\" is said twice");
        assert_eq!(health.most_repeated_sentence, Some(Repeated { text: "Heat the pan.".into(), count: 2 }));
    }

    #[test]
    fn lengths_that_never_vary_show_a_low_cv() {
        let same = text_health(&["one two three four", "five six seven eight", "a b c d"]);
        assert_eq!(same.length.cv, 0.0);
        let varied = text_health(&["ok", "one two three four five six seven eight nine ten eleven twelve", "a b c"]);
        assert!(varied.length.cv > 0.5, "{}", varied.length.cv);
    }

    #[test]
    fn near_duplicates_are_found_within_and_across_personas() {
        let texts = [
            text("marisol", "Cook in two batches and let the pan get properly hot first."),
            text("kai", "Cook in two batches and let the pan get properly hot first!"),
            text("marisol", "Cook in two batches and let the pan get really hot first."),
            text("nia", "Threat model first. Who exactly are you hiding this from?"),
        ];
        let (found, own) = duplicates(&texts);
        assert_eq!(found.cross_persona_near_duplicates, 2, "{found:?}");
        assert_eq!(found.near_duplicate_pairs, 1);
        assert_eq!(own.get("marisol"), Some(&1));
        assert_eq!(found.exact_duplicate_share, 0.25, "only the second repeats the first word for word");
        assert_ne!(found.examples[0].a_persona, found.examples[0].b_persona, "across personas first");
    }

    #[test]
    fn activity_and_the_cap_are_measured_over_persona_hours() {
        let at = |h| Utc.with_ymd_and_hms(2026, 11, 2, h, 0, 0).unwrap();
        let hourly = vec![("a".to_owned(), at(9), 4), ("a".to_owned(), at(10), 1), ("b".to_owned(), at(9), 2)];
        let personas = vec!["a".to_owned(), "b".to_owned(), "c".to_owned()];
        let audit = measure(at(0), at(23), &[], &[(10.0, true), (30.0, false)], &hourly, &personas, 4);
        assert_eq!(audit.activity.actions, 7);
        assert_eq!(audit.activity.at_cap_share, 0.333, "one of three busy persona-hours is at the cap");
        assert!(audit.activity.activity_gini > 0.3);
        assert_eq!(audit.per_persona[0].username, "a", "busiest first");
        assert_eq!(audit.per_persona.len(), 3, "a persona that did nothing is listed");
        assert_eq!((audit.reply_latency.to_people.median, audit.reply_latency.to_personas.median), (10.0, 30.0));
    }
}
